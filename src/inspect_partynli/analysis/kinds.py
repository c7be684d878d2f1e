"""Setting kinds: who the annotators of an item are, and how each kind is discovered.

A *setting* decides which answers of the annotation table form one item's label
distribution (Section 3 of the paper):

``single``
    One unit (a participant run, see :mod:`.coding`); its trials are the annotators.
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
``estimator``
    One model's distribution read one way: its sampling run (as SINGLE), or its
    ``logprobs`` / ``verbalized`` run (the mean over epochs of the distributions it read).  The
    settings of one model's estimators come together, one per estimator (registered by
    :mod:`.estimator_setting` through :func:`register_kind`, with its own evaluation).

MODEL MIX ``all`` -- the mix a table gets without declared groups, in ``partynli metrics``
and in the report alike -- is :func:`model_mix_units`: every unit except size-family
members, sweep values and estimator runs (as the paper's MODEL MIX, which samples each model
once under its default settings).

Each kind has a *discovery* function (:data:`DISCOVERY`) that finds the settings of that kind
in a coded table, for ``--setting KIND``; a new kind registers one with :func:`register_kind`,
and with it an *evaluation* (:data:`EVALUATION`) where a plain mix will not do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..design import (
    ALL_GROUP,
    RANDOM_MIX_DRAWS,
    RANDOM_MIX_SEED,
    RANDOM_MIX_SIZE,
    SETTING_KINDS,
    SIZE_EXPERIMENT,
    SWEEP_EXPERIMENT,
    SWEEP_PARAMETERS,
)
from ..errors import UsageError
from ..estimators.base import DEFAULT_ESTIMATOR
from .coding import VARIANT_COLUMNS, CodedTable, as_coded

__all__ = [
    "DISCOVERY",
    "EVALUATION",
    "KINDS",
    "Setting",
    "default_settings",
    "group_settings",
    "model_mix_units",
    "parse_group",
    "register_kind",
    "resolve_units",
    "settings_of_kind",
    "size_settings",
    "sweep_settings",
]

#: Setting kinds, in the order tables list them.
KINDS: tuple[str, ...] = SETTING_KINDS


@dataclass(frozen=True)
class Setting:
    """One row of a results table: who the annotators are.

    ``participants`` holds unit names (see :func:`~.coding.prepare`) or participant names (a
    participant name stands for all of its units).  ``options``: ``param`` for sweeps;
    ``draws``, ``k``, ``seed`` for random mixes.
    """

    name: str
    kind: str
    participants: tuple[str, ...]
    options: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in DISCOVERY:
            known = ", ".join(DISCOVERY)
            raise ValueError(f"unknown setting kind {self.kind!r}; choose one of {known}")
        if isinstance(self.participants, str):
            object.__setattr__(self, "participants", (self.participants,))
        object.__setattr__(self, "participants", tuple(self.participants))
        if not self.participants:
            raise ValueError(f"setting {self.name!r} has no participants")


@dataclass(frozen=True)
class DiscoveryOptions:
    """What ``--setting KIND`` may be given: declared groups and the RANDOM MIX draws."""

    groups: Mapping[str, Sequence[str]] | Iterable[str] | None = None
    draws: int = RANDOM_MIX_DRAWS
    k: int = RANDOM_MIX_SIZE
    seed: int = RANDOM_MIX_SEED


def resolve_units(coded: CodedTable, names: Iterable[str], context: str) -> np.ndarray:
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


def sampling_units(coded: CodedTable) -> list[str]:
    """The units that annotate by sampling (every unit but the estimator runs), in order."""
    units = coded.units
    return units.loc[units["estimator"] == DEFAULT_ESTIMATOR, "unit"].tolist()


def _is_ablation_experiment(experiment: str) -> bool:
    """Whether rows of this experiment are a size-ablation or sweep run."""
    sweep_suffix = SWEEP_EXPERIMENT.format(parameter="")
    return experiment == SIZE_EXPERIMENT or experiment.endswith(sweep_suffix)


def model_mix_units(table: pd.DataFrame | CodedTable) -> list[str]:
    """The members of MODEL MIX ``all``: the sampling units that are neither a size of a
    family nor a sweep value (as the paper's MODEL MIX; :func:`size_settings`,
    :func:`sweep_settings`), nor of a size-ablation or sweep experiment (a size or sweep run
    without a partner to vary against is still an ablation run).  When that leaves nothing (a
    table of sweeps only), every sampling unit."""
    coded = as_coded(table, None)
    varying = {u for s in (*sweep_settings(coded), *size_settings(coded)) for u in s.participants}
    units = coded.units
    ablation = units["experiment"].astype(str).map(_is_ablation_experiment).to_numpy()
    sampling = set(sampling_units(coded))
    plain = [
        u for u, a in zip(units["unit"], ablation, strict=True)
        if u in sampling and not a and u not in varying
    ]  # fmt: skip
    return plain or [u for u in units["unit"] if u in sampling]


def default_settings(table: pd.DataFrame | CodedTable) -> list[Setting]:
    """Each sampling unit alone (SINGLE), with more than one unit the mix ``all``
    (:func:`model_mix_units`), and each model's estimator settings when it has estimator runs
    (see :mod:`.estimator_setting`)."""
    coded = as_coded(table, None)
    names = sampling_units(coded)
    settings = [Setting(name, "single", (name,)) for name in sorted(names)]
    members = model_mix_units(coded)
    if len(members) > 1:
        settings.append(Setting(ALL_GROUP, "mix", tuple(members)))
    if "estimator" in DISCOVERY and len(names) < len(coded.units):
        settings += DISCOVERY["estimator"](coded, DiscoveryOptions())
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
    coded = as_coded(table, None)
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
        resolve_units(coded, members, f"group {name!r}")
        settings.append(Setting(str(name), kind, tuple(members), dict(options)))
    return settings


def _varying_groups(coded: CodedTable, column: str) -> list[tuple[str, tuple[str, ...], str]]:
    """``(participant, member units, experiment)`` for each set of a participant's units that
    differ only in ``column`` (and share everything else), with at least two values."""
    units = coded.units
    others = [c for c in VARIANT_COLUMNS if c != column]
    candidates = units[units[column].notna()] if column in tuple(SWEEP_PARAMETERS) else units
    # only participants with several units can vary (one groupby per participant is slow
    # with thousands of single-run participants)
    candidates = candidates[candidates["participant"].duplicated(keep=False)]
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
    found = _varying_groups(as_coded(table, None), "num_params")
    return _named("size", [(*f, "num_params") for f in found])


def sweep_settings(table: pd.DataFrame | CodedTable, param: str | None = None) -> list[Setting]:
    """One SWEEP setting per participant and swept parameter (``temperature``/``top_p``) with
    at least two values set in the same experiment.  Named by participant; a participant
    swept in both parameters gets ``name (temperature)`` and ``name (top_p)``."""
    params = tuple(SWEEP_PARAMETERS) if param is None else (param,)
    coded = as_coded(table, None)
    found = [(*f, p) for p in params for f in _varying_groups(coded, p)]
    return _named("sweep", found)


def _single(coded: CodedTable, options: DiscoveryOptions) -> list[Setting]:
    return [s for s in default_settings(coded) if s.kind == "single"]


def _mixes(kind: str) -> Callable[[CodedTable, DiscoveryOptions], list[Setting]]:
    def discover(coded: CodedTable, options: DiscoveryOptions) -> list[Setting]:
        extra = (
            {"draws": options.draws, "k": options.k, "seed": options.seed}
            if kind == "random_mix" else {}
        )  # fmt: skip
        if options.groups:
            return group_settings(coded, options.groups, kind, **extra)
        return [Setting(ALL_GROUP, kind, tuple(model_mix_units(coded)), extra)]

    return discover


def _required(
    find: Callable[[CodedTable], list[Setting]], kind: str, what: str
) -> Callable[[CodedTable, DiscoveryOptions], list[Setting]]:
    def discover(coded: CodedTable, options: DiscoveryOptions) -> list[Setting]:
        found = find(coded)
        if not found:
            raise UsageError(f"no participant has {what}: nothing to evaluate as --setting {kind}")
        return found

    return discover


#: Discovery function of each setting kind, in the order tables list them.
DISCOVERY: dict[str, Callable[[CodedTable, DiscoveryOptions], list[Setting]]] = {
    "single": _single,
    "mix": _mixes("mix"),
    "size": _required(size_settings, "size", "more than one size (num_params)"),
    "sweep": _required(sweep_settings, "sweep", "more than one temperature or top_p value"),
    "random_mix": _mixes("random_mix"),
}
#: How the engine evaluates a registered kind that is not a plain mix:
#: ``evaluate(coded, setting, reference, conventions)`` returns the setting's record.
EVALUATION: dict[str, Callable[..., dict]] = {}


def register_kind(
    kind: str,
    discover: Callable[[CodedTable, DiscoveryOptions], list[Setting]],
    evaluate: Callable[..., dict] | None = None,
) -> None:
    """Add a setting kind (or replace one's discovery): ``discover(coded, options)`` returns
    the settings ``--setting KIND`` stands for, raising UsageError when there are none;
    ``evaluate(coded, setting, reference, conventions)`` returns one setting's record (the
    keys of :func:`~.engine.evaluate`) where the kind is not evaluated as a mix of its units."""
    DISCOVERY[kind] = discover
    if evaluate is not None:
        EVALUATION[kind] = evaluate
    else:
        EVALUATION.pop(kind, None)


def settings_of_kind(
    table: pd.DataFrame | CodedTable,
    kind: str,
    groups: Mapping[str, Sequence[str]] | Iterable[str] | None = None,
    *,
    draws: int = RANDOM_MIX_DRAWS,
    k: int = RANDOM_MIX_SIZE,
    seed: int = RANDOM_MIX_SEED,
) -> list[Setting]:
    """The settings a ``--setting KIND`` option stands for.

    ``single``: every unit; ``mix``: the declared groups, else all units as ``all``;
    ``size``/``sweep``: discovered from what varies; ``random_mix``: random draws from each
    declared group, else from all units.  UsageError when there is nothing of that kind.
    """
    discover = DISCOVERY.get(kind)
    if discover is None:
        raise UsageError(f"unknown setting {kind!r}; choose one of {', '.join(DISCOVERY)}")
    return discover(as_coded(table, None), DiscoveryOptions(groups, draws, k, seed))
