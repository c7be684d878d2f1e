"""Coding an annotation table once into integer arrays (units, trial ranks, items, labels).

A *unit* is one participant run with one set of variant values: a participant whose rows
differ in ``num_params`` (sizes), ``temperature`` or ``top_p`` (sweep values) or ``experiment``
is split into units, named by what tells them apart -- ``gemma3 (num_params=4)``,
``m (temperature=0.5)``, ``m (experiment=single)``; an unset value reads
``num_params=unknown`` / ``temperature=default`` (the provider's).  "Trial *t*" of a unit is
its *t*-th trial (its trial numbers ranked), so a member with fewer trials simply contributes
nothing to the later trials.

Labels are coded over the dataset's ordered label space (``labels``: code ``k`` is
``labels[k]``), with parse failures as the category after the labels.

A run of another estimator (``-T estimator=logprobs|verbalized``, the table's ``estimator``
column) is always a unit of its own (``units["estimator"]``; ``sampling`` for every other
unit), and its rows keep what they read (``p_<label>``, ``other_mass``, ``raw_sum``) in
:attr:`CodedTable.estimates`:
such a unit is read by the ``estimator`` setting kind, never as labels (see :mod:`.kinds`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..annotation_schema import conform
from ..errors import SourceError
from ..estimators.base import DEFAULT_ESTIMATOR, probability_key
from ..estimators.table import (
    ESTIMATOR_COLUMN,
    OTHER_MASS_COLUMN,
    RAW_SUM_COLUMN,
    row_estimators,
)
from ..labels import ERROR_LABEL, LABELS

__all__ = ["UNSET_WORDS", "VARIANT_COLUMNS", "CodedTable", "as_coded", "prepare", "unit_per_row"]

#: Columns that split a participant into units (what may vary between its runs).
VARIANT_COLUMNS: tuple[str, ...] = ("experiment", "num_params", "temperature", "top_p")
@dataclass(frozen=True)
class CodedTable:
    """An annotation table coded into integer arrays (one entry per row).

    ``items``: the sorted distinct ``sent_id`` values; ``units``: one row per unit (index =
    unit code) with columns ``unit`` (display name), ``participant``, the variant columns,
    ``estimator`` and ``n_trials``.  Per row: ``item`` (index into ``items``), ``category``
    (``k`` = ``labels[k]``, ``len(labels)`` = parse failure), ``unit`` and ``rank`` (0-based
    rank of the row's trial among its unit's trials).  ``labels``: the ordered label space.
    ``estimates``: per row (same order), what an estimator run read -- ``p_<label>`` in label
    order, ``other_mass`` and ``raw_sum`` (NaN for sampling rows) -- or None when no row is an
    estimator run's.
    """

    items: np.ndarray
    units: pd.DataFrame
    item: np.ndarray
    category: np.ndarray
    unit: np.ndarray
    rank: np.ndarray
    labels: tuple[str, ...] = LABELS
    estimates: pd.DataFrame | None = None

    @property
    def n_categories(self) -> int:
        """The labels, then parse failures."""
        return len(self.labels) + 1

    def keep(self, mask: np.ndarray, *, rank: np.ndarray | None = None) -> CodedTable:
        """The rows where ``mask`` holds (units and items unchanged), optionally re-ranked."""
        return CodedTable(
            self.items, self.units, self.item[mask], self.category[mask], self.unit[mask],
            self.rank[mask] if rank is None else rank, self.labels,
            None if self.estimates is None else self.estimates[mask].reset_index(drop=True),
        )  # fmt: skip

    @property
    def n_ranks(self) -> int:
        return int(self.rank.max()) + 1 if self.rank.size else 0

    def participants(self) -> list[str]:
        return sorted(self.units["participant"].unique().tolist())

    def lookup(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """Unit codes by unit name and by participant name (computed once).  A participant
        name stands for its sampling units (its estimator runs are named by unit), or for all
        of its units when it has only estimator runs."""
        cached = self.__dict__.get("_lookup")
        if cached is None:
            by_unit = {name: (code,) for code, name in enumerate(self.units["unit"])}
            sampling = (self.units["estimator"] == DEFAULT_ESTIMATOR).to_numpy()
            owned = self.units.groupby("participant", sort=False).indices
            groups = {
                participant: codes[sampling[codes]] if sampling[codes].any() else codes
                for participant, codes in owned.items()
            }
            by_participant = {str(p): tuple(int(c) for c in codes) for p, codes in groups.items()}
            cached = (by_unit, by_participant)
            object.__setattr__(self, "_lookup", cached)
        return cached


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and sorted uniques of a column (NaN is a value of its own, coded last)."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


#: How an unset (NaN) variant value reads in unit names: sizes are unknown, generation
#: settings were left to the provider.
UNSET_WORDS: Mapping[str, str] = {
    "num_params": "unknown", "temperature": "default", "top_p": "default",
}  # fmt: skip


def _format_value(column: str, value: object) -> str:
    if isinstance(value, float):
        return UNSET_WORDS.get(column, "unset") if math.isnan(value) else f"{value:g}"
    return str(value)


def _distinguishing(units: pd.DataFrame) -> np.ndarray:
    """Per unit and variant column: is the column shown in the unit's name?

    For each participant (and, apart, each of its other estimators), the variant columns are
    taken in :data:`VARIANT_COLUMNS` order and a column is kept only when it tells more of the
    participant's units apart than the columns kept before it, so a name shows what
    distinguishes a unit and nothing that merely varies along (e.g. ``experiment=single`` vs
    ``experiment=model_mix_lo`` when the second also records size and settings).  Names stay
    unique: the kept columns separate all units.
    Vectorised over units (one groupby per column).
    """
    owner = pd.factorize(units["participant"] + "\x00" + units[ESTIMATOR_COLUMN])[0]
    combo = np.zeros(len(units), dtype=np.int64)
    shown = np.zeros((len(units), len(VARIANT_COLUMNS)), dtype=bool)

    def distinct(codes: np.ndarray) -> np.ndarray:
        return pd.Series(codes).groupby(owner).nunique().to_numpy()[owner]

    for position, column in enumerate(VARIANT_COLUMNS):
        values, uniques = _codes(units[column])
        candidate = pd.factorize(combo * (len(uniques) + 1) + values)[0]
        useful = distinct(candidate) > distinct(combo)
        shown[:, position] = useful
        combo = np.where(useful, candidate, combo)
    return shown


def _unit_names(units: pd.DataFrame) -> list[str]:
    """``participant`` alone when it has one unit, else ``participant (col=value, ...)`` over
    the variant columns that tell its units apart (:func:`_distinguishing`); an estimator run
    reads ``participant (estimator=logprobs, ...)``, so its sampling runs keep their names."""
    shown = _distinguishing(units)
    estimators = units[ESTIMATOR_COLUMN].to_numpy(dtype=object)
    parts = np.where(
        estimators == DEFAULT_ESTIMATOR, "",
        np.array([f"{ESTIMATOR_COLUMN}={e}" for e in estimators], dtype=object),
    )  # fmt: skip
    for position, column in enumerate(VARIANT_COLUMNS):
        text = np.array(
            [f"{column}={_format_value(column, v)}" for v in units[column]], dtype=object
        )
        separator = np.where(parts == "", "", ", ")
        parts = np.where(shown[:, position], parts + separator + text, parts)
    participants = units["participant"].to_numpy(dtype=object)
    return [p if not q else f"{p} ({q})" for p, q in zip(participants, parts, strict=True)]


def prepare(table: pd.DataFrame, labels: Sequence[str] | None = LABELS) -> CodedTable:
    """Code an annotation table once for any number of evaluations (vectorised).

    Rows are grouped into units by participant plus :data:`VARIANT_COLUMNS` (and estimator,
    when the table has estimator runs).  A duplicate
    (unit, trial, item) row -- which a loader should not produce -- is resolved
    deterministically: the last one wins, with a warning.  A row is a parse failure when
    ``parsed`` is false or ``class_simple`` is ``error``.  Raises :class:`SourceError` for a
    label outside ``labels`` (the dataset's ordered label space) on a parsed row;
    ``labels=None`` takes the labels found, sorted (enough to discover units and settings).
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected an annotation table (DataFrame), got {type(table).__name__}")
    if not set(("sent_id", "participant", "trial", "class_simple")) <= set(table.columns) or any(
        c not in table.columns for c in ("parsed", *VARIANT_COLUMNS)
    ):
        try:
            table = conform(table)
        except ValueError as error:
            raise SourceError(str(error)) from None
    answers = _text(table["class_simple"])
    parsed = table["parsed"].to_numpy(dtype=bool) & (answers != ERROR_LABEL).to_numpy()
    labels = tuple(sorted(set(answers[parsed]))) if labels is None else tuple(labels)
    error = len(labels)
    index = {label: code for code, label in enumerate(labels)}
    codes, distinct = pd.factorize(answers)  # one lookup per distinct label, not per row
    label_codes = pd.Series(
        np.array([index.get(label, np.nan) for label in distinct] + [np.nan])[codes],
        index=answers.index,
    )
    unknown = parsed & label_codes.isna().to_numpy()
    if unknown.any():
        bad = sorted(set(answers[unknown]))[:5]
        raise SourceError(
            f"unknown label(s) {bad} in class_simple; expected one of "
            f"{', '.join((*labels, ERROR_LABEL))} (is this the dataset the annotations are of?)"
        )
    category = np.where(parsed, label_codes.fillna(error).to_numpy(), error).astype(np.int64)

    item, items = _codes(_text(table["sent_id"]))
    # a table without estimator runs (every PartyNLI file, most logs) is coded as before
    estimators = row_estimators(table) if ESTIMATOR_COLUMN in table.columns else None
    split = ("participant", *VARIANT_COLUMNS)
    if estimators is not None:
        split += (ESTIMATOR_COLUMN,)
    key = np.zeros(len(table), dtype=np.int64)
    for column in split:
        values = estimators if column == ESTIMATOR_COLUMN else table[column]
        if column in ("participant", "experiment"):
            values = _text(values)
        codes, uniques = _codes(values)
        key = key * (len(uniques) + 1) + codes
    unit, first_row = _sorted_codes(key)
    units = pd.DataFrame(
        {c: table[c].iloc[first_row].to_numpy() for c in ("participant", *VARIANT_COLUMNS)}
    )
    units["participant"] = units["participant"].astype(str)
    units["experiment"] = units["experiment"].astype(str)
    if estimators is None:
        units[ESTIMATOR_COLUMN] = DEFAULT_ESTIMATOR
        estimates = None
    else:
        units[ESTIMATOR_COLUMN] = estimators.iloc[first_row].to_numpy(dtype=object)
        estimates = _estimates(table, labels, estimators)

    trial = table["trial"].to_numpy(dtype=np.int64)
    trial = trial - trial.min(initial=0)  # non-negative codes, same order
    span = trial.max(initial=0) + 1
    # one answer per (unit, trial, item): the last row wins
    row_key = (unit * span + trial) * len(items) + item
    keep = np.flatnonzero(~pd.Series(row_key).duplicated(keep="last").to_numpy())
    if keep.size < len(table):
        warnings.warn(
            f"{len(table) - keep.size} duplicate (participant, trial, item) row(s): the last "
            "row of each was kept",
            stacklevel=2,
        )
        item, category, unit, trial = item[keep], category[keep], unit[keep], trial[keep]
        estimates = None if estimates is None else estimates.iloc[keep].reset_index(drop=True)

    # rank of each row's trial among its unit's trials
    pair_index, pairs = pd.factorize(unit * span + trial, sort=True)
    pair_unit = pairs // span
    pair_rank = np.arange(len(pairs)) - np.searchsorted(pair_unit, pair_unit, side="left")
    rank = pair_rank[pair_index]
    units["n_trials"] = np.bincount(pair_unit, minlength=len(units))
    units.insert(0, "unit", _unit_names(units))
    return CodedTable(items, units, item, category, unit, rank, labels, estimates)


def _estimates(
    table: pd.DataFrame, labels: Sequence[str], estimators: pd.Series
) -> pd.DataFrame | None:
    """Per row, what an estimator run read: ``p_<label>`` (in label order), ``other_mass``,
    ``raw_sum`` as numbers (NaN for sampling rows and missing values); None when no row is an
    estimator run's."""
    is_estimate = (estimators != DEFAULT_ESTIMATOR).to_numpy()
    if not is_estimate.any():
        return None
    columns = [probability_key(label) for label in labels] + [OTHER_MASS_COLUMN, RAW_SUM_COLUMN]
    return pd.DataFrame({
        column: np.where(
            is_estimate, pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float),
            np.nan,
        ) if column in table.columns else np.full(len(table), np.nan)
        for column in columns
    })  # fmt: skip


