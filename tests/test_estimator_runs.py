"""The ``logprobs`` and ``verbalized`` estimators end to end through Inspect's ``eval()``.

The offline participants answer both prompts with their label distribution, so with
temperature 1 each estimator reproduces it item by item (JS 0 against the replayed population)
and with temperature 0.5 every value equals a hand computation.  A provider that returns no
log-probabilities is refused before the run.
"""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval

from inspect_partynli import metrics
from inspect_partynli.annotations import load_annotations
from inspect_partynli.datasets import load_dataset
from inspect_partynli.estimators.evaluation import compare, item_distributions
from inspect_partynli.estimators.prompts import LOGPROBS_REQUEST, VERBALIZED_REQUEST
from inspect_partynli.labels import LABELS
from inspect_partynli.prompts import PROMPT_VERSION
from inspect_partynli.task import livenli

#: The study's conventions (natural log, KL epsilon 1e-10, sample std).
CONVENTIONS = SimpleNamespace(kl_epsilon=1e-10, ddof=1, log_base=None)
ITEM = "111167c"  # LiveNLI: 3 either, 7 false, 0 true


def run(tmp_path, estimator: str, model: str = "partynli/annotators", **model_args):
    (log,) = inspect_eval(
        livenli(subset="chaosnli", estimator=estimator, epochs=1),
        model=model,
        model_args=model_args,
        log_dir=str(tmp_path / f"{estimator}-{model_args.get('temperature', 1)}"),
        display="none",
    )
    assert log.status == "success"
    return log


def values(log) -> dict[str, dict]:
    return {str(s.id): s.scores["estimator_scorer"].value for s in log.samples}


def reference(counts: pd.DataFrame):
    frame = counts[list(LABELS)].astype(float)
    return SimpleNamespace(
        uids=frame.index.astype(str).to_numpy(),
        counts=frame.to_numpy(),
        entropy=metrics.entropy(frame.to_numpy()),
    )


@pytest.fixture(scope="module")
def humans():
    return load_dataset("livenli").population("livenli").counts


@pytest.mark.parametrize("estimator", ["logprobs", "verbalized"])
def test_temperature_1_reproduces_the_human_distribution(tmp_path, humans, estimator):
    log = run(tmp_path, estimator)
    scored = values(log)
    assert len(scored) == 50 and all(v["parsed"] == 1 for v in scored.values())
    for item, value in scored.items():
        expected = humans.loc[item, list(LABELS)].to_numpy(dtype=float)
        got = [value[f"p_{label}"] for label in LABELS]
        assert got == pytest.approx(expected / expected.sum(), abs=1e-12)
    assert log.eval.metadata["estimator"] == estimator
    assert log.results.scores[0].metrics["js"].value == pytest.approx(0, abs=1e-8)
    # through the annotation table and the analysis: JS 0 and Agree 1 against the humans
    table = load_annotations([log.location])
    assert set(table["estimator"]) == {estimator} and set(table["experiment"]) == {estimator}
    run_ = item_distributions(table, LABELS)
    record = compare(run_, reference(humans.loc[run_.items]), CONVENTIONS)
    assert record["n_items"] == 50 and record["JS"] == pytest.approx(0, abs=1e-8)
    assert record["agree"] == 1.0 and record["cor"] == pytest.approx(1.0)
    assert record["KL_pq"] == pytest.approx(0, abs=1e-8)
    assert math.isnan(record["spread"])  # one epoch


def test_the_requests_carry_the_estimator_prompt_and_logprobs_settings(tmp_path):
    log = run(tmp_path, "logprobs")
    sample = next(s for s in log.samples if s.id == ITEM)
    system, user = sample.messages[0].text, sample.messages[1].text
    assert user.endswith("\n\n" + LOGPROBS_REQUEST) and "[CONTEXT]" in user
    assert system.startswith("You are an expert at natural language inference tasks.\n")
    assert sample.metadata["estimator"] == "logprobs"
    assert "prompt_version" not in sample.metadata  # the header has it (estimator's variant)
    assert log.eval.metadata["prompt_version"] != PROMPT_VERSION
    assert sample.output.completion == "false"  # the most probable label
    top = sample.output.choices[0].logprobs.content[0].top_logprobs
    assert [(t.token, round(math.exp(t.logprob), 12)) for t in top] == [
        ("false", 0.7),
        ("either", 0.3),
    ]


def test_temperature_half_equals_the_hand_computation(tmp_path):
    # p = (0.3, 0.7, 0) sharpened by T = 0.5: p^2 / sum p^2 = (0.09, 0.49, 0) / 0.58
    expected = {"p_either": 0.09 / 0.58, "p_false": 0.49 / 0.58, "p_true": 0.0}
    for estimator in ("logprobs", "verbalized"):
        value = values(run(tmp_path, estimator, temperature=0.5))[ITEM]
        assert {k: value[k] for k in expected} == pytest.approx(expected, abs=1e-12)
    verbal = run(tmp_path, "verbalized", temperature=0.5)
    sample = next(s for s in verbal.samples if s.id == ITEM)
    assert sample.messages[1].text.endswith("\n\n" + VERBALIZED_REQUEST)
    assert sample.scores["estimator_scorer"].value["raw_sum"] == pytest.approx(100)


def test_replay_reproduces_the_replayed_participant(tmp_path, fixture_csv):
    replayed = pd.read_csv(fixture_csv, dtype={"sent_id": str})
    shares = pd.crosstab(replayed["sent_id"], replayed["class_simple"])
    shares = shares.reindex(columns=list(LABELS), fill_value=0)
    log = run(tmp_path, "verbalized", "partynli/replay", path=str(fixture_csv))
    table = load_annotations([log.location])
    run_ = item_distributions(table, LABELS)
    record = compare(run_, reference(shares.loc[run_.items]), CONVENTIONS)
    assert record["n_items"] == len(run_.items) >= 45
    assert record["JS"] == pytest.approx(0, abs=1e-8) and record["agree"] == 1.0


def test_a_provider_without_logprobs_is_refused_before_the_run(tmp_path):
    with pytest.raises(Exception, match="needs token log-probabilities, which mockllm/model"):
        inspect_eval(
            "inspect_partynli/livenli",
            task_args={"estimator": "logprobs", "subset": "chaosnli"},
            model="mockllm/model",
            log_dir=str(tmp_path),
            display="none",
        )
    assert not list(tmp_path.glob("*.eval"))  # no run, no log


def test_a_provider_without_logprobs_on_the_command_line_gets_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "inspect_ai", "eval", "inspect_partynli/livenli",
         "--model", "mockllm/model", "-T", "estimator=logprobs", "--log-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "needs token log-probabilities, which mockllm/model does" in " ".join(output.split())
    assert "Traceback" not in output
    assert not list(tmp_path.glob("*.eval"))


def test_mockllm_verbalized_failures_are_classified(tmp_path):
    from inspect_ai.model import ModelOutput, ModelUsage

    replies = ['{"probabilities": {"true": 60, "maybe": 40}}', "I think true.", ""]
    outputs = []
    for text in replies:
        output = ModelOutput.from_content("mockllm/model", text)
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        outputs.append(output)
    (log,) = inspect_eval(
        livenli(subset="chaosnli", estimator="verbalized", epochs=1),
        model="mockllm/model",
        model_args={"custom_outputs": outputs},
        limit=3,
        max_connections=1,
        log_dir=str(tmp_path),
        display="none",
    )
    failures = sorted(s.scores["estimator_scorer"].value["failure"] for s in log.samples)
    assert failures == ["empty", "no_distribution", "unknown_label"]
    assert np.isnan(log.results.scores[0].metrics["js"].value)
