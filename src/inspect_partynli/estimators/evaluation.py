"""An estimator run as a participant: its per-item distribution, and its metrics vs humans.

A run of any estimator becomes one participant whose distribution for an item is

* ``sampling``: the shares of its parsed single labels over the epochs (the paper's SINGLE
  setting, exactly);
* ``logprobs`` / ``verbalized``: the **mean over its epochs** of the per-reply distributions
  (``p_<label>`` of the annotation table), over the epochs whose reply was read.  One epoch
  suffices; with more, the per-item ``spread`` is the mean over labels of the sample std
  (``ddof`` of the conventions) of the label's probability across epochs, and the run's
  spread is its mean over items (NaN with one epoch).

The metrics are the study's, with its conventions unchanged (``conventions`` carries
``kl_epsilon``, ``ddof`` and ``log_base``, the paper's by default): per item H, JS distance,
KL(human || model) (``KL_pq``) and KL(model || human) (``KL_qp``) and majority match, summarised
by mean (and std for H and JS) over the reference's items that have a model distribution;
Agree is the mean majority match; Cor. is Kendall's tau between the model's and the humans'
per-item entropies.  Krippendorff's alpha and consistency need discrete annotations and are
not defined for ``logprobs`` / ``verbalized`` (NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import metrics
from .base import DEFAULT_ESTIMATOR, probability_key
from .table import OTHER_MASS_COLUMN, RAW_SUM_COLUMN, row_estimators

#: Keys of :func:`compare`'s record, in order.
METRIC_KEYS: tuple[str, ...] = (
    "estimator", "n_items", "n_trials", "H", "H_std", "JS", "JS_std", "KL_pq", "KL_qp",
    "agree", "cor", "spread", "parse_rate", "other_mass", "raw_sum",
)  # fmt: skip


@dataclass(frozen=True)
class ItemDistributions:
    """One run's per-item distributions (rows of ``distribution`` sum to 1).

    ``epochs``: per item, the epochs that gave a distribution (parsed replies).
    ``spread``: per item, mean over labels of the std of the probability across epochs.
    """

    estimator: str
    labels: tuple[str, ...]
    items: np.ndarray
    distribution: np.ndarray
    epochs: np.ndarray
    spread: np.ndarray
    n_replies: int
    n_parsed: int
    other_mass: float = float("nan")
    raw_sum: float = float("nan")

    def frame(self) -> pd.DataFrame:
        """The distributions as a frame (index item id, one column per label)."""
        return pd.DataFrame(self.distribution, index=pd.Index(self.items), columns=self.labels)


def _mean(table: pd.DataFrame, column: str) -> float:
    if column not in table.columns:
        return float("nan")
    values = pd.to_numeric(table[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")


def item_distributions(
    rows: pd.DataFrame, labels: Sequence[str], *, ddof: int = 1
) -> ItemDistributions:
    """The per-item distributions of one run's annotation-table rows (one estimator).

    Raises ValueError when the rows mix estimators or lack the ``p_<label>`` columns an
    estimator run needs.
    """
    labels = tuple(labels)
    estimators = row_estimators(rows).unique()
    if len(estimators) > 1:
        raise ValueError(f"one run has one estimator; these rows have {sorted(estimators)}")
    estimator = str(estimators[0]) if len(estimators) else DEFAULT_ESTIMATOR
    parsed = rows[rows["parsed"].astype(bool)]
    if estimator == DEFAULT_ESTIMATOR:
        counts = pd.crosstab(parsed["sent_id"].astype(str), parsed["class_simple"].astype(str))
        counts = counts.reindex(columns=list(labels), fill_value=0)
        values = counts.to_numpy(dtype=float)
        per_epoch = values.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            distribution = values / per_epoch[:, None]
        spread = np.full(len(counts), np.nan)
        items = counts.index.to_numpy(dtype=str)
    else:
        columns = [probability_key(label) for label in labels]
        missing = [c for c in columns if c not in rows.columns]
        if missing:
            raise ValueError(f"{estimator} rows lack the column(s) {', '.join(missing)}")
        probabilities = parsed[columns].apply(pd.to_numeric, errors="coerce")
        probabilities = probabilities[probabilities.notna().all(axis=1)]
        grouped = probabilities.groupby(parsed.loc[probabilities.index, "sent_id"].astype(str))
        mean = grouped.mean()
        distribution = mean.to_numpy(dtype=float)  # rows sum to 1 (each reply's does)
        per_epoch = grouped.size().to_numpy(dtype=float)
        spread = grouped.std(ddof=ddof).mean(axis=1).to_numpy(dtype=float)
        items = mean.index.to_numpy(dtype=str)
    return ItemDistributions(
        estimator=estimator,
        labels=labels,
        items=items,
        distribution=distribution,
        epochs=per_epoch,
        spread=spread,
        n_replies=len(rows),
        n_parsed=len(parsed),
        other_mass=_mean(parsed, OTHER_MASS_COLUMN),
        raw_sum=_mean(parsed, RAW_SUM_COLUMN),
    )


def compare(run: ItemDistributions, reference: Any, conventions: Any = None) -> dict[str, Any]:
    """The metrics of one run against one human reference (see the module docstring).

    ``reference`` has ``uids`` (item ids), ``counts`` (items x labels, the run's labels in
    order) and ``entropy`` (per item); ``conventions`` has ``kl_epsilon``, ``ddof`` and
    ``log_base``; None uses the metric functions' own defaults, which are the paper's.  Items
    of the reference the run has no distribution for are left out of the means and of
    ``n_items``.
    """
    base = getattr(conventions, "log_base", None)
    std_args = {} if conventions is None else {"ddof": conventions.ddof}
    kl_args = {} if conventions is None else {"eps": conventions.kl_epsilon}

    def mean_std(values: np.ndarray) -> tuple[float, float]:
        return metrics.mean_std(values, **std_args)

    uids = np.asarray(reference.uids).astype(str)
    human = np.asarray(reference.counts, dtype=float)
    position = {item: i for i, item in enumerate(run.items)}
    model = np.full(human.shape, 0.0)
    spread = np.full(len(uids), np.nan)
    epochs = np.zeros(len(uids))
    for row, item in enumerate(uids):
        found = position.get(item)
        if found is not None:
            model[row] = run.distribution[found]
            spread[row] = run.spread[found]
            epochs[row] = run.epochs[found]
    entropy = metrics.entropy(model, base)
    h_mean, h_std = mean_std(entropy)
    js = metrics.js_distance(model, human, base)
    js_mean, js_std = mean_std(js)
    present = epochs > 0
    with np.errstate(invalid="ignore"):
        kl_pq = metrics.kl_divergence(human, model, **kl_args)
        kl_qp = metrics.kl_divergence(model, human, **kl_args)
    agree = metrics.majority_match(human, model)
    cor = metrics.kendall_tau(entropy, np.asarray(reference.entropy, dtype=float))
    return {
        "estimator": run.estimator,
        "n_items": int(present.sum()),
        "n_trials": int(epochs.max()) if present.any() else 0,
        "H": h_mean,
        "H_std": h_std,
        "JS": js_mean,
        "JS_std": js_std,
        "KL_pq": mean_std(np.where(present, kl_pq, np.nan))[0],
        "KL_qp": mean_std(np.where(present, kl_qp, np.nan))[0],
        "agree": mean_std(agree)[0],
        "cor": float(cor),
        "spread": mean_std(spread)[0],
        "parse_rate": run.n_parsed / run.n_replies if run.n_replies else float("nan"),
        "other_mass": run.other_mass,
        "raw_sum": run.raw_sum,
    }
