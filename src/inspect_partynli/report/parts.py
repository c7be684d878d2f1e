"""The parts of the report, each a function of the :class:`~.build._Builder` state.

Every number comes from :mod:`inspect_partynli.analysis` (label metrics) or
:mod:`inspect_partynli.explanations` (explanation metrics); this module decides what to show
and raises :class:`~.options.Skip` with a reason when the inputs do not allow a part.  The
wording, the populations and the labels come from the dataset (``builder.dataset``), never
from one dataset's literals.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from .. import analysis as an
from ..analysis.references import dataset_name
from ..design import ALL_GROUP, ALL_SUBSET
from ..errors import UsageError
from . import figures, tables
from .document import ItemCard, Paragraph, Section, Table, format_cell
from .options import FIGURE1_ITEM, MIN_ANNOTATOR_ITEMS, Skip

#: Participants whose explanations of every trial are shown per item (else: first trial).
ALL_TRIALS_UP_TO = 3


class Context:
    """Derived data shared by the parts (computed once, lazily)."""

    def __init__(self, builder) -> None:
        self.skip = Skip
        self.b = builder
        dataset = builder.dataset
        self.dataset = dataset
        self.name = dataset_name(dataset)
        self.labels: tuple[str, ...] = tuple(dataset.labels)
        self.conventions = builder.options.conventions
        #: the population of Table 5, the per-item views and the figures (default: primary)
        self.reference = builder.options.reference or dataset.primary
        self.coded = an.prepare(builder.models, self.labels)
        self.units = self.coded.units
        order = {unit: i for i, unit in enumerate(self.units["unit"])}  # numeric variant order
        singles = [s for s in an.default_settings(self.coded) if s.kind == "single"]
        singles.sort(key=lambda s: order.get(s.name, len(order)))
        self.singles = singles
        self.sweeps = an.sweep_settings(self.coded)
        self.sizes = an.size_settings(self.coded)
        # MODEL MIX all: no sweep values or sizes (the analysis' one rule, as in metrics)
        self.plain_units = an.model_mix_units(self.coded)
        self.mixes = []
        groups = builder.options.groups or {}
        if len(self.plain_units) > 1 and ALL_GROUP not in groups:
            self.mixes.append(an.Setting(ALL_GROUP, "mix", tuple(self.plain_units)))
        if groups:
            self.mixes += an.group_settings(self.coded, dict(groups))
        # per-item views show MODEL MIX all (the paper's Figure 2), else the first mix
        self.main = next((m for m in self.mixes if m.name == ALL_GROUP), None) or (
            self.mixes[0] if self.mixes else singles[0]
        )
        self.main_name = _setting_name(self.main)
        subset = builder.options.subset
        shared = _shared_subset(dataset)  # LiveNLI: chaosnli, the items of all 3 populations
        self.subset_table2 = subset or shared
        self.subset_rest = subset or ALL_SUBSET
        annotated = set(builder.models["sent_id"])
        shared_items = set(builder.subset_uids[shared]) & annotated
        only_shared = annotated <= set(builder.subset_uids[shared])
        if subset is None and shared != ALL_SUBSET and only_shared:
            self.subset_rest = shared  # only those items annotated: humans on the same
        if subset is None and not shared_items:  # none of them annotated: use them all
            self.subset_table2 = ALL_SUBSET
            builder.report.skip(
                f"Table 2 over the {len(builder.subset_uids[shared])} items of subset {shared}",
                f"no annotated item is in subset {shared}; Table 2 and Figure 2 use all items",
            )
        self.rows_unit = _unit_per_row(builder.models, self.units)
        self._singles_all: dict[str, dict] | None = None

    def display_names(self, units) -> dict[str, str]:
        """Short names of ``units`` for figure axes: the participant alone when no other of
        these units belongs to it, else the unit name (which says what tells them apart)."""
        shown = self.units[self.units["unit"].isin(list(units))]
        counts = shown["participant"].value_counts()
        return {
            unit: participant if counts[participant] == 1 else unit
            for unit, participant in zip(shown["unit"], shown["participant"], strict=True)
        }

    def human(self, population: str | None = None, subset: str | None = None) -> an.Reference:
        """A population of the dataset (default: the report's reference) over a subset."""
        return an.reference(self.dataset, population or self.reference, subset or self.subset_rest)

    def evaluate(self, settings, population=None, subset=None):
        return an.evaluate_many(
            self.coded, settings, self.human(population, subset), conventions=self.conventions
        )

    def population_text(self, population: str | None = None) -> str:
        """``the livenli humans (LiveNLI workers, 10-38 per item)``: a population in words."""
        name = population or self.reference
        description = getattr(self.dataset.populations[name], "description", "")
        return f"the {name} humans" + (f" ({description})" if description else "")

    def singles_all(self) -> dict[str, dict]:
        """Every unit's SINGLE evaluation vs the reference over the report's items, by unit."""
        if self._singles_all is None:
            records = self.evaluate(self.singles)
            self._singles_all = {r["participant"]: r for r in records}
        return self._singles_all


def _shared_subset(dataset) -> str:
    """The subset Table 2 uses by default: ``all``, unless a population labels fewer than half
    of the items; then the largest subset whose items every population labelled (LiveNLI:
    chaosnli, the 50 of 122 items with ChaosNLI and MNLI labels, as in the paper)."""
    every = set(map(str, dataset.subsets[ALL_SUBSET]))
    labelled = [set(p.counts.index.astype(str)) & every for p in dataset.populations.values()]
    if all(2 * len(items) >= len(every) for items in labelled):
        return ALL_SUBSET
    covered = set.intersection(*labelled) if labelled else every
    fitting = [
        name for name, items in dataset.subsets.items()
        if len(items) and set(map(str, items)) <= covered
    ]  # fmt: skip
    return max(fitting, key=lambda name: len(dataset.subsets[name]), default=ALL_SUBSET)


def _setting_name(setting: an.Setting) -> str:
    if setting.kind == "single":
        return setting.name
    return f"{tables.SETTING_NAMES.get(setting.kind, setting.kind)} {setting.name}"


def _unit_per_row(models: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    """The unit name (as :func:`analysis.prepare` names it) of every row of ``models``."""
    return an.unit_per_row(models, units)


def _parameters(setting: an.Setting, units: pd.DataFrame) -> str:
    members = units[units["unit"].isin(setting.participants)]
    if setting.kind == "sweep":
        param = str(setting.options.get("param", "temperature"))
        values = members[param].dropna()
        symbol = "τ" if param == "temperature" else "top-p"
        return f"{symbol} {values.min():g}–{values.max():g} ({len(values)} values)"
    if setting.kind == "size":
        sizes = members["num_params"].dropna()
        return "size " + ", ".join(f"{v:g}B" for v in sorted(sizes))
    if setting.kind == "mix":
        return f"{len(members)} participant{'' if len(members) == 1 else 's'}"
    return ""


# ------------------------------------------------------------------------------ parts
def plan(builder) -> list[tuple[str, Callable[[], None]]]:
    """The report's parts in order: (what, function)."""
    context = Context(builder)  # user errors (an unknown group member) surface here

    def ctx() -> Context:
        return context

    parts = [
        ("inputs", lambda: part_inputs(ctx())),
        ("Table 2", lambda: part_table2(ctx())),
        ("Table 5", lambda: part_table5(ctx())),
        ("per-item table", lambda: part_per_item(ctx())),
        ("Figure 2 (per-item entropy and JS)", lambda: part_figure2(ctx())),
        ("Figure 3 left (label distribution)", lambda: part_figure3_left(ctx())),
        ("Figure 3 right (classification across trials)", lambda: part_figure3_right(ctx())),
        ("Figure 9 (classification across sweep values)", lambda: part_figure9(ctx())),
        ("Figure 10 (classification across sizes)", lambda: part_figure10(ctx())),
        ("Figure 8 (RandomMix)", lambda: part_figure8(ctx())),
    ]
    if not builder.estimates.empty:
        from . import estimators

        parts.append(
            ("estimator comparison", lambda: estimators.part(ctx()))
        )
    if builder.options.explanations:
        parts += [
            ("explanation metrics and Figure 4", lambda: part_explanations(ctx())),
            ("Figures 1 and 11 (explanation projection)", lambda: part_projection(ctx())),
        ]
    else:
        builder.report.skip(
            "explanations (Figure 4, Figures 1 and 11)", "switched off (--no-explanations)"
        )
    parts.append(("per-item explorer", lambda: part_items(ctx())))
    return parts


def _failure_counts(models: pd.DataFrame, units: pd.Series) -> dict[str, str]:
    """Per unit its parse failures by reason, e.g. ``refused 3, empty 1`` (most first)."""
    if "failure_reason" not in models.columns:
        return {}
    failed = ~models["parsed"].astype(bool)
    reasons = models.loc[failed, "failure_reason"].fillna("").replace("", "unknown")
    counts = reasons.groupby(units.to_numpy()[failed.to_numpy()]).value_counts()
    return {
        unit: ", ".join(f"{reason} {count}" for reason, count in group.droplevel(0).items())
        for unit, group in counts.groupby(level=0)
    }


def part_inputs(c: Context) -> None:
    b = c.b
    models = b.models
    units = c.units.copy()
    answered = models.groupby(c.rows_unit.to_numpy())["sent_id"].nunique()
    units["items"] = units["unit"].map(answered).fillna(0).astype(int)
    parse = models.groupby(c.rows_unit.to_numpy())["parsed"].mean()
    units["parse_rate"] = units["unit"].map(parse)
    units["parse_failures"] = units["unit"].map(_failure_counts(models, c.rows_unit)).fillna("")
    show = units[["unit", "participant", "experiment", "num_params", "temperature", "top_p",
                  "n_trials", "items", "parse_rate", "parse_failures"]]  # fmt: skip
    csv = b.write_csv(show, "participants.csv")
    shown = show.copy()  # sizes and settings as given (8, 0.7), not rounded to 8.00, 0.70
    for column in ("num_params", "temperature", "top_p"):
        shown[column] = [("–" if pd.isna(v) else f"{v:g}") for v in show[column]]
    kinds = [f"{len(c.singles)} participant unit(s)"]
    if c.sweeps:
        kinds.append(f"{len(c.sweeps)} sweep(s)")
    if c.sizes:
        kinds.append(f"{len(c.sizes)} size famil{'y' if len(c.sizes) == 1 else 'ies'}")
    section = Section("Inputs")
    section.blocks += [
        Paragraph(
            f"{len(models):,} model annotations of {models['sent_id'].nunique()} {c.name} items: "
            + ", ".join(kinds)
            + f". Dataset {c.name}: {len(b.subset_uids[ALL_SUBSET])} items, labels "
            + ", ".join(c.labels)
            + ". Human references: "
            + "; ".join(_population_sentence(c, name) for name in c.dataset.populations)
            + f". Table 5, the per-item views and the figures compare with the {c.reference} "
            "population."
        ),
        Paragraph(f"Main setting for per-item views: {c.main_name}. {_items_sentence(c)}"),
        Table(
            shown,
            "Participants (units: a participant per size / generation setting; num_params in "
            "billions).",
            csv,
        ),
    ]
    b.report.sections.append(section)


def _population_sentence(c: Context, name: str) -> str:
    """``livenli (primary): LiveNLI workers, 4,437 labels of 122 items``."""
    population = c.dataset.populations[name]
    counts = population.counts
    primary = (
        " (primary: per-annotator labels and explanations)" if name == c.dataset.primary else ""
    )
    description = getattr(population, "description", "")
    return (
        f"{name}{primary}: "
        + (f"{description}, " if description else "")
        + f"{int(counts.to_numpy().sum()):,} labels of {len(counts)} items"
    )


def _subset_words(c: Context, subset: str) -> str:
    n = len(c.b.subset_uids[subset])
    return f"all {n} items" if subset == ALL_SUBSET else f"the {n} items of subset {subset}"


def _items_sentence(c: Context) -> str:
    """Which items each table is computed over, in words."""
    table2 = _subset_words(c, c.subset_table2)
    rest = _subset_words(c, c.subset_rest)
    if table2 == rest:
        only = c.b.options.subset is None and c.subset_rest != ALL_SUBSET
        return f"Every table and figure is computed over {rest}" + (
            " (the only items annotated)." if only else "."
        )
    # Figure 2 is drawn over Table 2's items (part_figure2), so the sentence names both
    return (
        f"Table 2 and Figure 2 are computed over {table2}, the other tables and figures "
        f"over {rest}."
    )


def part_table2(c: Context) -> None:
    b = c.b
    subset = c.subset_table2
    rows = list(an.human_rows(c.dataset, subset, c.conventions))
    best = c.singles[0]
    chosen = getattr(b.options, "single", None)  # a study names its SINGLE model
    if chosen:
        best = next((s for s in c.singles if s.name == chosen), best)
    elif len(c.singles) > 1:
        records = c.evaluate(c.singles, c.reference, subset)
        best = c.singles[int(np.nanargmin([r["JS"] for r in records]))]
    settings = [best, *c.mixes, *c.sweeps, *c.sizes]
    for population in c.dataset.populations:
        try:
            records = c.evaluate(settings, population, subset)
        except UsageError as error:  # e.g. no annotated item has this population's labels
            b.report.skip(f"Table 2, {population} columns", str(error))
            continue
        for setting, record in zip(settings, records, strict=True):
            params = _parameters(setting, c.units)
            if setting is best and len(c.singles) > 1 and not chosen:
                params = "lowest JS of the SINGLE participants"
            rows.append({**record, "setting": setting.kind, "parameters": params})
    primary = c.dataset.primary
    frame = tables.table2_frame(rows, primary)
    frame.loc[frame["setting"] == "single", "name"] = [
        f"SINGLE {n}" for n in frame.loc[frame["setting"] == "single", "participant"]
    ]
    csv = b.write_csv(frame, "table2.csv")
    populations = list(c.dataset.populations)
    n_coders = c.b.humans["participant"].nunique()
    section = Section("Table 2: settings vs human populations")
    section.blocks += [
        Paragraph(
            f"Each setting against the {len(populations)} human population"
            f"{'' if len(populations) == 1 else 's'} of {c.name} ({', '.join(populations)}) "
            f"over {_subset_words(c, subset)} (the paper's Table 2). Mean over items with the "
            "standard deviation in parentheses (for mixes and sizes: per trial, then averaged "
            f"over trials). H: entropy ({_unit(c)}); Cor.: Kendall's tau between per-item "
            "entropies of the setting and the humans; JS: Jensen-Shannon distance; α: "
            "Krippendorff's alpha (nominal, trials or participants as coders; humans: the "
            f"{n_coders} {primary} annotators). Conventions: {c.conventions.describe()}."
        ),
        Table(tables.table2_display(frame, {p: p for p in populations}, primary), "Table 2.", csv),
    ]
    b.report.sections.append(section)


def part_table5(c: Context) -> None:
    b = c.b
    human = next(
        r for r in an.human_rows(c.dataset, c.subset_rest, c.conventions)
        if r["reference"] == c.reference
    )  # fmt: skip
    rows = [human]
    rows += [{**r, "setting": "mix"} for r in c.evaluate(c.mixes)] if c.mixes else []
    rows += list(c.singles_all().values())
    frame = tables.table5_frame(rows)
    csv = b.write_csv(frame, "table5.csv")
    section = Section("Table 5: every participant")
    section.blocks += [
        Paragraph(
            f"Every participant (SINGLE: its trials are the annotators) and mix against "
            f"{c.population_text()} over {_subset_words(c, c.subset_rest)} (the paper's "
            "Table 5). KL(P‖Q) and KL(Q‖P): P = humans, Q = the setting, smoothed with "
            f"{c.conventions.kl_epsilon:g}; "
            "Agree: share of items with the human majority label; consistency: distinct labels "
            "per item across trials; parse rate: share of replies that parsed. The CSV adds "
            "bootstrap 95% confidence intervals."
        ),
        Table(tables.table5_display(frame), "Table 5.", csv),
    ]
    b.report.sections.append(section)


def _unit(c: Context) -> str:
    base = c.conventions.log_base
    return "nats" if base is None else ("bits" if base == 2 else f"log base {base:g}")


def _per_item(c: Context, setting: an.Setting, subset: str) -> pd.DataFrame:
    return an.item_table(c.coded, setting, c.human(subset=subset), conventions=c.conventions)


def _item_extras(c: Context) -> list[str]:
    """Item columns worth a per-item column (the dataset's metadata fields, e.g. gold)."""
    fields = getattr(c.dataset, "metadata_fields", ())
    return [f for f in fields if f in c.b.item_info.columns]


def part_per_item(c: Context) -> None:
    b = c.b
    frames = []
    for setting in [*c.mixes, *c.singles]:
        frame = _per_item(c, setting, c.subset_rest).reset_index()
        frame.insert(0, "setting", _setting_name(setting))
        frames.append(frame)
    every = pd.concat(frames, ignore_index=True)
    extras = _item_extras(c)
    for position, column in enumerate(extras):
        every.insert(2 + position, column, every["sent_id"].map(b.item_info[column]))
    csv = b.write_csv(every, "per_item.csv")
    main = every[every["setting"] == c.main_name].drop(columns="setting")
    shown = main[["sent_id", *extras, "human_majority", "majority", "human_H", "H", "JS",
                  "KL_pq", "KL_qp", "agree", "consistency"]].copy()  # fmt: skip
    shares = _short_labels(c.labels)  # e/f/t: one column per side keeps the table narrow
    shown[f"human {shares}"] = _shares_text(main, [f"human_{x}" for x in c.labels])
    shown[f"setting {shares}"] = _shares_text(main, list(c.labels))
    shown = shown.loc[main["JS"].sort_values(ascending=False, kind="stable").index]
    section = Section("Per-item table")
    section.blocks += [
        Paragraph(
            f"Per-item metrics of {c.main_name} against {c.population_text()}, worst JS first "
            f"(label shares {shares} = {' / '.join(c.labels)}, of the humans and of the "
            "setting). The CSV holds every setting, with each share in its own column."
        ),
        Table(shown, "Per-item metrics.", csv, max_rows=40),
    ]
    b.report.sections.append(section)


def _short_labels(labels: tuple[str, ...]) -> str:
    """``e/f/t``: the labels' initials when they tell the labels apart, else the labels."""
    initials = [label[:1] for label in labels]
    return "/".join(initials if len(set(initials)) == len(labels) else labels)


def _shares_text(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """``0.10/0.70/0.20``: label shares of each row in one cell."""
    values = frame[columns].to_numpy(dtype=float)
    return ["/".join(format_cell(float(v)) for v in row) for row in values]


def part_figure2(c: Context) -> None:
    per_item = _per_item(c, c.main, c.subset_table2)
    fig = figures.entropy_js(
        per_item, setting_name=c.main_name, human_name=f"humans ({c.reference})",
        h_human="human_H", h_setting="H", js="JS", n_labels=len(c.labels),
    )  # fmt: skip
    c.b.add_figure(
        c.b.figures_section, fig, "figure2",
        f"Figure 2: per-item entropy of {c.population_text()} and of {c.main_name} over "
        f"{len(per_item)} items, with each item's JS distance (squares).",
    )  # fmt: skip


def _human_individuals(c: Context) -> pd.DataFrame:
    humans = c.b.humans
    counts = humans.groupby("participant")["sent_id"].nunique()
    keep = counts[counts > MIN_ANNOTATOR_ITEMS].index
    return humans[humans["participant"].isin(keep)]


def part_figure3_left(c: Context) -> None:
    models = c.b.models.assign(participant=c.rows_unit.to_numpy())
    models = models[models["participant"].isin(c.plain_units)]
    names = c.display_names(c.plain_units)
    models["participant"] = models["participant"].map(names)
    singles = c.singles_all()
    consistency = {
        names.get(unit, unit): (r["consistency"] if r.get("n_trials", 0) > 1 else math.nan)
        for unit, r in singles.items()
    }
    shares = tables.label_shares(
        pd.concat([_human_individuals(c), models]), consistency, labels=c.labels
    )
    shares = shares.sort_index(key=lambda idx: idx.map(_natural))
    c.b.write_csv(shares.reset_index(), "label_shares.csv")
    fig = figures.label_distribution(shares)
    c.b.add_figure(
        c.b.figures_section, fig, "figure3_left",
        "Figure 3 (left): overall label distribution of each participant (least consistent "
        f"on top) and of the {c.dataset.primary} annotators with more than "
        f"{MIN_ANNOTATOR_ITEMS} items; squares: consistency.",
    )  # fmt: skip


def _natural(name: str) -> str:
    import re

    return re.sub(r"\d+", lambda m: m.group(0).zfill(6), str(name))


def _item_order(c: Context) -> dict:
    """Heatmap arguments: items ordered by human majority label, then human entropy (so bands
    are visible), and the human majority as a first row."""
    per_item = _per_item(c, c.main, c.subset_rest)
    order = per_item.sort_values(["human_majority", "human_H"], kind="stable")
    return {
        "item_order": order.index.tolist(),
        "reference": order["human_majority"],
        "reference_name": f"{c.reference} (majority)",
        "item_label": "items (ordered by human majority label, then human entropy)",
        "labels": c.labels,
    }


def part_figure3_right(c: Context) -> None:
    units = c.units[c.units["unit"].isin(c.plain_units) & (c.units["n_trials"] > 1)]
    if units.empty:
        raise c.skip("no participant has more than one trial")
    names = c.display_names(units["unit"])
    table = c.b.models.assign(participant=c.rows_unit.map(names).to_numpy())
    order = sorted(units["unit"], key=lambda u: c.singles_all()[u]["consistency"], reverse=True)
    fig = figures.classification_heatmap(
        table, by="trial", participants=[names[u] for u in order], **_item_order(c),
    )  # fmt: skip
    c.b.add_figure(
        c.b.figures_section, fig, "figure3_right",
        "Figure 3 (right): each item's label in each trial, per participant (least consistent "
        "on top).",
    )  # fmt: skip


def _varying_heatmap(c: Context, settings, by_of, name: str, caption: str) -> None:
    table = c.b.models.assign(unit=c.rows_unit.to_numpy())
    groups: dict[str, list] = {}
    for setting in settings:
        groups.setdefault(by_of(setting), []).append(setting)
    for by, members in groups.items():
        parts = []
        for setting in members:
            rows = table[table["unit"].isin(setting.participants)]
            parts.append(rows.assign(participant=setting.name))
        data = pd.concat(parts, ignore_index=True)
        fig = figures.classification_heatmap(
            data, by=by, participants=[s.name for s in members], **_item_order(c)
        )  # fmt: skip
        suffix = "" if len(groups) == 1 else f"_{by}"
        c.b.add_figure(c.b.figures_section, fig, f"{name}{suffix}", caption.format(by=by))


def part_figure9(c: Context) -> None:
    if not c.sweeps:
        raise c.skip("no participant was run with more than one temperature or top_p value")
    _varying_heatmap(
        c, c.sweeps, lambda s: str(s.options.get("param", "temperature")), "figure9",
        "Figure 9: each item's label at each {by} value, per swept participant.",
    )  # fmt: skip


def part_figure10(c: Context) -> None:
    if not c.sizes:
        raise c.skip("no participant was run in more than one size (num_params)")
    _varying_heatmap(
        c, c.sizes, lambda s: "num_params", "figure10",
        "Figure 10: each item's label for each size of a model family (one trial).",
    )  # fmt: skip


def part_figure8(c: Context) -> None:
    options = c.b.options
    k = options.random_mix_size
    n_units = len(c.plain_units)
    if n_units <= k:
        raise c.skip(
            f"RandomMix draws {k} participants at a time and needs more than {k} to choose "
            f"from; the sources have {n_units} participant(s) outside sweeps and sizes "
            "(a smaller --k draws fewer)"
        )
    group = an.Setting(
        "all", "random_mix", tuple(c.plain_units),
        {"draws": options.random_mix_draws, "k": k, "seed": options.seed},
    )  # fmt: skip
    draws = an.random_mix(c.coded, group, c.human(), conventions=c.conventions)
    c.b.write_csv(draws, "random_mix.csv")
    marks = {_setting_name(s): r for s, r in zip(c.mixes, c.evaluate(c.mixes), strict=True)}
    fig = figures.random_mix_histograms(draws, marks)
    c.b.add_figure(
        c.b.figures_section, fig, "figure8",
        f"Figure 8: metrics of {len(draws)} random mixes of {k} participants (seed "
        f"{options.seed}); lines: the declared mixes.",
    )  # fmt: skip


# ----------------------------------------------------------------------- explanations
def _explanation_table(c: Context) -> pd.DataFrame:
    models = c.b.models
    if not (models["explanation"].astype(str).str.strip() != "").any():
        raise c.skip("the sources carry no explanations (logs read without full samples?)")
    humans = c.b.humans[c.b.humans["sent_id"].isin(set(models["sent_id"]))]  # same items
    return pd.concat([models, humans], ignore_index=True)


def part_explanations(c: Context) -> None:
    from ..explanations import explanation_metrics

    b = c.b
    table = _explanation_table(c)
    encoders = _cached_encoders(b)
    result = explanation_metrics(
        table, c.dataset, encoder=encoders.semantic, style_encoder=encoders.style,
        progress=b.options.progress,
    )  # fmt: skip
    for what, why in (("semantic", encoders.semantic_missing), ("style", encoders.style_missing)):
        if why:
            b.report.skip(f"{what} representation of the vector metrics (Figure 4 right)", why)
    c.explanations = result
    csv = b.write_csv(result.summary, "explanations.csv")
    b.write_csv(result.per_group, "explanation_groups.csv")
    b.write_csv(result.per_explanation.drop(columns=["delexicalised"], errors="ignore"),
                "explanation_lexical.csv")  # fmt: skip
    values = figure4_values(result)
    section = Section("Explanations")
    used = sorted(set(result.summary.get("encoder", pd.Series(dtype=str)).dropna()))
    pools = result.summary[result.summary["kind"] == "pool"]
    shown = pools[["group", "metric", "representation", "encoder", "n", "median", "q1", "q3",
                   "mean", "p_value"]].copy()  # fmt: skip
    shown["representation"] = [
        representation_label(r, e) for r, e in zip(shown["representation"], shown["encoder"],
                                                   strict=True)
    ]  # fmt: skip
    shown = shown.drop(columns="encoder")  # named in the representation
    shown["p_value"] = [("–" if pd.isna(p) else f"{p:.2g}") for p in shown["p_value"]]
    notes = "".join(f" Note: {note}." for note in encoders.notes)
    section.blocks += [
        Paragraph(
            "Explanation variation (Section 5) of the participants against the human "
            f"explanations of {c.name} ({c.dataset.primary} annotators, "
            f"{_human_explanations(c):,} explanations on the participants' items): "
            "de-lexicalised word count w_c (the item's "
            f"{' and '.join(c.dataset.text_fields)} removed), vocabulary size V and Jaccard "
            "similarity JAC per explanation; D_pair, D_cent, D_max: cosine distances within each "
            "(item, label) group. p_value: Mann-Whitney U vs humans. Encoders: "
            + ", ".join(used)
            + "."
            + notes
        ),
        Table(shown, "Humans vs participants (pools).", csv),
    ]
    b.report.sections.append(section)
    lexical = values["representation"] == "lexical"
    for side, part, title, caption in (
        ("left", values[lexical], "Explanation variation: lexical metrics",
         f"Figure 4 (left): de-lexicalised lexical metrics of all {c.dataset.primary} "
         f"annotators, of each annotator with more than {MIN_ANNOTATOR_ITEMS} items, and of "
         "each participant."),
        ("right", values[~lexical], "Explanation variation: vector metrics",
         "Figure 4 (right): cosine distances within each (item, label) group, for the "
         f"{c.dataset.primary} humans and for the participants, per representation."),
    ):  # fmt: skip
        if part.empty:
            b.report.skip(f"Figure 4 ({side})", "no explanation metric values")
            continue
        fig = figures.explanation_boxplots(part, title=title)
        b.add_figure(section, fig, f"figure4_{side}", caption + _devices(b))


def _human_explanations(c: Context) -> int:
    humans = c.b.humans[c.b.humans["sent_id"].isin(set(c.b.models["sent_id"]))]
    return int((humans["explanation"].astype(str).str.strip() != "").sum())


def figure4_values(result) -> pd.DataFrame:
    """Figure 4's long data (group, participant_type, metric, representation, value)."""
    lex = result.per_explanation
    counts = lex[lex["participant_type"] == "human"].groupby("participant")["sent_id"].nunique()
    shown = lex[(lex["participant_type"] != "human") | lex["participant"].isin(
        counts[counts > MIN_ANNOTATOR_ITEMS].index)]  # fmt: skip
    pooled = lex[lex["participant_type"] == "human"].assign(participant="humans (all)")
    lexical = pd.concat([pooled, shown]).melt(
        id_vars=["participant", "participant_type"], value_vars=["wc", "V", "JAC"],
        var_name="metric",
    ).rename(columns={"participant": "group"})  # fmt: skip
    lexical["representation"] = "lexical"
    groups = result.per_group[result.per_group["kind"] == "pool"]
    vector = groups.melt(
        id_vars=["group", "representation"], value_vars=["D_pair", "D_cent", "D_max"],
        var_name="metric",
    )  # fmt: skip
    from ..explanations import HUMAN_POOL

    vector["participant_type"] = np.where(vector["group"] == HUMAN_POOL, "human", "model")
    if "encoder" in groups.columns:  # panels name the model, not only its role (e5 slot)
        encoder = groups["encoder"].to_numpy()
        vector["representation"] = [
            representation_label(r, e)
            for r, e in zip(vector["representation"], np.tile(encoder, 3), strict=True)
        ]
    return pd.concat([lexical, vector], ignore_index=True)


#: What each vector representation of :mod:`inspect_partynli.explanations` measures.
REPRESENTATION_ROLES: dict[str, str] = {"e5": "semantic", "style": "style", "tfidf": "TF-IDF"}


def representation_label(representation: str, encoder: object) -> str:
    """``semantic (all-MiniLM-L6-v2)``: the representation's role and the model actually used
    (the ``e5`` slot may hold the offline MiniLM fallback); TF-IDF and lexical as they are."""
    role = REPRESENTATION_ROLES.get(str(representation))
    if role is None or role == "TF-IDF" or not isinstance(encoder, str) or not encoder:
        return role or str(representation)
    return f"{role} ({encoder.rstrip('/').split('/')[-1]})"


def _cached_encoders(b):
    """The report's encoders, each wrapped once in a :class:`CachedEncoder` over the package's
    embedding cache: the metrics and both projections share it, and it remembers the devices
    its vectors were computed on (so a warm report's captions equal the cold one's)."""
    from ..explanations.encoders import CachedEncoder, default_cache_dir

    encoders = b.encoders
    for role in ("semantic", "style"):
        encoder = getattr(encoders, role)
        if not isinstance(encoder, (str, CachedEncoder)):
            cached = CachedEncoder(encoder, default_cache_dir(), progress=b.options.progress)
            setattr(encoders, role, cached)
    return encoders


def _devices(b) -> str:
    """`` Encoders ran on cpu.``: where the report's embeddings were computed (as recorded in
    the embedding cache; ``cached``: they came from a cache that did not record it), for the
    captions of the figures they feed."""
    from ..explanations.encoders import device_of

    used = [e for e in (b.encoders.semantic, b.encoders.style) if not isinstance(e, str)]
    devices = sorted({device_of(encoder) for encoder in used} - {"-"})
    return f" Encoders ran on {', '.join(devices)}." if devices else ""


def part_projection(c: Context) -> None:
    from ..explanations import explanation_projection

    b = c.b
    table = _explanation_table(c)
    if isinstance(b.encoders.semantic, str):  # "none": switched off, or no model available
        raise c.skip(b.encoders.semantic_missing or "no semantic encoder (--encoder none)")
    models_with = set(b.models.loc[b.models["explanation"].str.strip() != "", "sent_id"])
    item = FIGURE1_ITEM if FIGURE1_ITEM in models_with else None
    if item is None:
        per_item = _per_item(c, c.main, c.subset_rest)
        item = per_item[per_item.index.isin(models_with)]["JS"].idxmin()
    kwargs = {"encoder": _cached_encoders(b).semantic, "progress": b.options.progress}
    one = explanation_projection(table, c.dataset, sent_ids=item, **kwargs)
    b.write_csv(one, "projection_item.csv")
    target = c.b.figures_section
    b.add_figure(
        target, figures.projection_scatter(one, sent_id=item, labels=c.labels), "figure1",
        f"Figure 1: t-SNE of the explanation embeddings of item {item} "
        f"({one['encoder'].iloc[0]}); colour = label, marker = humans / participants."
        + _devices(b),
    )  # fmt: skip
    items = None
    if b.options.projection_items is not None:
        items = sorted(models_with)[: b.options.projection_items]
    every = explanation_projection(table, c.dataset, sent_ids=items, **kwargs)
    b.write_csv(every, "projection.csv")
    b.add_figure(
        target, figures.projection_scatter(every, labels=c.labels), "figure11",
        f"Figure 11: t-SNE of all explanation embeddings ({every['encoder'].iloc[0]}, "
        f"{every['sent_id'].nunique()} items); colour = label, marker = humans / participants."
        + _devices(b),
    )  # fmt: skip


# ------------------------------------------------------------------------ explorer
def part_items(c: Context) -> None:
    b = c.b
    info = b.item_info
    per_item = _per_item(c, c.main, c.subset_rest)
    models = b.models.assign(unit=c.rows_unit.to_numpy())
    dists = tables.item_distributions(models.assign(participant=models["unit"]), c.labels)
    humans = b.humans
    human_rows = {uid: rows for uid, rows in humans.groupby("sent_id", sort=False)}
    populations = {
        name: population.counts.set_axis(population.counts.index.astype(str))
        for name, population in c.dataset.populations.items()
    }
    fields = list(c.dataset.text_fields)
    extras = _item_extras(c)
    n_units = len(c.units)
    all_trials = n_units <= ALL_TRIALS_UP_TO
    section = Section("Items")
    section.blocks.append(
        Paragraph(
            f"Every item as the study's explorer shows it: {', '.join(fields)}, the label "
            "distributions of the human populations and of each participant, and the "
            "explanations side by side ("
            + ("every trial" if all_trials else "first trial of each participant")
            + "). Items are ordered by the JS distance of "
            + c.main_name
            + f" against {c.reference}, worst first."
        )
    )
    for uid in per_item.sort_values("JS", ascending=False).index:
        row = per_item.loc[uid]
        distributions = _card_distributions(uid, populations, dists, c, row)
        worker_rows = human_rows.get(uid, humans.iloc[:0])
        human_expl = [
            (w, label, text)
            for w, label, text in zip(worker_rows["participant"], worker_rows["class_multi"],
                                      worker_rows["explanation"], strict=True)
        ]  # fmt: skip
        rows = models[models["sent_id"] == uid].sort_values(["unit", "trial"])
        if not all_trials:
            rows = rows.drop_duplicates("unit")
        participant_expl = [
            (f"{unit} t{trial}", multi if parsed else "error", text)
            for unit, trial, multi, parsed, text in zip(
                rows["unit"], rows["trial"], rows["class_multi"], rows["parsed"],
                rows["explanation"], strict=True)
        ]  # fmt: skip
        known = [f"{column} {info.at[uid, column]}" for column in extras
                 if not pd.isna(info.at[uid, column])]  # fmt: skip
        summary = " · ".join(
            [
                *known,
                f"{c.reference}: {row['human_majority']} (H {format_cell(row['human_H'])})",
                f"{c.main_name}: {row['majority']} (H {format_cell(row['H'])}, "
                f"JS {format_cell(row['JS'])})",
            ]
        )
        section.blocks.append(
            ItemCard(
                uid,
                [(field, str(info.at[uid, field])) for field in fields],
                summary,
                distributions,
                human_expl,
                participant_expl,
                c.labels,
            )  # fmt: skip
        )
    b.report.sections.append(section)


def _card_distributions(uid, populations, dists, c: Context, row) -> pd.DataFrame:
    """An item's label shares: each human population, the main mix, then every unit."""
    labels = list(c.labels)
    records = {}
    for name, counts in populations.items():
        if uid in counts.index:
            values = counts.loc[uid, labels].to_numpy(dtype=float)
            total = values.sum()
            if total > 0:
                records[f"humans ({name})"] = {**dict(zip(labels, values / total, strict=True)),
                                               "n": total}  # fmt: skip
    if c.main.kind != "single":
        records[c.main_name] = {**{x: row[x] for x in labels}, "n": row["n_answers"]}
    for unit in c.units["unit"]:
        if (unit, uid) in dists.index:
            d = dists.loc[(unit, uid)]
            records[unit] = {**{x: d[x] for x in labels}, "error": d["error"], "n": d["n"]}
    frame = pd.DataFrame.from_dict(records, orient="index")
    for label in labels:
        frame[label] = frame[label].astype(float).fillna(0.0)
    return frame
