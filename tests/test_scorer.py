"""The scorer: Score contents, hand-computed run-time metrics, eval() and `inspect score`."""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai._eval.task.epochs import Epochs
from inspect_ai.dataset import Sample
from inspect_ai.log import read_eval_log
from inspect_ai.model import ModelName, ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import SampleScore, Target, match
from inspect_ai.solver import TaskState, solver

from inspect_partynli import scorer as scorer_module
from inspect_partynli.scorer import (
    VALUE_KEYS,
    agree,
    js,
    label_shares,
    livenli_scorer,
    no_annotation_score,
    parse_rate,
    reply_score,
    score_metadata,
)

PREMISE = "The cat sat on the mat."
HYPOTHESIS = "A dog sat."


def reply(label: str, explanation: str = "Because.") -> str:
    return json.dumps(
        {
            "classification": {"label": label, "explanation": explanation},
            "highlights": {"context": "The <<cat>> sat", "statement": "<<A bird>>"},
        }
    )


def metadata(distribution: tuple[float, float, float], **extra) -> dict:
    return {
        "premise": PREMISE,
        "hypothesis": HYPOTHESIS,
        "livenli_distribution": dict(zip(("either", "false", "true"), distribution, strict=True)),
        **extra,
    }


# ----------------------------------------------------------------------------- Score


def test_score_of_a_parsed_reply():
    score = reply_score(reply("true-either"), metadata((0, 0, 1), temperature=0.7, top_p=None))
    assert score.value == {
        "label": "either",
        "multi_label": "either-true",
        "parsed": 1,
        "failure": "",
        "temperature": 0.7,
        "top_p": None,
        "n_labels": 2,
    }
    assert tuple(score.value) == VALUE_KEYS
    assert score.answer == "either-true"
    assert score.explanation == "Because."
    # lean: nothing that value, answer or explanation already say
    assert score.metadata == {
        "highlights": {"context": ["cat"], "statement": ["A bird"]},
        "unmatched_highlights": {"context": [], "statement": ["A bird"]},
        "raw_label": "true-either",  # as written: the answer sorts the labels
    }


def test_score_of_a_failure_has_every_key_and_the_error_as_explanation():
    score = reply_score('{"classification": {"label": "true"', {}, stop_reason="max_tokens")
    assert score.value == {
        "label": "error",
        "multi_label": "error",
        "parsed": 0,
        "failure": "truncated",
        "temperature": None,
        "top_p": None,
        "n_labels": 0,
    }
    assert score.answer == "error"
    assert score.explanation == (
        "parse error (truncated): the reply was cut off: a JSON object never closes"
    )
    assert score.metadata == {
        "highlights": {"context": [], "statement": []},
        "unmatched_highlights": {"context": [], "statement": []},
    }  # the detail is in the explanation, the stop reason in the sample's output


def test_score_metadata_keeps_the_label_as_written_and_a_failed_reply_explanation():
    same = reply_score(reply("either-true"))
    assert "raw_label" not in same.metadata and "explanation" not in same.metadata
    unknown = reply_score(reply("maybe"))
    assert unknown.value["failure"] == "unknown_label"
    assert unknown.metadata["raw_label"] == "maybe"
    assert unknown.explanation == "parse error (unknown_label): unknown label 'maybe' in 'maybe'"
    # a failed reply's own explanation (if the parser kept one) stays beside the error
    spans = {"context": [], "statement": []}
    kept = score_metadata(spans, spans, "maybe", "error", "Because.", parsed=False)
    assert kept == {**unknown.metadata, "explanation": "Because."}
    assert "explanation" not in score_metadata(spans, spans, explanation="Because.")


@pytest.mark.parametrize("settings", [{}, {"temperature": "hot", "top_p": True}, None])
def test_settings_that_are_not_numbers_are_none(settings):
    value = reply_score(reply("false"), settings).value
    assert value["temperature"] is None and value["top_p"] is None
    assert value["label"] == "false"


def make_state(output: ModelOutput | None, meta: dict | None = None) -> TaskState:
    return TaskState(
        model=ModelName("mockllm/model"),
        sample_id="s1",
        epoch=1,
        input="x",
        messages=[],
        output=output,
        metadata=meta,
    )


def run_scorer(state: TaskState):
    return asyncio.run(livenli_scorer()(state, Target("")))


def test_scorer_reads_completion_stop_reason_and_metadata():
    meta = metadata((0, 1, 0), top_p=0.25)
    cut = ModelOutput.from_content("mockllm/model", "```json\n" + reply("x")[:30], "max_tokens")
    score = run_scorer(make_state(cut, meta))
    assert score.value["failure"] == "truncated"
    whole = ModelOutput.from_content("mockllm/model", reply("Contradiction"), "max_tokens")
    score = run_scorer(make_state(whole, meta))
    assert (score.value["label"], score.value["top_p"], score.value["parsed"]) == ("false", 0.25, 1)


def test_scorer_without_output_is_empty():
    score = run_scorer(make_state(None))
    assert (score.value["parsed"], score.value["failure"]) == (0, "empty")


