"""The paper's figures, drawn with matplotlib (Agg backend) from tidy DataFrames.

Every function here takes data that is already computed (per-item metrics, label
distributions, explanation metrics, projections) and returns a :class:`matplotlib.figure.Figure`;
no metric is computed here, so a figure always shows exactly the numbers of the tables.
:func:`save_figure` writes a figure as PNG (and SVG when asked: ``partynli report --svg``).

==========  =====================================================================
function    paper figure
==========  =====================================================================
entropy_js          Figure 2: per-item entropy, humans vs a setting, JS overlaid
label_distribution  Figure 3 left: overall label shares per participant, by consistency
classification_heatmap  Figures 3 right, 9, 10: per-item label across trials/values/sizes
explanation_boxplots    Figure 4: lexical and vector explanation metrics, humans vs models
random_mix_histograms   Figure 8: RandomMix metric distributions, MODEL MIX values marked
projection_scatter      Figures 1 and 11: 2-D projection of explanation embeddings
==========  =====================================================================
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..labels import ERROR_LABEL, LABELS  # noqa: E402

#: Colour-blind safe colours (Okabe-Ito, then Tol's muted) for the labels of any dataset.
PALETTE: tuple[str, ...] = (
    "#E69F00", "#D55E00", "#0072B2", "#CC79A7", "#56B4E9", "#F0E442", "#882255", "#44AA99",
    "#999933", "#AA4499",
)  # fmt: skip


class _LabelColors(dict):
    """One colour per label: the NLI labels keep the paper's figure colours, any other label
    takes the next free palette colour the first time it is drawn (so a dataset's labels,
    drawn in their order, get the palette in order); parse failures are black."""

    def __missing__(self, label: str) -> str:
        used = set(self.values())
        free = [c for c in PALETTE if c not in used] or list(PALETTE)
        self[label] = free[0]
        return free[0]


#: Colour of each label (see :class:`_LabelColors`), plus parse errors.
LABEL_COLORS: dict[str, str] = _LabelColors(
    {"either": "#E69F00", "false": "#D55E00", "true": "#0072B2", ERROR_LABEL: "#000000"}
)
MISSING_COLOR = "#FFFFFF"
HUMAN_COLOR = "#4D4D4D"
MODEL_COLOR = "#009E73"
#: Marker per participant type in scatter plots (humans vs model participants).
TYPE_MARKERS: dict[str, str] = {"human": "o", "model": "^"}

#: Matplotlib settings shared by every figure: readable fonts, no clipped labels.
STYLE: dict[str, object] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.dpi": 100,
    "savefig.dpi": 130,
    "svg.fonttype": "none",  # SVG text stays text (searchable, small)
    "axes.spines.top": False,
    "axes.spines.right": False,
}

#: Figure formats :func:`save_figure` can write (PNG always; SVG on request in reports,
#: since it costs about as much as drawing the figure again).
FORMATS: tuple[str, ...] = ("png", "svg")


def save_figure(
    fig: Figure, out_dir: str | Path, name: str, formats: Sequence[str] = FORMATS
) -> dict[str, Path]:
    """Write ``fig`` as ``out_dir/name.<format>`` for each of ``formats`` (tight bounding
    box) and close it; the paths by format."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or "png" not in formats:
        raise ValueError(f"formats must include png and be among {FORMATS}, not {formats}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    with plt.rc_context(STYLE):
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            fig.savefig(path, format=fmt, bbox_inches="tight", pad_inches=0.1)
            paths[fmt] = path
    plt.close(fig)
    return paths


def _styled(function):
    """Draw the decorated figure function under :data:`STYLE` (fonts are set at draw time)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float, **subplots) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(figsize=(width, height), squeeze=False, **subplots)
    return fig, axes


def _label_legend(labels: Sequence[str], **kwargs) -> list[Patch]:
    return [Patch(facecolor=LABEL_COLORS[label], edgecolor="none", label=label) for label in labels]


# --------------------------------------------------------------------------- Figure 2
@_styled
def entropy_js(
    per_item: pd.DataFrame,
    *,
    setting_name: str = "MODEL MIX",
    human_name: str = "humans",
    h_human: str = "H_human",
    h_setting: str = "H",
    js: str = "JS",
    n_labels: int = len(LABELS),
) -> Figure:
    """Figure 2: per-item entropy of humans and of a setting, with each item's JS overlaid.

    ``per_item`` has one row per item (index or column ``sent_id``) and the columns named by
    ``h_human``, ``h_setting`` and ``js``.  Items are ordered by human entropy (descending) so
    that the (lack of) correlation between the two entropy curves is visible.  ``n_labels``:
    the size of the label space (the dotted line is the largest entropy, ``ln n_labels``).
    """
    data = per_item.set_index("sent_id") if "sent_id" in per_item.columns else per_item
    data = data[[h_human, h_setting, js]].astype(float)
    data = data.sort_values([h_human, h_setting], ascending=False)
    n = len(data)
    fig, axes = _figure(min(max(7.0, 0.13 * n + 2.0), 20.0), 4.2)  # wide, never unbounded
    ax = axes[0, 0]
    x = np.arange(n)
    ax.bar(x - 0.2, data[h_human], width=0.4, color=HUMAN_COLOR, label=f"H {human_name}")
    ax.bar(x + 0.2, data[h_setting], width=0.4, color=MODEL_COLOR, label=f"H {setting_name}")
    ax.scatter(  # clip_on: a JS of 0 sits on the x axis, drawn whole
        x, data[js], marker="s", s=22, color="white", edgecolors="black", linewidths=0.9,
        zorder=3, clip_on=False, label=f"JS ({setting_name} vs humans)",
    )  # fmt: skip
    top = math.log(n_labels)
    ax.axhline(top, color="grey", linestyle=":", linewidth=0.8)
    ax.text(n - 0.5, top, f"max H = ln {n_labels}", ha="right", va="bottom", fontsize=8)
    ax.set_xlim(-0.7, n - 0.3)
    ax.set_ylim(0, max(1.25, top + 0.15))
    if n <= 150:  # item ids stay readable; beyond, the x axis is only the items' order
        ax.set_xticks(x)
        ax.set_xticklabels(data.index, rotation=90, fontsize=7 if n <= 60 else 5)
    else:
        ax.set_xticks([])
    ax.set_xlabel("item, ordered by human entropy")
    ax.set_ylabel("entropy H (nats) / JS distance")
    ax.set_title(f"Per-item entropy: {human_name} vs {setting_name} ({n} items)", pad=26)
    # above the bars (never over them or the y axis, whatever the setting's name's length)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    return fig


# ---------------------------------------------------------------------- Figure 3 left
@_styled
def label_distribution(shares: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Figure 3 left: each participant's overall label shares, ordered by consistency.

    ``shares`` has one row per participant (index = name) with a column per label (shares
    summing to 1; an ``error`` column is optional), ``consistency`` (mean distinct labels per
    item across trials, NaN for one-trial participants such as human annotators) and
    ``participant_type`` (``human`` or ``model``).  Humans are drawn in a panel above the
    models; models are ordered least consistent on top; white squares mark consistency on
    the top axis (1 = always the same label, 3 = every label).
    """
    columns = [c for c in shares.columns if c not in ("participant_type", "n", "consistency")]
    kinds = shares.get("participant_type", pd.Series("model", index=shares.index))
    groups = [
        ("human annotators", shares[kinds == "human"]),
        ("model participants", shares[kinds != "human"]),
    ]
    groups = [(name, g) for name, g in groups if len(g)]
    heights = [max(len(g), 1) for _, g in groups]
    fig, axes = _figure(
        7.5, 0.32 * sum(heights) + 1.2 * len(groups) + 0.6,
        nrows=len(groups), sharex=True, gridspec_kw={"height_ratios": heights},
    )  # fmt: skip
    for ax, (name, group) in zip(axes[:, 0], groups, strict=True):
        consistency = pd.to_numeric(group.get("consistency"), errors="coerce")
        if consistency is not None and consistency.notna().any():
            order = group.assign(_c=consistency).sort_values("_c", ascending=True).index
        else:  # in the given order, first on top (rows are drawn bottom-up)
            order = group.index[::-1]
        group = group.loc[order]
        y = np.arange(len(group))
        left = np.zeros(len(group))
        for label in columns:
            values = group[label].fillna(0).to_numpy(float)
            ax.barh(y, values, left=left, color=LABEL_COLORS[label], height=0.8, label=label)
            left += values
        ax.set_yticks(y)
        ax.set_yticklabels(group.index)
        ax.set_ylim(-0.6, len(group) - 0.4)
        ax.set_xlim(0, 1)
        ax.set_title(name, loc="left", fontsize=10)
        if consistency is not None and consistency.notna().any():
            top = ax.twiny()
            top.set_xlim(1, max(len(columns) - (ERROR_LABEL in columns), 2))
            values = pd.to_numeric(group["consistency"], errors="coerce").to_numpy(float)
            top.scatter(
                values, y, marker="s", s=30, color="white", edgecolors="black", zorder=4,
                label="consistency",
            )  # fmt: skip
            top.set_xlabel("consistency (distinct labels per item across trials)", fontsize=9)
            top.spines["right"].set_visible(False)
    axes[-1, 0].set_xlabel("share of labels")
    handles = _label_legend(columns) + [
        Line2D([], [], marker="s", color="white", markeredgecolor="black", linestyle="",
               label="consistency (top axis)"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    fig.suptitle(title or "Overall label distribution per participant")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


# ------------------------------------------------------- Figures 3 right, 9 and 10
@_styled
def classification_heatmap(
    table: pd.DataFrame,
    *,
    by: str = "trial",
    participants: Sequence[str] | None = None,
    item_order: Sequence[str] | None = None,
    title: str | None = None,
    item_label: str | None = None,
    reference: pd.Series | None = None,
    reference_name: str = "humans (majority)",
    labels: Sequence[str] = LABELS,
) -> Figure:
    """Figures 3 right, 9, 10: each item's label per trial (or sweep value, or size).

    ``table`` is an annotation table; ``by`` is the column whose values are the rows of a
    participant's block (``trial``, ``temperature``, ``top_p`` or ``num_params``).  One block
    of rows per participant (in ``participants`` order), one column per item (``item_order``,
    default sorted uids, described on the x axis by ``item_label``); colour = label, white =
    no annotation; the right axis names each row (``t1``, ``τ0.05``, ``8B``).  When several
    rows share a cell (e.g. two trials at one temperature) the lowest trial is shown.
    ``reference`` (labels indexed by item, e.g. the human majority) is drawn as a first row.
    ``labels``: the dataset's label space, in order (colours and legend).
    """
    participants = list(participants or sorted(table["participant"].unique()))
    items = list(item_order or sorted(table["sent_id"].unique()))
    palette = [*labels, ERROR_LABEL]
    code = {label: i for i, label in enumerate(palette)}
    short = {"trial": "t", "temperature": "τ", "top_p": "p", "num_params": ""}.get(by, "")
    unit = "B" if by == "num_params" else ""
    blocks, ticks, names, bounds, row_names = [], [], [], [], []
    if reference is not None:  # a first row: e.g. each item's human majority label
        blocks.append(reference.reindex(items).map(code).to_numpy(float)[None, :])
        ticks.append(0.0)
        names.append(reference_name)
        row_names.append("")
        bounds.append(1)
    for participant in participants:
        rows = table[table["participant"] == participant].sort_values("trial", kind="stable")
        rows = rows.drop_duplicates(["sent_id", by])
        values = sorted(rows[by].dropna().unique())
        if not values:
            continue
        matrix = rows.pivot(index=by, columns="sent_id", values="class_simple")
        matrix = matrix.reindex(index=values, columns=items)
        block = matrix.apply(lambda col: col.map(code)).to_numpy(float)
        start = sum(len(b) for b in blocks)
        blocks.append(block)
        ticks.append(start + (len(values) - 1) / 2)
        names.append(participant)
        row_names.extend(f"{short}{_fmt(v)}{unit}" for v in values)
        bounds.append(start + len(values))
    if not blocks:
        raise ValueError(f"no annotations with a {by!r} value for {participants}")
    grid = np.vstack(blocks)
    n_rows, n_items = grid.shape
    row_inches = 0.12 if n_rows <= 40 else 0.09
    width = min(max(7.5, 0.07 * n_items + 3.0), 20.0)  # wide, never unbounded
    fig, axes = _figure(width, max(2.6, row_inches * n_rows + 1.9))
    ax = axes[0, 0]
    cmap = ListedColormap([LABEL_COLORS[label] for label in palette]).with_extremes(
        bad=MISSING_COLOR
    )
    norm = BoundaryNorm(np.arange(len(palette) + 1) - 0.5, len(palette))
    ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=cmap, norm=norm,
              interpolation="nearest")  # fmt: skip
    for bound in bounds[:-1]:
        ax.axhline(bound - 0.5, color="white", linewidth=2.5)
    ax.set_yticks(ticks)
    ax.set_yticklabels(names)
    ax.tick_params(axis="y", length=0)
    right = ax.secondary_yaxis("right")
    right.set_yticks(np.arange(n_rows))
    right.set_yticklabels(row_names, fontsize=6 if n_rows > 40 else 7)
    right.tick_params(length=0)
    right.spines["right"].set_visible(False)
    ax.set_xlabel(item_label or f"item ({n_items} items)")
    ax.set_xticks([])
    kind = {"trial": "trials", "temperature": "temperature values", "top_p": "top-p values",
            "num_params": "sizes"}.get(by, by)  # fmt: skip
    ax.set_title(title or f"Per-item classification across {kind} (one row per {kind[:-1]})")
    present = [label for label in palette if (grid == code[label]).any()]
    handles = _label_legend(present)
    if np.isnan(grid).any():
        handles.append(Patch(facecolor=MISSING_COLOR, edgecolor="grey", label="no annotation"))
    for spine in ax.spines.values():
        spine.set_visible(False)
    height = fig.get_figheight()
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1))
    below_label = ax.get_position().y0 - 0.3 / height  # right under the x label, no gap
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, below_label),
               ncol=len(handles), frameon=False)  # fmt: skip
    return fig


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.2g}"
    return str(value)


