"""The label vocabulary: order, NLI mapping, multi-labels and the study's single-label rule."""

from __future__ import annotations

import itertools

import pytest

from inspect_partynli.labels import (
    ERROR_LABEL,
    LABEL_INDEX,
    LABEL_TO_NLI,
    LABELS,
    NLI_TO_LABEL,
    multi_label,
    single_label,
    split_multi_label,
)


def test_alphabetical_order_and_index():
    assert LABELS == ("either", "false", "true")
    assert LABELS == tuple(sorted(LABELS))
    assert LABEL_INDEX == {"either": 0, "false": 1, "true": 2}
    assert ERROR_LABEL not in LABELS


def test_nli_mapping_both_ways():
    assert NLI_TO_LABEL["entailment"] == NLI_TO_LABEL["e"] == "true"
    assert NLI_TO_LABEL["neutral"] == NLI_TO_LABEL["n"] == "either"
    assert NLI_TO_LABEL["contradiction"] == NLI_TO_LABEL["c"] == "false"
    assert {NLI_TO_LABEL[name]: name for name in LABEL_TO_NLI.values()} == LABEL_TO_NLI


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"true"}, "true"),
        ({"true", "either"}, "either-true"),
        (["true", "false"], "false-true"),
        ({"false", "true", "either"}, "either-false-true"),
        (("either", "either"), "either"),
    ],
)
def test_multi_label_sorted_and_hyphen_joined(labels, expected):
    assert multi_label(labels) == expected


def test_multi_label_rejects_unknown_and_empty():
    with pytest.raises(ValueError, match="unknown label"):
        multi_label({"entailment"})
    with pytest.raises(ValueError, match="at least one"):
        multi_label(set())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("either-true", {"either", "true"}),
        ("true | either", {"either", "true"}),
        ("false", {"false"}),
        (" true|false | either ", {"either", "false", "true"}),
    ],
)
def test_split_multi_label(text, expected):
    assert split_multi_label(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["", "-", "maybe", "true-maybe", "entailment"])
def test_split_multi_label_rejects(text):
    with pytest.raises(ValueError, match="not a multi-label"):
        split_multi_label(text)


def test_round_trip_every_combination():
    for size in (1, 2, 3):
        for combo in itertools.combinations(LABELS, size):
            assert split_multi_label(multi_label(combo)) == frozenset(combo)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"true"}, "true"),
        ({"false"}, "false"),
        ({"either"}, "either"),
        ({"true", "false"}, "either"),
        ({"either", "true"}, "either"),
        ({"either", "false", "true"}, "either"),
        ("either-false", "either"),
        ("true", "true"),
        ("true | false", "either"),
    ],
)
def test_single_label_study_rule(labels, expected):
    """true / false survive only when chosen alone; everything else becomes either."""
    assert single_label(labels) == expected


def test_single_label_rejects():
    with pytest.raises(ValueError, match="unknown single-label rule"):
        single_label({"true"}, rule="majority")
    with pytest.raises(ValueError, match="not a label set"):
        single_label(set())
    with pytest.raises(ValueError, match="not a label set"):
        single_label({"maybe"})
