"""The vectorised engine: every metric of many settings against one human reference at once.

The table is coded once into integer arrays (:mod:`.coding`); label counts come from one
``bincount`` into a ``(unit, trial, item, category)`` tensor, and a mix (or a thousand random
mixes) is one matrix product with a unit-selection matrix.  The last category is parse
failures; the others are the dataset's labels in order (the reference's ``labels``).

Consistency (Section 4.2) of a setting is the mean over its members (units) of each member's
mean per-item number of distinct labels across its own trials; for a sweep, across all of its
values (Appendix E's per-item consistency over temperatures).

Conventions (:class:`~.conventions.Conventions`, the paper's by default): parse failures are
left out of distributions and counted as a category of their own for alpha (``errors=
"missing"`` drops them there too); items without any parsed answer in a setting are left out
of its per-item means (and of ``n_items``); per-item metrics are summarised by mean and
sample std (ddof=1); KL is smoothed with 1e-10 both ways; logarithms are natural.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import metrics
from ..design import RANDOM_MIX_DRAWS, RANDOM_MIX_SEED, RANDOM_MIX_SIZE
from ..errors import UsageError
from .coding import CodedTable, as_coded
from .conventions import PAPER, Conventions
from .kinds import EVALUATION, Setting, resolve_units
from .references import Reference

__all__ = ["CI_KEYS", "METRIC_KEYS", "evaluate", "evaluate_many", "item_table", "random_mix"]

#: The keys of an evaluation, in the order of the issue's JSON.
METRIC_KEYS: tuple[str, ...] = (
    "participant", "setting", "n_items", "n_trials", "H", "H_std", "JS", "JS_std",
    "KL_pq", "KL_qp", "agree", "alpha", "cor", "consistency", "parse_rate",
)  # fmt: skip

#: Means that get a bootstrap confidence interval (``<key>_ci_low`` / ``<key>_ci_high``).
CI_KEYS: tuple[str, ...] = ("H", "JS", "KL_pq", "KL_qp", "agree", "consistency")


def _coded_for(table: pd.DataFrame | CodedTable, reference: Reference) -> CodedTable:
    """``table`` coded over the reference's labels (a coded table must use the same ones)."""
    if not isinstance(reference, Reference):
        raise TypeError(
            f"expected a Reference (analysis.reference(dataset, population, subset)), got "
            f"{type(reference).__name__}"
        )
    coded = as_coded(table, reference.labels)
    if tuple(coded.labels) != tuple(reference.labels):
        raise UsageError(
            f"the annotations are coded over labels {coded.labels} but the {reference.name} "
            f"reference has labels {reference.labels}"
        )
    return coded


def _bound_rows(coded: CodedTable, reference: Reference) -> tuple[np.ndarray, np.ndarray]:
    """Reference item index per row (rows outside the reference dropped) and the row mask."""
    position = pd.Index(reference.uids).get_indexer(coded.items)
    ref_item = position[coded.item]
    keep = ref_item >= 0
    if not keep.any():
        raise UsageError(
            f"no matching items: none of the annotations' sent_id values is one of the "
            f"{len(reference.uids)} {reference.name} items of subset {reference.subset!r}"
        )
    return ref_item, keep


def _unit_tensor(coded: CodedTable, reference: Reference) -> np.ndarray:
    """Label counts of shape ``(units, trial ranks, reference items, categories)``."""
    ref_item, keep = _bound_rows(coded, reference)
    n_units, n_ranks, n_items = len(coded.units), coded.n_ranks, len(reference.uids)
    n_categories = coded.n_categories
    key = (coded.unit[keep] * n_ranks + coded.rank[keep]) * n_items + ref_item[keep]
    key = key * n_categories + coded.category[keep]
    size = n_units * n_ranks * n_items * n_categories
    counts = np.bincount(key, minlength=size).astype(np.float32)
    return counts.reshape(n_units, n_ranks, n_items, n_categories)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    valid = ~np.isnan(values)
    total = np.where(valid, values, 0.0).sum(axis=axis)
    count = valid.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _nanstd(values: np.ndarray, axis: int, ddof: int = 1) -> np.ndarray:
    valid = ~np.isnan(values)
    count = valid.sum(axis=axis)
    mean = np.expand_dims(_nanmean(values, axis), axis)
    squares = np.where(valid, (values - mean) ** 2, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > ddof, np.sqrt(squares / np.maximum(count - ddof, 1)), np.nan)


