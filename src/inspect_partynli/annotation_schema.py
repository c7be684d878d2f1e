"""The one annotation-table schema every stage after the log uses.

An *annotation table* is a pandas DataFrame with one row per (item, participant, trial).
Its first columns are the PartyNLI export schema (see the study's dataset), so a table can be
written out and read back by anyone who knows PartyNLI; the rest say where a row came from
and whether the reply parsed.

========================  ===========================================================
column                    meaning
========================  ===========================================================
sent_id                   LiveNLI uid of the item
id                        PartyNLI run id (participant + settings), free text
participant               model (or model family, e.g. ``gemma3``) or human worker id
participant_type          ``model`` or ``human``
experiment                e.g. model_mix_lo, hp_ablation, size_ablation, livenli
trial                     1-based run number (Inspect epoch)
class_simple              single label (study's rule) or ``error``
class_multi               sorted hyphen-joined multi-label or ``error``
explanation               free text (the parse error for failed rows in PartyNLI files)
num_params                model size in billions where known (NaN otherwise)
temperature, top_p        generation settings actually sent (NaN = provider default)
model                     full model id (e.g. ``openai/gpt-4.1``; PartyNLI: participant)
source                    file the row was read from (Inspect log or PartyNLI file)
parsed                    bool: the reply parsed into a label
failure_reason            parse failure category (empty when parsed)
========================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from .labels import ERROR_LABEL

#: The PartyNLI export columns, in the study's order (projections are optional extras).
PARTYNLI_COLUMNS: tuple[str, ...] = (
    "sent_id", "id", "participant", "participant_type", "experiment", "trial",
    "class_simple", "class_multi", "explanation", "num_params", "temperature", "top_p",
)  # fmt: skip

#: Columns this package adds after the PartyNLI ones.
EXTRA_COLUMNS: tuple[str, ...] = ("model", "source", "parsed", "failure_reason")

ANNOTATION_COLUMNS: tuple[str, ...] = PARTYNLI_COLUMNS + EXTRA_COLUMNS

#: Key of an eval log's ``metadata`` under which ``partynli run`` records what the table needs
#: about the run (participant, experiment, num_params, groups, ...), written by
#: :mod:`inspect_partynli.study` and read by :mod:`inspect_partynli.annotations`.
STUDY_METADATA_KEY = "partynli"

_FLOAT_COLUMNS = ("num_params", "temperature", "top_p")
_STRING_COLUMNS = tuple(
    c for c in ANNOTATION_COLUMNS if c not in (*_FLOAT_COLUMNS, "trial", "parsed")
)

#: Columns a table must have (:func:`conform` raises without them).
REQUIRED_COLUMNS: tuple[str, ...] = ("sent_id", "participant", "trial", "class_simple")

#: Columns every conformed table keeps, even when a caller asks for fewer
#: (``conform(frame, columns=...)``): the required ones, who annotated, and the parse flag.
KEY_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, "participant_type", "parsed")


def empty_annotation_table() -> pd.DataFrame:
    """A table with every column and no rows."""
    return conform(pd.DataFrame(columns=list(ANNOTATION_COLUMNS)))


def selected_columns(columns: Iterable[str] | None) -> tuple[str, ...]:
    """The schema columns a table restricted to ``columns`` holds, in schema order: the
    :data:`KEY_COLUMNS` plus those asked for (``None``: every schema column)."""
    if columns is None:
        return ANNOTATION_COLUMNS
    wanted = {*KEY_COLUMNS, *columns}
    unknown = sorted(wanted - set(ANNOTATION_COLUMNS))
    if unknown:
        raise ValueError(f"not annotation-table columns: {', '.join(unknown)}")
    return tuple(column for column in ANNOTATION_COLUMNS if column in wanted)


def conform(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Return ``frame`` with every schema column, in schema order, with the schema's dtypes.

    Missing optional columns are filled (``parsed`` from ``class_simple != 'error'``, also
    for blank cells of a ``parsed`` column; ``"True"``/``"false"``/``1``/``0`` are read);
    columns beyond the schema are kept after it.  Raises ``ValueError`` naming any
    required column (``sent_id, participant, trial, class_simple``) that is absent.

    ``columns`` restricts the result to :data:`KEY_COLUMNS` plus those schema columns (and
    drops the columns beyond the schema): what a command that needs only some columns reads
    (``load_annotations(..., columns=...)``), so that 10M-row tables stay small.

    Vectorised, for tables of millions of rows: text columns are Arrow-backed strings (the
    ``str`` dtype), and any per-value conversion runs once per *distinct* value.  A table that
    is already conformed passes through without copying its data.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"not an annotation table: missing column(s) {', '.join(missing)}")
    schema = selected_columns(columns)
    frame = frame.reset_index(drop=True)  # no data copied (copy-on-write)
    out = {}
    for column in schema:
        if column in frame.columns:
            out[column] = frame[column]
    out["class_simple"] = _as_text(out["class_simple"])
    derived = (out["class_simple"] != ERROR_LABEL).to_numpy(dtype=bool)
    if "parsed" in out:
        out["parsed"] = _parsed_flags(out["parsed"], derived)
    else:
        out["parsed"] = pd.Series(derived, index=frame.index)
    if "class_multi" in schema and "class_multi" not in out:
        out["class_multi"] = out["class_simple"]
    for column in schema:
        if column in _FLOAT_COLUMNS:
            values = out.get(column)
            out[column] = (
                pd.Series(np.nan, index=frame.index)
                if values is None
                else _numbers(values, float, errors="coerce")
            )
        elif column in _STRING_COLUMNS:
            values = out.get(column)
            out[column] = _constant_text("", frame.index) if values is None else _as_text(values)
    out["trial"] = _numbers(out["trial"], int, errors="raise")
    extra = [] if columns is not None else [c for c in frame.columns if c not in schema]
    # copy=False: no consolidation of the columns into 2-D blocks (a copy of every number)
    result = pd.DataFrame({column: out[column] for column in schema}, copy=False)
    for column in extra:
        result[column] = frame[column]
    return result


def _numbers(values: pd.Series, kind: type, errors: str) -> pd.Series:
    """A column as numbers of ``kind`` (``float``: NaN where unreadable with ``errors="coerce"``);
    a column that already is (int64 or float64) passes through without a copy."""
    if values.dtype == np.dtype(kind):
        return values
    return pd.to_numeric(values, errors=errors).astype(kind)


def _as_text(values: pd.Series) -> pd.Series:
    """A column as text with ``""`` for missing values (see :func:`text_values`)."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.fillna("") if values.hasnans else values
    return text_values(values)


