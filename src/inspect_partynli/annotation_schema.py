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


def empty_annotation_table() -> pd.DataFrame:
    """A table with every column and no rows."""
    return conform(pd.DataFrame(columns=list(ANNOTATION_COLUMNS)))


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every schema column, in schema order, with the schema's dtypes.

    Missing optional columns are filled (``parsed`` from ``class_simple != 'error'``, also
    for blank cells of a ``parsed`` column; ``"True"``/``"false"``/``1``/``0`` are read);
    columns beyond the schema are kept after it.  Raises ``ValueError`` naming any
    required column (``sent_id, participant, trial, class_simple``) that is absent.
    """
    required = ("sent_id", "participant", "trial", "class_simple")
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f"not an annotation table: missing column(s) {', '.join(missing)}")
    out = frame.copy()
    derived = out["class_simple"].astype(str) != ERROR_LABEL
    out["parsed"] = _parsed_flags(out["parsed"], derived) if "parsed" in out.columns else derived
    if "class_multi" not in out.columns:
        out["class_multi"] = out["class_simple"]
    for column in ANNOTATION_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan if column in _FLOAT_COLUMNS else ""
    for column in _FLOAT_COLUMNS:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    for column in _STRING_COLUMNS:
        out[column] = out[column].fillna("").astype(str)
    out["trial"] = pd.to_numeric(out["trial"], errors="raise").astype(int)
    extra = [column for column in out.columns if column not in ANNOTATION_COLUMNS]
    return out[list(ANNOTATION_COLUMNS) + extra].reset_index(drop=True)


_TRUE = {"true", "1", "1.0", "yes"}
_FALSE = {"false", "0", "0.0", "no"}


def _parsed_flags(column: pd.Series, derived: pd.Series) -> pd.Series:
    """A ``parsed`` column as booleans: blank or unreadable cells take ``derived``."""
    text = column.map(lambda v: "" if pd.isna(v) else str(v).strip().lower())
    flags = derived.copy()
    flags[text.isin(_TRUE)] = True
    flags[text.isin(_FALSE)] = False
    return flags.astype(bool)
