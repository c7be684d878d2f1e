"""The reply parser: every accepted spelling, every failure category, and a fuzz test."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_partynli import parsing
from inspect_partynli.labels import LABELS, multi_label, single_label
from inspect_partynli.parsing import FAILURE_REASONS, parse_reply

PREMISE = "The cat sat on the mat near the door."
HYPOTHESIS = "A dog sat on the mat."
EMPTY_SPANS = {"context": [], "statement": []}


def answer(label: object = "either-true", explanation: str = "Because.", **extra: object) -> dict:
    """A well-formed reply object (highlights included unless overridden)."""
    reply: dict = {
        "classification": {"label": label, "explanation": explanation},
        "highlights": {"context": "The <<cat>> sat", "statement": "A <<dog>> sat"},
    }
    reply.update(extra)
    return reply


VALID = json.dumps(answer())


def parse(text, **kwargs):
    return parse_reply(text, PREMISE, HYPOTHESIS, **kwargs)


def assert_parsed(reply, multi: str, *, explanation: str | None = None) -> None:
    assert reply.parsed is True, reply.detail
    assert reply.failure == ""
    assert reply.multi_label == multi
    assert reply.labels == frozenset(multi.split("-"))
    assert reply.label == single_label(reply.labels)
    if explanation is not None:
        assert reply.explanation == explanation


def assert_failure(reply, reason: str) -> None:
    assert reply.parsed is False
    assert reply.failure == reason, reply.detail
    assert reply.labels == frozenset()
    assert reply.multi_label == "error"
    assert reply.label == "error"
    assert reply.detail  # a human-readable reason is always given


# ------------------------------------------------------------------ the well-formed reply


def test_well_formed_reply_every_field():
    reply = parse(VALID)
    assert reply == parsing.ParsedReply(
        parsed=True,
        labels=frozenset({"either", "true"}),
        multi_label="either-true",
        label="either",
        explanation="Because.",
        highlights={"context": ["cat"], "statement": ["dog"]},
        unmatched_highlights=EMPTY_SPANS,
        failure="",
        detail="",
        raw_label="either-true",
    )


def test_failure_reasons_constant():
    assert FAILURE_REASONS == (
        "empty",
        "truncated",
        "no_json",
        "bad_json",
        "no_label",
        "unknown_label",
        "conflicting",
        "refused",
        "parser_error",
    )


# ------------------------------------------------------------------------------ wrappers


def test_code_fence():
    assert_parsed(parse(f"```json\n{VALID}\n```"), "either-true", explanation="Because.")


def test_bare_code_fence():
    assert_parsed(parse(f"```\n{VALID}\n```"), "either-true")


def test_text_before_and_after():
    assert_parsed(parse(f"Here is my answer:\n{VALID}\nI hope this helps!"), "either-true")


def test_think_block_ignored_even_with_json_inside():
    text = '<think>Maybe {"classification": {"label": "false"}}? No.</think>\n' + VALID
    assert_parsed(parse(text), "either-true")


def test_orphan_closing_think_tag():
    assert_parsed(parse('reasoning {"label": "false"} ...</think>' + VALID), "either-true")


def test_unclosed_think_is_truncated():
    reply = parse("<think>The context says the cat sat, so the statement")
    assert_failure(reply, "truncated")
    assert "never closes" in reply.detail


def test_only_a_think_block_is_empty():
    assert_failure(parse("<think>done thinking</think>\n  "), "empty")


# --------------------------------------------------------------------------- lenient JSON


def test_single_quotes_python_literal():
    text = repr(answer("true", "It's the cat."))
    assert_parsed(parse(text), "true", explanation="It's the cat.")


def test_trailing_commas():
    text = '{"classification": {"label": "false", "explanation": "x",}, "highlights": {},}'
    assert_parsed(parse(text), "false", explanation="x")


def test_python_literals_and_unquoted_keys():
    text = "{classification: {label: 'true', explanation: None}, highlights: {context: None}}"
    reply = parse(text)
    assert_parsed(reply, "true", explanation="")
    assert reply.highlights == EMPTY_SPANS


def test_unescaped_quotes_inside_explanation():
    text = '{"classification": {"label": "true", "explanation": "The word "sat" is shared."}}'
    assert_parsed(parse(text), "true", explanation='The word "sat" is shared.')


def test_raw_newlines_inside_strings():
    text = '{"classification": {"label": "true", "explanation": "line one\nline two"}}'
    assert_parsed(parse(text), "true", explanation="line one\nline two")


def test_json_boolean_label():
    assert_parsed(parse('{"classification": {"label": true}}'), "true")


def test_capitalised_keys():
    assert_parsed(parse('{"Classification": {"Label": "False", "Explanation": "x"}}'), "false")


# ------------------------------------------------------------------ where the label lives


def test_label_at_top_level():
    reply = parse('{"label": "true", "explanation": "x", "highlights": {"context": "<<cat>>"}}')
    assert_parsed(reply, "true", explanation="x")
    assert reply.highlights == {"context": ["cat"], "statement": []}


def test_classification_given_as_a_string():
    assert_parsed(parse('{"classification": "Either", "explanation": "x"}'), "either")


def test_nested_answer_object():
    assert_parsed(parse(json.dumps({"response": answer("false")})), "false")


def test_multiple_objects_take_the_one_with_classification():
    text = '{"note": "format follows"} ' + json.dumps(answer("true")) + ' {"done": true}'
    assert_parsed(parse(text), "true")


def test_identical_repeated_answers_are_accepted():
    reply = parse(VALID + "\n" + VALID)
    assert_parsed(reply, "either-true")
    assert reply.detail == "2 identical answer objects"


def test_conflicting_answers():
    reply = parse(json.dumps(answer("true")) + json.dumps(answer("false")))
    assert_failure(reply, "conflicting")
    assert reply.raw_label == "true; false"


# ------------------------------------------------------------------------ label spellings


@pytest.mark.parametrize(
    ("label", "multi"),
    [
        ("entailment", "true"),
        ("neutral", "either"),
        ("contradiction", "false"),
        ("True", "true"),
        ("EITHER", "either"),
        ("true-false", "false-true"),
        ("true, either", "either-true"),
        ("true | either", "either-true"),
        ("false/true", "false-true"),
        ("true and false", "false-true"),
        ("Neutral, Contradiction", "either-false"),
        (["true", "either"], "either-true"),
        (["Entailment", "", "neutral|false"], "either-false-true"),
        ("true-true", "true"),
        ("either-false-true", "either-false-true"),
        ("either true or false", "either"),
        ("can be either true or false", "either"),
        ("is most likely to be true", "true"),
        ("The statement is most likely false.", "false"),
        ("true: is most likely to be true", "true"),
        ("Label: either", "either"),
        ("entailment: | either", "either-true"),
        ("Contradiction|:entailment", "false-true"),
        ("true (most likely)", "true"),
        ("entailment (true)", "true"),
        ("neutral (either true or false), contradiction", "either-false"),
        ("either (can be either true or false)", "either"),
        ("**false**", "false"),
        ("\u201ctrue\u201d", "true"),
    ],
)
def test_label_spelling(label, multi):
    reply = parse(json.dumps(answer(label)))
    assert_parsed(reply, multi)
    assert reply.raw_label == (label if isinstance(label, str) else json.dumps(label))


@pytest.mark.parametrize(
    "label",
    [
        "none",
        "unknown",
        "maybe",
        "true-maybe",
        "e",
        "c",
        "42",
        3,
        "true: is most likely false",  # the option's text contradicts its name
        "true (false)",  # so does the parenthesis
        "entailment (is most likely false)",
        "can be either true or :false",  # "X: label" only after a key word such as "label"
    ],
)
def test_unknown_label(label):
    reply = parse(json.dumps(answer(label)))
    assert_failure(reply, "unknown_label")
    assert reply.raw_label == str(label)


@pytest.mark.parametrize("label", ["", "  ", None, [], ["", " "]])
def test_empty_label_is_no_label(label):
    assert_failure(parse(json.dumps(answer(label))), "no_label")


def test_missing_label_field_is_no_label():
    assert_failure(parse('{"classification": {"explanation": "x"}}'), "no_label")


def test_json_without_classification_is_no_label():
    assert_failure(parse('{"answer": "yes", "confidence": 0.9}'), "no_label")


def test_bare_label_without_json():
    reply = parse("Either-True.")
    assert_parsed(reply, "either-true", explanation="")
    assert reply.detail == "bare label, no JSON"


# ---------------------------------------------------------------------------- highlights


def test_missing_highlights_still_parsed():
    reply = parse('{"classification": {"label": "true", "explanation": "x"}}')
    assert_parsed(reply, "true")
    assert reply.highlights == EMPTY_SPANS
    assert reply.unmatched_highlights == EMPTY_SPANS


def test_several_spans_and_unmatched_spans():
    text = json.dumps(
        answer(
            "true",
            highlights={
                "context": "The <<cat>> sat on <<the  MAT>> and <<a bird>>",
                "statement": "<<A dog>> <<purred>>",
            },
        )
    )
    reply = parse(text)
    assert reply.highlights == {
        "context": ["cat", "the  MAT", "a bird"],
        "statement": ["A dog", "purred"],
    }
    # case and whitespace are ignored when matching; "a bird" and "purred" are not there
    assert reply.unmatched_highlights == {"context": ["a bird"], "statement": ["purred"]}


def test_highlights_as_lists_and_key_aliases():
    text = json.dumps(answer("true", highlights={"premise": ["cat", "<<mat>>"], "hypothesis": []}))
    reply = parse(text)
    assert reply.highlights == {"context": ["cat", "mat"], "statement": []}


def test_unmatched_not_checked_without_source_text():
    reply = parse_reply(json.dumps(answer("true")))
    assert reply.highlights == {"context": ["cat"], "statement": ["dog"]}
    assert reply.unmatched_highlights == EMPTY_SPANS


def test_highlight_text_without_markers_has_no_spans():
    reply = parse(json.dumps(answer("true", highlights={"context": "cat", "statement": 7})))
    assert reply.highlights == EMPTY_SPANS


# ---------------------------------------------------------------------- failure categories


@pytest.mark.parametrize("text", ["", "   \n\t", None])
def test_empty(text):
    assert_failure(parse(text), "empty")


def test_no_json():
    assert_failure(parse("I think the statement is probably true."), "no_json")


def test_non_string_input_is_tolerated():
    assert_failure(parse(12345), "no_json")
    assert_parsed(parse(VALID.encode()), "either-true")


def test_bad_json():
    assert_failure(parse('{"classification": {"label": "true"}, "highlights": ::}'), "bad_json")


def test_truncated_unbalanced_braces():
    reply = parse(VALID[:40])
    assert_failure(reply, "truncated")
    assert reply.raw_label == ""


def test_truncated_after_a_complete_classification_keeps_the_raw_label():
    text = (
        '{"classification": {"label": "true", "explanation": "x"}, "highlights": {"context": "<<c'
    )
    reply = parse(text)
    assert_failure(reply, "truncated")
    assert reply.raw_label == "true"
    assert "'true'" in reply.detail


@pytest.mark.parametrize("stop_reason", ["max_tokens", "model_length"])
def test_length_stop_without_an_answer_is_truncated(stop_reason):
    reply = parse("Let me look at the context first. The", stop_reason=stop_reason)
    assert_failure(reply, "truncated")
    assert stop_reason in reply.detail


def test_length_stop_with_a_complete_answer_is_parsed():
    assert_parsed(parse(VALID, stop_reason="max_tokens"), "either-true")


def test_content_filter():
    assert_failure(parse("I can't help with that.", stop_reason="content_filter"), "refused")


def test_content_filter_without_text_is_refused_not_empty():
    assert_failure(parse("", stop_reason="content_filter"), "refused")
    assert_failure(parse("  ", stop_reason="stop"), "empty")


def test_internal_error_becomes_parser_error(monkeypatch):
    def boom(*args):
        raise RuntimeError("bug")

    monkeypatch.setattr(parsing, "_parse", boom)
    reply = parse(VALID)
    assert_failure(reply, "parser_error")
    assert reply.detail == "internal parser error: RuntimeError: bug"


# --------------------------------------------------------------------------- truncation


def test_truncation_at_every_position():
    """Every proper prefix of a reply is 'truncated' (or 'empty'); the whole is parsed."""
    assert_parsed(parse(VALID), "either-true")
    for cut in range(len(VALID)):
        assert_failure(parse(VALID[:cut]), "empty" if cut == 0 else "truncated")


def test_truncation_of_a_fenced_reply_with_a_length_stop():
    text = f"```json\n{VALID}\n```"
    end = text.index(VALID) + len(VALID)
    for cut in range(1, len(text) + 1):
        reply = parse(text[:cut], stop_reason="max_tokens")
        if cut < end:
            assert_failure(reply, "truncated")
        else:
            assert_parsed(reply, "either-true")


# ------------------------------------------------------------------------------- fuzzing

SPELLINGS = ["true", "False", "EITHER", "entailment", "neutral", "contradiction", "none", ""]
JUNK = list("{}[]\"',:<>\\`") + ["<<", ">>", "```", "<think>", "</think>", "\n"]


@st.composite
def malformed_replies(draw) -> str:
    """A valid-looking reply in some style, then up to 4 random mutations."""
    labels = draw(st.lists(st.sampled_from(SPELLINGS), max_size=3))
    label = draw(st.sampled_from(["-", ", ", "|", " and "])).join(labels)
    reply = answer(label, draw(st.text(max_size=30)))
    style = draw(st.sampled_from([json.dumps, repr, lambda r: json.dumps(r).replace("}", ",}")]))
    wrapper = draw(
        st.sampled_from(["%s", "```json\n%s\n```", "Answer: %s Done.", "<think>x</think>%s"])
    )
    text = wrapper.replace("%s", style(reply))
    for op in draw(st.lists(st.sampled_from("tdiuhw"), max_size=4)):
        pos = draw(st.integers(0, len(text)))
        if op == "t":
            text = text[:pos]
        elif op == "d":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)) :]
        elif op == "i":
            text = text[:pos] + draw(st.sampled_from(JUNK)) + text[pos:]
        elif op == "u":
            text = text[:pos] + draw(st.text(max_size=20)) + text[pos:]
        elif op == "h":
            text = text * draw(st.integers(2, 200))
        else:
            text = text.replace(label, draw(st.sampled_from(SPELLINGS)), 1) if label else text
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=malformed_replies(), stop_reason=st.sampled_from([None, "stop", "max_tokens"]))
def test_fuzz_never_raises_and_always_classifies(text, stop_reason):
    reply = parse(text, stop_reason=stop_reason)
    if reply.parsed:
        assert reply.failure == ""
        assert reply.labels and reply.labels <= set(LABELS)
        assert reply.multi_label == multi_label(reply.labels)
        assert reply.label == single_label(reply.labels)
    else:
        assert reply.failure in FAILURE_REASONS
        assert reply.failure != "parser_error", reply.detail
        assert reply.multi_label == reply.label == "error"


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_fuzz_arbitrary_text(text):
    reply = parse(text)
    assert reply.parsed or reply.failure in FAILURE_REASONS[:-1]


def test_deep_nesting_and_huge_inputs():
    assert_failure(parse("{" * 20_000), "truncated")
    assert_failure(parse("[" * 5_000 + "]" * 5_000), "no_json")
    assert_failure(parse("{" * 3_000 + "}" * 3_000), "bad_json")
    assert_parsed(parse("x" * 1_000_000 + VALID), "either-true")


def test_benchmark_corpus_small_version():
    """The benchmark's seeded generator, 300 replies: no exception, every result classified."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "parser_fuzz.py"
    spec = importlib.util.spec_from_file_location("parser_fuzz", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(n=300, seed=1)
    assert result["exceptions"] == []
    assert set(result["outcomes"]) <= {"parsed", *FAILURE_REASONS} - {"parser_error"}
    assert sum(result["outcomes"].values()) == 300
    # the corpus holds only malformed replies: the exact prompt format is drawn again
    strict = json.dumps(answer("either-true"))
    assert module.is_well_formed(strict)
    assert not module.is_well_formed(f"```json\n{strict}\n```")
    assert not module.is_well_formed(json.dumps(answer("true-either")))
    assert not module.is_well_formed(json.dumps(answer(["true"])))
    assert not module.is_well_formed(strict[:-1])


# ------------------------------------------------------------- linear-time forms (issue 10)
# The regexes that used to backtrack are replaced by one-pass scans; these tests pin that the
# scans give exactly what the regexes gave (timing is the benchmark's job:
# benchmarks/parser_fuzz.py times the pathological families at up to 1 MB).
_OLD_THINK_BLOCK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.IGNORECASE | re.DOTALL)
_OLD_SPAN = re.compile(r"<<(.*?)>>", re.DOTALL)


