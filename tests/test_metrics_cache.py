"""Explanation metric results are cached by content (inputs, encoders, parameters, code).

A second run on the same inputs reads the three tables back, equal to the last bit and dtype,
without TF-IDF or the Mann-Whitney test; any change of an input or a parameter computes
afresh; a damaged entry is recomputed.  The embedding cache records the device each vector
was computed on, so that a warm run names the same device as the cold one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import sklearn.feature_extraction.text as sklearn_text

from inspect_partynli.explanations import CachedEncoder, explanation_metrics, metrics_cache
from inspect_partynli.explanations.encoders import EmbeddingCache, device_of, text_key
from test_explanations_metrics import ITEMS, HashEncoder, tiny_encoder, tiny_table

KWARGS = dict(style_encoder="none", progress=False, notify=None)


def entries(folder) -> int:
    """Complete cache entries (their metadata file is written last)."""
    return len(list((folder / metrics_cache.METRICS_CACHE).glob("explanations-*.json")))


def run(folder, table=None, dataset=ITEMS, encoder=None, **options) -> tuple:
    encoder = tiny_encoder() if encoder is None else encoder
    result = explanation_metrics(
        tiny_table() if table is None else table, dataset, encoder=encoder,
        cache_dir=folder, **{**KWARGS, **options},
    )  # fmt: skip
    return result, encoder


def assert_same(a, b) -> None:
    for left, right in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(left, right, check_exact=True)


def _refuse(*_, **__):
    raise AssertionError("computed again although the metrics are cached")


def test_a_second_run_reads_the_tables_back_without_computing(tmp_path, monkeypatch):
    first, _ = run(tmp_path)
    assert entries(tmp_path) == 1
    assert_same(first, run(None, use_cache=False)[0])  # as computed without any cache
    monkeypatch.setattr(sklearn_text, "TfidfVectorizer", _refuse)
    monkeypatch.setattr(scipy.stats, "mannwhitneyu", _refuse)
    again, encoder = run(tmp_path)
    assert encoder.calls == 0  # not even the embeddings are read
    assert_same(first, again)
    assert first.summary["p_value"].notna().any()  # the test's numbers came back too


def changed_text(table: pd.DataFrame) -> pd.DataFrame:
    table.loc[0, "explanation"] = "h one, changed"
    return table


def changed_label(table: pd.DataFrame) -> pd.DataFrame:
    table.loc[1, "class_simple"] = "false"
    return table


def changed_trial_dtype(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(trial=table["trial"].astype(float))  # 1.0 is written, not 1


class OtherItems:
    name = "tiny"
    items = ITEMS.items.assign(hypothesis=["A dog.", "Wet."])
    text_fields = ITEMS.text_fields


@pytest.mark.parametrize(
    "change",
    [
        {"table": changed_text(tiny_table())},
        {"table": changed_label(tiny_table())},
        {"table": changed_trial_dtype(tiny_table())},
        {"table": tiny_table().iloc[::-1].reset_index(drop=True)},  # row order is output order
        {"dataset": OtherItems},
        {"n": 2},
        {"tfidf": False},
        {"jaccard_by_label": True},
        {"per_participant": False},
        {"min_annotator_items": 0},
        {"pool_by": "trial"},
        {"encoder": "none"},
    ],
    ids=["explanation", "label", "trial-dtype", "row-order", "item-text", "n", "tfidf",
         "jaccard-by-label", "per-participant", "annotator-threshold", "pool-by", "encoder"],
)  # fmt: skip
def test_any_change_of_input_or_parameter_computes_afresh(tmp_path, change):
    change = {"encoder": HashEncoder(), **change}  # embeds any text
    run(tmp_path, encoder=HashEncoder())
    changed, _ = run(tmp_path, **change)
    assert entries(tmp_path) == 2
    assert_same(changed, run(None, use_cache=False, **change)[0])


def test_another_encoder_identity_computes_afresh(tmp_path):
    run(tmp_path)
    snapshot = tiny_encoder()
    snapshot.cache_key = f"{snapshot.name}@another-revision"  # same name, new model revision
    _, encoder = run(tmp_path, encoder=snapshot)
    assert encoder.calls == 1 and entries(tmp_path) == 2


def test_a_change_of_the_metric_code_computes_afresh(tmp_path, monkeypatch):
    run(tmp_path)
    monkeypatch.setattr(metrics_cache, "_code_digest", lambda: "edited analysis.py")
    _, encoder = run(tmp_path)
    assert entries(tmp_path) == 2
    assert encoder.calls == 0  # the embeddings are still cached: only the metrics recompute


def test_a_damaged_entry_is_recomputed_and_replaced(tmp_path):
    first, _ = run(tmp_path)
    folder = tmp_path / metrics_cache.METRICS_CACHE
    (damaged,) = folder.glob("explanations-*.summary.parquet")
    damaged.write_bytes(b"not parquet")
    again, _ = run(tmp_path)
    assert_same(first, again)
    assert pd.read_parquet(damaged).equals(first.summary)


def test_no_cache_is_written_without_use_cache(tmp_path):
    run(tmp_path, use_cache=False)
    assert not (tmp_path / metrics_cache.METRICS_CACHE).exists()


class DeviceEncoder:
    """An encoder that says which device it computed on (like a loaded model)."""

    name = "device-encoder"

    def __init__(self) -> None:
        self.resolved_device: str | None = None

    def encode(self, texts):
        self.resolved_device = "cuda"
        return np.ones((len(texts), 3), dtype=np.float32)


def test_the_device_of_cached_vectors_is_recorded_and_named_again(tmp_path):
    cold = CachedEncoder(DeviceEncoder(), tmp_path, progress=False)
    cold.encode(["a", "b"])
    assert device_of(cold) == "cuda"
    keys = [text_key(text) for text in "abc"]
    assert EmbeddingCache(tmp_path, "device-encoder").devices(keys) == {"cuda"}
    warm = CachedEncoder(DeviceEncoder(), tmp_path, progress=False)  # its model never loads
    warm.encode(["b"])
    assert warm.encoder.resolved_device is None and device_of(warm) == "cuda"
    unrecorded = CachedEncoder(DeviceEncoder(), tmp_path / "old", progress=False)
    unrecorded.cache.put(keys[:1], np.ones((1, 3)))  # a cache written before devices were kept
    unrecorded.encode(["a"])
    assert device_of(unrecorded) == "cached"


def test_a_cached_result_restores_the_devices_of_its_embeddings(tmp_path):
    kwargs = dict(cache_dir=tmp_path, **KWARGS)
    cold = CachedEncoder(DeviceEncoder(), tmp_path, progress=False)
    explanation_metrics(tiny_table(), ITEMS, encoder=cold, **kwargs)
    warm = CachedEncoder(DeviceEncoder(), tmp_path, progress=False)
    explanation_metrics(tiny_table(), ITEMS, encoder=warm, **kwargs)
    assert warm.encoder.resolved_device is None  # nothing encoded, nothing read
    assert device_of(warm) == device_of(cold) == "cuda"