@dataclass
class _Batch:
    """Metrics of B settings: summaries of shape (B,), per-item values of shape (B, items)."""

    summary: dict[str, np.ndarray]
    per_item: dict[str, np.ndarray]


def _summarise(
    counts: np.ndarray,
    reference: Reference,
    consistency_items: np.ndarray,
    conventions: Conventions,
) -> _Batch:
    """Every metric of a count tensor ``(B, R, items, categories)`` against the reference.

    Per replicate (trial) r: item-level H, JS, KL both ways and majority match; nominal alpha
    over the replicate's answers; Kendall's tau between the replicate's and the humans'
    per-item entropies.  Each summary is the replicate's mean over items (std ddof=1),
    averaged over the replicates that have answers.  ``consistency_items`` (B, items) is given.
    The last category of ``counts`` is parse failures; the conventions say how to treat them.
    """
    n_batch, n_reps, n_items, n_categories = counts.shape
    n_labels = n_categories - 1
    labels = counts[..., :n_labels].astype(float)
    human = reference.counts
    base, eps = conventions.log_base, conventions.kl_epsilon
    item_values = {
        "H": metrics.entropy(labels, base=base),
        "JS": metrics.js_distance(labels, human, base=base),
        "KL_pq": metrics.kl_divergence(human, labels, eps=eps),
        "KL_qp": metrics.kl_divergence(labels, human, eps=eps),
        "agree": metrics.majority_match(human, labels),
    }
    present = counts.sum(axis=(2, 3)) > 0  # (B, R): replicate has answers
    summary: dict[str, np.ndarray] = {}
    for key, values in item_values.items():
        per_rep = np.where(present, _nanmean(values, axis=-1), np.nan)
        summary[key] = _nanmean(per_rep, axis=-1)
        if key in ("H", "JS"):
            stds = np.where(present, _nanstd(values, axis=-1, ddof=conventions.ddof), np.nan)
            summary[f"{key}_std"] = _nanmean(stds, axis=-1)
    alpha_counts = counts if conventions.errors == "category" else counts[..., :n_labels]
    alpha = metrics.alpha_from_counts(alpha_counts.astype(float))
    summary["alpha"] = _nanmean(np.where(present, alpha, np.nan), axis=-1)
    tau = metrics.kendall_tau(item_values["H"].reshape(-1, n_items), reference.entropy)
    summary["cor"] = _nanmean(np.where(present, tau.reshape(n_batch, n_reps), np.nan), axis=-1)
    summary["consistency"] = _nanmean(consistency_items, axis=-1)
    parsed = labels.sum(axis=(1, 2, 3))
    total = counts.sum(axis=(1, 2, 3), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["parse_rate"] = np.where(total > 0, parsed / np.maximum(total, 1), np.nan)
    summary["n_items"] = (labels.sum(axis=(1, 3)) > 0).sum(axis=-1)
    summary["n_trials"] = present.sum(axis=-1)
    per_item = {key: _nanmean(values, axis=1) for key, values in item_values.items()}
    per_item["consistency"] = consistency_items
    per_item["n_answers"] = labels.sum(axis=(1, 3))
    per_item["n_failed"] = counts[..., n_labels].sum(axis=1)
    per_item["distribution"] = labels.sum(axis=1)  # (B, items, labels), pooled over trials
    return _Batch(summary, per_item)


def _distinct(counts: np.ndarray) -> np.ndarray:
    """Distinct labels per item (NaN without parsed answers) of ``(..., items, categories)``
    (the last category, parse failures, left out)."""
    labels = counts[..., :-1]
    distinct = (labels > 0).sum(axis=-1).astype(float)
    return np.where(distinct > 0, distinct, np.nan)


def _selection(unit_lists: Sequence[np.ndarray], n_units: int) -> np.ndarray:
    selection = np.zeros((len(unit_lists), n_units), dtype=np.float32)
    for row, units in enumerate(unit_lists):
        selection[row, units] = 1.0
    return selection


def _mix_counts(tensor: np.ndarray, selection: np.ndarray) -> np.ndarray:
    n_units = tensor.shape[0]
    mixed = selection @ tensor.reshape(n_units, -1)
    return mixed.reshape(selection.shape[0], *tensor.shape[1:])


def _mix_consistency(unit_distinct: np.ndarray, selection: np.ndarray) -> np.ndarray:
    """Per item, the mean over a mix's members of each member's distinct labels."""
    valid = ~np.isnan(unit_distinct)
    total = selection @ np.where(valid, unit_distinct, 0.0)
    count = selection @ valid.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass
class _Evaluation:
    settings: list[Setting]
    batch: _Batch
    reference: Reference


def _run(
    coded: CodedTable,
    settings: Sequence[Setting],
    reference: Reference,
    conventions: Conventions,
) -> _Evaluation:
    """Evaluate non-random settings in two batches (SINGLE units; mixes, sizes and sweeps)."""
    tensor = _unit_tensor(coded, reference)
    unit_pooled = tensor.sum(axis=1)  # (U, items, categories)
    unit_distinct = _distinct(unit_pooled)
    order: list[tuple[int, int]] = []  # (batch, row) per setting
    singles, mixes = [], []
    for setting in settings:
        if setting.kind == "random_mix":
            raise ValueError("evaluate random mixes with random_mix()")
        units = resolve_units(coded, setting.participants, f"setting {setting.name!r}")
        if setting.kind == "single":
            if units.size != 1:
                names = ", ".join(coded.units["unit"].iloc[units])
                raise UsageError(
                    f"participant {setting.name!r} has several runs that differ in settings; "
                    f"name one of: {names}"
                )
            order.append((0, len(singles)))
            singles.append(int(units[0]))
        else:
            order.append((1, len(mixes)))
            mixes.append((setting, units))
    batches: list[_Batch | None] = [None, None]
    if singles:
        index = np.array(singles)
        counts = unit_pooled[index][:, None]
        batches[0] = _summarise(counts, reference, unit_distinct[index], conventions)
        batches[0].summary["n_trials"] = coded.units["n_trials"].to_numpy()[index]
    if mixes:
        selection = _selection([units for _, units in mixes], len(coded.units))
        counts = _mix_counts(tensor, selection)
        consistency = _mix_consistency(unit_distinct, selection)
        for row, (setting, _) in enumerate(mixes):
            if setting.kind == "sweep":  # distinct labels across the whole sweep
                consistency[row] = _distinct(counts[row].sum(axis=0))
        batches[1] = _summarise(counts, reference, consistency, conventions)
    summary = {
        key: np.array([batches[b].summary[key][r] for b, r in order])
        for key in batches[0 if singles else 1].summary
    }
    per_item = {
        key: np.stack([batches[b].per_item[key][r] for b, r in order])
        for key in batches[0 if singles else 1].per_item
    }
    return _Evaluation(list(settings), _Batch(summary, per_item), reference)


def _value(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _records(evaluation: _Evaluation, conventions: Conventions) -> list[dict]:
    summary, per_item = evaluation.batch.summary, evaluation.batch.per_item
    if conventions.n_boot > 0:
        cis = {
            key: metrics.bootstrap_ci(
                per_item[key], n_boot=conventions.n_boot, seed=conventions.seed,
                level=conventions.level,
            )  # fmt: skip
            for key in CI_KEYS
        }
    else:  # n_boot=0: no confidence intervals asked for (NaN), and no time spent on them
        cis = {key: np.full((len(evaluation.settings), 2), np.nan) for key in CI_KEYS}
    records = []
    for row, setting in enumerate(evaluation.settings):
        record: dict[str, object] = {"participant": setting.name, "setting": setting.kind}
        for key in METRIC_KEYS[2:]:
            record[key] = _value(summary[key][row])
        for key in CI_KEYS:
            record[f"{key}_ci_low"] = float(cis[key][row, 0])
            record[f"{key}_ci_high"] = float(cis[key][row, 1])
        record["reference"] = evaluation.reference.name
        record["subset"] = evaluation.reference.subset
        records.append(record)
    return records


def evaluate_many(
    table: pd.DataFrame | CodedTable,
    settings: Sequence[Setting],
    reference: Reference,
    *,
    conventions: Conventions = PAPER,
) -> list[dict]:
    """Evaluate many settings at once (the fast path); one dict per setting, in order.

    Each dict is what :func:`evaluate` returns.  Random mixes are summarised over their
    draws (see :func:`evaluate`).
    """
    coded = _coded_for(table, reference)
    positions = [
        i for i, s in enumerate(settings) if s.kind != "random_mix" and s.kind not in EVALUATION
    ]
    results: dict[int, dict] = {}
    if positions:
        fixed = [settings[i] for i in positions]
        records = _records(_run(coded, fixed, reference, conventions), conventions)
        results.update(zip(positions, records, strict=True))
    for position, setting in enumerate(settings):
        if setting.kind in EVALUATION:  # a registered kind with an evaluation of its own
            record = EVALUATION[setting.kind](coded, setting, reference, conventions)
            for key in CI_KEYS:
                record.setdefault(f"{key}_ci_low", float("nan"))
                record.setdefault(f"{key}_ci_high", float("nan"))
            record["reference"], record["subset"] = reference.name, reference.subset
            results[position] = record
        elif setting.kind == "random_mix":
            draws = random_mix(coded, setting, reference, conventions=conventions)
            results[position] = _summarise_draws(setting, draws, reference, conventions.level)
    return [results[i] for i in range(len(settings))]


def evaluate(
    table: pd.DataFrame | CodedTable,
    setting: Setting,
    reference: Reference,
    *,
    conventions: Conventions = PAPER,
) -> dict:
    """One setting against a human reference: the issue's metric row as a dict.

    Keys (in order): ``participant`` (the setting's name), ``setting`` (its kind),
    ``n_items`` (reference items with at least one parsed answer), ``n_trials``, ``H``,
    ``H_std``, ``JS``, ``JS_std``, ``KL_pq`` (P = human, Q = setting), ``KL_qp``, ``agree``,
    ``alpha``, ``cor`` (Kendall's tau of per-item entropies vs the humans'),
    ``consistency``, ``parse_rate``; then ``<m>_ci_low``/``<m>_ci_high`` for the means in
    :data:`CI_KEYS` (seeded percentile bootstrap over items), and ``reference``, ``subset``.

    ``reference``: a population of the dataset over a subset (:func:`.references.reference`);
    ``conventions``: how failures, smoothing, std and the bootstrap are handled (the paper's
    by default).  A random mix is summarised over its draws: each metric is the mean over
    draws, and its CI the draws' percentile interval at ``conventions.level``.  Values are
    NaN where undefined.
    """
    return evaluate_many(table, [setting], reference, conventions=conventions)[0]


def item_table(
    table: pd.DataFrame | CodedTable,
    setting: Setting,
    reference: Reference,
    *,
    replicate: int | None = None,
    conventions: Conventions = PAPER,
) -> pd.DataFrame:
    """Per-item metrics of one setting (Figure 2, Table 4, the per-item CSV).

    One row per reference item (index ``sent_id``): ``human_H``, ``H``, ``JS``, ``KL_pq``,
    ``KL_qp``, ``agree`` (1/0: same majority label), ``consistency``, ``human_majority``,
    ``majority``, ``n_answers``, ``n_failed``, and the label shares ``human_<label>`` and
    ``<label>`` for every label of the reference.  Metrics are averaged over the setting's
    trials; the shares pool all of its parsed answers.  ``replicate`` (1-based) restricts a
    mix to its t-th trial (e.g. Table 4 uses the first trial of MODEL MIX all).
    """
    if setting.kind == "random_mix" or setting.kind in EVALUATION:
        raise UsageError(f"a {setting.kind} setting has no per-item table; use its units")
    coded = _coded_for(table, reference)
    if replicate is not None:
        if replicate < 1:
            raise UsageError(f"replicate is 1-based, got {replicate}")
        keep = coded.rank == replicate - 1
        coded = coded.keep(keep, rank=np.zeros(int(keep.sum()), dtype=np.int64))
    evaluation = _run(coded, [setting], reference, conventions)
    per_item = {key: value[0] for key, value in evaluation.batch.per_item.items()}
    distribution = metrics.normalise(per_item.pop("distribution"))
    human = metrics.normalise(reference.counts)
    labels = reference.labels
    majority = metrics.majority_label(np.nan_to_num(distribution))
    frame = pd.DataFrame(
        {
            "human_H": metrics.entropy(reference.counts, base=conventions.log_base),
            **{key: per_item[key] for key in ("H", "JS", "KL_pq", "KL_qp", "agree")},
            "consistency": per_item["consistency"],
            "human_majority": np.array(labels, dtype=object)[
                metrics.majority_label(reference.counts)
            ],
            "majority": [labels[m] if m >= 0 else None for m in majority],
            "n_answers": per_item["n_answers"].astype(int),
            "n_failed": per_item["n_failed"].astype(int),
        },
        index=pd.Index(reference.uids, name="sent_id"),
    )
    for position, label in enumerate(labels):
        frame[f"human_{label}"] = human[:, position]
    for position, label in enumerate(labels):
        frame[label] = distribution[:, position]
    return frame


def random_mix(
    table: pd.DataFrame | CodedTable,
    group: Setting | Sequence[str] | None,
    reference: Reference,
    *,
    draws: int | None = None,
    k: int | None = None,
    seed: int | None = None,
    conventions: Conventions = PAPER,
) -> pd.DataFrame:
    """RANDOM MIX (Appendix D): every metric of ``draws`` seeded random mixes of ``k`` units.

    Members are drawn without replacement from ``group`` (a Setting, whose options may give
    ``draws``/``k``/``seed``; a list of names; or None for every unit), with
    ``numpy.random.default_rng(seed)``.  Each draw is evaluated as a MODEL MIX (per trial,
    averaged).  Defaults: 1000 draws of 10, seed 0 (:mod:`inspect_partynli.design`).  Returns
    one row per draw: ``draw``, ``members`` (comma-joined unit names) and the metric keys of
    :func:`evaluate` (without CIs).  All draws are evaluated at once (one matrix product).
    """
    coded = _coded_for(table, reference)
    options: Mapping[str, object] = group.options if isinstance(group, Setting) else {}
    draws = int(draws if draws is not None else options.get("draws", RANDOM_MIX_DRAWS))
    k = int(k if k is not None else options.get("k", RANDOM_MIX_SIZE))
    seed = int(seed if seed is not None else options.get("seed", RANDOM_MIX_SEED))
    if group is None:
        units = np.arange(len(coded.units))
        name = "all"
    else:
        members = group.participants if isinstance(group, Setting) else tuple(group)
        name = group.name if isinstance(group, Setting) else "random_mix"
        units = resolve_units(coded, members, f"group {name!r}")
    if draws < 1:
        raise UsageError(f"--draws must be at least 1, got {draws}")
    if not 1 <= k <= len(units):
        raise UsageError(
            f"cannot draw k={k} participants from group {name!r} of {len(units)} "
            f"(k must be between 1 and {len(units)})"
        )
    tensor = _unit_tensor(coded, reference)
    unit_distinct = _distinct(tensor.sum(axis=1))
    rng = np.random.default_rng(seed)
    chosen = units[np.argsort(rng.random((draws, len(units))), axis=1)[:, :k]]
    selection = np.zeros((draws, len(coded.units)), dtype=np.float32)
    np.put_along_axis(selection, chosen, 1.0, axis=1)
    batch = _summarise(
        _mix_counts(tensor, selection), reference, _mix_consistency(unit_distinct, selection),
        conventions,
    )  # fmt: skip
    names = coded.units["unit"].to_numpy()
    frame = pd.DataFrame(
        {
            "draw": np.arange(draws),
            "members": [",".join(names[np.sort(row)]) for row in chosen],
            "participant": name,
            "setting": "random_mix",
        }
    )
    for key in METRIC_KEYS[2:]:
        frame[key] = batch.summary[key]
    return frame


def _summarise_draws(setting: Setting, draws: pd.DataFrame, ref: Reference, level: float) -> dict:
    """A random mix's row: mean over draws; CIs are the draws' percentile intervals."""
    record: dict[str, object] = {"participant": setting.name, "setting": "random_mix"}
    for key in METRIC_KEYS[2:]:
        values = draws[key].to_numpy(dtype=float)
        record[key] = metrics.mean_std(values)[0]
    record["n_items"] = int(draws["n_items"].max())
    record["n_trials"] = int(draws["n_trials"].max())
    tail = (1 - level) / 2 * 100
    for key in CI_KEYS:
        values = draws[key].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        low, high = np.percentile(values, [tail, 100 - tail]) if values.size else (np.nan,) * 2
        record[f"{key}_ci_low"], record[f"{key}_ci_high"] = float(low), float(high)
    record["reference"], record["subset"] = ref.name, ref.subset
    return record
