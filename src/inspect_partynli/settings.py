"""Who the annotators of an item are (the study's settings), and their evaluation vs humans.

A *setting* decides which answers of the annotation table form one item's label
distribution (Section 3 of the paper):

``single``
    One participant; its trials are the annotators.  A participant whose rows differ in
    ``num_params`` (sizes), ``temperature`` or ``top_p`` (sweep values) or ``experiment`` is
    split into *units*, one SINGLE row each, named by what tells them apart:
    ``gemma3 (num_params=4)``, ``m (temperature=0.5)``, ``m (experiment=single)``; an unset
    value reads ``num_params=unknown`` / ``temperature=default`` (the provider's).
``mix``
    A named group of units; for trial *t* the group's *t*-th answers form the item's
    distribution.  Metrics are computed per trial and averaged over trials (Table 2's std
    subscripts are the per-trial std over items, averaged).
``size``
    A family's sizes (its units that differ only in ``num_params``) are the annotators, per
    trial, averaged over trials.
``sweep``
    One model's temperature (or top_p) values are the annotators (the *r*-th answer of every
    value forms replicate *r*; a sweep with one answer per value has one replicate).
``random_mix``
    Appendix D: ``draws`` seeded draws of ``k`` units from a group, each evaluated as a mix;
    the result is the distribution of every metric over draws.

"Trial *t*" is the *t*-th trial of each unit (its trial numbers ranked), so a member with
fewer trials simply contributes nothing to the later trials.  Everything is vectorised: the
table is coded once into integer arrays (:func:`prepare`), label counts come from one
``bincount`` into a ``(unit, trial, item, category)`` tensor, and a mix (or a thousand random
mixes) is one matrix product with a unit-selection matrix.

Consistency (Section 4.2) of a setting is the mean over its members (units) of each member's
mean per-item number of distinct labels across its own trials; for a sweep, across all of its
values (Appendix E's per-item consistency over temperatures).

Conventions (the paper's, as parameters): parse failures are left out of distributions and
counted as a category of their own for alpha (``errors="missing"`` drops them there too);
items without any parsed answer in a setting are left out of its per-item means (and of
``n_items``); per-item metrics are summarised by mean and sample std (ddof=1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import metrics
from .annotation_schema import conform
from .errors import SourceError, UsageError
from .labels import ERROR_LABEL, LABEL_INDEX, LABELS
from .livenli_data import POPULATIONS, human_counts, livenli_coders, subset_uids

__all__ = [
    "KINDS",
    "METRIC_KEYS",
    "CodedTable",
    "Setting",
    "default_settings",
    "evaluate",
    "evaluate_many",
    "group_settings",
    "human_rows",
    "item_table",
    "parse_group",
    "prepare",
    "random_mix",
    "reference_counts",
    "settings_of_kind",
    "size_settings",
    "sweep_settings",
]

#: Setting kinds, in the order tables list them.
KINDS: tuple[str, ...] = ("single", "mix", "size", "sweep", "random_mix")

#: The keys of an evaluation, in the order of the issue's JSON.
METRIC_KEYS: tuple[str, ...] = (
    "participant", "setting", "n_items", "n_trials", "H", "H_std", "JS", "JS_std",
    "KL_pq", "KL_qp", "agree", "alpha", "cor", "consistency", "parse_rate",
)  # fmt: skip

#: Means that get a bootstrap confidence interval (``<key>_ci_low`` / ``<key>_ci_high``).
CI_KEYS: tuple[str, ...] = ("H", "JS", "KL_pq", "KL_qp", "agree", "consistency")

#: Columns that split a participant into units (what may vary between its runs).
VARIANT_COLUMNS: tuple[str, ...] = ("experiment", "num_params", "temperature", "top_p")

#: Sweepable generation parameters.
SWEEP_PARAMS: tuple[str, ...] = ("temperature", "top_p")

_N_CATEGORIES = len(LABELS) + 1  # the labels, then parse failures
_ERROR = len(LABELS)


@dataclass(frozen=True)
class Setting:
    """One row of a results table: who the annotators are.

    ``participants`` holds unit names (see :func:`prepare`) or participant names (a
    participant name stands for all of its units).  ``options``: ``param`` for sweeps;
    ``draws``, ``k``, ``seed`` for random mixes.
    """

    name: str
    kind: str
    participants: tuple[str, ...]
    options: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown setting kind {self.kind!r}; choose one of {KINDS}")
        if isinstance(self.participants, str):
            object.__setattr__(self, "participants", (self.participants,))
        object.__setattr__(self, "participants", tuple(self.participants))
        if not self.participants:
            raise ValueError(f"setting {self.name!r} has no participants")


# =============================================================================== coding
@dataclass(frozen=True)
class CodedTable:
    """An annotation table coded into integer arrays (one entry per row).

    ``items``: the sorted distinct ``sent_id`` values; ``units``: one row per unit (index =
    unit code) with columns ``unit`` (display name), ``participant``, the variant columns and
    ``n_trials``.  Per row: ``item`` (index into ``items``), ``category`` (0..2 = LABELS,
    3 = parse failure), ``unit`` and ``rank`` (0-based rank of the row's trial among its
    unit's trials).
    """

    items: np.ndarray
    units: pd.DataFrame
    item: np.ndarray
    category: np.ndarray
    unit: np.ndarray
    rank: np.ndarray

    @property
    def n_ranks(self) -> int:
        return int(self.rank.max()) + 1 if self.rank.size else 0

    def participants(self) -> list[str]:
        return sorted(self.units["participant"].unique().tolist())

    def lookup(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """Unit codes by unit name and by participant name (computed once)."""
        cached = self.__dict__.get("_lookup")
        if cached is None:
            by_unit = {name: (code,) for code, name in enumerate(self.units["unit"])}
            groups = self.units.groupby("participant", sort=False).indices
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

    For each participant, the variant columns are taken in :data:`VARIANT_COLUMNS` order and a
    column is kept only when it tells more of the participant's units apart than the columns
    kept before it, so a name shows what distinguishes a unit and nothing that merely varies
    along (e.g. ``experiment=single`` vs ``experiment=model_mix_lo`` when the second also
    records size and settings).  Names stay unique: the kept columns separate all units.
    Vectorised over units (one groupby per column).
    """
    owner = pd.factorize(units["participant"])[0]
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
    the variant columns that tell its units apart (:func:`_distinguishing`)."""
    shown = _distinguishing(units)
    parts = np.full(len(units), "", dtype=object)
    for position, column in enumerate(VARIANT_COLUMNS):
        text = np.array(
            [f"{column}={_format_value(column, v)}" for v in units[column]], dtype=object
        )
        separator = np.where(parts == "", "", ", ")
        parts = np.where(shown[:, position], parts + separator + text, parts)
    participants = units["participant"].to_numpy(dtype=object)
    return [p if not q else f"{p} ({q})" for p, q in zip(participants, parts, strict=True)]


def prepare(table: pd.DataFrame) -> CodedTable:
    """Code an annotation table once for any number of evaluations (vectorised).

    Rows are grouped into units by participant plus :data:`VARIANT_COLUMNS`.  A duplicate
    (unit, trial, item) row -- which a loader should not produce -- is resolved
    deterministically: the last one wins, with a warning.  A row is a parse failure when
    ``parsed`` is false or ``class_simple`` is ``error``.  Raises :class:`SourceError` for a
    label outside LABELS on a parsed row.
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
    labels = _text(table["class_simple"])
    parsed = table["parsed"].to_numpy(dtype=bool) & (labels != ERROR_LABEL).to_numpy()
    codes, distinct = pd.factorize(labels)  # one lookup per distinct label, not per row
    label_codes = pd.Series(
        np.array([LABEL_INDEX.get(label, np.nan) for label in distinct] + [np.nan])[codes],
        index=labels.index,
    )
    unknown = parsed & label_codes.isna().to_numpy()
    if unknown.any():
        bad = sorted(set(labels[unknown]))[:5]
        raise SourceError(
            f"unknown label(s) {bad} in class_simple; expected one of {(*LABELS, ERROR_LABEL)}"
        )
    category = np.where(parsed, label_codes.fillna(_ERROR).to_numpy(), _ERROR).astype(np.int64)

    item, items = _codes(_text(table["sent_id"]))
    key = np.zeros(len(table), dtype=np.int64)
    for column in ("participant", *VARIANT_COLUMNS):
        values = table[column]
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

    # rank of each row's trial among its unit's trials
    pair_index, pairs = pd.factorize(unit * span + trial, sort=True)
    pair_unit = pairs // span
    pair_rank = np.arange(len(pairs)) - np.searchsorted(pair_unit, pair_unit, side="left")
    rank = pair_rank[pair_index]
    units["n_trials"] = np.bincount(pair_unit, minlength=len(units))
    units.insert(0, "unit", _unit_names(units))
    return CodedTable(items=items, units=units, item=item, category=category, unit=unit, rank=rank)


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


def _coded(table: pd.DataFrame | CodedTable) -> CodedTable:
    return table if isinstance(table, CodedTable) else prepare(table)


# =============================================================================== references
def reference_counts(
    livenli_df: pd.DataFrame, reference: str = "livenli", subset: str = "all"
) -> pd.DataFrame:
    """Human label counts per item (index uid, columns LABELS) of a reference population,
    restricted to a subset (``all``: 122 items; ``chaosnli``: the 50 with ChaosNLI and MNLI)."""
    if reference not in POPULATIONS:
        raise UsageError(f"unknown reference {reference!r}; choose one of {', '.join(POPULATIONS)}")
    if subset not in ("all", "chaosnli"):
        raise UsageError(f"unknown subset {subset!r}; choose 'all' or 'chaosnli'")
    counts = human_counts(livenli_df, reference)
    uids = [uid for uid in subset_uids(livenli_df, subset) if uid in counts.index]
    return counts.loc[uids]


def _livenli(livenli_df: pd.DataFrame | None) -> pd.DataFrame:
    if livenli_df is not None:
        return livenli_df
    from .livenli_data import load_livenli

    return load_livenli()


@dataclass(frozen=True)
class _Reference:
    name: str
    subset: str
    uids: np.ndarray
    counts: np.ndarray  # (items, labels)
    entropy: np.ndarray  # (items,)

    @classmethod
    def build(cls, livenli_df: pd.DataFrame | None, reference: str, subset: str) -> _Reference:
        counts = reference_counts(_livenli(livenli_df), reference, subset)
        values = counts.to_numpy(dtype=float)
        return cls(reference, subset, counts.index.to_numpy(), values, metrics.entropy(values))


def human_rows(
    livenli_df: pd.DataFrame | None = None,
    subset: str = "all",
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> list[dict]:
    """The Human rows of Tables 2 and 5: one per population (livenli, chaosnli, mnli).

    Keys ``population, n_items, H, H_std, alpha`` (alpha: nominal Krippendorff's alpha over
    the LiveNLI workers x the subset's items; ``None`` for ChaosNLI and MNLI, whose coders are
    unknown), plus ``setting='human'``, ``participant='human'``, ``reference`` and
    ``H_ci_low``/``H_ci_high`` (seeded percentile bootstrap over items).
    """
    df = _livenli(livenli_df)
    rows = []
    for population in POPULATIONS:
        counts = reference_counts(df, population, subset)
        entropies = metrics.entropy(counts.to_numpy(dtype=float))
        mean, std = metrics.mean_std(entropies)
        low, high = metrics.bootstrap_ci(entropies, n_boot=n_boot, seed=seed, level=level)
        alpha = None
        if population == "livenli":
            coders = livenli_coders(df)[list(counts.index)]
            alpha = metrics.krippendorff_alpha(coders.to_numpy(dtype=object))
        rows.append(
            {
                "population": population,
                "n_items": int(len(counts)),
                "H": mean,
                "H_std": std,
                "alpha": alpha,
                "setting": "human",
                "participant": "human",
                "reference": population,
                "subset": subset,
                "H_ci_low": low,
                "H_ci_high": high,
            }
        )
    return rows


# =============================================================================== settings
def _resolve(coded: CodedTable, names: Iterable[str], context: str) -> np.ndarray:
    """Unit codes of unit or participant names; UsageError naming an unknown one."""
    by_unit, by_participant = coded.lookup()
    chosen: list[int] = []
    for name in names:
        exact = by_unit.get(name, by_participant.get(name, ()))
        if len(exact) == 0:
            known = ", ".join(coded.participants())
            raise UsageError(
                f"unknown participant {name!r} in {context}; known participants: {known}"
            )
        chosen.extend(int(u) for u in exact if u not in chosen)
    return np.array(chosen, dtype=np.int64)


def default_settings(table: pd.DataFrame | CodedTable) -> list[Setting]:
    """Each unit alone (SINGLE) and, with more than one unit, all of them as the mix ``all``."""
    coded = _coded(table)
    names = coded.units["unit"].tolist()
    settings = [Setting(name, "single", (name,)) for name in sorted(names)]
    if len(names) > 1:
        settings.append(Setting("all", "mix", tuple(names)))
    return settings


def parse_group(spec: str) -> tuple[str, tuple[str, ...]]:
    """``NAME=P1,P2,...`` -> ``(NAME, (P1, P2, ...))``; UsageError when malformed."""
    name, sep, members = spec.partition("=")
    parts = tuple(m.strip() for m in members.split(",") if m.strip())
    if not sep or not name.strip() or not parts:
        raise UsageError(f"bad group {spec!r}: expected NAME=P1,P2,... (e.g. lo=phi4,olmo2)")
    return name.strip(), parts


def group_settings(
    table: pd.DataFrame | CodedTable,
    groups: Mapping[str, Sequence[str]] | Iterable[str],
    kind: str = "mix",
    **options: object,
) -> list[Setting]:
    """Settings of kind ``mix`` (or ``random_mix``) from declared groups.

    ``groups`` maps names to members, or is an iterable of ``NAME=P1,P2`` strings.  Every
    member must be a participant (or unit) of the table: an unknown one raises UsageError
    naming it and listing the known participants.
    """
    coded = _coded(table)
    if not isinstance(groups, Mapping):
        parsed: dict[str, tuple[str, ...]] = {}
        for spec in groups:
            name, members = parse_group(spec)
            if name in parsed:
                raise UsageError(f"group {name!r} is declared twice")
            parsed[name] = members
        groups = parsed
    settings = []
    for name, members in groups.items():
        _resolve(coded, members, f"group {name!r}")
        settings.append(Setting(str(name), kind, tuple(members), dict(options)))
    return settings


def _varying_groups(coded: CodedTable, column: str) -> list[tuple[str, tuple[str, ...], str]]:
    """``(participant, member units, experiment)`` for each set of a participant's units that
    differ only in ``column`` (and share everything else), with at least two values."""
    units = coded.units
    others = [c for c in VARIANT_COLUMNS if c != column]
    candidates = units[units[column].notna()] if column in SWEEP_PARAMS else units
    found = []
    for participant, group in candidates.groupby("participant", sort=True):
        for keys, members in group.groupby(others, dropna=False, sort=True):
            if members[column].nunique(dropna=False) >= 2:
                order = members.sort_values(column)
                found.append((str(participant), tuple(order["unit"]), str(keys[0])))
    return found


def _named(kind: str, found: Sequence[tuple[str, tuple[str, ...], str, str]]) -> list[Setting]:
    """Settings named by participant, disambiguated only where needed: first by the swept
    parameter (sweeps), then by experiment, then by a running number."""

    def counts(names: list[str]) -> dict[str, int]:
        return {name: names.count(name) for name in names}

    names = [participant for participant, _, _, _ in found]
    if kind == "sweep":
        seen = counts(names)
        names = [n if seen[n] == 1 else f"{n} ({f[3]})" for n, f in zip(names, found, strict=True)]
    seen = counts(names)
    names = [
        n if seen[n] == 1 else (f"{n[:-1]}, {f[2]})" if n.endswith(")") else f"{n} ({f[2]})")
        for n, f in zip(names, found, strict=True)
    ]
    seen, running = counts(names), dict.fromkeys(names, 0)
    unique = []
    for name in names:
        running[name] += 1
        unique.append(name if seen[name] == 1 else f"{name} #{running[name]}")
    return [
        Setting(name, kind, members, {"param": param} if kind == "sweep" else {})
        for name, (_, members, _, param) in zip(unique, found, strict=True)
    ]


def size_settings(table: pd.DataFrame | CodedTable) -> list[Setting]:
    """One SIZE setting per participant with at least two sizes (``num_params``) in the same
    experiment and generation settings."""
    found = _varying_groups(_coded(table), "num_params")
    return _named("size", [(*f, "num_params") for f in found])


def sweep_settings(table: pd.DataFrame | CodedTable, param: str | None = None) -> list[Setting]:
    """One SWEEP setting per participant and swept parameter (``temperature``/``top_p``) with
    at least two values set in the same experiment.  Named by participant; a participant
    swept in both parameters gets ``name (temperature)`` and ``name (top_p)``."""
    params = SWEEP_PARAMS if param is None else (param,)
    coded = _coded(table)
    found = [(*f, p) for p in params for f in _varying_groups(coded, p)]
    return _named("sweep", found)


def settings_of_kind(
    table: pd.DataFrame | CodedTable,
    kind: str,
    groups: Mapping[str, Sequence[str]] | Iterable[str] | None = None,
    *,
    draws: int = 1000,
    k: int = 10,
    seed: int = 0,
) -> list[Setting]:
    """The settings a ``--setting KIND`` option stands for.

    ``single``: every unit; ``mix``: the declared groups, else all units as ``all``;
    ``size``/``sweep``: discovered from what varies; ``random_mix``: random draws from each
    declared group, else from all units.  UsageError when there is nothing of that kind.
    """
    coded = _coded(table)
    if kind == "single":
        return [s for s in default_settings(coded) if s.kind == "single"]
    if kind in ("mix", "random_mix"):
        options = {"draws": draws, "k": k, "seed": seed} if kind == "random_mix" else {}
        if groups:
            return group_settings(coded, groups, kind, **options)
        return [Setting("all", kind, tuple(coded.units["unit"]), options)]
    if kind == "size":
        found = size_settings(coded)
        what = "more than one size (num_params)"
    elif kind == "sweep":
        found = sweep_settings(coded)
        what = "more than one temperature or top_p value"
    else:
        raise UsageError(f"unknown setting {kind!r}; choose one of {', '.join(KINDS)}")
    if not found:
        raise UsageError(f"no participant has {what}: nothing to evaluate as --setting {kind}")
    return found


# =============================================================================== engine
def _bound_rows(coded: CodedTable, reference: _Reference) -> tuple[np.ndarray, np.ndarray]:
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


def _unit_tensor(coded: CodedTable, reference: _Reference) -> np.ndarray:
    """Label counts of shape ``(units, trial ranks, reference items, categories)``."""
    ref_item, keep = _bound_rows(coded, reference)
    n_units, n_ranks, n_items = len(coded.units), coded.n_ranks, len(reference.uids)
    key = (coded.unit[keep] * n_ranks + coded.rank[keep]) * n_items + ref_item[keep]
    key = key * _N_CATEGORIES + coded.category[keep]
    size = n_units * n_ranks * n_items * _N_CATEGORIES
    counts = np.bincount(key, minlength=size).astype(np.float32)
    return counts.reshape(n_units, n_ranks, n_items, _N_CATEGORIES)


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
    reference: _Reference,
    consistency_items: np.ndarray,
    *,
    errors: str,
) -> _Batch:
    """Every metric of a count tensor ``(B, R, items, categories)`` against the reference.

    Per replicate (trial) r: item-level H, JS, KL both ways and majority match; nominal alpha
    over the replicate's answers; Kendall's tau between the replicate's and the humans'
    per-item entropies.  Each summary is the replicate's mean over items (std ddof=1),
    averaged over the replicates that have answers.  ``consistency_items`` (B, items) is given.
    """
    if errors not in ("category", "missing"):
        raise ValueError(f"errors must be 'category' or 'missing', got {errors!r}")
    n_batch, n_reps, n_items, _ = counts.shape
    labels = counts[..., : len(LABELS)].astype(float)
    human = reference.counts
    item_values = {
        "H": metrics.entropy(labels),
        "JS": metrics.js_distance(labels, human),
        "KL_pq": metrics.kl_divergence(human, labels),
        "KL_qp": metrics.kl_divergence(labels, human),
        "agree": metrics.majority_match(human, labels),
    }
    present = counts.sum(axis=(2, 3)) > 0  # (B, R): replicate has answers
    summary: dict[str, np.ndarray] = {}
    for key, values in item_values.items():
        per_rep = np.where(present, _nanmean(values, axis=-1), np.nan)
        summary[key] = _nanmean(per_rep, axis=-1)
        if key in ("H", "JS"):
            stds = np.where(present, _nanstd(values, axis=-1), np.nan)
            summary[f"{key}_std"] = _nanmean(stds, axis=-1)
    alpha_counts = counts if errors == "category" else counts[..., : len(LABELS)]
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
    per_item["n_failed"] = counts[..., _ERROR].sum(axis=1)
    per_item["distribution"] = labels.sum(axis=1)  # (B, items, labels), pooled over trials
    return _Batch(summary, per_item)


def _distinct(counts: np.ndarray) -> np.ndarray:
    """Distinct labels per item (NaN without parsed answers) of ``(..., items, categories)``."""
    labels = counts[..., : len(LABELS)]
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
    reference: _Reference


def _run(
    coded: CodedTable, settings: Sequence[Setting], reference: _Reference, errors: str
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
        units = _resolve(coded, setting.participants, f"setting {setting.name!r}")
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
        batches[0] = _summarise(counts, reference, unit_distinct[index], errors=errors)
        batches[0].summary["n_trials"] = coded.units["n_trials"].to_numpy()[index]
    if mixes:
        selection = _selection([units for _, units in mixes], len(coded.units))
        counts = _mix_counts(tensor, selection)
        consistency = _mix_consistency(unit_distinct, selection)
        for row, (setting, _) in enumerate(mixes):
            if setting.kind == "sweep":  # distinct labels across the whole sweep
                consistency[row] = _distinct(counts[row].sum(axis=0))
        batches[1] = _summarise(counts, reference, consistency, errors=errors)
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


def _records(evaluation: _Evaluation, *, n_boot: int, seed: int, level: float) -> list[dict]:
    summary, per_item = evaluation.batch.summary, evaluation.batch.per_item
    if n_boot > 0:
        cis = {
            key: metrics.bootstrap_ci(per_item[key], n_boot=n_boot, seed=seed, level=level)
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
    reference: str = "livenli",
    subset: str = "all",
    livenli_df: pd.DataFrame | None = None,
    *,
    errors: str = "category",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> list[dict]:
    """Evaluate many settings at once (the fast path); one dict per setting, in order.

    Each dict is what :func:`evaluate` returns.  Random mixes are summarised over their
    draws (see :func:`evaluate`).
    """
    coded = _coded(table)
    ref = _Reference.build(livenli_df, reference, subset)
    fixed = [s for s in settings if s.kind != "random_mix"]
    results: dict[int, dict] = {}
    if fixed:
        records = _records(_run(coded, fixed, ref, errors), n_boot=n_boot, seed=seed, level=level)
        positions = [i for i, s in enumerate(settings) if s.kind != "random_mix"]
        results.update(zip(positions, records, strict=True))
    for position, setting in enumerate(settings):
        if setting.kind == "random_mix":
            draws = random_mix(coded, setting, reference, subset, livenli_df, errors=errors)
            results[position] = _summarise_draws(setting, draws, ref, level)
    return [results[i] for i in range(len(settings))]


def evaluate(
    table: pd.DataFrame | CodedTable,
    setting: Setting,
    reference: str = "livenli",
    subset: str = "all",
    livenli_df: pd.DataFrame | None = None,
    *,
    errors: str = "category",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """One setting against a human reference: the issue's metric row as a dict.

    Keys (in order): ``participant`` (the setting's name), ``setting`` (its kind),
    ``n_items`` (reference items with at least one parsed answer), ``n_trials``, ``H``,
    ``H_std``, ``JS``, ``JS_std``, ``KL_pq`` (P = human, Q = setting), ``KL_qp``, ``agree``,
    ``alpha``, ``cor`` (Kendall's tau of per-item entropies vs the humans'),
    ``consistency``, ``parse_rate``; then ``<m>_ci_low``/``<m>_ci_high`` for the means in
    :data:`CI_KEYS` (seeded percentile bootstrap over items, ``n_boot`` resamples), and
    ``reference``, ``subset``.

    ``reference``: ``livenli`` | ``chaosnli`` | ``mnli``; ``subset``: ``all`` | ``chaosnli``;
    ``errors``: ``category`` (parse failures are an alpha category, the paper) or ``missing``.
    A random mix is summarised over its draws: each metric is the mean over draws, and its
    CI the draws' percentile interval at ``level``.  Values are NaN where undefined.
    """
    return evaluate_many(
        table, [setting], reference, subset, livenli_df,
        errors=errors, n_boot=n_boot, seed=seed, level=level,
    )[0]  # fmt: skip


def item_table(
    table: pd.DataFrame | CodedTable,
    setting: Setting,
    reference: str = "livenli",
    subset: str = "all",
    livenli_df: pd.DataFrame | None = None,
    *,
    replicate: int | None = None,
    errors: str = "category",
) -> pd.DataFrame:
    """Per-item metrics of one setting (Figure 2, Table 4, the per-item CSV).

    One row per reference item (index ``sent_id``): ``human_H``, ``H``, ``JS``, ``KL_pq``,
    ``KL_qp``, ``agree`` (1/0: same majority label), ``consistency``, ``human_majority``,
    ``majority``, ``n_answers``, ``n_failed``, and the label shares ``human_<label>`` and
    ``<label>``.  Metrics are averaged over the setting's trials; the shares pool all of its
    parsed answers.  ``replicate`` (1-based) restricts a mix to its t-th trial (e.g. Table 4
    uses the first trial of MODEL MIX all).
    """
    if setting.kind == "random_mix":
        raise UsageError("a random mix has no per-item table; use a mix of its members")
    coded = _coded(table)
    ref = _Reference.build(livenli_df, reference, subset)
    if replicate is not None:
        if replicate < 1:
            raise UsageError(f"replicate is 1-based, got {replicate}")
        keep = coded.rank == replicate - 1
        coded = CodedTable(
            coded.items, coded.units, coded.item[keep], coded.category[keep],
            coded.unit[keep], np.zeros(int(keep.sum()), dtype=np.int64),
        )  # fmt: skip
    evaluation = _run(coded, [setting], ref, errors)
    per_item = {key: value[0] for key, value in evaluation.batch.per_item.items()}
    distribution = metrics.normalise(per_item.pop("distribution"))
    human = metrics.normalise(ref.counts)
    majority = metrics.majority_label(np.nan_to_num(distribution))
    frame = pd.DataFrame(
        {
            "human_H": ref.entropy,
            **{key: per_item[key] for key in ("H", "JS", "KL_pq", "KL_qp", "agree")},
            "consistency": per_item["consistency"],
            "human_majority": np.array(LABELS, dtype=object)[metrics.majority_label(ref.counts)],
            "majority": [LABELS[m] if m >= 0 else None for m in majority],
            "n_answers": per_item["n_answers"].astype(int),
            "n_failed": per_item["n_failed"].astype(int),
        },
        index=pd.Index(ref.uids, name="sent_id"),
    )
    for position, label in enumerate(LABELS):
        frame[f"human_{label}"] = human[:, position]
    for position, label in enumerate(LABELS):
        frame[label] = distribution[:, position]
    return frame


# =============================================================================== random mix
def random_mix(
    table: pd.DataFrame | CodedTable,
    group: Setting | Sequence[str] | None = None,
    reference: str = "livenli",
    subset: str = "all",
    livenli_df: pd.DataFrame | None = None,
    *,
    draws: int | None = None,
    k: int | None = None,
    seed: int | None = None,
    errors: str = "category",
) -> pd.DataFrame:
    """RANDOM MIX (Appendix D): every metric of ``draws`` seeded random mixes of ``k`` units.

    Members are drawn without replacement from ``group`` (a Setting, whose options may give
    ``draws``/``k``/``seed``; a list of names; or None for every unit), with
    ``numpy.random.default_rng(seed)``.  Each draw is evaluated as a MODEL MIX (per trial,
    averaged).  Defaults: 1000 draws of 10, seed 0.  Returns one row per draw: ``draw``,
    ``members`` (comma-joined unit names) and the metric keys of :func:`evaluate` (without
    CIs).  All draws are evaluated at once (one matrix product).
    """
    coded = _coded(table)
    options: Mapping[str, object] = group.options if isinstance(group, Setting) else {}
    draws = int(draws if draws is not None else options.get("draws", 1000))
    k = int(k if k is not None else options.get("k", 10))
    seed = int(seed if seed is not None else options.get("seed", 0))
    if group is None:
        units = np.arange(len(coded.units))
        name = "all"
    else:
        members = group.participants if isinstance(group, Setting) else tuple(group)
        name = group.name if isinstance(group, Setting) else "random_mix"
        units = _resolve(coded, members, f"group {name!r}")
    if draws < 1:
        raise UsageError(f"--draws must be at least 1, got {draws}")
    if not 1 <= k <= len(units):
        raise UsageError(
            f"cannot draw k={k} participants from group {name!r} of {len(units)} "
            f"(k must be between 1 and {len(units)})"
        )
    ref = _Reference.build(livenli_df, reference, subset)
    tensor = _unit_tensor(coded, ref)
    unit_distinct = _distinct(tensor.sum(axis=1))
    rng = np.random.default_rng(seed)
    chosen = units[np.argsort(rng.random((draws, len(units))), axis=1)[:, :k]]
    selection = np.zeros((draws, len(coded.units)), dtype=np.float32)
    np.put_along_axis(selection, chosen, 1.0, axis=1)
    batch = _summarise(
        _mix_counts(tensor, selection), ref, _mix_consistency(unit_distinct, selection),
        errors=errors,
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


def _summarise_draws(setting: Setting, draws: pd.DataFrame, ref: _Reference, level: float) -> dict:
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