# --------------------------------------------------------------------------- Figure 4
@_styled
def explanation_boxplots(
    values: pd.DataFrame,
    *,
    lexical_metrics: Sequence[str] = ("wc", "V", "JAC"),
    metric_names: Mapping[str, str] | None = None,
    title: str = "Explanation variation: humans vs model participants",
) -> Figure:
    """Figure 4: explanation metrics of humans vs participants, as box plots.

    ``values`` is long: columns ``group`` (a box: a participant, a human annotator, or
    ``humans`` / ``models``), ``participant_type`` (``human`` or ``model``), ``metric``,
    ``representation`` (``lexical``, ``e5``, ``style``, ``tfidf``, ...) and ``value``.
    Left panels: the lexical metrics, one box per group.  Right panels: each vector metric
    per representation, one box per group.  Pass only lexical or only vector rows to draw
    one side (the report draws the two sides as two figures, for legibility).
    """
    names = {"wc": "word count $w_c$", "V": "vocabulary size $V$", "JAC": "Jaccard JAC",
             "D_pair": "$D_{pair}$", "D_cent": "$D_{cent}$", "D_max": "$D_{max}$",
             **(metric_names or {})}  # fmt: skip
    lexical = values[values["metric"].isin(lexical_metrics)]
    vector = values[~values["metric"].isin(lexical_metrics)]
    lex_metrics = [m for m in lexical_metrics if m in set(lexical["metric"])]
    vec_metrics = list(dict.fromkeys(vector["metric"]))
    representations = list(dict.fromkeys(vector["representation"]))
    n_cols = len(lex_metrics) + len(vec_metrics)
    if n_cols == 0:
        raise ValueError("no explanation metric values to plot")
    lex_groups = _box_order(lexical)
    vec_groups = _box_order(vector)
    n_rows = max(1, len(representations)) if vec_metrics else 1
    height = max(3.0, 0.24 * max(len(lex_groups), 1) + 1.5, 1.6 * n_rows + 0.8)
    fig = plt.figure(figsize=(2.9 * n_cols + 1.2, height))
    grid = fig.add_gridspec(n_rows, n_cols, wspace=0.45, hspace=0.55)
    for i, metric in enumerate(lex_metrics):
        ax = fig.add_subplot(grid[:, i])
        data = lexical[lexical["metric"] == metric]
        _boxes(ax, data, lex_groups, show_labels=i == 0)
        ax.set_xlabel(names.get(metric, metric))
        if i == 0 and vec_metrics:
            ax.set_title("lexical (de-lexicalised)", loc="left")
    for j, metric in enumerate(vec_metrics):
        for r, representation in enumerate(representations):
            ax = fig.add_subplot(grid[r, len(lex_metrics) + j])
            data = vector[
                (vector["metric"] == metric) & (vector["representation"] == representation)
            ]
            _boxes(ax, data, vec_groups, show_labels=j == 0)
            ax.set_title(f"{names.get(metric, metric)}, {representation}", fontsize=9)
            if r == len(representations) - 1:
                ax.set_xlabel("cosine distance")
    handles = [Patch(facecolor=HUMAN_COLOR, alpha=0.6, label="humans"),
               Patch(facecolor=MODEL_COLOR, alpha=0.6, label="model participants")]  # fmt: skip
    fig.legend(handles=handles, loc="upper center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, 1.02))  # fmt: skip
    fig.suptitle(title, y=1.07)
    return fig


def _box_order(data: pd.DataFrame) -> list[tuple[str, str]]:
    """(group, participant_type) pairs: humans first, then models, each by median."""
    if data.empty:
        return []
    medians = data.groupby(["participant_type", "group"])["value"].median().reset_index()
    medians["_human"] = medians["participant_type"] != "human"
    medians = medians.sort_values(["_human", "value"], ascending=[True, True])
    return list(zip(medians["group"], medians["participant_type"], strict=True))


def _boxes(ax, data: pd.DataFrame, groups: list[tuple[str, str]], *, show_labels: bool) -> None:
    series = [data.loc[data["group"] == g, "value"].dropna().to_numpy(float) for g, _ in groups]
    keep = [i for i, s in enumerate(series) if len(s)]
    if not keep:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
        return
    positions = np.arange(len(groups))[keep]
    parts = ax.boxplot(
        [series[i] for i in keep], positions=positions, orientation="horizontal",
        widths=0.6, patch_artist=True, showfliers=True,
        flierprops={"markersize": 2, "alpha": 0.5}, medianprops={"color": "black"},
    )  # fmt: skip
    for patch, i in zip(parts["boxes"], keep, strict=True):
        color = HUMAN_COLOR if groups[i][1] == "human" else MODEL_COLOR
        patch.set_facecolor(color)
        patch.set_alpha(0.6)
    ax.set_ylim(-0.6, len(groups) - 0.4)
    ax.set_yticks(np.arange(len(groups)))
    ax.set_yticklabels([g for g, _ in groups] if show_labels else [])
    ax.invert_yaxis()


# --------------------------------------------------------------------------- Figure 8
@_styled
def random_mix_histograms(
    draws: pd.DataFrame,
    marks: Mapping[str, Mapping[str, float]] | None = None,
    *,
    metrics: Sequence[str] = ("H", "JS", "KL_pq", "KL_qp", "agree", "alpha", "cor"),
    metric_names: Mapping[str, str] | None = None,
) -> Figure:
    """Figure 8: the distribution of each metric over RandomMix draws, with reference values.

    ``draws`` has one row per draw and a column per metric; ``marks`` maps a setting name
    (e.g. ``MODEL MIX all``) to its metric values, drawn as vertical lines.
    """
    names = {"H": "entropy H", "JS": "JS distance", "KL_pq": "KL(P||Q)", "KL_qp": "KL(Q||P)",
             "agree": "Agree", "alpha": "Krippendorff's alpha", "cor": "Kendall's tau (Cor.)",
             **(metric_names or {})}  # fmt: skip
    metrics = [m for m in metrics if m in draws.columns and draws[m].notna().any()]
    if not metrics:
        raise ValueError("no RandomMix metric values to plot")
    n_cols = min(4, len(metrics))
    n_rows = math.ceil(len(metrics) / n_cols)
    fig, axes = _figure(3.2 * n_cols, 2.6 * n_rows + 0.6, nrows=n_rows, ncols=n_cols)
    styles = ["-", "--", "-.", ":"]
    colors = ["#CC79A7", "#0072B2", "#D55E00", "#009E73", "#000000"]
    for k, ax in enumerate(axes.flat):
        if k >= len(metrics):
            ax.set_visible(False)
            continue
        metric = metrics[k]
        ax.hist(draws[metric].dropna().to_numpy(float), bins=30, color="#BBBBBB",
                edgecolor="white", linewidth=0.4)  # fmt: skip
        for i, (name, values) in enumerate((marks or {}).items()):
            value = values.get(metric)
            if value is None or not np.isfinite(value):
                continue
            ax.axvline(value, color=colors[i % len(colors)], linestyle=styles[i % len(styles)],
                       linewidth=1.6, label=name)  # fmt: skip
        ax.set_xlabel(names.get(metric, metric))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # tick labels never run together
        if k % n_cols == 0:
            ax.set_ylabel("draws")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles = [Patch(facecolor="#BBBBBB", label=f"RandomMix ({len(draws)} draws)"), *handles]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), frameon=False,
               bbox_to_anchor=(0.5, -0.01))  # fmt: skip
    fig.suptitle("RandomMix: metric distributions over random draws of participants")
    fig.tight_layout(rect=(0, 0.08 if n_rows == 1 else 0.05, 1, 1))
    return fig