def _old_strip_reasoning(text: str) -> tuple[str, bool]:
    """The regex version of ``_strip_reasoning`` (quadratic on unclosed tags)."""
    text = _OLD_THINK_BLOCK.sub(" ", text)
    closes = list(re.finditer(r"</(think|thinking|reasoning)>", text, re.IGNORECASE))
    if closes:
        text = text[closes[-1].end() :]
    opened = re.search(r"<(think|thinking|reasoning)>", text, re.IGNORECASE)
    return (text[: opened.start()], True) if opened else (text, False)


_TAG_PIECES = ["<think>", "</think>", "<Thinking>", "</thinking>", "<reasoning>",
               "</REASONING>", "a", "b ", "<think", "ing>", "<<", ">>", "x"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TAG_PIECES), max_size=16))
def test_reasoning_blocks_as_the_regex_removed_them(pieces):
    text = "".join(pieces)
    assert parsing._strip_reasoning(text) == _old_strip_reasoning(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["<<", ">>", "<", ">", "a", " ", "<<<", ">>>"]), max_size=16))
def test_highlight_spans_as_the_regex_found_them(pieces):
    text = "".join(pieces)
    expected = [s.strip() for s in _OLD_SPAN.findall(text) if s.strip()]
    assert parsing._marked_spans(text) == expected


