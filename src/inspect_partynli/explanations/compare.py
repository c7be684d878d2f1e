"""Summaries of metric distributions and the humans-vs-participants test.

:func:`describe` gives ``n, median, q1, q3, mean`` of one distribution (NaNs left out;
quartiles by numpy's default linear interpolation).  :func:`mann_whitney_p` is the two-sided
Mann-Whitney U test (``scipy.stats.mannwhitneyu``, default asymptotic/exact choice) of two
distributions; it says whether e.g. participants' explanations are longer, or vary less, than
humans'.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SUMMARY_STATS = ("n", "median", "q1", "q3", "mean")


def _clean(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    return array[~np.isnan(array)]


def describe(values: Iterable[float]) -> dict[str, float]:
    """``{n, median, q1, q3, mean}`` of the non-NaN values (NaN statistics when n = 0)."""
    array = _clean(values)
    if array.size == 0:
        return {"n": 0, **dict.fromkeys(SUMMARY_STATS[1:], float("nan"))}
    q1, median, q3 = np.percentile(array, [25, 50, 75])
    return {
        "n": int(array.size),
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "mean": float(array.mean()),
    }


def mann_whitney_p(a: Iterable[float], b: Iterable[float], alternative: str = "two-sided") -> float:
    """p-value of the Mann-Whitney U test of ``a`` vs ``b`` (NaN when either is empty)."""
    from scipy.stats import mannwhitneyu

    x, y = _clean(a), _clean(b)
    if x.size == 0 or y.size == 0:
        return float("nan")
    if np.unique(np.concatenate([x, y])).size == 1:
        return 1.0  # all values equal: no evidence of a difference
    return float(mannwhitneyu(x, y, alternative=alternative).pvalue)


def summarise(
    long: pd.DataFrame,
    *,
    keys: tuple[str, ...] = ("group", "kind", "metric", "representation", "encoder"),
    reference_group: str | None = "humans",
) -> pd.DataFrame:
    """One row per ``keys`` combination of a long table with a ``value`` column.

    Adds ``p_value``: the Mann-Whitney U test of each group against ``reference_group`` for
    the same metric, representation and encoder (NaN for the reference itself, or when it is
    absent).
    """
    rows = []
    reference: dict[tuple, np.ndarray] = {}
    if reference_group is not None:
        ref = long[long["group"] == reference_group]
        for key, part in ref.groupby(["metric", "representation", "encoder"], sort=False):
            reference[key] = part["value"].to_numpy(dtype=float)
    for key, part in long.groupby(list(keys), sort=False):
        row = dict(zip(keys, key, strict=True))
        values = part["value"].to_numpy(dtype=float)
        row.update(describe(values))
        comparable = (row["metric"], row["representation"], row["encoder"])
        if row["group"] != reference_group and comparable in reference:
            row["p_value"] = mann_whitney_p(values, reference[comparable])
        else:
            row["p_value"] = float("nan")
        rows.append(row)
    columns = [*keys, *SUMMARY_STATS, "p_value"]
    return pd.DataFrame(rows, columns=columns)
