"""``partynli run`` at scale: configurations side by side (``--max-tasks``, lanes per provider),
shards, batch mode, the cost plan, and a faulty OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import yaml

from inspect_partynli.cli import main
from inspect_partynli.study import load_study, plan, shard_of, study_annotations
from inspect_partynli.study.cost import CHARS_PER_TOKEN, cost_plan, item_tokens
from inspect_partynli.study.running import RunResult
from inspect_partynli.study.workers import lane, run_parallel, slots
from inspect_partynli.testing import TRANSIENT_FAULTS, AnnotatorsParticipant, Faults, WireServer


def write_study(path, models, **top):
    study = {"name": "wire", "task": {"subset": "chaosnli"}, "epochs": 1, "models": models, **top}
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def wire_models(server, names=("wa", "wb")):
    return [
        {"id": f"openai-api/{name}/scripted", "name": name, "base_url": server.base_url,
         "max_connections": 8}  # fmt: skip
        for name in names
    ]


@pytest.fixture
def server(livenli, monkeypatch):
    for name in ("WA", "WB", "WC"):
        monkeypatch.setenv(f"{name}_API_KEY", "test-key")
    with WireServer(AnnotatorsParticipant(livenli), slow_seconds=2.5) as s:
        yield s


# ------------------------------------------------------------------------------ scheduling


def fake_run(model_id, base_url=None, requests=10, slug=None):
    model = SimpleNamespace(id=model_id, provider=model_id.split("/")[0], base_url=base_url,
                            args={})  # fmt: skip
    config = SimpleNamespace(model=model, slug=slug or model_id)
    return SimpleNamespace(config=config, requests=requests, done=False)


def test_by_default_different_providers_run_in_parallel_and_one_provider_takes_turns():
    runs = [fake_run("openai/gpt-4.1"), fake_run("openai/gpt-4.1-mini"),
            fake_run("anthropic/claude"), fake_run("ollama/qwen3:8b"),
            fake_run("ollama/qwen3:8b", base_url="http://gpu2:11434/v1"),
            fake_run("openai-api/wa/x"), fake_run("openai-api/wb/x")]  # fmt: skip
    assert lane(runs[0]) == lane(runs[1]) == ("openai", "")
    assert lane(runs[3]) != lane(runs[4])  # two Ollama servers are two lanes
    assert lane(runs[5]) != lane(runs[6])  # openai-api services are providers of their own
    assert slots(runs, None) == 6
    assert slots(runs, 3) == 3 and slots(runs, 50) == 7 and slots([], None) == 0


def finished(index, run, shown):
    """A stand-in for one configuration's eval_set, run in the forked worker."""
    return RunResult(run, True, (f"log-{index}.eval",))


def test_workers_are_forked_while_no_other_thread_runs(monkeypatch, capsys):
    """Forking while another thread holds a lock can deadlock the child: the live board
    draws from the main loop, so every fork happens with only the threads there before."""
    import multiprocessing.process
    import sys
    import threading

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # the live table
    before = set(threading.enumerate())
    extra_at_fork = []
    start = multiprocessing.process.BaseProcess.start

    def checked_start(process):
        extra_at_fork.append(set(threading.enumerate()) - before)
        start(process)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", checked_start)
    runs = [fake_run(f"openai-api/w{k}/x", requests=1, slug=f"run-{k}") for k in range(4)]
    results = run_parallel(runs, finished, 2, lanes=False)
    assert [r.logs for r in results] == [(f"log-{k}.eval",) for k in (1, 2, 3, 4)]
    assert extra_at_fork == [set()] * 4
    assert "[4/4] run-3 (openai-api/w3/x): 0/1 samples, 0 s, complete" in capsys.readouterr().err


def test_shards_are_deterministic_balanced_and_cover_the_study_once():
    runs = [(f"run-{i}", requests) for i, requests in enumerate([500, 250, 250, 100, 610, 90])]
    shards = [shard_of(runs, i, 3) for i in (1, 2, 3)]
    assert set().union(*shards) == {name for name, _ in runs}
    assert sum(len(s) for s in shards) == len(runs)  # disjoint
    assert shards == [shard_of(list(reversed(runs)), i, 3) for i in (1, 2, 3)]
    loads = sorted(sum(r for n, r in runs if n in s) for s in shards)
    assert loads == [590, 600, 610]  # 250+250+90 | 500+100 | 610 (greedy, largest first)


def test_shard_option_plans_only_its_part(capsys):
    study = load_study("offline")
    names = [{run.config.slug for run in plan(study, shard=(i, 2))} for i in (1, 2)]
    assert names[0].isdisjoint(names[1])
    assert names[0] | names[1] == {run.config.slug for run in plan(study)}
    assert main(["run", "offline", "--dry-run", "--shard", "2/2"]) == 0
    assert "Shard 2/2: 2 of the study's 4 runs" in capsys.readouterr().out
    for bad in ("3/2", "0/2", "x", "1"):
        assert main(["run", "offline", "--dry-run", "--shard", bad]) == 2
        assert "--shard must be i/n" in capsys.readouterr().err


# ------------------------------------------------------------------------------ batch


def capture_eval_set(monkeypatch):
    import inspect_ai

    calls = []

    def eval_set(**kwargs):
        calls.append(kwargs)
        return True, [SimpleNamespace(status="success", location="x.eval")]

    monkeypatch.setattr(inspect_ai, "eval_set", eval_set)
    return calls


