"""The label metrics: hand-computed cases, edge cases, and equality with scipy / krippendorff."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.spatial.distance import jensenshannon

from inspect_partynli import metrics as M

RNG = np.random.default_rng(12345)


def _random_counts(n: int, k: int = 3) -> np.ndarray:
    counts = RNG.integers(0, 6, size=(n, k)).astype(float)
    counts[counts.sum(axis=1) == 0, 0] = 1.0
    return counts


# ---------------------------------------------------------------------------- entropy
def test_entropy_hand_computed():
    counts = [[5, 5, 0], [10, 0, 0], [1, 1, 1], [1, 3, 0]]
    expected = [math.log(2), 0.0, math.log(3), -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))]
    np.testing.assert_allclose(M.entropy(counts), expected, rtol=1e-12)
    assert M.entropy([[1, 1, 0]], base=2)[0] == pytest.approx(1.0)


def test_entropy_all_annotators_agree_and_single_annotator_are_zero():
    assert M.entropy([[0, 0, 7]])[0] == 0.0  # everyone agrees
    assert M.entropy([[0, 1, 0]])[0] == 0.0  # a single annotator


def test_entropy_empty_row_is_nan_and_matches_scipy():
    assert np.isnan(M.entropy([[0, 0, 0]])[0])  # all parses failed: no distribution
    counts = _random_counts(300)
    np.testing.assert_allclose(M.entropy(counts), stats.entropy(counts, axis=1), atol=1e-15)


def test_entropy_is_permutation_invariant_bit_for_bit():
    assert M.entropy([[1, 2, 0]])[0] == M.entropy([[2, 0, 1]])[0]


def test_entropy_batch_axes():
    counts = _random_counts(24).reshape(2, 4, 3, 3)
    assert M.entropy(counts).shape == (2, 4, 3)


@pytest.mark.parametrize(
    "bad, message",
    [([[1, -1, 0]], "negative"), ([[1, np.nan, 0]], "NaN"), (3.0, "scalar")],
)
def test_entropy_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        M.entropy(bad)


# ---------------------------------------------------------------------------- JS
def test_js_distance_hand_computed():
    # disjoint one-hot rows: JS^2 = ln 2, identical rows: 0
    values = M.js_distance([[1, 0, 0], [2, 2, 0]], [[0, 3, 0], [1, 1, 0]])
    np.testing.assert_allclose(values, [math.sqrt(math.log(2)), 0.0], atol=1e-12)


def test_js_distance_equals_scipy_exactly():
    p, q = _random_counts(500), _random_counts(500)
    expected = np.array([jensenshannon(a, b) for a, b in zip(p, q, strict=True)])
    assert np.array_equal(M.js_distance(p, q), expected)
    expected2 = np.array([jensenshannon(a, b, base=2) for a, b in zip(p, q, strict=True)])
    assert np.array_equal(M.js_distance(p, q, base=2), expected2)


def test_js_distance_broadcasts_and_handles_empty_rows():
    human = np.array([[4, 6, 0], [8, 0, 2]], dtype=float)
    settings = np.stack([human, human[::-1]])  # shape (2, 2, 3)
    values = M.js_distance(settings, human)
    assert values.shape == (2, 2)
    np.testing.assert_allclose(values[0], 0.0, atol=1e-12)
    assert np.isnan(M.js_distance([[0, 0, 0]], [[1, 0, 0]])[0])
    with pytest.raises(ValueError, match="categories"):
        M.js_distance([[1, 0, 0]], [[1, 0]])


# ---------------------------------------------------------------------------- KL
def test_kl_divergence_hand_computed():
    eps = 1e-10
    # disjoint one-hot rows: p' = (1+e, e, e)/(1+3e), q' = (e, 1+e, e)/(1+3e)
    z = 1 + 3 * eps
    expected = (
        (1 + eps) / z * math.log((1 + eps) / eps)
        + eps / z * math.log(eps / (1 + eps))
        + 0.0  # third label: e/z * log(e/e)
    )
    assert M.kl_divergence([[1, 0, 0]], [[0, 1, 0]])[0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(math.log(1e10), rel=1e-8)
    assert M.kl_divergence([[1, 1, 0]], [[2, 2, 0]])[0] == pytest.approx(0.0, abs=1e-15)
    # without smoothing an unused label makes KL infinite
    assert math.isinf(M.kl_divergence([[1, 0, 0]], [[0, 1, 0]], eps=0)[0])


def test_kl_divergence_equals_scipy_entropy_of_smoothed():
    p, q = _random_counts(200), _random_counts(200)
    pn, qn = p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)
    expected = stats.entropy(pn + 1e-10, qn + 1e-10, axis=1)
    np.testing.assert_allclose(M.kl_divergence(p, q), expected, rtol=1e-12)
    assert np.isnan(M.kl_divergence([[0, 0, 0]], [[1, 0, 0]])[0])
    with pytest.raises(ValueError, match="eps"):
        M.kl_divergence([[1, 0, 0]], [[1, 0, 0]], eps=-1)


# ---------------------------------------------------------------------------- majority, agree
def test_majority_label_ties_go_to_first_label_in_labels_order():
    counts = [[2, 2, 1], [0, 3, 3], [1, 1, 1], [0, 0, 4], [0, 0, 0]]
    assert M.majority_label(counts).tolist() == [0, 1, 0, 2, -1]


def test_agree_hand_computed():
    human = [[3, 1, 0], [0, 1, 2], [5, 5, 0], [1, 0, 0]]
    model = [[1, 0, 0], [0, 2, 0], [4, 4, 0], [0, 0, 0]]  # last item: all parses failed
    assert M.majority_match(human, model)[:3].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(M.majority_match(human, model)[3])
    assert M.agree(human, model) == pytest.approx(2 / 3)
    assert np.isnan(M.agree([[0, 0, 0]], [[1, 0, 0]]))


# ---------------------------------------------------------------------------- consistency
def test_consistency_hand_computed():
    counts = [[5, 0, 0], [2, 3, 0], [1, 1, 1], [0, 0, 0]]  # last: no parsed answer
    assert M.distinct_labels(counts)[:3].tolist() == [1, 2, 3]
    assert M.consistency(counts) == pytest.approx(2.0)
    assert M.consistency([[0, 1, 0]]) == 1.0  # a single trial is perfectly consistent
    assert np.isnan(M.consistency([[0, 0, 0]]))


# ---------------------------------------------------------------------------- alpha
def test_krippendorff_alpha_hand_computed():
    # 2 coders x 4 items: a a b b / a b b b.  n_a = 3, n_b = 5, n = 8, o_aa + o_bb = 6:
    # alpha = 1 - 7 (8 - 6) / (64 - 9 - 25) = 1 - 14/30
    matrix = [["either", "either", "true", "true"], ["either", "true", "true", "true"]]
    assert M.krippendorff_alpha(matrix) == pytest.approx(1 - 14 / 30)


def test_krippendorff_alpha_error_category_or_missing():
    matrix = [["either", "true", "error"], ["either", "true", "true"]]
    # category: n_e = 2, n_t = 3, n_err = 1, n = 6, o_same = 4 -> 1 - 5 * 2 / (36 - 14)
    assert M.krippendorff_alpha(matrix) == pytest.approx(1 - 10 / 22)
    # missing: item 3 is no longer pairable and the rest agree perfectly
    assert M.krippendorff_alpha(matrix, errors="missing") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="errors"):
        M.krippendorff_alpha(matrix, errors="drop")
    with pytest.raises(ValueError, match="unknown label"):
        M.krippendorff_alpha([["yes", "no"], ["yes", "no"]])


def test_krippendorff_alpha_undefined_cases_are_nan():
    # every coder gives the same label on every item: D_e = 0, alpha undefined
    assert np.isnan(M.krippendorff_alpha([["true", "true"], ["true", "true"]]))
    # a single coder: nothing is pairable
    assert np.isnan(M.krippendorff_alpha([["true", "false", "either"]]))
    # all parses failed: one value (error) or nothing left
    failed = [["error", "error"], ["error", "error"]]
    assert np.isnan(M.krippendorff_alpha(failed))
    assert np.isnan(M.krippendorff_alpha(failed, errors="missing"))
    # everyone agrees, but on different labels for different items: perfect reliability
    assert M.krippendorff_alpha([["true", "false"], ["true", "false"]]) == pytest.approx(1.0)


def test_krippendorff_alpha_missing_item_for_one_coder():
    # coder 2 skipped item 2: items 1 and 3 pairable (a a, b a)
    matrix = [["either", "true", "true"], ["either", None, "either"]]
    # counts: item1 e2, item3 e1 t1 -> n_e = 3, n_t = 1, n = 4, o_same = 2
    assert M.krippendorff_alpha(matrix) == pytest.approx(1 - 3 * 2 / (16 - 10))


def test_alpha_from_counts_matches_package():
    for _ in range(5):
        codes = RNG.integers(0, 4, size=(6, 40)).astype(float)
        codes[RNG.random(codes.shape) < 0.25] = np.nan
        expected = krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal")
        counts = np.stack([(codes == v).sum(axis=0) for v in range(4)], axis=1)
        assert M.alpha_from_counts(counts) == pytest.approx(expected, abs=1e-12)
    batch = np.stack(
        [np.array([[2, 0], [1, 1], [0, 2], [0, 2]]), np.array([[2, 0], [2, 0]])[[0, 1, 0, 1]]]
    )
    values = M.alpha_from_counts(batch)
    assert values[0] == pytest.approx(1 - 14 / 30)
    assert np.isnan(values[1])  # one value only


# ---------------------------------------------------------------------------- Kendall's tau
def test_kendall_tau_hand_computed():
    assert M.kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    # a tie in x: n0 = 3, n_x = 1 -> 2 / sqrt(2 * 3)
    assert M.kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    # NaN pairs are left out
    assert M.kendall_tau([1, np.nan, 2, 3], [1, 5, 3, 2]) == pytest.approx(1 / 3)
    assert np.isnan(M.kendall_tau([1, 1, 1], [1, 2, 3]))  # constant input
    assert np.isnan(M.kendall_tau([1.0], [2.0]))


def test_kendall_tau_rows_match_scipy():
    x = RNG.integers(0, 4, size=(30, 50)).astype(float)
    y = RNG.random((30, 50))
    x[0, :5] = np.nan
    y[1, 10] = np.nan
    rows = M.kendall_tau(x, y)
    for row in range(30):
        keep = ~(np.isnan(x[row]) | np.isnan(y[row]))
        expected = stats.kendalltau(x[row][keep], y[row][keep]).statistic
        assert rows[row] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        M.kendall_tau([1, 2], [1, 2, 3])


def test_kendall_tau_rows_against_a_fixed_reference_match_scipy():
    x = RNG.integers(0, 5, size=(40, 60)).astype(float) / 4
    y = RNG.integers(0, 7, size=60).astype(float)
    x[0, :3] = np.nan
    x[1] = np.nan
    y[5] = np.nan
    rows = M.kendall_tau(x, y)
    assert np.isnan(rows[1])
    for row in (0, *range(2, 40)):
        keep = ~(np.isnan(x[row]) | np.isnan(y))
        expected = stats.kendalltau(x[row][keep], y[keep]).statistic
        assert rows[row] == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(rows, M.kendall_tau(x, np.tile(y, (40, 1))), atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        M.kendall_tau(x, y[:10])


# ---------------------------------------------------------------------------- summaries
def test_mean_std():
    assert M.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    mean, std = M.mean_std([4.0])
    assert mean == 4.0 and np.isnan(std)  # a single value has no sample std
    assert M.mean_std([1.0, np.nan, 3.0]) == pytest.approx((2.0, math.sqrt(2)))
    assert all(np.isnan(M.mean_std([])))


def test_bootstrap_ci_seeded_and_sensible():
    values = RNG.random(122)
    low, high = M.bootstrap_ci(values, seed=7)
    assert (low, high) == M.bootstrap_ci(values, seed=7)
    assert low < values.mean() < high
    assert M.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    narrow = M.bootstrap_ci(values, level=0.5)
    assert low < narrow[0] < narrow[1] < high
    # rows are bootstrapped with the same draws as the 1-D call
    rows = M.bootstrap_ci(np.stack([values, values * 2]), seed=7)
    np.testing.assert_allclose(rows[0], (low, high))
    np.testing.assert_allclose(rows[1], (2 * low, 2 * high))
    assert all(np.isnan(M.bootstrap_ci([np.nan, np.nan])))
    with pytest.raises(ValueError, match="level"):
        M.bootstrap_ci(values, level=95)


def test_bootstrap_means_equal_explicit_resampling():
    values = np.array([1.0, 2.0, 4.0, np.nan, 8.0])
    means = M.bootstrap_means(values, n_boot=50, seed=3)
    draws = np.random.default_rng(3).integers(0, 5, size=(50, 5))
    expected = [
        np.nanmean(values[row]) if not np.isnan(values[row]).all() else np.nan for row in draws
    ]
    np.testing.assert_allclose(means, expected)


# ---------------------------------------------------------------------------- properties

_codes = arrays(float, st.tuples(st.integers(2, 6), st.integers(1, 15)),
                elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, np.nan]))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(_codes)
def test_alpha_from_counts_equals_krippendorff_package(codes):
    counts = np.stack([(codes == v).sum(axis=0) for v in range(4)], axis=1)
    expected = M.krippendorff_alpha(codes)
    actual = M.alpha_from_counts(counts)
    if np.isnan(expected):
        assert np.isnan(actual)
    else:
        assert actual == pytest.approx(expected, abs=1e-9)


_rows = arrays(float, st.tuples(st.integers(1, 8), st.just(3)), elements=st.integers(0, 9))


@settings(max_examples=60, deadline=None)
@given(_rows, _rows)
def test_distribution_metric_bounds(p, q):
    n = min(len(p), len(q))
    p, q = p[:n], q[:n]
    h = M.entropy(p)
    ok = p.sum(axis=1) > 0
    assert np.all((h[ok] >= 0) & (h[ok] <= math.log(3) + 1e-12))
    js = M.js_distance(p, q)
    both = ok & (q.sum(axis=1) > 0)
    assert np.all(js[both] <= math.sqrt(math.log(2)) + 1e-12)
    np.testing.assert_allclose(js[both], M.js_distance(q, p)[both], atol=1e-12)
    assert np.all(M.kl_divergence(p, q)[both] >= -1e-12)


def test_js_distance_of_equal_distributions_is_zero_not_nan():
    """scipy gives NaN here (the square root of a divergence rounding made slightly
    negative); an exact match must count as 0 in a mean, not drop out of it."""
    with np.errstate(invalid="ignore"):
        assert np.isnan(jensenshannon([3, 6, 1], [0.3, 0.6, 0.1]))
    assert M.js_distance([3, 6, 1], [0.3, 0.6, 0.1]) == 0.0
    rows = M.js_distance([[3, 6, 1], [1, 0, 0], [0, 0, 0]], [[0.3, 0.6, 0.1], [0, 1, 0], [1, 1, 1]])
    assert rows[0] == 0.0 and rows[1] == pytest.approx(math.sqrt(math.log(2)))
    assert np.isnan(rows[2])  # no answers: still undefined
