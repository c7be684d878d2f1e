"""On the wire: the package's requests through Inspect's real provider clients
(``openai-api/...``, ``openai/...``, ``ollama/...``) against the local OpenAI-compatible
server of :mod:`inspect_partynli.testing`, on 127.0.0.1 only, with seeded faults.

Every run is small (a few ChaosNLI items, 1-3 epochs), with short client timeouts and
retries, so the file stays quick on two cores.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.event import ModelEvent

from inspect_partynli import livenli as livenli_task
from inspect_partynli.annotations import AnnotationWarning, load_annotations
from inspect_partynli.prompts import SYSTEM_PROMPT, user_prompt
from inspect_partynli.request_stats import RequestStats, sample_attempts
from inspect_partynli.task import sweep_values
from inspect_partynli.testing import (
    TRANSIENT_FAULTS,
    AnnotatorsParticipant,
    Faults,
    WireServer,
)

#: Generation parameters that a default run must never send.
GENERATION_PARAMETERS = {
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "frequency_penalty",
    "presence_penalty", "stop", "n", "logprobs", "top_logprobs", "reasoning_effort",
}  # fmt: skip
#: Client settings that keep fault runs short: 1 s per request, few quick retries.
FAST_RETRIES = {"timeout": 1, "max_retries": 6, "retry_on_error": 6}
#: The three clients, each as (model, model_args, role of Figure 6): Ollama serves the OpenAI
#: API under /v1; ``openai/`` would use the Responses API unless told to speak chat
#: completions, and sends the system prompt in OpenAI's newer ``developer`` role.
CLIENTS = [
    ("openai-api/wire/scripted", {}, "system"),
    ("openai/scripted", {"responses_api": False}, "developer"),
    ("ollama/qwen3:8b", {}, "system"),
]


@pytest.fixture(scope="module")
def participant(livenli):
    return AnnotatorsParticipant(livenli)


@pytest.fixture
def server(participant, monkeypatch):
    monkeypatch.setenv("WIRE_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with WireServer(participant, models=("scripted", "qwen3:8b"), slow_seconds=2.5) as s:
        yield s


def run(server, tmp_path, *, model="openai-api/wire/scripted", model_args=None, limit=4,
        epochs=2, name="logs", task_args=None, **kwargs):  # fmt: skip
    (log,) = inspect_eval(
        livenli_task(subset="chaosnli", **(task_args or {})),
        model=model,
        model_base_url=server.base_url,
        model_args=model_args or {},
        limit=limit,
        epochs=epochs,
        display="none",
        log_dir=str(tmp_path / name),
        **kwargs,
    )
    return log


def items_of(log, livenli) -> dict[str, tuple[str, str]]:
    firsts = livenli.groupby("uid")[["premise", "hypothesis"]].first()
    return {str(s.id): tuple(firsts.loc[str(s.id)]) for s in log.samples}


def sent_bodies(log) -> dict[tuple[str, int], dict]:
    """The request body each (sample, epoch) sent, as Inspect recorded it."""
    from inspect_ai.log import resolve_sample_attachments

    bodies = {}
    for sample in log.samples:
        sample = resolve_sample_attachments(sample, "full")
        calls = [e.call.request for e in sample.events if isinstance(e, ModelEvent)]
        assert len(calls) == 1, "one annotation is one model call"
        bodies[(str(sample.id), sample.epoch)] = calls[0]
    return bodies


# ------------------------------------------------------------------------------ the server


def test_server_listens_on_localhost_only(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.port > 0


def test_faults_are_seeded_and_redrawn_per_arrival():
    faults = Faults.spread(0.5, seed=3)
    body = b'{"messages": []}'
    draws = [faults.draw(body, arrival) for arrival in range(200)]
    assert draws == [Faults.spread(0.5, seed=3).draw(body, a) for a in range(200)]
    assert draws != [Faults.spread(0.5, seed=4).draw(body, a) for a in range(200)]
    hit = sum(d is not None for d in draws) / len(draws)
    assert 0.35 < hit < 0.65
    assert {d for d in draws if d} <= set(TRANSIENT_FAULTS)
    with pytest.raises(ValueError, match="unknown fault"):
        Faults({"gremlins": 0.1})
    with pytest.raises(ValueError, match="sum to at most 1"):
        Faults({"reset": 0.7, "slow": 0.7})


# ------------------------------------------------------------------------------ default run


@pytest.mark.parametrize(("model", "model_args", "role"), CLIENTS, ids=[c[0] for c in CLIENTS])
def test_default_run_sends_nothing_but_the_two_prompts(server, tmp_path, livenli, model,
                                                       model_args, role):  # fmt: skip
    log = run(server, tmp_path, model=model, model_args=model_args, limit=3, epochs=2)
    assert log.status == "success"
    bodies = server.bodies()
    assert len(bodies) == 3 * 2  # one request per (item, epoch), no probes
    assert all(r.path == "/v1/chat/completions" for r in server.records)
    expected = {
        json.dumps([
            {"role": role, "content": SYSTEM_PROMPT},
            {"role": "user", "content": user_prompt(premise, hypothesis)},
        ])
        for premise, hypothesis in items_of(log, livenli).values()
    }  # fmt: skip
    assert {json.dumps(b["messages"]) for b in bodies} == expected
    for body in bodies:
        assert set(body) == {"model", "messages"}, sorted(set(body) & GENERATION_PARAMETERS)
        assert body["model"] == model.rsplit("/", 1)[-1]
    # every annotation parsed, and the sample metadata says nothing was sent
    for sample in log.samples:
        assert sample.scores["livenli_scorer"].value["parsed"] == 1
        assert sample.metadata["temperature"] is None and sample.metadata["top_p"] is None


@pytest.mark.parametrize("parameter", ["temperature", "top_p"])
def test_sweep_epoch_e_sends_the_e_th_value_and_nothing_else(server, tmp_path, parameter):
    tmax = 2.0 if parameter == "temperature" else 1.0
    log = run(server, tmp_path, limit=2, epochs=3,
              task_args={"sweep": parameter, "tmax": tmax, "epochs": 3})  # fmt: skip
    values = sweep_values(tmax)
    recorded = [json.dumps(b, sort_keys=True) for b in server.bodies()]
    assert len(recorded) == 2 * 3
    assert all(set(body) == {"model", "messages", parameter} for body in server.bodies())
    for (_, epoch), call in sent_bodies(log).items():
        assert not call.get("tools") and parameter in call
        assert math.isclose(call[parameter], values[epoch - 1])
        # the body of this (item, epoch), as Inspect logged it, is what the server received
        wire = {key: call[key] for key in ("model", "messages", parameter)}
        assert json.dumps(wire, sort_keys=True) in recorded


# ------------------------------------------------------------------------------ faults


def annotation_table(log_dir):
    table = load_annotations([log_dir], explanations=True)
    return table.drop(columns=["source"]).reset_index(drop=True)


def test_transient_faults_lose_no_annotation(server, tmp_path):
    clean = run(server, tmp_path, name="clean", limit=10, epochs=3)
    assert clean.status == "success"
    server.reset()
    server.faults = Faults.spread(0.10, [*TRANSIENT_FAULTS, "think"], seed=11)
    faulty = run(server, tmp_path, name="faulty", limit=10, epochs=3, **FAST_RETRIES)
    assert faulty.status == "success"
    faults = server.fault_counts()
    assert sum(faults.values()) - faults["ok"] >= 3, faults  # faults really happened
    # every (item, epoch) exactly once, and the same annotations as without faults
    keys = [(s.id, s.epoch) for s in faulty.samples]
    assert len(keys) == len(set(keys)) == 30
    assert all(s.error is None for s in faulty.samples)
    pd_equal = annotation_table(tmp_path / "clean").equals(annotation_table(tmp_path / "faulty"))
    assert pd_equal
    # attempts per sample: what the server saw is what the log records
    attempts = sample_attempts([faulty.location])
    stats = RequestStats.of(attempts)
    assert stats.samples == 30 and stats.failed == 0
    assert stats.sent == len(server.bodies())
    assert stats.retried == len(server.bodies()) - 30 > 0


def test_inspect_eval_command_with_faults(server, tmp_path):
    server.faults = Faults.spread(0.10, seed=5)
    env = {**os.environ, "WIRE_API_KEY": "test-key"}
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "inspect_partynli/livenli",
        "--model", "openai-api/wire/scripted", "--model-base-url", server.base_url,
        "-T", "subset=chaosnli", "--limit", "5", "--epochs", "2", "--timeout", "1",
        "--max-retries", "6", "--retry-on-error", "6", "--display", "none",
        "--log-dir", str(tmp_path / "cli"),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    table = load_annotations([tmp_path / "cli"])
    assert len(table) == 10 and table[["sent_id", "trial"]].duplicated().sum() == 0
    assert table["parsed"].all()


def test_persistent_failures_end_as_errors_the_reader_reports(server, tmp_path, livenli):
    firsts = livenli.groupby("uid")["premise"].first()
    doomed = "111167c"  # the first ChaosNLI item: its requests always get a 500
    server.faults = Faults(always=(firsts[doomed],))
    log = run(server, tmp_path, limit=3, epochs=2, timeout=1, max_retries=1, retry_on_error=1,
              fail_on_error=False)  # fmt: skip
    errored = {(str(s.id), s.epoch) for s in log.samples if s.error}
    assert errored == {(doomed, 1), (doomed, 2)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = load_annotations([tmp_path / "logs"])
    assert doomed not in set(table["sent_id"]) and len(table) == 4
    message = " ".join(str(w.message) for w in caught if issubclass(w.category, AnnotationWarning))
    assert "errored" in message and "missing" in message
    stats = RequestStats.of(sample_attempts([log.location]))
    assert stats.failed == 2


# ------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("fault", "reason"), [("content_filter", "refused"), ("empty", "empty"),
                                               ("length", "truncated")])  # fmt: skip
def test_refused_empty_and_cut_replies_are_classified_failures(server, tmp_path, fault, reason):
    server.faults = Faults({fault: 1.0})
    log = run(server, tmp_path, limit=3, epochs=1)
    values = [s.scores["livenli_scorer"].value for s in log.samples]
    assert [v["failure"] for v in values] == [reason] * 3
    assert all(v["parsed"] == 0 for v in values)
    metrics = log.results.scores[0].metrics
    assert metrics["parse_rate"].value == 0.0
    table = load_annotations([tmp_path / "logs"])
    assert list(table["failure_reason"]) == [reason] * 3


def test_think_wrapped_reply_parses_to_the_same_annotation(server, tmp_path):
    clean = run(server, tmp_path, name="clean", limit=3, epochs=1)
    server.faults = Faults({"think": 1.0})
    think = run(server, tmp_path, name="think", limit=3, epochs=1)
    label = [s.scores["livenli_scorer"].value["multi_label"] for s in clean.samples]
    assert [s.scores["livenli_scorer"].value["multi_label"] for s in think.samples] == label
    assert server.fault_counts()["think"] == 3


# ------------------------------------------------------------------------------ logprobs


def test_logprobs_carry_the_items_label_distribution(server, livenli):
    import asyncio

    from inspect_ai.model import GenerateConfig, get_model

    from inspect_partynli.task import livenli_messages

    uid = "111167c"
    rows = livenli[livenli["uid"] == uid]
    model = get_model("openai-api/wire/scripted", base_url=server.base_url)
    messages = livenli_messages(rows["premise"].iloc[0], rows["hypothesis"].iloc[0])
    output = asyncio.run(
        model.generate(messages, config=GenerateConfig(logprobs=True, top_logprobs=3))
    )
    content = output.choices[0].logprobs.content
    assert "".join(t.token for t in content) == output.completion
    shares = rows["class_multi"].value_counts(normalize=True)
    label_token = next(t for t in content if len(t.top_logprobs) > 1 or t.logprob < 0)
    top = {t.token: math.exp(t.logprob) for t in label_token.top_logprobs}
    assert list(top) == list(shares.index[:3])
    for name, share in top.items():
        assert math.isclose(share, shares[name])


def test_report_lists_parse_failures_by_reason():
    import pandas as pd

    from inspect_partynli.report.parts import _failure_counts

    models = pd.DataFrame({
        "parsed": [True, False, False, False, True, False],
        "failure_reason": ["", "refused", "empty", "refused", "", ""],
    })  # fmt: skip
    units = pd.Series(["a", "a", "a", "a", "b", "b"])
    assert _failure_counts(models, units) == {"a": "refused 2, empty 1", "b": "unknown 1"}
