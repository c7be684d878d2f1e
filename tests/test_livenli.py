"""LiveNLI loading, human references (checked against hand-computed values) and data resolution."""

from __future__ import annotations

import io
import shutil
import urllib.error

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

from inspect_partynli import livenli_data as lv
from inspect_partynli.annotation_schema import ANNOTATION_COLUMNS
from inspect_partynli.labels import LABELS

# --- the table -------------------------------------------------------------------------------


def test_shape_items_workers(livenli):
    assert len(livenli) == 1405
    assert livenli["uid"].nunique() == 122
    assert livenli["worker_id"].nunique() == 48
    table = lv.items(livenli)
    assert table["n_annotators"].value_counts().to_dict() == {
        10: 110, 23: 4, 27: 3, 25: 2, 20: 1, 24: 1, 38: 1,
    }  # fmt: skip


def test_ids_are_sorted_mnli_pair_ids(livenli):
    uids = lv.items(livenli).index.tolist()
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


def test_78105n_livenli_distribution(livenli):
    # 10 workers: either, either-false, false, either, false, false, either, false, false, false
    # -> single labels either 4 (either-false counts as either), false 6, true 0
    counts = lv.human_counts(livenli, "livenli").loc["78105n"]
    assert counts.to_dict() == {"either": 4.0, "false": 6.0, "true": 0.0}
    share = lv.human_distribution(livenli, "livenli").loc["78105n"]
    assert share.to_dict() == pytest.approx({"true": 0.0, "either": 0.4, "false": 0.6})


def test_20274n_chaosnli_counts(livenli):
    counts = lv.human_counts(livenli, "chaosnli")
    assert len(counts) == 50
    assert counts.loc["20274n"].to_dict() == {"either": 75.0, "false": 11.0, "true": 14.0}
    assert (counts.sum(axis=1) == 100).all()


def test_mnli_labels(livenli):
    table = lv.items(livenli)
    sizes = table["mnli_labels"].map(len)
    assert sizes.value_counts().to_dict() == {5: 110, 1: 12}
    single = table[sizes == 1]
    # the 12 bare labels are the gold labels, and none of those items has ChaosNLI
    assert (single["mnli_labels"].map(lambda labels: labels[0]) == single["gold"]).all()
    assert not single["has_chaosnli"].any()
    assert table.loc["20274n", "mnli_labels"] == ("either", "true", "either", "either", "true")
    mnli = lv.human_distribution(livenli, "mnli").loc["20274n"]
    assert mnli.to_dict() == pytest.approx({"either": 0.6, "false": 0.0, "true": 0.4})


def test_prompt_label_is_the_uid_letter_and_gold_the_mnli_majority(livenli):
    table = lv.items(livenli)
    expected = table.index.str[-1].map({"e": "true", "n": "either", "c": "false"})
    assert (table["prompt_label"] == expected).all()
    # MNLI's gold = the label of at least 3 of the 5 annotators (data README: of the 110 items
    # with 5 labels, 13 have a majority other than the letter and 60 have none)
    five = table[table["mnli_labels"].map(len) == 5]
    assert len(five) == 110
    assert five["gold"].isna().sum() == 60
    assert (five["gold"].notna() & (five["gold"] != five["prompt_label"])).sum() == 13
    assert table.loc["20274n", "gold"] == "either"  # either, true, either, either, true


def test_mean_entropy_of_livenli_humans(livenli):
    """The paper's LiveNLI human H: 0.71 over 122 items, 0.64 over the 50 ChaosNLI items."""
    distribution = lv.human_distribution(livenli, "livenli")
    per_item = pd.Series(entropy(distribution.to_numpy(), axis=1), index=distribution.index)
    assert round(per_item.mean(), 2) == 0.71
    assert round(per_item[lv.subset_uids(livenli, "chaosnli")].mean(), 2) == 0.64


def test_subsets(livenli):
    assert len(lv.subset_uids(livenli, "all")) == 122
    chaos = lv.subset_uids(livenli, "chaosnli")
    assert len(chaos) == 50 and "20274n" in chaos
    with pytest.raises(ValueError, match="unknown subset 'mnli'"):
        lv.subset_uids(livenli, "mnli")
    with pytest.raises(ValueError, match="unknown population"):
        lv.human_counts(livenli, "crowd")


def test_distributions_sum_to_one(livenli):
    for population, n_items in (("livenli", 122), ("chaosnli", 50), ("mnli", 122)):
        distribution = lv.human_distribution(livenli, population)
        assert list(distribution.columns) == list(LABELS)
        assert len(distribution) == n_items
        np.testing.assert_allclose(distribution.sum(axis=1), 1.0)