# ---------------------------------------------------------------------- Figures 1, 11
#: Where a participant's name may go beside its point (offsets in points, clockwise from the
#: upper right): the first that covers the fewest markers and names wins.  When all four are
#: taken (several participants wrote the same explanation: one point), the names stack
#: outwards, one line (:data:`NAME_LINE` points) further up or down per ring.
NAME_OFFSETS: tuple[tuple[float, float], ...] = ((5, 4), (5, -11), (-5, -11), (-5, 4))
NAME_FONT_SIZE = 7
NAME_LINE = 9


def _name_offsets(rings: int) -> list[tuple[float, float]]:
    """:data:`NAME_OFFSETS`, then the same sides one line further out per ring."""
    return [(dx, dy + (NAME_LINE if dy > 0 else -NAME_LINE) * ring)
            for ring in range(rings) for dx, dy in NAME_OFFSETS]  # fmt: skip


def _name_points(ax, data: pd.DataFrame, marker_size: float) -> None:  # noqa: ANN001
    """Name each participant (and label) on its point nearest their centre (Figure 1).

    A group of several points is named ``name (xN)``.  Each name goes to the side of its point
    (:func:`_name_offsets`) where its box covers the fewest markers and names already placed
    (the nearest such side on a tie), on a light halo, so a name never hides under a marker
    nor a marker under a name.
    """
    ax.autoscale_view()  # settles the limits, so data positions map to the page
    to_page = ax.transData.transform
    points_per_pixel = 72.0 / ax.figure.dpi
    markers = to_page(data[["x", "y"]].to_numpy(dtype=float)) * points_per_pixel
    radius = math.sqrt(marker_size) / 2  # a marker's half width, in points
    groups = data.groupby(["participant", "label"], sort=True)
    offsets = _name_offsets(rings=groups.ngroups)  # enough for every name at one point
    placed: list[tuple[float, float, float, float]] = []  # boxes of names so far, in points

    def crowding(box: tuple[float, float, float, float]) -> int:
        left, bottom, right, top = box
        inside = ((markers[:, 0] > left - radius) & (markers[:, 0] < right + radius)
                  & (markers[:, 1] > bottom - radius) & (markers[:, 1] < top + radius))  # fmt: skip
        overlaps = sum(left < x1 and x0 < right and bottom < y1 and y0 < top
                       for x0, y0, x1, y1 in placed)  # fmt: skip
        return int(inside.sum()) + 2 * overlaps

    for (participant, _), group in groups:
        centre = group[["x", "y"]].mean()
        nearest = ((group["x"] - centre["x"]) ** 2 + (group["y"] - centre["y"]) ** 2).idxmin()
        name = f"{participant} (x{len(group)})" if len(group) > 1 else str(participant)
        point = (group.at[nearest, "x"], group.at[nearest, "y"])
        x, y = to_page(point) * points_per_pixel
        width, height = 0.6 * NAME_FONT_SIZE * len(name), NAME_FONT_SIZE
        boxes = []
        for dx, dy in offsets:
            left = x + dx if dx >= 0 else x + dx - width
            boxes.append((left, y + dy, left + width, y + dy + height))
        best = min(range(len(boxes)), key=lambda k: crowding(boxes[k]))
        placed.append(boxes[best])
        dx, dy = offsets[best]
        human = group.at[nearest, "participant_type"] == "human"
        ax.annotate(
            name, point, xytext=(dx, dy), textcoords="offset points", fontsize=NAME_FONT_SIZE,
            ha="left" if dx >= 0 else "right", va="bottom", zorder=5,
            color="#333333" if human else "#006B4F",
            bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none",
                  "alpha": 0.75},
        )  # fmt: skip