def test_scorer_never_raises(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(scorer_module, "reply_score", boom)
    score = run_scorer(make_state(None, {"temperature": 0.3}))
    assert score.value == {
        "label": "error",
        "multi_label": "error",
        "parsed": 0,
        "failure": "parser_error",
        "temperature": 0.3,
        "top_p": None,
        "n_labels": 0,
    }
    assert score.explanation == "parse error (parser_error): scorer error: RuntimeError: bug"


# --------------------------------------------------------------------------- metrics

# Four items x 3 epochs.  Human LiveNLI distributions (either, false, true) and replies:
#   a (.2,.2,.6) majority true:   true, true, false           -> counts (0,1,2): true, agrees
#   b (.5,.5,0)  majority either: either-true, "maybe", false  -> counts (1,1,0): tie -> either,
#                                                               agrees; JS 0
#   c (0,1,0):                    3 unparsed                   -> left out of Agree and JS
#   d (0,0,1)    majority true:   either, either, true         -> counts (2,0,1): either, disagrees
HUMAN = {"a": (0.2, 0.2, 0.6), "b": (0.5, 0.5, 0.0), "c": (0.0, 1.0, 0.0), "d": (0.0, 0.0, 1.0)}
REPLIES = {
    "a": [reply("true"), reply("True"), reply("contradiction")],
    "b": [reply("either-true"), reply("maybe"), reply("false")],
    "c": ["", "no JSON here", '{"classification": {"label": "true", "explanation": "cut'],
    "d": [reply("neutral"), reply("either"), reply("entailment")],
}


def _js_by_hand() -> float:
    # a: p = (0, 1/3, 2/3), q = (.2, .2, .6), m = (.1, 4/15, 19/30)
    kl_pm = (1 / 3) * math.log(5 / 4) + (2 / 3) * math.log(20 / 19)
    kl_qm = 0.2 * math.log(2) + 0.2 * math.log(3 / 4) + 0.6 * math.log(18 / 19)
    js_a = math.sqrt((kl_pm + kl_qm) / 2)
    # d: p = (2/3, 0, 1/3), q = (0, 0, 1), m = (1/3, 0, 2/3)
    js_d = math.sqrt((math.log(2) / 3 + math.log(3 / 2)) / 2)
    return (js_a + 0.0 + js_d) / 3


EXPECTED = {
    "parse_rate": 8 / 12,
    "share_either": 3 / 8,
    "share_false": 2 / 8,
    "share_true": 3 / 8,
    "agree": 2 / 3,
    "js": _js_by_hand(),
}


def sample_scores() -> list[SampleScore]:
    return [
        SampleScore(
            score=reply_score(text, metadata(HUMAN[uid])),
            sample_id=uid,
            sample_metadata=metadata(HUMAN[uid]),
        )
        for uid in HUMAN
        for text in REPLIES[uid]
    ]


def test_metrics_by_hand():
    scores = sample_scores()
    assert parse_rate()(scores)["parse_rate"] == pytest.approx(EXPECTED["parse_rate"])
    assert label_shares()(scores) == pytest.approx(
        {k: EXPECTED[k] for k in ("share_either", "share_false", "share_true")}
    )
    assert agree()(scores)["agree"] == pytest.approx(EXPECTED["agree"])
    assert js()(scores)["js"] == pytest.approx(EXPECTED["js"], abs=1e-12)


def test_unannotated_replay_rows_are_not_replies():
    # a replayed source with no annotation for an item/trial: recorded, but not a parse failure
    meta = metadata((0, 1, 0))
    output = ModelOutput.from_content("partynli/replay", "")
    output.metadata = {"partynli": "no_annotation"}
    score = run_scorer(make_state(output, meta))
    assert set(score.value) == set(VALUE_KEYS)
    assert (score.value["parsed"], score.value["failure"]) == (0, "no_annotation")
    assert score.value == no_annotation_score(meta).value
    extra = SampleScore(score=score, sample_id="c", sample_metadata=meta)
    rate = parse_rate()([*sample_scores(), extra])["parse_rate"]
    assert rate == pytest.approx(EXPECTED["parse_rate"])
    assert agree()([*sample_scores(), extra])["agree"] == pytest.approx(EXPECTED["agree"])


def test_js_counts_an_exact_match_as_zero():
    """scipy's jensenshannon gives NaN for 10 replies 6/3/1 against (0.6, 0.3, 0.1) (the sqrt of a
    rounding-negative divergence); the item is an exact match and must count as 0, not vanish."""
    exact = [
        SampleScore(
            score=reply_score(reply(label)),
            sample_id="x",
            sample_metadata=metadata((0.6, 0.3, 0.1)),
        )
        for label in ["either"] * 6 + ["false"] * 3 + ["true"]
    ]
    other = [
        SampleScore(
            score=reply_score(reply("true")), sample_id="y", sample_metadata=metadata((0, 0, 1))
        )
    ]
    off = [  # z: q = (1, 0, 0), p = (0, 0, 1): disjoint, distance sqrt(log 2)
        SampleScore(
            score=reply_score(reply("either")), sample_id="z", sample_metadata=metadata((0, 0, 1))
        )
    ]
    assert js()(exact)["js"] == 0.0
    assert js()([*exact, *other, *off])["js"] == pytest.approx(math.sqrt(math.log(2)) / 3)


def test_metrics_order_of_scores_does_not_matter():
    scores = sample_scores()[::-1]
    assert agree()(scores)["agree"] == pytest.approx(2 / 3)
    assert js()(scores)["js"] == pytest.approx(EXPECTED["js"], abs=1e-12)


def test_metrics_without_parsed_replies_or_human_reference_are_nan():
    unparsed = [SampleScore(score=reply_score("x", {}), sample_id="a", sample_metadata={})]
    assert parse_rate()(unparsed)["parse_rate"] == 0.0
    assert all(math.isnan(v) for v in label_shares()(unparsed).values())
    no_human = [SampleScore(score=reply_score(reply("true")), sample_id="a", sample_metadata=None)]
    assert parse_rate()(no_human)["parse_rate"] == 1.0
    assert label_shares()(no_human)["share_true"] == 1.0
    assert math.isnan(agree()(no_human)["agree"]) and math.isnan(js()(no_human)["js"])
    all_failed = [
        SampleScore(score=reply_score("x"), sample_id="a", sample_metadata=metadata((1, 0, 0)))
    ]
    assert math.isnan(agree()(all_failed)["agree"]) and math.isnan(js()(all_failed)["js"])


# ------------------------------------------------------------------- end to end (eval)


def _outputs_by_item():
    """mockllm outputs keyed by the item (its input text), whatever order Inspect runs in."""
    queues = {uid: list(texts) for uid, texts in REPLIES.items()}

    def output(messages, tools, tool_choice, config):
        uid = messages[-1].text.removeprefix("item ")
        text = queues[uid].pop(0)
        stop = "max_tokens" if text.endswith("cut") else "stop"
        result = ModelOutput.from_content("mockllm/model", text, stop_reason=stop)
        result.usage = ModelUsage(input_tokens=10, output_tokens=20, total_tokens=30)
        return result

    return output


@solver
def record_settings():
    """Stands in for the task's solver: records a per-epoch temperature, then generates."""

    async def solve(state, generate_):
        state.metadata["temperature"] = round(0.1 * state.epoch, 2)
        state.metadata["top_p"] = None
        return await generate_(state)

    return solve


def _task(scorer, reducer=()) -> Task:
    dataset = [
        Sample(id=uid, input=f"item {uid}", metadata=metadata(dist)) for uid, dist in HUMAN.items()
    ]
    epochs = Epochs(3, reducer=list(reducer)) if reducer is not None else 3
    return Task(dataset=dataset, solver=record_settings(), scorer=scorer, epochs=epochs)


def _run(tmp_path: Path, scorer, reducer=()):
    model = get_model("mockllm/model", custom_outputs=_outputs_by_item())
    [log] = eval(_task(scorer, reducer), model=model, log_dir=str(tmp_path), display="none")
    return log


def _metrics(log) -> dict[str, float]:
    [result] = log.results.scores
    return {name: m.value for name, m in result.metrics.items()}


def test_eval_end_to_end(tmp_path):
    log = _run(tmp_path, livenli_scorer())
    assert log.status == "success"
    assert len(log.samples) == 12
    assert _metrics(log) == pytest.approx(EXPECTED)
    by_item = defaultdict(list)
    for sample in log.samples:
        score = sample.scores["livenli_scorer"]
        assert tuple(score.value) == VALUE_KEYS
        assert score.value["temperature"] == round(0.1 * sample.epoch, 2)
        assert score.value["top_p"] is None
        by_item[sample.id].append(score.value["multi_label"])
    assert sorted(by_item["a"]) == ["false", "true", "true"]
    assert sorted(by_item["b"]) == ["either-true", "error", "false"]
    assert sorted(by_item["d"]) == ["either", "either", "true"]
    failures = sorted(s.scores["livenli_scorer"].value["failure"] for s in log.samples)
    assert failures[-4:] == ["empty", "no_json", "truncated", "unknown_label"]


def test_eval_with_the_default_mean_reducer_gives_the_same_metrics(tmp_path):
    """The metrics are 'unreduced': an epoch reducer never reaches them."""
    log = _run(tmp_path, livenli_scorer(), reducer=None)
    assert log.status == "success"
    assert _metrics(log) == pytest.approx(EXPECTED)


def test_inspect_score_cli_rescores_an_old_log(tmp_path):
    """`inspect score LOG --scorer inspect_partynli/livenli_scorer` re-scores a log."""
    log = _run(tmp_path, match())  # an "old" log scored by something else
    rescored = tmp_path / "rescored.eval"
    inspect_cli = Path(sys.executable).with_name("inspect")
    command = [
        str(inspect_cli),
        "score",
        log.location,
        "--scorer",
        "inspect_partynli/livenli_scorer",
        "--action",
        "overwrite",
        "--output-file",
        str(rescored),
        "--display",
        "none",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    new = read_eval_log(str(rescored))
    assert _metrics(new) == pytest.approx(EXPECTED)
    assert all(tuple(s.scores["livenli_scorer"].value) == VALUE_KEYS for s in new.samples)
