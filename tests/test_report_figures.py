"""Every report figure from the fixture plus the replayed human annotators: valid PNG and SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from inspect_partynli import analysis as st
from inspect_partynli.annotation_schema import conform
from inspect_partynli.report import figures, tables
from report_data import study_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def study(fixture_csv, livenli_dataset):
    return conform(study_table(fixture_csv, livenli_dataset))


def _check(fig, tmp_path, name):
    paths = figures.save_figure(fig, tmp_path, name)
    assert paths["png"].read_bytes()[:8] == PNG_MAGIC
    root = ET.parse(paths["svg"]).getroot()
    assert root.tag.endswith("svg")
    return paths


def test_figure2_entropy_js(study, livenli_dataset, tmp_path):
    models = study[study["participant"].isin(["ministral-8b", "livenli-annotators"])]
    mix = st.Setting("all", "mix", ("ministral-8b", "livenli-annotators"))
    per_item = st.item_table(models, mix, st.reference(livenli_dataset, "livenli", "chaosnli"))
    fig = figures.entropy_js(per_item, h_human="human_H", setting_name="MODEL MIX all")
    ax = fig.axes[0]
    assert len(ax.get_xticklabels()) == 50
    assert ax.get_ylabel() and ax.get_legend() is not None
    _check(fig, tmp_path, "figure2")


def test_figure3_left_label_distribution(study, livenli_dataset, tmp_path):
    humans = st.human_table(livenli_dataset)
    busy = humans.groupby("participant")["sent_id"].nunique()
    humans = humans[humans["participant"].isin(busy[busy > 100].index)]
    models = study[study["participant"].isin(["ministral-8b", "livenli-annotators"])]
    shares = tables.label_shares(
        pd.concat([humans, models]), {"ministral-8b": 1.15, "livenli-annotators": 2.1}
    )
    assert sorted(shares[shares["participant_type"] == "human"].index) == [
        "w1", "w4", "w5", "w7", "w8", "w9",
    ]  # fmt: skip
    assert shares.loc["ministral-8b", "either"] == pytest.approx(560 / 609)
    fig = figures.label_distribution(shares)
    model_axis = fig.axes[1]
    # least consistent on top: the y tick labels run bottom-up
    assert [t.get_text() for t in model_axis.get_yticklabels()] == [
        "ministral-8b", "livenli-annotators",
    ]  # fmt: skip
    _check(fig, tmp_path, "figure3_left")


@pytest.mark.parametrize(
    ("participants", "by"),
    [
        (["ministral-8b", "livenli-annotators"], "trial"),  # Figure 3 right
        (["ministral-sweep"], "temperature"),  # Figure 9
        (["ministral-family"], "num_params"),  # Figure 10
    ],
)
def test_classification_heatmaps(study, tmp_path, participants, by):
    fig = figures.classification_heatmap(study, by=by, participants=participants)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (5 * len(participants), 122)
    assert image.mask.sum() == 1  # the fixture misses one item in trial 4
    _check(fig, tmp_path, f"heatmap_{by}")


def test_figure8_random_mix(study, livenli_dataset, tmp_path):
    human = st.reference(livenli_dataset)
    draws = st.random_mix(study, None, human, draws=50, k=2, seed=0)
    mix = st.evaluate(study, st.Setting("all", "mix", tuple(study["participant"].unique())),
                      human)  # fmt: skip
    fig = figures.random_mix_histograms(draws, {"MODEL MIX all": mix})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 7 and all(ax.get_xlabel() for ax in visible)
    _check(fig, tmp_path, "figure8")


def test_figure4_explanation_boxplots(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(g, t, m, "lexical", v) for g, t in (("w4", "human"), ("ministral-8b", "model"))
            for m in ("wc", "V", "JAC") for v in rng.gamma(3, 5, 30)]  # fmt: skip
    rows += [(g, t, m, r, v) for g, t in (("humans", "human"), ("participants", "model"))
             for m in ("D_pair", "D_cent", "D_max") for r in ("e5", "tfidf")
             for v in rng.beta(2, 5, 30)]  # fmt: skip
    values = pd.DataFrame(rows, columns=["group", "participant_type", "metric",
                                         "representation", "value"])  # fmt: skip
    fig = figures.explanation_boxplots(values)
    assert len(fig.axes) == 3 + 3 * 2
    _check(fig, tmp_path, "figure4")


def test_figures_1_and_11_projection(study, livenli_dataset, tmp_path):
    rng = np.random.default_rng(0)
    humans = st.human_table(livenli_dataset)
    points = pd.concat([humans, study[study["participant"] == "ministral-8b"]])
    points = points.rename(columns={"class_simple": "label"})[
        ["sent_id", "participant", "participant_type", "label"]
    ]
    points["x"], points["y"] = rng.normal(size=len(points)), rng.normal(size=len(points))
    one = figures.projection_scatter(points, sent_id="108083c")
    texts = [t.get_text() for t in one.axes[0].texts]
    assert "ministral-8b (x5)" in texts and "w22" in texts
    _check(one, tmp_path, "figure1")
    _check(figures.projection_scatter(points), tmp_path, "figure11")
    with pytest.raises(ValueError, match="no projected"):
        figures.projection_scatter(points, sent_id="nope")


def test_figure1_names_go_where_they_cover_no_marker():
    """A name goes up-right of its point unless a marker (or a name) is there: then the next
    free side, clockwise (Figure 1 once wrote "ministral-8b (x5)" across a triangle)."""
    rows = [("m", "model", 0.0, 0.0), ("m", "model", 0.02, 0.0),  # named at (0, 0): "m (x2)"
            ("h1", "human", 0.1, 0.04),  # sits where "m (x2)" would go, up-right
            ("h2", "human", -1.0, -1.0), ("h3", "human", 1.0, 1.0)]  # fmt: skip
    points = pd.DataFrame(rows, columns=["participant", "participant_type", "x", "y"])
    points["sent_id"], points["label"] = "i1", "true"
    fig = figures.projection_scatter(points, sent_id="i1")
    offsets = {text.get_text(): text.xyann for text in fig.axes[0].texts}
    assert offsets["m (x2)"] == figures.NAME_OFFSETS[1] == (5, -11)  # down-right, the next side
    assert offsets["h1"] == offsets["h2"] == figures.NAME_OFFSETS[0] == (5, 4)
    # h3's point is the axes' top-right corner: up-right is still free of markers
    assert offsets["h3"] == (5, 4)
    figures.plt.close(fig)


def test_figure1_names_at_one_shared_point_never_overlap():
    """Six participants with the same explanation (one point): four sides, then stacked."""
    rows = [(f"p{k}", "model", 0.0, 0.0) for k in range(6)]
    rows += [("h2", "human", -1.0, -1.0), ("h3", "human", 1.0, 1.0)]
    points = pd.DataFrame(rows, columns=["participant", "participant_type", "x", "y"])
    points["sent_id"], points["label"] = "i1", "true"
    fig = figures.projection_scatter(points, sent_id="i1")
    offsets = {text.get_text(): text.xyann for text in fig.axes[0].texts}
    shared = [offsets[f"p{k}"] for k in range(6)]
    assert shared[:4] == list(figures.NAME_OFFSETS)  # the four sides first, clockwise
    assert shared[4:] == [(5, 4 + figures.NAME_LINE), (5, -11 - figures.NAME_LINE)]  # a ring out
    figures.plt.close(fig)
