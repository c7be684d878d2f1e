"""Estimator runs in the annotation table: the columns their scores add (light: no metrics).

An estimator's ``Score.value`` adds ``estimator``, ``p_<label>``, ``other_mass`` and
``raw_sum`` (see :mod:`.scoring`); the log reader keeps them as columns after the schema's.
A table without them (every sampling run, every PartyNLI file) is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .base import DEFAULT_ESTIMATOR, ESTIMATOR_KEY, PROBABILITY_PREFIX, probability_key

#: The annotation-table column naming a row's estimator (absent or blank: ``sampling``).
ESTIMATOR_COLUMN = ESTIMATOR_KEY
#: Extra annotation-table columns of estimator rows (besides ``p_<label>``).
OTHER_MASS_COLUMN = "other_mass"
RAW_SUM_COLUMN = "raw_sum"


def estimate_columns(value: Mapping[str, Any]) -> dict[str, Any]:
    """The annotation-table columns of an estimator's ``Score.value`` (``estimator``,
    ``p_<label>``, ``other_mass``, ``raw_sum``); {} for a sampling score."""
    if not value.get(ESTIMATOR_COLUMN):
        return {}
    return {key: value[key] for key in estimate_column_names(list(value))}


def estimate_column_names(columns: Sequence[str]) -> list[str]:
    """Those of ``columns`` that estimator scores add (``estimator``, ``p_<label>``,
    ``other_mass``, ``raw_sum``): kept by every reader, since they say how to read the row."""
    named = (ESTIMATOR_COLUMN, OTHER_MASS_COLUMN, RAW_SUM_COLUMN)
    return [c for c in columns if c in named or str(c).startswith(PROBABILITY_PREFIX)]


def estimate_of(value: object, labels: Sequence[str]) -> list[float] | None:
    """The distribution of an estimator's ``Score.value`` in ``labels`` order (None for a
    sampling score, a failure, or a value without every ``p_<label>``)."""
    if not isinstance(value, Mapping) or not value.get(ESTIMATOR_COLUMN):
        return None
    try:
        return [float(value[probability_key(label)]) for label in labels]
    except (KeyError, TypeError, ValueError):
        return None


def with_estimate_columns(
    frame: pd.DataFrame, estimates: Sequence[Mapping[str, Any]]
) -> pd.DataFrame:
    """``frame`` (one row per score) with the estimator columns of each row's score; the frame
    itself when no row is an estimator's (a sampling table keeps exactly its columns)."""
    if not any(estimates):
        return frame
    extra = pd.DataFrame(list(estimates), index=frame.index)
    extra[ESTIMATOR_COLUMN] = extra[ESTIMATOR_COLUMN].fillna(DEFAULT_ESTIMATOR)
    for column in extra.columns:
        if column != ESTIMATOR_COLUMN:
            extra[column] = pd.to_numeric(extra[column], errors="coerce").astype(float)
    return pd.concat([frame, extra], axis=1)


def row_estimators(table: pd.DataFrame) -> pd.Series:
    """Each row's estimator (``sampling`` for tables and rows that name none)."""
    if ESTIMATOR_COLUMN not in table.columns:
        return pd.Series(DEFAULT_ESTIMATOR, index=table.index, dtype=object)
    values = table[ESTIMATOR_COLUMN].fillna("").astype(str).str.strip()
    return values.where(values != "", DEFAULT_ESTIMATOR)