def _text(values: pd.Series) -> pd.Series:
    """A column as text: string and categorical columns (what a conformed table holds) as they
    are, without materialising millions of strings; anything else through ``astype(str)``."""
    if isinstance(values.dtype, pd.StringDtype):
        return values
    if isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(
        values.cat.categories
    ):
        return values
    return values.astype(str)


def _sorted_codes(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_index=True, return_inverse=True)``'s inverse and first rows,
    by hashing (linear time) instead of sorting millions of keys: only the distinct keys are
    sorted."""
    codes, uniques = pd.factorize(key)  # codes in order of first appearance
    if not len(codes):
        return codes.astype(np.int64), codes.astype(np.int64)
    running = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.r_[True, running[1:] > running[:-1]])  # first row of code 0, 1..
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], first[order]


def as_coded(
    table: pd.DataFrame | CodedTable, labels: Sequence[str] | None = LABELS
) -> CodedTable:
    """``table`` coded by :func:`prepare`, unless it already is."""
    return table if isinstance(table, CodedTable) else prepare(table, labels)


def unit_per_row(table: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    """The unit name (as :func:`prepare` names it) of every row of ``table`` (same index)."""
    keys = ["participant", *VARIANT_COLUMNS, ESTIMATOR_COLUMN]
    left = table[keys[:-1]].astype({"participant": str, "experiment": str})
    left[ESTIMATOR_COLUMN] = row_estimators(table).to_numpy(dtype=object)
    merged = left.merge(units[["unit", *keys]], on=keys, how="left", sort=False)
    return pd.Series(merged["unit"].to_numpy(), index=table.index)