def text_values(values: pd.Series, function: Callable[[str], str] | None = None) -> pd.Series:
    """``function(str(value))`` of every cell (``""`` for missing cells), computed once per
    *distinct* value (``pd.factorize``), never once per row.

    A categorical column stays categorical (its categories become the texts): the compact
    form in which ``load_annotations(..., columns=...)`` reads Parquet files; anything else
    becomes Arrow-backed strings (the ``str`` dtype).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _categorical_text(values, function)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = ["" if _missing(value) else str(value) for value in uniques]
    if function is not None:
        texts = [function(text) for text in texts]
    texts.append("")  # serves the missing cells (code -1)
    codes = np.where(codes < 0, len(texts) - 1, codes)
    return pd.Series(pd.array(texts, dtype="str").take(codes), index=values.index)


def _categorical_text(values: pd.Series, function: Callable[[str], str] | None) -> pd.Series:
    """:func:`text_values` of a categorical column, on its categories only."""
    texts = [str(value) for value in values.cat.categories]
    if function is not None:
        texts = [function(text) for text in texts]
    codes = values.cat.codes.to_numpy()
    missing = bool((codes < 0).any())
    if not missing and texts == list(values.cat.categories):
        return values  # already text: nothing to do, nothing copied
    distinct, categories = pd.factorize(pd.Index([*texts, ""], dtype="str"))
    new_codes = distinct[np.where(codes < 0, len(texts), codes)]
    categorical = pd.Categorical.from_codes(new_codes, categories=categories)
    return pd.Series(categorical, index=values.index)


def _constant_text(value: str, index: pd.Index) -> pd.Series:
    """One text value on every row, as Arrow-backed strings."""
    codes = np.zeros(len(index), dtype=np.intp)
    return pd.Series(pd.array([value], dtype="str").take(codes), index=index)


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like values are never missing
        return False


_TRUE = {"true", "1", "1.0", "yes"}
_FALSE = {"false", "0", "0.0", "no"}


def _parsed_flags(column: pd.Series, derived: np.ndarray) -> pd.Series:
    """A ``parsed`` column as booleans: blank or unreadable cells take ``derived``.

    Each distinct cell value is read once (``pd.factorize``), so millions of rows cost no
    per-row Python.
    """
    if column.dtype == bool:
        return column
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = ("" if _missing(value) else str(value).strip().lower() for value in uniques)
    # per distinct value: 1 true, 0 false, -1 unreadable (take ``derived``); -1 = missing cell
    states = np.array([1 if t in _TRUE else 0 if t in _FALSE else -1 for t in texts] + [-1])
    state = states[np.where(codes < 0, len(states) - 1, codes)]
    return pd.Series(np.where(state < 0, derived, state == 1), index=column.index)
