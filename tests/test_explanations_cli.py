"""``partynli explanations``: output formats, the fallback notes, refusing to overwrite."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from inspect_partynli.cli import main
from inspect_partynli.explanations import FALLBACK_ENCODER_NAME

KEYS = {"group", "metric", "representation", "encoder", "n", "median", "q1", "q3", "mean"}


@pytest.fixture
def small_csv(fixture_csv, tmp_path):
    """Ten ministral-8b annotations of two items, as a PartyNLI file."""
    frame = pd.read_csv(fixture_csv)
    frame = frame[frame["sent_id"].isin(["108083c", "28507n"])]
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    return path


def test_json_summary_with_humans_and_no_encoders(fixture_csv, capsys):
    code = main(["explanations", str(fixture_csv), "--encoder", "none",
                 "--style-encoder", "none", "--format", "json"])  # fmt: skip
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(KEYS <= set(row) for row in rows)
    by_key = {(r["group"], r["metric"], r["representation"]): r for r in rows}
    humans, model = by_key[("humans", "wc", "lexical")], by_key[("ministral-8b", "wc", "lexical")]
    assert humans["n"] == 1405 and model["n"] == 609
    assert model["median"] > humans["median"]  # models write longer explanations
    assert model["p_value"] < 1e-6 and humans["p_value"] is None
    assert {r["representation"] for r in rows} == {"lexical", "tfidf"}
    annotators = {r["group"] for r in rows if r.get("kind") == "annotator"}
    assert annotators == {"w1", "w4", "w5", "w7", "w8", "w9"}  # > 100 items each (Figure 4)
    tfidf = by_key[("participants", "D_pair", "tfidf")]
    assert tfidf["median"] < by_key[("humans", "D_pair", "tfidf")]["median"]


def test_fallback_notes_and_encoder_column(small_csv, tmp_path, capsys, monkeypatch):
    args = ["explanations", str(small_csv), "--no-humans", "--format", "csv",
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main(args) == 0
    captured = capsys.readouterr()
    # a second run is served from the cache: the real encoder is never called
    from inspect_partynli.explanations import SentenceTransformerEncoder

    def no_encoding(self, texts):
        raise AssertionError(f"encoder called for {len(texts)} texts")

    monkeypatch.setattr(SentenceTransformerEncoder, "encode", no_encoding)
    assert main(args) == 0
    assert capsys.readouterr().out == captured.out
    notes = [line for line in captured.err.splitlines() if "note:" in line]
    assert len(notes) == 3
    assert "multilingual-e5-large-instruct is not available locally" in notes[0]
    assert FALLBACK_ENCODER_NAME in notes[0]
    assert "style metrics skipped" in notes[1]
    assert notes[2].endswith(f"encoder {FALLBACK_ENCODER_NAME} runs on cpu (--device auto)")
    summary = pd.read_csv(pd.io.common.StringIO(captured.out))
    e5 = summary[summary["representation"] == "e5"]
    assert not e5.empty and set(e5["encoder"]) == {FALLBACK_ENCODER_NAME}
    assert "style" not in set(summary["representation"])


def test_output_file_is_never_overwritten(fixture_csv, tmp_path, capsys):
    out = tmp_path / "summary.json"
    out.write_text("mine")
    args = ["explanations", str(fixture_csv), "--encoder", "none", "--style-encoder", "none",
            "--no-humans", "--format", "json", "-o", str(out)]  # fmt: skip
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "mine"
    assert main([*args, "--force", "--table", "groups"]) == 0
    assert json.loads(out.read_text())[0]["representation"] == "tfidf"


def test_bad_input_is_one_line(fixture_csv, tmp_path, capsys):
    no_encoders = ["--encoder", "none", "--style-encoder", "none"]
    assert main(["explanations", str(tmp_path / "missing.csv"), *no_encoders]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("partynli explanations: error:") and "\n" not in err
    missing_model = str(tmp_path / "no-model")
    assert main(["explanations", str(fixture_csv), "--encoder", missing_model]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == f"partynli explanations: error: encoder folder {missing_model} does not exist "
        "(or is not a folder)"
    )


def test_humans_on_the_participants_items_and_plain_json(small_csv, capsys):
    code = main(["explanations", str(small_csv), "--encoder", "none", "--style-encoder", "none",
                 "--no-tfidf", "--format", "json", "--table", "explanations"])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "humans compared on the participants' items only (120 item(s) left out)" in captured.err
    assert "no (item, label) group" not in captured.err  # no vector metric was asked for
    assert '"encoder": "words/delex-3gram"' in captured.out  # no escaped slashes
    rows = json.loads(captured.out)
    humans = [r for r in rows if r["participant_type"] == "human"]
    assert len(humans) == 20 and {r["sent_id"] for r in humans} == {"108083c", "28507n"}
    assert len(rows) == 30 and {r["encoder"] for r in rows} == {"words/delex-3gram"}


def test_participants_without_explanations_are_an_error(small_csv, capsys):
    frame = pd.read_csv(small_csv).assign(explanation="")
    frame.to_csv(small_csv, index=False)
    assert main(["explanations", str(small_csv), "--encoder", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "partynli explanations: error: the 10 participant annotation(s) of the sources carry "
        "no explanation (logs of a run that did not record them?)"
    )


def test_humans_already_in_the_sources_are_not_added_twice(small_csv, livenli_dataset, capsys):
    from inspect_partynli.analysis import human_table
    from inspect_partynli.annotation_schema import conform

    humans = human_table(livenli_dataset)
    humans = humans[humans["sent_id"].isin(["108083c", "28507n"])]
    models = conform(pd.read_csv(small_csv))  # fills `parsed`, as `partynli export` writes it
    pd.concat([models, humans]).to_csv(small_csv, index=False)
    code = main(["explanations", str(small_csv), "--encoder", "none", "--style-encoder", "none",
                 "--no-tfidf", "--format", "json"])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    said = "the sources hold 20 human annotation(s); the livenli annotators are not added again"
    assert said in captured.err
    rows = {(r["group"], r["metric"]): r for r in json.loads(captured.out)}
    assert rows[("humans", "wc")]["n"] == 20 and rows[("participants", "wc")]["n"] == 10


def test_a_pool_without_groups_of_two_is_named(small_csv, capsys):
    frame = pd.read_csv(small_csv)
    frame = frame[frame["trial"] == 1]  # one explanation per item: no group of 2
    frame.to_csv(small_csv, index=False)
    code = main(["explanations", str(small_csv), "--encoder", "none", "--style-encoder", "none",
                 "--format", "csv"])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert (
        "partynli explanations: note: no (item, label) group of participants has 2 or more "
        "explanations: no vector metrics for it (more trials or participants give some)"
    ) in captured.err
    summary = pd.read_csv(pd.io.common.StringIO(captured.out))
    tfidf = summary[summary["representation"] == "tfidf"]
    # humans: 108083c either 5 / true 5, 28507n either 2 / true 8: four (item, label) groups
    assert set(tfidf["group"]) == {"humans"} and set(tfidf["n"]) == {4}
