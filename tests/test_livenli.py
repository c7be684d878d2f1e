"""LiveNLI loading, human references (checked against hand-computed values) and data resolution.

Through the dataset layer: :func:`load_dataset` (``livenli``) for items, populations and
subsets, :mod:`inspect_partynli.datasets.livenli` for the raw per-worker table and the file,
:mod:`inspect_partynli.datasets.locate` for the resolution order and the download."""

from __future__ import annotations

import io
import shutil
import urllib.error

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

from inspect_partynli.analysis import coder_matrix, human_table
from inspect_partynli.annotation_schema import ANNOTATION_COLUMNS
from inspect_partynli.datasets import DataFormatError, DataNotFoundError, load_dataset, locate
from inspect_partynli.datasets import livenli as lv
from inspect_partynli.labels import LABELS

SHA256 = lv.UPSTREAM.sha256


def counts(dataset, population: str) -> pd.DataFrame:
    return dataset.population(population).counts


def shares(dataset, population: str) -> pd.DataFrame:
    return dataset.population(population).distribution()


# --- the table -------------------------------------------------------------------------------


def test_shape_items_workers(livenli, livenli_dataset):
    assert len(livenli) == 1405
    assert livenli["uid"].nunique() == 122
    assert livenli["worker_id"].nunique() == 48
    table = livenli_dataset.items
    assert table["n_annotators"].value_counts().to_dict() == {
        10: 110, 23: 4, 27: 3, 25: 2, 20: 1, 24: 1, 38: 1,
    }  # fmt: skip


def test_ids_are_sorted_mnli_pair_ids(livenli_dataset):
    uids = livenli_dataset.items.index.tolist()
    assert uids[:3] == ["10164e", "101940e", "101940n"]
    assert uids[-1] == "98721e"
    assert uids == sorted(uids)
    assert all(uid[:-1].isdigit() and uid[-1] in "enc" for uid in uids)


def test_rows_sorted_by_worker_number_within_item(livenli):
    workers = livenli.loc[livenli["uid"] == "78105n", "worker_id"].tolist()
    assert workers == ["w1", "w2", "w4", "w5", "w6", "w7", "w8", "w9", "w13", "w14"]
    first = livenli.loc[livenli["uid"] == "10164e", "worker_id"].tolist()
    assert first[:3] == ["w0", "w1", "w2"]


def test_parsed_labels_and_spans(livenli):
    row = livenli.iloc[0]
    assert (row["uid"], row["worker_id"]) == ("10164e", "w0")
    assert row["labels"] == frozenset({"either", "true"})
    assert row["class_multi"] == "either-true"
    assert row["class_simple"] == "either"
    assert row["prompt_label"] == "true"  # the uid's letter
    # spans are (start, end) with an exclusive end
    assert row["highlight_p"] == [(82, 90)]
    assert row["premise"][82:90] == "need not"
    assert [row["hypothesis"][a:b] for a, b in row["highlight_h"]] == ["should not"]


def test_78105n_livenli_distribution(livenli_dataset):
    # 10 workers: either, either-false, false, either, false, false, either, false, false, false
    # -> single labels either 4 (either-false counts as either), false 6, true 0
    found = counts(livenli_dataset, "livenli").loc["78105n"]
    assert found.to_dict() == {"either": 4, "false": 6, "true": 0}
    share = shares(livenli_dataset, "livenli").loc["78105n"]
    assert share.to_dict() == pytest.approx({"true": 0.0, "either": 0.4, "false": 0.6})


def test_20274n_chaosnli_counts(livenli_dataset):
    chaos = counts(livenli_dataset, "chaosnli")
    assert len(chaos) == 50
    assert chaos.loc["20274n"].to_dict() == {"either": 75, "false": 11, "true": 14}
    assert (chaos.sum(axis=1) == 100).all()


def test_mnli_labels(livenli_dataset):
    table = livenli_dataset.items
    sizes = table["mnli_labels"].map(len)
    assert sizes.value_counts().to_dict() == {5: 110, 1: 12}
    single = table[sizes == 1]
    # the 12 bare labels are the gold labels, and none of those items has ChaosNLI
    assert (single["mnli_labels"].map(lambda labels: labels[0]) == single["gold"]).all()
    assert not single["has_chaosnli"].any()
    assert table.loc["20274n", "mnli_labels"] == ("either", "true", "either", "either", "true")
    mnli = shares(livenli_dataset, "mnli").loc["20274n"]
    assert mnli.to_dict() == pytest.approx({"either": 0.6, "false": 0.0, "true": 0.4})


def test_prompt_label_is_the_uid_letter_and_gold_the_mnli_majority(livenli_dataset):
    table = livenli_dataset.items
    expected = table.index.str[-1].map({"e": "true", "n": "either", "c": "false"})
    assert (table["prompt_label"] == expected).all()
    # MNLI's gold = the label of at least 3 of the 5 annotators (data README: of the 110 items
    # with 5 labels, 13 have a majority other than the letter and 60 have none)
    five = table[table["mnli_labels"].map(len) == 5]
    assert len(five) == 110
    assert five["gold"].isna().sum() == 60
    assert (five["gold"].notna() & (five["gold"] != five["prompt_label"])).sum() == 13
    assert table.loc["20274n", "gold"] == "either"  # either, true, either, either, true


def test_mean_entropy_of_livenli_humans(livenli_dataset):
    """The paper's LiveNLI human H: 0.71 over 122 items, 0.64 over the 50 ChaosNLI items."""
    distribution = shares(livenli_dataset, "livenli")
    per_item = pd.Series(entropy(distribution.to_numpy(), axis=1), index=distribution.index)
    assert round(per_item.mean(), 2) == 0.71
    assert round(per_item[list(livenli_dataset.subset("chaosnli"))].mean(), 2) == 0.64


