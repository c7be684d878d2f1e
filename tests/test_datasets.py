"""The dataset layer: LiveNLI and VariErr-NLI as HLVDatasets, checked against hand-computed and
published numbers (data README, paper)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy

from inspect_partynli.datasets import (
    BUILTIN,
    DataNotFoundError,
    DatasetRef,
    dataset_ref,
    load_dataset,
)
from inspect_partynli.labels import LABELS


@pytest.fixture(scope="module")
def varierr():
    return load_dataset("varierr")


@pytest.fixture(scope="module")
def live():
    return load_dataset("livenli")


def _entropy(population):
    return entropy(population.distribution().to_numpy(), axis=1)


def test_builtin_names():
    assert BUILTIN == ("livenli", "varierr")
    with pytest.raises(DataNotFoundError, match="unknown dataset 'snli'"):
        load_dataset("snli")


def test_livenli_dataset_shape(live):
    assert live.labels == LABELS == ("either", "false", "true")
    assert live.primary == "livenli"
    assert list(live.populations) == ["livenli", "chaosnli", "mnli"]
    assert len(live.items) == 122 and len(live.annotations) == 1405
    assert {k: len(v) for k, v in live.subsets.items()} == {"all": 122, "chaosnli": 50}
    assert live.text_fields == ("premise", "hypothesis")
    assert live.ref.name == "livenli" and live.ref.kind == "livenli"
    assert live.ref.sha256 == "34d5e6d2cecfe3123c9972a681b4725a0f9cdae95de727a5d4392cc407f9c764"
    counts = live.population("livenli").counts.loc["78105n"].to_dict()
    assert counts == {"either": 4, "false": 6, "true": 0}
    assert live.population("chaosnli").counts.loc["20274n"].to_dict() == {
        "either": 75, "false": 11, "true": 14,
    }  # fmt: skip
    # the paper's LiveNLI human entropy: 0.71 over 122 items, 0.64 over the ChaosNLI 50
    h = _entropy(live.population())
    assert round(h.mean(), 2) == 0.71
    chaos = live.population().counts.index.isin(live.subset("chaosnli"))
    assert round(h[chaos].mean(), 2) == 0.64


def test_livenli_annotations_and_collapse(live):
    rows = live.annotators_by_item["78105n"]
    assert rows["annotator"].tolist()[:4] == ["w1", "w2", "w4", "w5"]
    assert rows["multi_label"].tolist()[:3] == ["either", "either-false", "false"]
    assert rows["labels"].iloc[1] == ("either", "false")
    assert live.collapse({"true"}) == "true" and live.collapse({"true", "false"}) == "either"
    assert live.multi_label == "either"
    assert "entailment" in live.synonyms["true"]


def test_lean_sample_metadata(live):
    meta = live.sample_metadata("20274n")
    assert set(meta) == {
        "premise", "hypothesis", "gold", "prompt_label", "human_distribution",
        "chaosnli_counts", "mnli_counts",
    }  # fmt: skip
    assert meta["human_distribution"] == pytest.approx({"either": 0.8, "false": 0.2, "true": 0.0})
    assert meta["chaosnli_counts"] == {"either": 75, "false": 11, "true": 14}
    assert meta["mnli_counts"] == {"either": 3, "false": 0, "true": 2}
    assert meta["gold"] == "either" and meta["prompt_label"] == "either"
    assert live.sample_metadata("10164e")["chaosnli_counts"] is None


def test_varierr_populations(varierr):
    assert varierr.labels == LABELS
    assert list(varierr.populations) == ["varierr", "varierr_validated", "chaosnli"]
    assert varierr.primary == "varierr"
    # data README: mean entropy 0.418 (std 0.338, ddof=1) over the 500 items
    h = _entropy(varierr.population("varierr"))
    assert len(h) == 500
    assert round(h.mean(), 3) == 0.418 and round(h.std(ddof=1), 3) == 0.338
    assert (varierr.population("chaosnli").counts.sum(axis=1) == 100).all()
    validated = varierr.population("varierr_validated").counts
    assert len(validated) == 498  # two items lose every label to error_labels
    assert round(_entropy(varierr.population("varierr_validated")).mean(), 4) == 0.289


def test_varierr_item_23751e(varierr):
    # annotators 1 and 3 said idk; 2 wrote an entailment reason, 0 a contradiction one
    rows = varierr.annotators_by_item["23751e"]
    assert rows["annotator"].tolist() == ["a0", "a2"]
    assert rows["label"].tolist() == ["false", "true"]
    assert rows["explanation"].iloc[1] == (
        "Statement just changed the order of two hypothesis in the context."
    )
    meta = varierr.sample_metadata("23751e")
    assert meta["human_distribution"] == {"either": 0.0, "false": 0.5, "true": 0.5}
    assert meta["chaosnli_counts"] == {"either": 13, "false": 2, "true": 85}
    assert meta["premise"].startswith("Part of the reason for the difference")


def test_varierr_subsets_and_multi_labels(varierr):
    assert {k: len(v) for k, v in varierr.subsets.items()} == {
        "all": 500, "ambiguous": 236, "errors": 119,
    }  # fmt: skip
    several = varierr.annotations[varierr.annotations["labels"].map(len) > 1]
    assert len(several) == 77 and set(several["label"]) == {"either"}
    assert varierr.annotations["reasons"].map(len).sum() == 1933
    counts = varierr.annotations.groupby("item_id").size().value_counts().to_dict()
    assert counts == {4: 395, 3: 70, 2: 31, 1: 4}  # 54327n keeps its idk annotator
    with pytest.raises(ValueError, match="unknown subset 'chaosnli'"):
        varierr.subset("chaosnli")


def test_dataset_ref_round_trip(varierr):
    ref = varierr.ref
    assert ref.sha256 == "c8f9a634a69d72a6c390047ac242562b80a8caac08db19714db3f98bd40e13ea"
    assert load_dataset(ref.as_dict()) is varierr
    assert dataset_ref({"dataset": ref.as_dict()}) == ref
    old = dataset_ref({"data_path": "/x/livenli.csv", "data_sha256": "abc"})
    assert old == DatasetRef("livenli", "/x/livenli.csv", "abc", "livenli")
    assert dataset_ref({}) is None


def test_same_object_when_loaded_twice(varierr):
    assert load_dataset("varierr") is varierr
    np.testing.assert_allclose(varierr.population().distribution().sum(axis=1), 1.0)
