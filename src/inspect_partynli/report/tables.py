"""The report's tables: Table 2, Table 5, per-item distributions and label shares.

The numbers come from :mod:`inspect_partynli.analysis` (which calls
:mod:`inspect_partynli.metrics`); this module only arranges them the way the paper does and
formats them for Markdown/HTML.  Each ``*_frame`` function returns the machine-readable table
written to CSV (full precision); each ``*_display`` function the rounded table shown in the
report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from ..design import SETTING_NAMES as KIND_NAMES
from ..labels import ERROR_LABEL, LABELS
from .document import format_cell

#: Table 2's metrics per population: alpha only for the primary one (its coders are known).
TABLE2_METRICS: tuple[str, ...] = ("H", "cor", "JS")
PRIMARY_METRICS: tuple[str, ...] = (*TABLE2_METRICS, "alpha")

#: Table 5's columns (after participant and setting), as in the paper plus our extras.
TABLE5_METRICS: tuple[str, ...] = (
    "H", "JS", "KL_pq", "KL_qp", "agree", "alpha", "cor", "consistency", "parse_rate",
)  # fmt: skip

METRIC_NAMES: dict[str, str] = {
    "H": "H", "cor": "Cor. ↑", "JS": "JS ↓", "alpha": "α", "KL_pq": "KL(P‖Q) ↓",
    "KL_qp": "KL(Q‖P) ↓", "agree": "Agree ↑", "consistency": "consistency",
    "parse_rate": "parse rate", "n_items": "items", "n_trials": "trials",
}  # fmt: skip

#: Display names of settings (the ``setting`` key of an evaluation).
SETTING_NAMES: dict[str, str] = {"human": "Human", **KIND_NAMES}


def mean_std(mean: object, std: object = None, digits: int = 2) -> str:
    """``0.64 (0.23)``: a mean with its standard deviation over items, as the paper's
    subscripts; an en dash for a missing value."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = format_cell(float(mean), digits)  # never "-0.00"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ({format_cell(float(std), digits)})"
    return text


def _name(row: Mapping) -> str:
    setting = row.get("setting", "")
    participant = row.get("participant", "")
    label = SETTING_NAMES.get(setting, str(setting))
    if setting in ("human",):
        return "Human"
    if setting == "single":
        return str(participant)
    return f"{label} {participant}".strip()


# ------------------------------------------------------------------------------ Table 2
def table2_frame(rows: Iterable[Mapping], primary: str) -> pd.DataFrame:
    """Table 2 as one row per setting, columns ``<population>_<metric>`` (CSV form).

    ``rows`` are evaluations (dicts with ``participant``, ``setting``, ``reference`` and the
    metric keys of :func:`inspect_partynli.analysis.evaluate`); human rows carry
    ``setting='human'`` and ``H``/``H_std``/``alpha``.  Rows keep their first-seen order;
    alpha is kept for the ``primary`` population only.
    """
    table: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (str(row.get("setting", "")), str(row.get("participant", "")))
        entry = table.setdefault(
            key,
            {"setting": key[0], "participant": key[1], "name": _name(row),
             "parameters": row.get("parameters", "") or ""},
        )  # fmt: skip
        population = row["reference"]
        metrics = PRIMARY_METRICS if population == primary else TABLE2_METRICS
        for metric in (*metrics, "H_std", "JS_std", "n_items"):
            if metric in row:
                entry[f"{population}_{metric}"] = row[metric]
    frame = pd.DataFrame(list(table.values()))
    return frame


def table2_display(
    frame: pd.DataFrame, populations: Mapping[str, str], primary: str
) -> pd.DataFrame:
    """Table 2 as shown: ``Experiment, Parameters`` then per population H, Cor., JS (, α for
    the ``primary`` one) with standard deviations in parentheses.  ``populations`` maps each
    population (in column order) to its display name."""
    out = pd.DataFrame({"Experiment": frame["name"], "Parameters": frame["parameters"]})
    for population, shown in populations.items():
        if not any(c.startswith(population + "_") for c in frame.columns):
            continue
        for metric in PRIMARY_METRICS if population == primary else TABLE2_METRICS:
            column = f"{population}_{metric}"
            values = frame.get(column, pd.Series(math.nan, index=frame.index))
            stds = frame.get(f"{column}_std", pd.Series(math.nan, index=frame.index))
            out[f"{shown} {METRIC_NAMES[metric]}"] = [
                mean_std(v, s) for v, s in zip(values, stds, strict=True)
            ]
    return out