def test_subsets(livenli_dataset):
    assert len(livenli_dataset.subset("all")) == 122
    chaos = livenli_dataset.subset("chaosnli")
    assert len(chaos) == 50 and "20274n" in chaos
    with pytest.raises(ValueError, match="unknown subset 'mnli'"):
        livenli_dataset.subset("mnli")
    with pytest.raises(ValueError, match="unknown population"):
        livenli_dataset.population("crowd")


def test_distributions_sum_to_one(livenli_dataset):
    for population, n_items in (("livenli", 122), ("chaosnli", 50), ("mnli", 122)):
        distribution = shares(livenli_dataset, population)
        assert list(distribution.columns) == list(LABELS)
        assert len(distribution) == n_items
        np.testing.assert_allclose(distribution.sum(axis=1), 1.0)


def test_coders_matrix(livenli_dataset):
    coders = coder_matrix(livenli_dataset.annotations)
    assert coders.shape == (48, 122)
    assert set(coders.index[:3]) == {"w0", "w1", "w10"}  # annotator ids, sorted as text
    assert coders.notna().sum().sum() == 1405
    assert coders.loc["w1", "78105n"] == "either"


def test_human_annotation_table(livenli_dataset):
    table = human_table(livenli_dataset)
    assert list(table.columns) == list(ANNOTATION_COLUMNS)
    assert len(table) == 1405
    assert set(table["participant_type"]) == {"human"}
    assert set(table["trial"]) == {1}


def test_load_returns_a_copy(livenli):
    first = lv.load_livenli_frame()
    first.loc[0, "premise"] = "changed"
    assert lv.load_livenli_frame().loc[0, "premise"] != "changed"


def test_missing_column_is_a_format_error(tmp_path):
    bad = tmp_path / "livenli.csv"
    bad.write_text("uid,premise\n1e,p\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="missing column"):
        load_dataset("livenli", data=bad)


# --- resolution order: explicit path, environment variable, cache, download ------------------


@pytest.fixture
def real_csv(livenli):
    return lv.resolve_livenli()


@pytest.fixture
def offline(monkeypatch):
    """No network: every download attempt fails like a machine without DNS."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(locate.urllib.request, "urlopen", refuse)


def test_explicit_path_wins(real_csv, tmp_path, monkeypatch):
    monkeypatch.setenv(locate.DATA_ENV, str(tmp_path / "elsewhere"))
    assert lv.resolve_livenli(real_csv) == real_csv  # the file
    assert lv.resolve_livenli(real_csv.parent) == real_csv  # or its folder
    with pytest.raises(DataNotFoundError, match="given as data="):
        lv.resolve_livenli(tmp_path / "nothing.csv")


def test_environment_variable(real_csv, tmp_path, monkeypatch, offline):
    monkeypatch.setenv(locate.DATA_ENV, str(real_csv.parent))
    assert lv.resolve_livenli() == real_csv
    monkeypatch.setenv(locate.DATA_ENV, str(tmp_path))
    with pytest.raises(DataNotFoundError, match=f"{locate.DATA_ENV}=.* no livenli.csv"):
        lv.resolve_livenli()


def test_cache_then_clear_offline_message(real_csv, tmp_path, monkeypatch, offline):
    monkeypatch.delenv(locate.DATA_ENV, raising=False)
    monkeypatch.setenv(locate.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError) as error:
        lv.resolve_livenli()
    message = str(error.value)
    assert "the download failed" in message
    assert locate.DATA_ENV in message and "-T data=PATH" in message and SHA256 in message
    with pytest.raises(DataNotFoundError, match="downloading is switched off"):
        lv.resolve_livenli(download=False)
    assert not any((tmp_path / "cache").glob("*"))  # a failed download leaves nothing
    (tmp_path / "cache").mkdir(exist_ok=True)
    shutil.copy(real_csv, tmp_path / "cache" / "livenli.csv")
    assert lv.resolve_livenli() == tmp_path / "cache" / "livenli.csv"


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_verified_into_cache(real_csv, tmp_path, monkeypatch):
    monkeypatch.delenv(locate.DATA_ENV, raising=False)
    monkeypatch.setenv(locate.CACHE_ENV, str(tmp_path / "cache"))
    payload = real_csv.read_bytes()
    monkeypatch.setattr(locate.urllib.request, "urlopen", lambda *a, **k: _Response(payload))
    path = lv.resolve_livenli()
    assert path == tmp_path / "cache" / "livenli.csv"
    assert locate.sha256_of(path) == SHA256
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["livenli.csv"]


def test_sha_mismatch_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.delenv(locate.DATA_ENV, raising=False)
    monkeypatch.setenv(locate.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(
        locate.urllib.request, "urlopen", lambda *a, **k: _Response(b"uid,premise\ntampered\n")
    )
    with pytest.raises(DataNotFoundError, match="sha256 .* nothing was saved"):
        lv.resolve_livenli()
    assert list((tmp_path / "cache").iterdir()) == []


def test_checksum_of_the_data_in_use(real_csv, livenli_dataset):
    assert locate.sha256_of(real_csv) == SHA256 == livenli_dataset.ref.sha256


def test_a_file_that_differs_from_upstream_warns_but_is_used(real_csv, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the upstream file: no warning
        assert locate.verified_sha256(real_csv, lv.UPSTREAM) == SHA256
    edited = tmp_path / "livenli.csv"
    edited.write_bytes(real_csv.read_bytes() + b"\n")
    with pytest.warns(UserWarning, match="differs from the upstream LiveNLI"):
        assert locate.verified_sha256(edited, lv.UPSTREAM) == locate.sha256_of(edited) != SHA256
