"""The estimators' pure parts: reading logprobs and verbalized replies, prompts, offline answers.

Every expected number is computed by hand in the test (or its comment).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from inspect_ai.model import Logprob, Logprobs, ModelOutput, TopLogprob

from inspect_partynli.estimators import (
    LOGPROBS_FAILURES,
    VERBALIZED_FAILURES,
    Estimate,
    check_estimator,
    estimator_prompt,
    parse_verbalized,
    read_first_token,
    read_logprobs,
    split_request,
)
from inspect_partynli.estimators.logprobs import token_label
from inspect_partynli.estimators.offline import (
    logprobs_reply,
    sharpen,
    top_logprobs,
    verbalized_reply,
)
from inspect_partynli.estimators.prompts import (
    LOGPROBS_REQUEST,
    VERBALIZED_REQUEST,
    role_line,
)
from inspect_partynli.labels import LabelSpace
from inspect_partynli.prompts import SYSTEM_PROMPT, USER_PROMPT_TEMPLATE

LABELS = ("either", "false", "true")
SYNONYMS = {
    "true": ("entailment", "entails", "is most likely to be true", "likely true"),
    "either": ("neutral", "can be either true or false"),
    "false": ("contradiction", "is most likely false", "likely false"),
}
NLI = LabelSpace(LABELS, SYNONYMS)


def lp(p: float) -> float:
    return math.log(p)


# ------------------------------------------------------------------------------ basics


def test_check_estimator():
    assert check_estimator(None) == "sampling"
    assert check_estimator("LogProbs") == "logprobs"
    with pytest.raises(ValueError, match="choose one of sampling, logprobs, verbalized"):
        check_estimator("beam")


def test_estimate_values_and_argmax_tie_goes_to_first_label():
    estimate = Estimate("logprobs", LABELS, probabilities=(0.4, 0.2, 0.4))
    assert estimate.label == "either"
    assert estimate.values() == {"p_either": 0.4, "p_false": 0.2, "p_true": 0.4}
    failed = Estimate("logprobs", LABELS, failure="no_logprobs")
    assert failed.label is None and not failed.parsed
    assert failed.values() == {"p_either": None, "p_false": None, "p_true": None}
    with pytest.raises(ValueError):
        Estimate("logprobs", LABELS)


def test_label_words_first_claim_wins_and_bad_synonyms_refused():
    words = LabelSpace(("a", "b"), {"a": ("x",), "b": ("x", "y")})
    assert words.words == {"a": "a", "b": "b", "x": "a", "y": "b"}
    with pytest.raises(ValueError, match="unknown label"):
        LabelSpace(("a",), {"c": ("x",)})


# ---------------------------------------------------------------------------- logprobs


@pytest.mark.parametrize(
    ("token", "label"),
    [
        ("true", "true"),
        (" True", "true"),
        ("TRUE", "true"),
        ("\u0120true", "true"),  # byte-level BPE's leading-space marker
        ("\u2581False", "false"),  # SentencePiece's
        ("true.", "true"),
        ("Either,", "either"),
        ("\ntrue\n", "true"),
        ("entailment", "true"),  # synonyms
        (" Neutral", "either"),
        ("contradiction", "false"),
        ("tr", "true"),  # tokenisations that start a label word
        ("t", "true"),
        (" ei", "either"),
        ("ent", "true"),
        ("contr", "false"),
        ("neut", "either"),
        ("can", "either"),  # starts the synonym "can be either true or false" only
        ("e", None),  # either / entailment
        ("is", None),  # 'is most likely to be true' / 'is most likely false'
        ("likely", None),
        ('"', None),
        ('"true', None),  # a leading quote is not a variant
        ("{", None),
        ("<think>", None),
        ("trueness", None),
        ("", None),
        ("  ", None),
    ],
)
def test_token_label(token, label):
    assert token_label(token, NLI) == label


def test_logprobs_distribution_is_normalised_label_mass_with_other_mass():
    candidates = [
        ("true", lp(0.5)),
        (" True", lp(0.1)),
        ("either", lp(0.12)),
        ("neutral", lp(0.08)),
        ('"', lp(0.15)),
        ("{", lp(0.01)),
    ]
    estimate = read_first_token(candidates, NLI)
    # label mass 0.8: true 0.6, either 0.2, false 0; other = 1 - 0.8 (top-20 rest + tail)
    assert estimate.parsed and estimate.failure == ""
    assert estimate.probabilities == pytest.approx((0.25, 0.0, 0.75))
    assert estimate.other_mass == pytest.approx(0.2)
    assert estimate.extras["label_mass"] == pytest.approx(0.8)
    assert estimate.extras["label_tokens"] == {"true": ["true", " True"], "either":
                                               ["either", "neutral"]}  # fmt: skip
    assert estimate.label == "true"


def test_logprobs_failures():
    assert read_first_token(None, NLI).failure == "no_logprobs"
    assert read_first_token([], NLI).failure == "no_logprobs"
    none = read_first_token([("{", lp(0.9)), ("<think>", lp(0.05)), ("e", lp(0.05))], NLI)
    assert none.failure == "no_label_logprobs"
    assert "'{'" in none.detail and none.probabilities is None
    # a label token whose probability underflows to 0 is no mass
    assert read_first_token([("true", -1e6)], NLI).failure == "no_label_logprobs"
    assert set(LOGPROBS_FAILURES) == {"no_logprobs", "no_label_logprobs"}


def test_logprobs_from_inspect_output_adds_a_sampled_token_outside_the_top_list():
    first = Logprob(
        token="false",
        logprob=lp(0.02),
        top_logprobs=[TopLogprob(token="true", logprob=lp(0.6)),
                      TopLogprob(token="either", logprob=lp(0.3))],
    )  # fmt: skip
    estimate = read_logprobs(Logprobs(content=[first]), NLI)
    assert estimate.probabilities == pytest.approx((0.3 / 0.92, 0.02 / 0.92, 0.6 / 0.92))
    assert estimate.other_mass == pytest.approx(0.08)
    # only the generated token (no top list): its own probability
    alone = Logprob(token=" either", logprob=lp(0.7))
    assert read_logprobs(Logprobs(content=[alone]), NLI).probabilities == (1.0, 0.0, 0.0)
    assert read_logprobs(None, NLI).failure == "no_logprobs"
    assert read_logprobs(Logprobs(content=[]), NLI).failure == "no_logprobs"


def test_logprobs_multi_word_card_labels():
    words = LabelSpace(("not sure", "yes", "no"))
    assert token_label("Not", words) == "not sure"
    assert token_label(" n", words) is None  # 'not sure' and 'no'
    assert token_label("y", words) == "yes"


# --------------------------------------------------------------------------- verbalized


def reading(text: str, **kwargs) -> Estimate:
    return parse_verbalized(text, NLI, **kwargs)


def test_verbalized_the_prompted_format():
    text = json.dumps(
        {"probabilities": {"true": 70, "either": 20, "false": 10}, "explanation": "Because."}
    )
    estimate = reading(text)
    assert estimate.probabilities == pytest.approx((0.2, 0.1, 0.7))
    assert estimate.raw_sum == 100
    assert estimate.extras == {"explanation": "Because.", "scale": "percent"}
    assert estimate.label == "true" and estimate.detail == ""


@pytest.mark.parametrize(
    ("text", "expected", "raw_sum"),
    [
        # percentages as strings, any case, synonyms as keys
        ('{"probabilities": {"True": "60%", "Neutral": "30 %", "FALSE": "10%"}}',
         (0.3, 0.1, 0.6), 100),
        # fractions summing to 1 read as percent
        ('{"true": 0.5, "either": 0.25, "false": 0.25}', (0.25, 0.25, 0.5), 100),
        # a sum that is not 100: normalised, the raw sum recorded
        ('{"probabilities": {"true": 50, "either": 30, "false": 40}}',
         (30 / 120, 40 / 120, 50 / 120), 120),
        # missing labels read as 0; null too
        ('{"probabilities": {"true": 80, "either": 20}}', (0.2, 0.0, 0.8), 100),
        ('{"probabilities": {"true": 100, "either": null, "false": 0}}', (0.0, 0.0, 1.0), 100),
        # wrappers: fences, text around it, a reasoning block, Python-literal quotes
        ("```json\n{'probabilities': {'true': 40, 'either': 40, 'false': 20,}}\n```",
         (0.4, 0.2, 0.4), 100),
        ("<think>maybe 90 true</think>Here: {\"true\": 25, \"either\": 25, \"false\": 50} ok",
         (0.25, 0.5, 0.25), 100),
        # a list of entries, and a label's own object
        ('[{"label": "true", "probability": 30}, {"label": "false", "probability": "70%"}]',
         (0.0, 0.7, 0.3), 100),
        ('{"true": {"probability": 10}, "either": {"p": 90}}', (0.9, 0.0, 0.1), 100),
        # a stated total beside the labels is not a label
        ('{"true": 20, "either": 30, "false": 50, "total": 100}', (0.3, 0.5, 0.2), 100),
        # no JSON: label: percent lines
        ("true: 55%\n- either: 35%\n**false**: 10%", (0.35, 0.1, 0.55), 100),
        # one value with % makes them all percent (1% + 0.5 + 0.5)
        ('{"true": "1%", "either": 0.5, "false": 0.5}', (0.25, 0.25, 0.5), 2),
        # two identical distributions in one reply
        ('{"true": 60, "either": 40} and again {"true": 60, "either": 40}',
         (0.4, 0.0, 0.6), 100),
    ],
)  # fmt: skip
def test_verbalized_accepted_forms(text, expected, raw_sum):
    estimate = reading(text)
    assert estimate.failure == "", estimate.detail
    assert estimate.probabilities == pytest.approx(expected)
    assert estimate.raw_sum == pytest.approx(raw_sum)
    assert math.fsum(estimate.probabilities) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "kwargs", "failure"),
    [
        ("", {}, "empty"),
        ("   \n", {}, "empty"),
        ("<think>hmm</think>", {}, "empty"),
        ("", {"stop_reason": "content_filter"}, "refused"),
        ("I cannot help with that.", {"stop_reason": "content_filter"}, "refused"),
        ('{"probabilities": {"true": 70, "either": 2', {}, "truncated"),
        ("<think>the statement is", {}, "truncated"),
        ("The probabilities are", {"stop_reason": "max_tokens"}, "truncated"),
        ("I think it is probably true.", {}, "no_distribution"),
        ('{"label": "true", "explanation": "it is"}', {}, "no_distribution"),
        ("{,,,:}", {}, "bad_json"),
        ('{"true": "high", "false": "low"}', {}, "bad_probability"),
        ('{"true": -10, "false": 110}', {}, "bad_probability"),
        ('{"true": 150, "false": 20}', {}, "bad_probability"),
        ('{"true": true, "false": false}', {}, "bad_probability"),
        ('{"true": [70], "false": 30}', {}, "bad_probability"),
        ('{"true": 60, "maybe": 40}', {}, "unknown_label"),
        ('[{"label": "true", "probability": 60}, {"label": "maybe", "probability": 40}]', {},
         "unknown_label"),
        ('{"true": 0, "either": 0, "false": 0}', {}, "zero_sum"),
        ('{"true": 60, "either": 40} {"true": 10, "either": 90}', {}, "conflicting"),
        ('{"true": 60, "entailment": 40}', {}, "conflicting"),
    ],
)  # fmt: skip
def test_verbalized_failures(text, kwargs, failure):
    estimate = reading(text, **kwargs)
    assert estimate.failure == failure, estimate.detail
    assert estimate.probabilities is None and estimate.detail


def test_verbalized_failure_list_covers_every_category_and_never_raises():
    seen = {
        reading(text, **kwargs).failure
        for text, kwargs, _ in test_verbalized_failures.pytestmark[0].args[1]
    }
    assert seen | {"parser_error"} == set(VERBALIZED_FAILURES)
    assert reading(None).failure == "empty"
    assert reading(b'{"true": 100}').probabilities == (0.0, 0.0, 1.0)
    assert parse_verbalized("{" * 5000, NLI).failure in VERBALIZED_FAILURES


# ------------------------------------------------------------------------------ prompts


def test_estimator_prompts_keep_the_task_instructions_and_change_the_format():
    for estimator, request in (("logprobs", LOGPROBS_REQUEST), ("verbalized", VERBALIZED_REQUEST)):
        prompt = estimator_prompt(estimator, SYSTEM_PROMPT, USER_PROMPT_TEMPLATE, LABELS)
        assert prompt.user == USER_PROMPT_TEMPLATE + "\n\n" + request
        assert prompt.system.startswith("You are an expert at natural language inference tasks.\n")
        assert '"classification"' not in prompt.system  # Figure 6's JSON format is replaced
        assert "{" not in request and "}" not in request
        assert all(label in prompt.system for label in LABELS)
    logprobs = estimator_prompt("logprobs", SYSTEM_PROMPT, USER_PROMPT_TEMPLATE, LABELS)
    verbalized = estimator_prompt("verbalized", SYSTEM_PROMPT, USER_PROMPT_TEMPLATE, LABELS)
    assert "either, false, true" in logprobs.system
    assert '"probabilities": {\n    "either": ...,' in verbalized.system
    assert len({logprobs.version, verbalized.version}) == 2 and len(logprobs.version) == 12
    with pytest.raises(ValueError, match="no prompt variant"):
        estimator_prompt("sampling", SYSTEM_PROMPT, USER_PROMPT_TEMPLATE, LABELS)


def test_split_request_recognises_the_estimator_paragraph():
    filled = "Context: a {b} c"
    assert split_request(filled) == (None, filled)
    assert split_request(filled + "\n\n" + LOGPROBS_REQUEST) == ("logprobs", filled)
    assert split_request(filled + "\n\n" + VERBALIZED_REQUEST) == ("verbalized", filled)
    assert role_line("\n\n  You are X.\nMore") == "You are X."
    assert role_line("") == ""


def test_a_system_prompt_without_a_role_line():
    prompt = estimator_prompt("logprobs", "", "{text}", ("yes", "no"))
    assert prompt.system.startswith("Start your reply with the label")


# ----------------------------------------------------------------------- offline answers


def test_sharpen_by_hand():
    # T = 0.5 squares: 0.04, 0.09, 0.25 over 0.38
    assert sharpen((0.2, 0.3, 0.5), 0.5) == pytest.approx((0.04 / 0.38, 0.09 / 0.38, 0.25 / 0.38))
    assert sharpen((0.2, 0.3, 0.5), 1.0) == pytest.approx((0.2, 0.3, 0.5))
    # T = 2: square roots
    roots = (math.sqrt(0.2), math.sqrt(0.3), math.sqrt(0.5))
    assert sharpen((0.2, 0.3, 0.5), 2) == pytest.approx(tuple(r / sum(roots) for r in roots))
    assert sharpen((0.4, 0.2, 0.4), 0) == (0.5, 0.0, 0.5)  # argmax, ties shared
    assert sharpen((0.0, 0.1, 0.9), 0.5)[0] == 0.0
    assert sharpen((2, 3, 5)) == pytest.approx((0.2, 0.3, 0.5))  # counts are fine
    for bad in (-1, float("nan"), "1", True):
        with pytest.raises(ValueError, match="temperature"):
            sharpen((0.5, 0.5), bad)
    with pytest.raises(ValueError, match="not a distribution"):
        sharpen((0.0, 0.0), 1)


def test_offline_logprobs_answer_reads_back_to_the_distribution():
    distribution = (0.3, 0.0, 0.7)
    assert top_logprobs(LABELS, distribution) == [("true", lp(0.7)), ("either", lp(0.3))]
    text, logprobs = logprobs_reply(LABELS, distribution)
    assert text == "true"
    estimate = read_logprobs(logprobs, NLI)
    assert estimate.probabilities == pytest.approx(distribution, abs=1e-15)
    assert estimate.other_mass == pytest.approx(0.0, abs=1e-15)
    # T = 0.5: 0.09 and 0.49 over 0.58
    sharp = read_logprobs(logprobs_reply(LABELS, distribution, 0.5)[1], NLI)
    assert sharp.probabilities == pytest.approx((0.09 / 0.58, 0.0, 0.49 / 0.58))
    # a tie: the generated token is the first label
    assert logprobs_reply(LABELS, (0.5, 0.0, 0.5))[0] == "either"


def test_offline_verbalized_answer_reads_back_to_the_distribution():
    distribution = (0.1, 0.2, 0.7)
    reply = verbalized_reply(LABELS, distribution)
    assert json.loads(reply)["probabilities"] == pytest.approx({"either": 10, "false": 20,
                                                                "true": 70})  # fmt: skip
    estimate = parse_verbalized(reply, NLI)
    assert estimate.probabilities == pytest.approx(distribution, abs=1e-15)
    assert estimate.raw_sum == pytest.approx(100)
    # T = 0.5: 0.01, 0.04, 0.49 over 0.54
    sharp = parse_verbalized(verbalized_reply(LABELS, distribution, 0.5), NLI)
    assert sharp.probabilities == pytest.approx((0.01 / 0.54, 0.04 / 0.54, 0.49 / 0.54))


# --------------------------------------------------------------------- an estimator run


def run_rows(estimator: str, replies: list[tuple[str, int, tuple[float, ...] | None]]):
    """Annotation-table rows of one run: (item, epoch, distribution or None for a failure)."""

    rows = []
    for item, epoch, dist in replies:
        label = LABELS[max(range(3), key=lambda i: (dist[i], -i))] if dist else "error"
        row = {"sent_id": item, "participant": "m", "trial": epoch, "estimator": estimator,
               "parsed": dist is not None, "class_simple": label}  # fmt: skip
        for i, name in enumerate(LABELS):
            row[f"p_{name}"] = dist[i] if dist else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def reference_of(counts: dict[str, tuple[float, ...]]):
    from types import SimpleNamespace

    from inspect_partynli import metrics

    values = np.array(list(counts.values()), dtype=float)
    return SimpleNamespace(uids=np.array(list(counts)), counts=values,
                           entropy=metrics.entropy(values))  # fmt: skip




def conventions():
    from types import SimpleNamespace

    return SimpleNamespace(kl_epsilon=1e-10, ddof=1, log_base=None)


def test_an_estimator_run_is_the_mean_over_its_epochs_with_the_spread():
    from inspect_partynli.estimators.evaluation import compare, item_distributions

    rows = run_rows("logprobs", [
        ("a", 1, (0.2, 0.3, 0.5)), ("a", 2, (0.4, 0.3, 0.3)),
        ("b", 1, (0.0, 1.0, 0.0)), ("b", 2, None),
        ("c", 1, None),
    ])  # fmt: skip
    run = item_distributions(rows, LABELS)
    assert list(run.items) == ["a", "b"]  # c has no parsed reply
    assert run.distribution == pytest.approx(np.array([[0.3, 0.3, 0.4], [0.0, 1.0, 0.0]]))
    assert list(run.epochs) == [2, 1]
    # spread of a: std (ddof 1) of (0.2, 0.4) = 0.1414, of (0.3, 0.3) = 0, of (0.5, 0.3)
    assert run.spread[0] == pytest.approx((2 * 0.2 / math.sqrt(2)) / 3)
    assert math.isnan(run.spread[1])
    # humans: a = 3/3/4 (the run's mean exactly), b = 0/5/5, d is not in the run
    reference = reference_of({"a": (3, 3, 4), "b": (0, 5, 5), "d": (1, 1, 1)})
    record = compare(run, reference, conventions())
    assert record["n_items"] == 2 and record["n_trials"] == 2
    h_a = -(0.3 * math.log(0.3) * 2 + 0.4 * math.log(0.4))
    assert record["H"] == pytest.approx(h_a / 2)
    assert record["H_std"] == pytest.approx(h_a / math.sqrt(2))
    # JS(b): m = (0, .75, .25); KL(p||m) = log(4/3); KL(q||m) = .5 log(.5/.75) + .5 log 2
    js_b = math.sqrt((math.log(4 / 3) + 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(2)) / 2)
    assert record["JS"] == pytest.approx(js_b / 2)
    # KL(human || model) of b (smoothed by 1e-10): .5 log(.5 / 1) + .5 log(.5 / 1e-10); a: 0
    kl_b = 0.5 * math.log(0.5) + 0.5 * math.log(0.5 / 1e-10)
    assert record["KL_pq"] == pytest.approx(kl_b / 2, rel=1e-6)
    assert record["KL_qp"] == pytest.approx(math.log(1 / 0.5) / 2, rel=1e-6)
    # majority: a true/true, b false (tie false-true -> false) / false
    assert record["agree"] == 1.0
    assert record["parse_rate"] == pytest.approx(3 / 5)
    assert record["estimator"] == "logprobs"


def test_a_sampling_run_is_its_label_shares():
    from inspect_partynli.estimators.evaluation import compare, item_distributions

    rows = run_rows("sampling", [
        ("a", 1, (0, 0, 1)), ("a", 2, (0, 0, 1)), ("a", 3, (1, 0, 0)), ("a", 4, None),
    ]).drop(columns=["estimator", "p_either", "p_false", "p_true"])  # fmt: skip
    run = item_distributions(rows, LABELS)
    assert run.estimator == "sampling"
    assert run.distribution == pytest.approx(np.array([[1 / 3, 0, 2 / 3]]))
    record = compare(run, reference_of({"a": (1, 0, 2)}), conventions())
    assert record["JS"] == 0 and record["agree"] == 1.0 and math.isnan(record["spread"])


def test_estimator_rows_need_their_probability_columns_and_one_estimator():
    from inspect_partynli.estimators.evaluation import item_distributions

    rows = run_rows("verbalized", [("a", 1, (0.2, 0.3, 0.5))])
    with pytest.raises(ValueError, match="p_true"):
        item_distributions(rows.drop(columns=["p_true"]), LABELS)
    mixed = pd.concat([rows.assign(estimator="logprobs"), rows])
    with pytest.raises(ValueError, match="one estimator"):
        item_distributions(mixed, LABELS)


# ----------------------------------------------------------------------------- the Score


def test_estimate_score_keeps_the_annotation_keys_and_adds_flat_probabilities():
    from inspect_partynli.estimators.scoring import estimate_score, read_reply
    from inspect_partynli.scorer import VALUE_KEYS

    text, logprobs = logprobs_reply(LABELS, (0.3, 0.0, 0.7))
    output = ModelOutput.from_content(model="m", content=text + "\nBecause of X.")
    output.choices[0].logprobs = logprobs
    score = estimate_score(
        read_reply("logprobs", output, NLI), {"temperature": 0.5}, completion=output.completion
    )
    assert set(VALUE_KEYS) <= set(score.value)
    assert score.value["estimator"] == "logprobs"
    assert score.value["p_either"] == pytest.approx(0.3)
    assert score.value["p_false"] == 0.0 and score.value["p_true"] == pytest.approx(0.7)
    assert score.value["label"] == "true" and score.value["parsed"] == 1
    assert score.value["temperature"] == 0.5 and score.value["raw_sum"] is None
    assert score.value["other_mass"] == pytest.approx(0.0, abs=1e-12)
    assert score.explanation == "Because of X." and score.answer == "true"
    # metadata: the estimator's extras only, nothing the Score already says
    assert set(score.metadata) == {"label_tokens", "label_mass"}
    assert score.metadata["label_tokens"] == {"true": ["true"], "either": ["either"]}
    assert score.metadata["label_mass"] == pytest.approx(1.0)

    failed = estimate_score(read_reply("logprobs", ModelOutput.from_content("m", "true"), NLI))
    assert failed.value["failure"] == "no_logprobs" and failed.value["parsed"] == 0
    assert failed.value["label"] == "error" and failed.value["p_true"] is None
    assert failed.explanation.startswith("parse error (no_logprobs): ")
    assert "explanation" not in failed.metadata and "failure_detail" not in failed.metadata

    reply = ModelOutput.from_content("m", verbalized_reply(LABELS, (0.1, 0.2, 0.7)))
    verbal = estimate_score(read_reply("verbalized", reply, NLI))
    assert verbal.value["raw_sum"] == pytest.approx(100) and verbal.value["other_mass"] is None
    assert verbal.value["p_false"] == pytest.approx(0.2)
    cut = ModelOutput.from_content("m", '{"probabilities": {"true": 4', stop_reason="max_tokens")
    assert estimate_score(read_reply("verbalized", cut, NLI)).value["failure"] == "truncated"