def test_batch_mode_reaches_eval_set(monkeypatch, tmp_path, capsys):
    calls = capture_eval_set(monkeypatch)
    assert main(["run", "offline", "--yes", "--log-dir", str(tmp_path / "a"), "--batch"]) == 0
    assert [c["batch"] for c in calls] == [True] * 4
    calls.clear()
    assert main(["run", "offline", "--yes", "--log-dir", str(tmp_path / "b"), "--batch", "50"]) == 0
    assert [c["batch"] for c in calls] == [50] * 4
    calls.clear()
    assert main(["run", "offline", "--yes", "--log-dir", str(tmp_path / "c")]) == 0
    assert all("batch" not in c for c in calls)
    assert all(c["retry_on_error"] == 3 for c in calls)


def test_running_metrics_are_computed_only_when_shown(monkeypatch, tmp_path):
    calls = capture_eval_set(monkeypatch)
    for display in ("none", "plain"):
        log_dir = str(tmp_path / display)
        assert main(["run", "offline", "--yes", "--log-dir", log_dir, "--display", display]) == 0
    assert [c.get("score_display") for c in calls] == [False] * 4 + [None] * 4
    assert all(c["log_realtime"] is False for c in calls)


def test_batch_study_key(monkeypatch, tmp_path):
    calls = capture_eval_set(monkeypatch)
    study = write_study(tmp_path / "s.yaml", [{"id": "partynli/livenli-annotators"}], batch=100)
    assert load_study(study).batch == 100
    assert main(["run", str(study), "--yes", "--log-dir", str(tmp_path / "logs")]) == 0
    assert calls[0]["batch"] == 100


# ------------------------------------------------------------------------------ cost plan


def test_dry_run_prints_an_estimated_cost_plan(tmp_path, capsys, livenli):
    models = [
        {"id": "openai/gpt-4.1", "name": "gpt", "prices": {"input": 2.0, "output": 8.0}},
        {"id": "ollama/qwen3:8b", "name": "qwen"},
    ]
    study_file = write_study(tmp_path / "s.yaml", models, epochs=5)
    study = load_study(study_file)
    tokens = item_tokens(study)
    assert len(tokens.input) == 50
    # by hand for one item: the two prompts' characters / 4
    from inspect_partynli.prompts import SYSTEM_PROMPT, user_prompt

    premise, hypothesis = livenli.groupby("uid")[["premise", "hypothesis"]].first().loc["111167c"]
    text = SYSTEM_PROMPT + user_prompt(premise, hypothesis)
    assert tokens.input["111167c"] == len(text) / CHARS_PER_TOKEN
    rows = cost_plan(study, plan(study, tmp_path / "logs"), tokens)
    gpt, qwen = rows
    assert gpt.requests == 250 and qwen.requests == 250
    assert gpt.input_tokens == pytest.approx(5 * sum(tokens.input.values()))
    assert gpt.output_tokens == pytest.approx(5 * sum(tokens.output.values()))
    assert gpt.cost == pytest.approx((gpt.input_tokens * 2 + gpt.output_tokens * 8) / 1e6)
    assert qwen.cost is None
    import os

    os.environ.setdefault("OPENAI_API_KEY", "sk-test")
    code = main(["run", str(study_file), "--dry-run", "--log-dir", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert "input tokens (est.)" in out and "cost USD (est.)" in out and "estimates" in out
    assert f"~{gpt.cost:,.2f}" in out
    assert code in (0, 2)  # 2 only when no Ollama server answers: the plan is still shown


# ------------------------------------------------------------------------------ on the wire


def run_study_cli(study_file, log_dir, *extra):
    return main(["run", str(study_file), "--yes", "--log-dir", str(log_dir), "--timeout", "1",
                 "--max-retries", "6", "--retry-on-error", "6", *extra])  # fmt: skip


def table_of(study_file, log_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no skipped, errored or missing annotation
        table, read, missing = study_annotations(load_study(study_file), log_dir)
    assert not missing
    return table.drop(columns=["source"]).reset_index(drop=True)


def test_parallel_study_with_faults_equals_a_fault_free_run(server, tmp_path, capsys):
    study = write_study(tmp_path / "s.yaml", wire_models(server), max_tasks=2)
    assert run_study_cli(study, tmp_path / "clean") == 0
    clean_requests = len(server.bodies())
    assert clean_requests == 2 * 50
    server.reset()
    server.faults = Faults.spread(0.10, [*TRANSIENT_FAULTS, "think"], seed=2)
    capsys.readouterr()
    assert run_study_cli(study, tmp_path / "faulty") == 0
    out, err = capsys.readouterr()
    faults = server.fault_counts()
    assert sum(faults.values()) - faults["ok"] >= 5, faults
    # one progress line per running configuration, ending complete
    assert "[1/2] single-wa (openai-api/wa/scripted): 50/50 samples" in err
    assert "[2/2] single-wb (openai-api/wb/scripted): 50/50 samples" in err
    assert err.count("complete") >= 2
    assert "2 of 2 runs complete" in out
    retried = len(server.bodies()) - 100
    assert f"Requests: 100 annotations: {len(server.bodies())} requests sent, {retried} retried, " \
           "0 failed" in out  # fmt: skip
    clean, faulty = table_of(study, tmp_path / "clean"), table_of(study, tmp_path / "faulty")
    assert len(faulty) == 100
    assert faulty[["participant", "sent_id", "trial"]].duplicated().sum() == 0
    assert clean.equals(faulty)
    # a re-run finds every run finished and sends nothing
    server.reset()
    assert run_study_cli(study, tmp_path / "faulty") == 0
    assert server.bodies() == []


def test_study_gc_spaces_out_collections_and_restores_the_process():
    import gc

    from inspect_partynli.commands.run import GC_YOUNG_THRESHOLD, study_gc

    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with study_gc():
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:]) == (10_000, *before[1:])
        assert gc.get_freeze_count() > frozen  # the heap imported so far is never walked
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
