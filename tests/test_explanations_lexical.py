"""De-lexicalisation, lexical metrics, dispersion and summaries on tiny hand-computed inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from inspect_partynli.explanations.compare import describe, mann_whitney_p, summarise
from inspect_partynli.explanations.delexicalise import delexicalise, ngrams, tokenize
from inspect_partynli.explanations.lexical import (
    jaccard,
    lexical_metrics,
    mean_jaccard_to_others,
    pairwise_jaccard,
    vocabulary_size,
    word_count,
)
from inspect_partynli.explanations.vectors import cosine_distances, dispersion

# --- tokenisation and de-lexicalisation -----------------------------------------------------


def test_tokenize_lowercases_keeps_inner_apostrophes_and_drops_punctuation():
    assert tokenize("You wouldn’t like it, would you? The author's view.") == [
        "you", "wouldn't", "like", "it", "would", "you", "the", "author's", "view",
    ]  # fmt: skip
    assert tokenize("") == []
    assert tokenize(None) == []  # type: ignore[arg-type]


def test_ngrams():
    assert ngrams(["a", "b", "c", "d"], 3) == {("a", "b", "c"), ("b", "c", "d")}
    assert ngrams(["a", "b"], 3) == set()


def test_delexicalise_removes_every_token_covered_by_a_shared_trigram():
    premise, hypothesis = "The cat sat on the mat.", "A dog barked loudly."
    explanation = "The cat sat on the mat, so a dog barked."
    # shared trigrams cover tokens 0-5 (the cat sat on the mat) and 7-9 (a dog barked)
    assert delexicalise(explanation, premise, hypothesis) == ["so"]
    # with n = 4 only "the cat sat on / cat sat on the / sat on the mat" match; "a dog barked"
    # is three tokens long and survives
    assert delexicalise(explanation, premise, hypothesis, n=4) == ["so", "a", "dog", "barked"]


def test_delexicalise_ignores_ngrams_across_the_premise_hypothesis_boundary():
    # "green tea is" occurs only in premise + hypothesis concatenated, not in either one
    assert delexicalise("green tea is nice", "I like green", "tea is hot") == [
        "green", "tea", "is", "nice",
    ]  # fmt: skip


def test_delexicalise_keeps_short_explanations_and_is_case_insensitive():
    assert delexicalise("Yes, sure", "yes sure thing", "") == ["yes", "sure"]
    assert delexicalise("ARE YOU SURE", "are you sure?", "") == []
    with pytest.raises(ValueError):
        delexicalise("a b c", "a b c", "", n=0)


# --- lexical metrics ---------------------------------------------------------------------------


def test_word_count_vocabulary_and_jaccard():
    tokens = ["a", "b", "a", "c"]
    assert word_count(tokens) == 4
    assert vocabulary_size(tokens) == 3
    assert jaccard(["a", "b", "c"], ["b", "c", "d"]) == 0.5
    assert jaccard(["a"], ["b"]) == 0.0
    assert math.isnan(jaccard([], []))


def test_pairwise_and_mean_jaccard():
    lists = [["a", "b"], ["b", "c"], ["d"], []]
    matrix = pairwise_jaccard(lists)
    assert matrix[0, 1] == pytest.approx(1 / 3)
    assert matrix[0, 2] == 0.0 and matrix[2, 3] == 0.0
    assert np.isnan(np.diag(matrix)).all()
    means = mean_jaccard_to_others(lists)
    np.testing.assert_allclose(means, [1 / 9, 1 / 9, 0.0, 0.0])
    assert np.isnan(mean_jaccard_to_others([[], []])).all()
    assert np.isnan(mean_jaccard_to_others([["a"]])).all()


def test_lexical_metrics_compare_within_item_and_pool_only():
    frame = pd.DataFrame(
        {
            "sent_id": ["i1", "i1", "i1", "i2"],
            "pool": ["humans", "humans", "participants", "humans"],
            "label": ["true", "false", "true", "true"],
            "tokens": [["a", "b"], ["b", "c"], ["a", "b"], ["a", "b"]],
        }
    )
    out = lexical_metrics(frame)
    assert out["wc"].tolist() == [2, 2, 2, 2]
    assert out["V"].tolist() == [2, 2, 2, 2]
    np.testing.assert_allclose(out["JAC"].iloc[:2], [1 / 3, 1 / 3])
    assert out["JAC"].iloc[2:].isna().all()  # alone in its (pool, item)
    by_label = lexical_metrics(frame, by_label=True)
    assert by_label["JAC"].isna().all()


# --- vector dispersion -------------------------------------------------------------------------


def test_dispersion_hand_computed():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    d = 1 - 1 / math.sqrt(2)  # cosine distance between (1,0) and (1,1)
    result = dispersion(vectors)
    assert result["n"] == 3 and result["n_zero"] == 0
    assert result["D_pair"] == pytest.approx((1 + 2 * d) / 3)
    # centroid (2/3, 2/3) points along (1, 1)
    assert result["D_cent"] == pytest.approx(2 * d / 3)
    assert result["D_max"] == pytest.approx(1.0)


def test_dispersion_sparse_matches_dense_and_drops_zero_vectors():
    dense = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0], [0.0, 0.0, 0.0], [2.0, 2.0, 0.0]])
    a = dispersion(dense)
    b = dispersion(sparse.csr_matrix(dense))
    assert a["n"] == b["n"] == 3 and a["n_zero"] == b["n_zero"] == 1
    for key in ("D_pair", "D_cent", "D_max"):
        assert a[key] == pytest.approx(b[key])
    assert a["D_pair"] == pytest.approx(dispersion(dense[[0, 1, 3]])["D_pair"])


def test_dispersion_edge_cases():
    assert np.isnan(dispersion(np.array([[1.0, 2.0]]))["D_pair"])
    identical = dispersion(np.array([[1.0, 2.0], [2.0, 4.0]]))
    assert identical["D_pair"] == pytest.approx(0.0) and identical["D_max"] == pytest.approx(0.0)
    opposite = dispersion(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert opposite["D_max"] == pytest.approx(2.0)
    assert np.isnan(opposite["D_cent"])  # zero centroid has no direction


def test_cosine_distances_matrix():
    matrix = cosine_distances(np.array([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_allclose(matrix, [[0.0, 1.0], [1.0, 0.0]])


# --- summaries and the test of difference -----------------------------------------------------


def test_describe_and_mann_whitney():
    stats = describe([1, 2, 3, 4, np.nan])
    assert stats == {"n": 4, "median": 2.5, "q1": 1.75, "q3": 3.25, "mean": 2.5}
    assert describe([])["n"] == 0 and math.isnan(describe([])["median"])
    # completely separated samples of 5: exact two-sided p = 2 / C(10, 5)
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert mann_whitney_p([1, 1], [1, 1]) == 1.0
    assert math.isnan(mann_whitney_p([], [1.0]))


def test_summarise_adds_p_values_against_humans():
    long = pd.DataFrame(
        {
            "group": ["humans"] * 5 + ["m"] * 5,
            "kind": ["pool"] * 5 + ["participant"] * 5,
            "metric": "wc",
            "representation": "lexical",
            "encoder": "words",
            "value": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        }
    )
    summary = summarise(long).set_index("group")
    assert math.isnan(summary.at["humans", "p_value"])
    assert summary.at["m", "p_value"] == pytest.approx(2 / 252)
    assert summary.at["m", "median"] == 8.0 and summary.at["m", "n"] == 5
