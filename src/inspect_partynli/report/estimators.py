"""The report's estimator comparison: per model, its three estimators against the humans.

The table has one row per (reference, model, estimator) with the study's metrics (H, JS, KL
both ways, Agree, Cor.), the epochs read and the requests they cost, beside the MODEL MIX
settings' rows; the figure shows JS (lower is closer to the humans) and Cor. (Kendall's tau of
per-item entropies; higher is better) per model and estimator, with the MODEL MIX settings as
grey bars, one row of panels per human reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..estimators.base import ESTIMATORS
from .figures import _figure, _styled

#: One colour per estimator (Okabe-Ito); MODEL MIX settings are grey.
ESTIMATOR_COLORS: dict[str, str] = {
    "sampling": "#009E73",
    "logprobs": "#56B4E9",
    "verbalized": "#CC79A7",
}
MIX_COLOR = "#999999"
#: The panels: metric key, title, what reads as better.
PANELS: tuple[tuple[str, str], ...] = (
    ("JS", "JS distance to the humans (lower is closer)"),
    ("cor", "Cor. (Kendall's tau of per-item H; higher is better)"),
)


def _bars(frame: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """``(group, label, colour, key)`` per bar, in order: each model's estimators, then the
    MODEL MIX settings (group ``MODEL MIX``)."""
    bars = []
    models = frame[frame["kind"] == "estimator"]
    for model in dict.fromkeys(models["participant"]):
        have = set(models.loc[models["participant"] == model, "estimator"])
        for estimator in ESTIMATORS:
            if estimator in have:
                color = ESTIMATOR_COLORS[estimator]
                bars.append((str(model), estimator, color, f"{model}\x00{estimator}"))
    for mix in dict.fromkeys(frame.loc[frame["kind"] == "mix", "participant"]):
        bars.append(("MODEL MIX", str(mix), MIX_COLOR, f"{mix}\x00"))
    return bars


def _group_labels(ax, bars: list[tuple[str, str, str, str]]) -> None:
    """Each group's name centred under its bars, and a thin line between groups."""
    groups = list(dict.fromkeys(group for group, _, _, _ in bars))
    for group in groups:
        positions = [i for i, bar in enumerate(bars) if bar[0] == group]
        ax.text(np.mean(positions), -0.3, group, transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8, fontweight="bold")  # fmt: skip
        if positions[0] > 0:
            ax.axvline(positions[0] - 0.5, color="#cccccc", linewidth=0.8)


@_styled
def estimator_comparison(frame: pd.DataFrame) -> Figure:
    """JS and Cor. per model and estimator (and per MODEL MIX), one panel row per reference.

    ``frame`` columns: ``reference``, ``participant`` (the model, or the mix's name),
    ``kind`` (``estimator`` or ``mix``), ``estimator`` (empty for mixes), ``JS``, ``cor``.
    """
    references = list(dict.fromkeys(frame["reference"]))
    bars = _bars(frame)
    keyed = frame.assign(
        key=frame["participant"].astype(str) + "\x00" + frame["estimator"].fillna("").astype(str)
    )
    width = max(7.5, 0.55 * len(bars) * len(PANELS) + 2.5)
    fig, axes = _figure(width, 3.1 * len(references) + 1.2, ncols=len(PANELS))
    if len(references) > 1:
        fig.clf()
        axes = fig.subplots(len(references), len(PANELS), squeeze=False)
    x = np.arange(len(bars))
    for row, reference in enumerate(references):
        values = keyed[keyed["reference"] == reference].set_index("key")
        for col, (metric, title) in enumerate(PANELS):
            ax = axes[row, col]
            heights = [
                float(values.at[key, metric]) if key in values.index else math.nan
                for _, _, _, key in bars
            ]
            colors = [color for _, _, color, _ in bars]
            ax.bar(x, np.nan_to_num(heights), color=colors, width=0.75)
            for position, height in zip(x, heights, strict=True):
                missing = math.isnan(height)
                below = not missing and height < 0
                ax.text(position, 0.0 if missing else height, "n/a" if missing else f"{height:.2f}",
                        ha="center", va="top" if below else "bottom", fontsize=7)  # fmt: skip
            ax.axhline(0, color="black", linewidth=0.6)
            ax.set_xticks(x)
            ax.set_xticklabels([label for _, label, _, _ in bars], fontsize=7, rotation=30,
                               ha="right", rotation_mode="anchor")  # fmt: skip
            _group_labels(ax, bars)
            ax.set_title(f"{title}\nvs {reference}", fontsize=9)
            if metric == "cor":
                ax.set_ylim(min(-0.1, np.nanmin([*heights, 0.0]) - 0.15), 1.05)
            else:
                ax.set_ylim(0, max(0.1, np.nanmax([*heights, 0.0]) * 1.2))
    legend = [Patch(facecolor=ESTIMATOR_COLORS[e], label=e) for e in ESTIMATORS]
    legend.append(Patch(facecolor=MIX_COLOR, label="MODEL MIX (sampling, several models)"))
    fig.legend(handles=legend, loc="upper center", ncol=len(legend), frameon=False,
               bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def comparison_frame(
    estimator_rows: Sequence[Mapping[str, object]], mix_rows: Sequence[Mapping[str, object]]
) -> pd.DataFrame:
    """The rows the table and figure show: estimator records (``participant``, ``estimator``,
    ``reference`` and the metrics) then MODEL MIX records (``participant`` = the mix)."""
    estimators = pd.DataFrame(list(estimator_rows)).assign(kind="estimator")
    mixes = pd.DataFrame(list(mix_rows)).assign(kind="mix", estimator="")
    frame = pd.concat([estimators, mixes], ignore_index=True)
    for column in ("n_items", "n_trials"):
        if column in frame.columns:
            frame[column] = frame[column].astype("Int64")
    return frame


#: The report section of the comparison.
SECTION = "Estimators: sampling vs log-probabilities vs verbalized"
#: Columns of the comparison table, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "reference", "participant", "estimator", "n_trials", "n_items", "H", "JS", "KL_pq",
    "KL_qp", "agree", "cor", "spread", "other_mass", "raw_sum",
)  # fmt: skip