@_styled
def projection_scatter(
    points: pd.DataFrame,
    *,
    sent_id: str | None = None,
    annotate: bool | None = None,
    title: str | None = None,
    labels: Sequence[str] = LABELS,
) -> Figure:
    """Figures 1 and 11: the 2-D projection of explanation embeddings.

    ``points`` has columns ``sent_id, participant, participant_type, label, x, y``.  With
    ``sent_id`` only that item is drawn (Figure 1) and, by default, each point is annotated
    with its participant; otherwise every item (Figure 11).  Colour = label, marker shape =
    human or model participant.  ``labels``: the dataset's label space, in order.
    """
    data = points if sent_id is None else points[points["sent_id"] == sent_id]
    if data.empty:
        raise ValueError(f"no projected explanations{'' if sent_id is None else ' for ' + sent_id}")
    annotate = (sent_id is not None) if annotate is None else annotate
    single = sent_id is not None
    fig, axes = _figure(7.0 if single else 8.0, 5.6 if single else 6.6)
    ax = axes[0, 0]
    # Figure 11's points are many: big enough, and outlined, to tell circles from triangles
    size = 46 if single else 28
    for kind, marker in TYPE_MARKERS.items():
        for label in (*labels, ERROR_LABEL):
            part = data[(data["participant_type"] == kind) & (data["label"] == label)]
            if part.empty:
                continue
            ax.scatter(part["x"], part["y"], s=size, marker=marker, color=LABEL_COLORS[label],
                       alpha=0.85 if single else 0.6, edgecolors="black",
                       linewidths=0.4 if single else 0.3)  # fmt: skip
    present = [label for label in (*labels, ERROR_LABEL) if (data["label"] == label).any()]
    kinds = [kind for kind in TYPE_MARKERS if (data["participant_type"] == kind).any()]
    handles = _label_legend(present) + [
        Line2D([], [], marker=TYPE_MARKERS[k], color="grey", linestyle="",
               label="humans" if k == "human" else "model participants")
        for k in kinds
    ]  # fmt: skip
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_xlabel("projection dimension 1")
    ax.set_ylabel("projection dimension 2")
    n_items = data["sent_id"].nunique()
    ax.set_title(title or (f"Explanation embeddings, item {sent_id}" if single
                           else f"Explanation embeddings, all {n_items} items"))  # fmt: skip
    fig.tight_layout()
    if annotate:  # after the layout, which the names' placement depends on
        _name_points(ax, data, size)
    return fig