# ------------------------------------------------------------------------------ Table 5
def table5_frame(rows: Iterable[Mapping]) -> pd.DataFrame:
    """Table 5 (CSV form): one row per participant or group, every metric with its std."""
    records = []
    for row in rows:
        record = {"name": _name(row), **{k: v for k, v in row.items() if k != "name"}}
        records.append(record)
    return pd.DataFrame(records)


def table5_display(frame: pd.DataFrame) -> pd.DataFrame:
    """Table 5 as shown: name, items, trials, then each metric (mean (std) where per item)."""
    out = pd.DataFrame({"Experiment": frame["name"]})
    for extra in ("n_items", "n_trials"):
        if extra in frame.columns:
            out[METRIC_NAMES[extra]] = [
                "–" if pd.isna(v) else str(int(v)) for v in frame[extra]
            ]  # fmt: skip
    for metric in TABLE5_METRICS:
        if metric not in frame.columns:
            continue
        stds = frame.get(f"{metric}_std", pd.Series(math.nan, index=frame.index))
        out[METRIC_NAMES[metric]] = [
            mean_std(v, s) for v, s in zip(frame[metric], stds, strict=True)
        ]
    return out


# ----------------------------------------------------------------------- label counting
def label_counts(
    table: pd.DataFrame, by: Sequence[str] = ("participant",), labels: Sequence[str] = LABELS
) -> pd.DataFrame:
    """How often each label (and ``error``) occurs per group of ``by`` columns.

    Returns a frame indexed by ``by`` with columns ``labels`` + ``error`` (counts).
    """
    counts = pd.crosstab(
        [table[c] for c in by], table["class_simple"].where(table["parsed"], ERROR_LABEL)
    )
    return counts.reindex(columns=[*labels, ERROR_LABEL], fill_value=0)


def label_shares(
    table: pd.DataFrame,
    consistency: Mapping[str, float] | None = None,
    labels: Sequence[str] = LABELS,
) -> pd.DataFrame:
    """Figure 3 left's data: per participant the share of each label (parse failures as
    ``error``), its ``participant_type`` and its ``consistency`` (given, computed by
    :func:`inspect_partynli.metrics.consistency`)."""
    counts = label_counts(table, labels=labels)
    shares = counts.div(counts.sum(axis=1), axis=0)
    if not (shares[ERROR_LABEL] > 0).any():
        shares = shares.drop(columns=ERROR_LABEL)
    kinds = table.groupby("participant")["participant_type"].first()
    shares["participant_type"] = kinds.reindex(shares.index).fillna("model")
    shares["n"] = counts.sum(axis=1)
    shares["consistency"] = pd.Series(consistency or {}, dtype=float).reindex(shares.index)
    shares.index.name = "participant"
    return shares


def item_distributions(table: pd.DataFrame, labels: Sequence[str] = LABELS) -> pd.DataFrame:
    """Per (participant, item): label shares over its parsed trials, and ``n`` answers.

    Indexed by ``(participant, sent_id)``, columns ``labels`` (shares), ``error``
    (count of failed parses) and ``n`` (all answers).  This is the data of the per-item
    explorer, not a metric.
    """
    counts = label_counts(table, ("participant", "sent_id"), labels)
    parsed = counts[list(labels)].sum(axis=1)
    shares = counts[list(labels)].div(parsed.where(parsed > 0), axis=0)
    shares[ERROR_LABEL] = counts[ERROR_LABEL]
    shares["n"] = counts.sum(axis=1)
    return shares