def estimator_records(c, references: Sequence[str]) -> list[dict]:
    """Per model with estimator runs: each estimator's metrics against every reference -- the
    analysis' ESTIMATOR settings (:mod:`inspect_partynli.analysis.estimator_setting`: its
    sampling run is its MODEL MIX unit, if it has one), as ``partynli metrics`` gives them."""
    from .. import analysis as an

    b = c.b
    coded = an.prepare(pd.concat([b.models, b.estimates], ignore_index=True), c.labels)
    settings = an.estimator_settings(coded)
    records = []
    for reference in references:
        for record in an.evaluate_many(coded, settings, c.human(reference),
                                       conventions=c.conventions):  # fmt: skip
            records.append({**record, "reference": reference})
    return records


def part(c) -> None:
    """The comparison table and figure against every human population of the dataset
    (skipped when no run is a logprobs / verbalized one)."""
    from .document import Paragraph, Section, Table

    b = c.b
    if b.estimates.empty:
        raise c.skip("no logprobs or verbalized runs (-T estimator=...)")
    references = list(c.dataset.populations)
    rows = estimator_records(c, references)
    mixes = []
    for reference in references:
        if c.mixes:
            evaluated = c.evaluate(c.mixes, population=reference)
            mixes += [{**r, "reference": reference} for r in evaluated]
    frame = comparison_frame(rows, [
        {k: r[k] for k in ("reference", "participant", "n_items", "n_trials", "H", "JS",
                           "KL_pq", "KL_qp", "agree", "cor")} for r in mixes
    ])  # fmt: skip
    shown = frame.assign(
        estimator=frame["estimator"].where(frame["kind"] == "estimator", "MODEL MIX")
    )
    table = shown[[column for column in TABLE_COLUMNS if column in shown.columns]]

    csv = b.write_csv(table, "estimators.csv")
    section = Section(SECTION)
    section.blocks += [
        Paragraph(
            "Each model's distribution per item read three ways: sampling (its label shares "
            "over the epochs, as SINGLE), logprobs (first-token log-probabilities of the label "
            "words) and verbalized (the probabilities it states), each averaged over its "
            "epochs; MODEL MIX settings beside. Metrics as in Table 2 (natural log, KL "
            "smoothed with 1e-10, Agree = majority match, Cor. = Kendall's tau of per-item "
            "entropies); spread = mean over items of the std of a label's probability across "
            "epochs (NaN with one epoch)."
        ),
        Table(table, "Estimators against the human references.", csv),
    ]
    b.report.sections.append(section)
    b.add_figure(
        section, estimator_comparison(frame), "estimators",
        "Per model, the JS distance and Cor. of its three estimators against each human "
        "reference, beside the MODEL MIX settings (grey).",
    )  # fmt: skip