def test_pathological_replies_are_classified():
    """The issue's families: each gets its proper outcome (and, in the benchmark, linear time)."""
    many_spans = json.dumps(answer(highlights={"context": "<<" * 16_000, "statement": ""}))
    assert_parsed(parse(many_spans), "either-true")
    assert_failure(parse("<think>" * 16_000), "truncated")
    assert_failure(parse("<think>x" * 8_000 + "</thinking>" * 8_000), "empty")
    assert_failure(parse("<think>x</thinking>" * 8_000), "empty")
    assert_parsed(parse("<THINK>" * 8_000 + "</think>" + VALID), "either-true")


@pytest.mark.parametrize("depth", [250, 900])
def test_explanation_nested_deep_in_lists_is_read_without_recursion(depth):
    reply = ('{"classification": {"label": "true", "explanation": '
             + "[" * depth + '"deep", ["er"]' + "]" * depth + "}}")  # fmt: skip
    assert_parsed(parse(reply), "true", explanation="deep er")


def test_as_text_joins_every_level():
    value = {"a": [1, {"b": ""}, ["x", None, {"c": "d"}]], "e": {}, "f": " g "}
    assert parsing._as_text(value) == "a: 1 x c: d f: g"
    nested: object = "bottom"
    for _ in range(100_000):  # far past the recursion limit
        nested = [nested]
    assert parsing._as_text(nested) == "bottom"


def test_caps_on_work_per_reply():
    # a label thousands of characters long is not a label (and is not tokenised)
    assert_failure(parse(json.dumps(answer("(" * 5_000))), "unknown_label")
    assert_failure(parse("true (" * 5_000), "no_json")  # nor is a bare "label" that long
    spans = "".join(f"<<s{i}>>" for i in range(5_000))
    reply = parse(json.dumps(answer(highlights={"context": spans, "statement": ""})))
    assert len(reply.highlights["context"]) == parsing._MAX_SPANS
    huge = parse(" " * (parsing._MAX_REPLY_CHARS + 1) + VALID)
    assert_failure(huge, "bad_json")
    assert "limit" in huge.detail
