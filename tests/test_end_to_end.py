"""End to end through Inspect's ``eval()``: offline participants, mockllm replies, sweeps, CLI.

Each eval writes its log into a temporary folder.  The runs are module-scoped so that the
whole file costs four small evals plus one command-line run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from scipy.spatial.distance import jensenshannon

from inspect_partynli.datasets.livenli import UPSTREAM, resolve_livenli
from inspect_partynli.labels import LABELS
from inspect_partynli.task import livenli, sweep_values

VALUE_KEYS = {"label", "multi_label", "parsed", "failure", "temperature", "top_p", "n_labels"}


def run(task, model, log_dir: Path, **kwargs):
    (log,) = inspect_eval(task, model=model, log_dir=str(log_dir), display="none", **kwargs)
    return log


def scores(log) -> list:
    return [sample.scores["livenli_scorer"] for sample in log.samples]


def metric(log, name: str) -> float:
    (score,) = log.results.scores
    return score.metrics[name].value


# --- (a) the LiveNLI annotators, 10 epochs ------------------------------------------------------


@pytest.fixture(scope="module")
def annotators_log(tmp_path_factory):
    return run(
        livenli(epochs=10),
        "partynli/livenli-annotators",
        tmp_path_factory.mktemp("annotators"),
        max_connections=16,
    )


def test_annotators_run_is_complete_and_parsed(annotators_log):
    log = annotators_log
    assert log.status == "success"
    assert len(log.samples) == 122 * 10
    assert log.eval.config.epochs == 10
    assert log.eval.config.epochs_reducer == []
    assert all(score.value["parsed"] == 1 for score in scores(log))
    assert all(set(score.value) == VALUE_KEYS for score in scores(log))
    assert metric(log, "parse_rate") == 1.0


def test_annotators_reproduce_livenli_distributions(annotators_log, livenli, livenli_dataset):
    labels = Counter(
        (s.id, s.scores["livenli_scorer"].value["label"]) for s in annotators_log.samples
    )
    got = pd.DataFrame(
        [[labels[(uid, label)] for label in LABELS] for uid in sorted({u for u, _ in labels})],
        index=sorted({u for u, _ in labels}),
        columns=list(LABELS),
        dtype=float,
    )
    human = livenli_dataset.population("livenli").counts.astype(float)
    ten = livenli_dataset.items.query("n_annotators == 10").index
    assert len(ten) == 110
    pd.testing.assert_frame_equal(got.loc[ten], human.loc[ten], check_names=False)
    # every other item: its first 10 workers
    for uid in human.index.difference(ten):
        first = livenli.loc[livenli["uid"] == uid, "class_simple"].head(10)
        assert got.loc[uid].to_dict() == {label: float((first == label).sum()) for label in LABELS}
    # Agree is 1 except where an item's first 10 workers have another majority than all of them
    same = (got.to_numpy().argmax(axis=1) == human.loc[got.index].to_numpy().argmax(axis=1))
    assert 0.98 < same.mean() < 1.0
    assert metric(annotators_log, "agree") == pytest.approx(same.mean())
    # exactly one: 108847c's first 10 workers tie 5/5 either/false (tie -> either); all 25: false
    assert list(got.index[~same]) == ["108847c"] and same.sum() == 121
    assert got.loc["108847c"].to_dict() == {"either": 5.0, "false": 5.0, "true": 0.0}
    # JS is 0 on the 110 items with 10 workers; the 12 others give a mean of 0.008 over 122
    shares = got.div(got.sum(axis=1), axis=0)
    distances = [jensenshannon(shares.loc[u], human.loc[u] / human.loc[u].sum()) for u in got.index]
    assert metric(annotators_log, "js") == pytest.approx(sum(distances) / 122)
    assert round(metric(annotators_log, "js"), 3) == 0.008


def test_annotators_epoch_is_the_worker_whatever_the_concurrency(annotators_log, livenli):
    workers = {uid: rows.reset_index(drop=True) for uid, rows in livenli.groupby("uid")}
    for sample in annotators_log.samples:
        row = workers[sample.id].iloc[(sample.epoch - 1) % len(workers[sample.id])]
        score = sample.scores["livenli_scorer"]
        assert score.answer == row["class_multi"]
        assert score.explanation == row["explanation"].strip()


def test_sample_metadata_in_the_log(annotators_log):
    """Lean samples: texts, the human distribution, other populations' counts, settings; the
    dataset itself (name, path, sha256) is in the header."""
    from inspect_partynli.datasets import dataset_ref, load_dataset

    sample = next(s for s in annotators_log.samples if s.id == "78105n" and s.epoch == 1)
    dataset = load_dataset(dataset_ref(annotators_log.eval.metadata))
    expected = dataset.sample_metadata("78105n")
    for key, value in expected.items():
        assert sample.metadata[key] == value
    assert "livenli_workers" not in sample.metadata
    assert sample.metadata["human_distribution"] == {"either": 0.4, "false": 0.6, "true": 0.0}
    assert (sample.metadata["sweep"], sample.metadata["temperature"]) == (None, None)
    assert sample.metadata["top_p"] is None
    assert sample.input.startswith("premise: Their supplies scarce")
    assert annotators_log.eval.metadata["data_sha256"] == UPSTREAM.sha256
    assert annotators_log.eval.metadata["dataset"]["sha256"] == UPSTREAM.sha256
    assert annotators_log.eval.task_version == 4
    # the header names every metric alike (no package prefix on the scalar ones)
    names = {m.name for m in annotators_log.results.scores[0].metrics.values()}
    assert names == {"parse_rate", "share_either", "share_false", "share_true", "agree", "js"}


# --- (b) replay of a PartyNLI file --------------------------------------------------------------


@pytest.fixture(scope="module")
def replay_log(tmp_path_factory, fixture_csv):
    model = get_model("partynli/replay", path=str(fixture_csv), participant="ministral-8b")
    # the 50 ChaosNLI items include 140440e, the item missing from the file's trial 4
    return run(livenli(subset="chaosnli", epochs=5), model, tmp_path_factory.mktemp("replay"))


def test_replay_gives_back_the_file(replay_log, fixture_csv):
    assert replay_log.status == "success"
    assert len(replay_log.samples) == 250
    recorded = pd.read_csv(fixture_csv, dtype={"sent_id": str})
    uids = {sample.id for sample in replay_log.samples}
    expected = {
        (r.sent_id, r.trial): r.class_multi for r in recorded.itertuples() if r.sent_id in uids
    }
    got = {(s.id, s.epoch): s.scores["livenli_scorer"] for s in replay_log.samples}
    parsed = {key: score.answer for key, score in got.items() if score.value["parsed"]}
    assert len(parsed) == 249 and parsed == expected
    (missing,) = set(got) - set(expected)  # the one item absent from trial 4
    assert missing == ("140440e", 4)
    # not a parse failure: the source has no annotation there, and parse rate ignores it
    assert got[missing].value["failure"] == "no_annotation"
    assert metric(replay_log, "parse_rate") == pytest.approx(1.0)


# --- (c) mockllm replies, malformed ones included, and the sweeps -------------------------------

#: Reply shapes, chosen per call from the item and the temperature actually received.
REPLIES = (
    '{{"classification": {{"label": "true", "explanation": "t={t}"}}, '
    '"highlights": {{"context": "", "statement": ""}}}}',
    '```json\n{{"classification": {{"label": "either-false", "explanation": "t={t}"}}}}\n```',
    "<think>hmm</think>{{'classification': {{'label': 'Contradiction', 'explanation': 't={t}'}}}}",
    "I cannot decide (t={t}).",  # no JSON
    '{{"classification": {{"label": "maybe", "explanation": "t={t}"}}}}',  # unknown label
    "",  # empty
)
PARSEABLE = 3


def _shape(messages) -> int:
    digest = hashlib.sha256(messages[-1].text.encode()).digest()
    return digest[0] % len(REPLIES)


def mock_reply(messages, tools, tool_choice, config):
    """A deterministic reply of the shape chosen by the item, echoing the settings received."""
    settings = f"{config.temperature}/{config.top_p}"
    content = REPLIES[_shape(messages)].format(t=settings)
    return ModelOutput.from_content(model="mockllm", content=content).model_copy(
        update={"usage": ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)}
    )


def mock_model():
    return get_model("mockllm/model", custom_outputs=mock_reply)


@pytest.fixture(scope="module")
def temperature_log(tmp_path_factory):
    task = livenli(sweep="temperature", tmax=1.5, epochs=10)
    return run(task, mock_model(), tmp_path_factory.mktemp("mock-temperature"), limit=6)


def test_temperature_sweep_per_sample(temperature_log):
    log = temperature_log
    assert log.status == "success" and len(log.samples) == 60
    values = sweep_values(1.5)
    assert values == [0.075, 0.225, 0.375, 0.525, 0.675, 0.825, 0.975, 1.125, 1.275, 1.425]
    for sample in log.samples:
        expected = values[sample.epoch - 1]
        assert sample.metadata["sweep"] == "temperature"
        assert sample.metadata["temperature"] == expected
        assert sample.metadata["top_p"] is None
        score = sample.scores["livenli_scorer"]
        assert score.value["temperature"] == expected and score.value["top_p"] is None
        # what the model received, echoed in its reply
        assert f"{expected}/None" in sample.output.completion
    assert log.eval.metadata["sweep_values"] == values


def test_parse_rate_with_malformed_replies(temperature_log):
    log = temperature_log
    shapes = Counter(_shape(sample.messages[:2]) for sample in log.samples)
    expected_parsed = sum(n for shape, n in shapes.items() if shape < PARSEABLE)
    parsed = [s for s in scores(log) if s.value["parsed"] == 1]
    assert len(parsed) == expected_parsed
    assert metric(log, "parse_rate") == pytest.approx(expected_parsed / 60)
    failures = {s.value["failure"] for s in scores(log) if not s.value["parsed"]}
    assert failures <= {"no_json", "unknown_label", "empty"}
    assert all(s.value["label"] == "error" for s in scores(log) if not s.value["parsed"])
    by_shape = {
        _shape(sample.messages[:2]): sample.scores["livenli_scorer"].value for sample in log.samples
    }
    assert by_shape.get(2, {"label": "false"})["label"] == "false"  # "Contradiction" in <think>


def test_top_p_sweep(tmp_path):
    log = run(livenli(sweep="top_p", epochs=3), mock_model(), tmp_path, limit=2)
    assert log.status == "success" and len(log.samples) == 6
    for sample in log.samples:
        expected = [0.05, 0.15, 0.25][sample.epoch - 1]
        assert (sample.metadata["top_p"], sample.metadata["temperature"]) == (expected, None)
        assert f"None/{expected}" in sample.output.completion


def test_no_sweep_records_the_configured_temperature(tmp_path):
    log = run(livenli(epochs=2), mock_model(), tmp_path, limit=2, temperature=0.3)
    for sample in log.samples:
        assert sample.metadata["sweep"] is None
        assert sample.metadata["temperature"] == 0.3
        assert sample.scores["livenli_scorer"].value["temperature"] == 0.3
        assert "0.3/None" in sample.output.completion


# --- (d) the README's main-job command -----------------------------------------------------------


def test_readme_main_job_command(tmp_path):
    inspect = Path(sys.executable).with_name("inspect")
    command = [
        str(inspect), "eval", "inspect_partynli/livenli",
        "--model", "partynli/livenli-annotators",
        "--log-dir", str(tmp_path), "--limit", "2", "--epochs", "3", "--display", "none",
    ]  # fmt: skip
    env = {**os.environ, "INSPECT_PARTYNLI_DATA": str(resolve_livenli().parent)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = tmp_path.glob("*.eval")
    log = read_eval_log(str(path))
    assert log.status == "success"
    assert log.eval.task == "inspect_partynli/livenli"
    assert log.eval.config.epochs == 3 and log.eval.config.epochs_reducer == []
    assert sorted((s.id, s.epoch) for s in log.samples) == [
        (uid, epoch) for uid in ("10164e", "101940e") for epoch in (1, 2, 3)
    ]
    assert all(s.scores["livenli_scorer"].value["parsed"] == 1 for s in log.samples)
    reply = json.loads(log.samples[0].output.completion)
    assert set(reply) == {"classification", "highlights"}


# --- (e) the task as a library: import it, put it in an eval set -----------------------------


def test_livenli_task_in_an_eval_set(tmp_path):
    """``from inspect_partynli import livenli`` in a user's suite, run with eval_set."""
    from inspect_ai import eval_set

    import inspect_partynli.datasets.livenli  # noqa: F401 (the data module must not shadow the task)
    from inspect_partynli import livenli as task
    from inspect_partynli import livenli_task

    assert task is livenli and livenli_task is livenli
    tasks = [task(epochs=2), task(subset="chaosnli", sweep="top_p", epochs=3)]
    kwargs = {"model": "partynli/livenli-annotators", "log_dir": str(tmp_path), "limit": 2}
    ok, logs = eval_set(tasks, display="none", **kwargs)
    assert ok and [log.status for log in logs] == ["success", "success"]
    sizes = sorted((log.eval.task_args.get("subset"), log.results.total_samples) for log in logs)
    assert sizes == [("all", 4), ("chaosnli", 6)]
    assert {log.eval.task for log in logs} == {"inspect_partynli/livenli"}
    # a second call finds both runs complete and runs nothing again
    again_ok, again = eval_set(tasks, display="none", **kwargs)
    names = {Path(log.location.removeprefix("file://")).name for log in logs}
    assert again_ok and {Path(log.location.removeprefix("file://")).name for log in again} == names
    assert len(list(tmp_path.glob("*.eval"))) == 2