def test_coders_matrix(livenli):
    coders = lv.livenli_coders(livenli)
    assert coders.shape == (48, 122)
    assert coders.index[:3].tolist() == ["w0", "w1", "w2"]
    assert coders.notna().sum().sum() == 1405
    assert coders.loc["w1", "78105n"] == "either"


def test_human_annotation_table(livenli):
    table = lv.human_annotation_table(livenli)
    assert list(table.columns) == list(ANNOTATION_COLUMNS)
    assert len(table) == 1405
    assert set(table["participant_type"]) == {"human"}
    assert set(table["trial"]) == {1}


def test_load_returns_a_copy(livenli):
    first = lv.load_livenli()
    first.loc[0, "premise"] = "changed"
    assert lv.load_livenli().loc[0, "premise"] != "changed"


def test_missing_column_is_a_format_error(tmp_path):
    bad = tmp_path / "livenli.csv"
    bad.write_text("uid,premise\n1e,p\n", encoding="utf-8")
    with pytest.raises(lv.DataFormatError, match="missing column"):
        lv.load_livenli(bad)


# --- resolution order: explicit path, environment variable, cache, download ------------------


@pytest.fixture
def real_csv(livenli):
    return lv.resolve_livenli()


@pytest.fixture
def offline(monkeypatch):
    """No network: every download attempt fails like a machine without DNS."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(lv.urllib.request, "urlopen", refuse)


def test_explicit_path_wins(real_csv, tmp_path, monkeypatch):
    monkeypatch.setenv(lv.DATA_ENV, str(tmp_path / "elsewhere"))
    assert lv.resolve_livenli(real_csv) == real_csv  # the file
    assert lv.resolve_livenli(real_csv.parent) == real_csv  # or its folder
    with pytest.raises(lv.DataNotFoundError, match="given as data="):
        lv.resolve_livenli(tmp_path / "nothing.csv")


def test_environment_variable(real_csv, tmp_path, monkeypatch, offline):
    monkeypatch.setenv(lv.DATA_ENV, str(real_csv.parent))
    assert lv.resolve_livenli() == real_csv
    monkeypatch.setenv(lv.DATA_ENV, str(tmp_path))
    with pytest.raises(lv.DataNotFoundError, match=f"{lv.DATA_ENV}=.* no livenli.csv"):
        lv.resolve_livenli()


def test_cache_then_clear_offline_message(real_csv, tmp_path, monkeypatch, offline):
    monkeypatch.delenv(lv.DATA_ENV, raising=False)
    monkeypatch.setenv(lv.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(lv.DataNotFoundError) as error:
        lv.resolve_livenli()
    message = str(error.value)
    assert "the download failed" in message
    assert lv.DATA_ENV in message and "-T data=PATH" in message and lv.SHA256 in message
    with pytest.raises(lv.DataNotFoundError, match="downloading is switched off"):
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
    monkeypatch.delenv(lv.DATA_ENV, raising=False)
    monkeypatch.setenv(lv.CACHE_ENV, str(tmp_path / "cache"))
    payload = real_csv.read_bytes()
    monkeypatch.setattr(lv.urllib.request, "urlopen", lambda *a, **k: _Response(payload))
    path = lv.resolve_livenli()
    assert path == tmp_path / "cache" / "livenli.csv"
    assert lv.sha256_of(path) == lv.SHA256
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["livenli.csv"]


def test_sha_mismatch_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.delenv(lv.DATA_ENV, raising=False)
    monkeypatch.setenv(lv.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(
        lv.urllib.request, "urlopen", lambda *a, **k: _Response(b"uid,premise\ntampered\n")
    )
    with pytest.raises(lv.DataNotFoundError, match="sha256 .* nothing was saved"):
        lv.resolve_livenli()
    assert list((tmp_path / "cache").iterdir()) == []


def test_checksum_of_the_data_in_use(real_csv):
    assert lv.check_checksum(real_csv) is True


def test_a_file_that_differs_from_upstream_warns_but_is_used(real_csv, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the upstream file: no warning
        assert lv.verified_sha256(real_csv) == lv.SHA256
    edited = tmp_path / "livenli.csv"
    edited.write_bytes(real_csv.read_bytes() + b"\n")
    with pytest.warns(UserWarning, match="differs from the upstream LiveNLI"):
        assert lv.verified_sha256(edited) == lv.sha256_of(edited) != lv.SHA256
