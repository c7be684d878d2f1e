"""Label-variation metrics of the study (Section 4, Tables 2 and 5): pure numpy functions.

Every function takes arrays and returns arrays or floats, in the style of ``scipy.stats`` and
``sklearn.metrics``: no I/O, no global state, every convention a keyword argument whose
default is the paper's.  Distribution functions take *count or distribution* arrays whose last
axis runs over the label categories (:data:`~inspect_partynli.labels.LABELS`, ``either, false,
true``), e.g. shape ``(n_items, 3)``; any leading axes are batch axes, so one call evaluates
many items (and many settings or random draws) at once.  Rows are normalised to sum to 1; a
row of zeros (an item without any parsed answer) has no distribution and yields NaN.

Conventions (the paper's, each a parameter): natural logarithms; JS is the Jensen-Shannon
*distance* of ``scipy.spatial.distance.jensenshannon``; KL is smoothed with ``eps=1e-10``
added to both distributions; the majority label is the argmax of the counts in LABELS order
(ties go to the first label); Krippendorff's alpha is nominal; per-item values are summarised
by their mean and sample standard deviation (``ddof=1``).

References: Krippendorff, K. (2011) *Computing Krippendorff's Alpha-Reliability*;
Kendall, M. G. (1945) *The treatment of ties in ranking problems*; Lin, J. (1991)
*Divergence measures based on the Shannon entropy*; Efron & Tibshirani (1993) *An
Introduction to the Bootstrap*.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import krippendorff
import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from .labels import ERROR_LABEL, LABELS

__all__ = [
    "agree",
    "alpha_from_counts",
    "bootstrap_ci",
    "bootstrap_means",
    "consistency",
    "distinct_labels",
    "entropy",
    "js_distance",
    "kendall_tau",
    "kl_divergence",
    "krippendorff_alpha",
    "majority_label",
    "majority_match",
    "mean_std",
    "normalise",
]

#: Code of a parse failure in coder matrices and count arrays (after the LABELS codes).
ERROR_CODE = len(LABELS)


# ---------------------------------------------------------------------------- validation
def _counts(values: object, name: str, *, categories: int | None = None) -> np.ndarray:
    """``values`` as a float array of non-negative counts with at least one axis."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        raise ValueError(f"{name} must be an array of counts per category, got a scalar")
    if array.shape[-1] == 0:
        raise ValueError(f"{name} has no categories (last axis is empty)")
    if categories is not None and array.shape[-1] != categories:
        raise ValueError(
            f"{name} has {array.shape[-1]} categories on its last axis; expected {categories}"
        )
    if np.isnan(array).any() or np.isinf(array).any():
        raise ValueError(f"{name} contains NaN or infinite values")
    if (array < 0).any():
        raise ValueError(f"{name} contains negative values; expected counts or probabilities")
    return array


def _pair(p: object, q: object) -> tuple[np.ndarray, np.ndarray]:
    p_arr, q_arr = _counts(p, "p"), _counts(q, "q")
    if p_arr.shape[-1] != q_arr.shape[-1]:
        raise ValueError(
            f"p and q have different numbers of categories ({p_arr.shape[-1]} vs {q_arr.shape[-1]})"
        )
    try:
        np.broadcast_shapes(p_arr.shape, q_arr.shape)
    except ValueError:
        raise ValueError(
            f"p and q do not broadcast: shapes {p_arr.shape} and {q_arr.shape}"
        ) from None
    return p_arr, q_arr


def _log_base(base: float | None) -> float:
    if base is None:
        return 1.0
    if base <= 0 or base == 1:
        raise ValueError(f"base must be positive and not 1, got {base!r}")
    return float(np.log(base))


# ---------------------------------------------------------------------------- distributions
def normalise(counts: object) -> np.ndarray:
    """Rows of ``counts`` scaled to sum to 1 (last axis); all-zero rows become NaN."""
    return _normalised(_counts(counts, "counts"))


def _normalised(array: np.ndarray) -> np.ndarray:
    """:func:`normalise` of an already validated array."""
    total = array.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, array / np.where(total > 0, total, 1.0), np.nan)


def _sorted_rows(dist: np.ndarray) -> np.ndarray:
    """Rows sorted ascending; for three categories by an exact min/max network (fast)."""
    if dist.shape[-1] != 3:
        return np.sort(dist, axis=-1)
    a, b, c = dist[..., 0], dist[..., 1], dist[..., 2]
    low, high = np.fmin(np.fmin(a, b), c), np.fmax(np.fmax(a, b), c)
    middle = np.fmax(np.fmin(a, b), np.fmin(np.fmax(a, b), c))
    return np.stack([low, middle, high], axis=-1)


def entropy(p: object, base: float | None = None) -> np.ndarray:
    """Shannon entropy of each row: ``H(p) = -sum_k p_k log p_k`` (with ``0 log 0 = 0``).

    Args:
        p: counts or probabilities, shape ``(..., n_categories)``; rows are normalised.
        base: logarithm base; ``None`` (the paper) is the natural logarithm.

    Returns:
        Array of shape ``p.shape[:-1]``; NaN for all-zero rows.  Equals
        ``scipy.stats.entropy(p, base=base, axis=-1)``; the row is sorted before it is normalised
        and summed, so that permutations of a row (of counts or of probabilities) give
        bit-identical entropies (exact ties for Kendall's tau).
    """
    # sorted before normalising: the row sum is then the same float for every permutation
    # (for counts it is exact either way, so no count-based number changes)
    dist = _normalised(_sorted_rows(_counts(p, "counts")))
    return -_xlogx(dist).sum(axis=-1) / _log_base(base)


def _xlogx(x: np.ndarray) -> np.ndarray:
    """``x log x`` with ``0 log 0 = 0`` and NaN kept."""
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), np.where(np.isnan(x), x, 0.0))


def js_distance(p: object, q: object, base: float | None = None) -> np.ndarray:
    """Jensen-Shannon distance of each pair of rows (vectorised ``jensenshannon``).

    ``JS(p, q) = sqrt((KL(p || m) + KL(q || m)) / 2)`` with ``m = (p + q) / 2`` (Lin 1991),
    natural logarithm by default.  Exactly :func:`scipy.spatial.distance.jensenshannon` with
    ``axis=-1`` (which is what it calls), except that a row of zeros in either input yields NaN
    without a warning, and that equal distributions give 0: scipy takes the square root of a
    divergence that rounding can make slightly negative (``[3, 6, 1]`` against
    ``[0.3, 0.6, 0.1]`` gives NaN), which would silently drop exact matches from a mean.
    ``p`` and ``q`` broadcast against each other.
    """
    p_arr, q_arr = _pair(p, q)
    p_arr, q_arr = np.broadcast_arrays(p_arr, q_arr)
    empty = (p_arr.sum(axis=-1) <= 0) | (q_arr.sum(axis=-1) <= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = jensenshannon(p_arr, q_arr, base=base, axis=-1)
    # finite non-negative rows (checked by _pair): NaN here is sqrt(-tiny), i.e. distance 0
    return np.where(empty, np.nan, np.where(np.isnan(result), 0.0, result))


def kl_divergence(p: object, q: object, eps: float = 1e-10) -> np.ndarray:
    """Kullback-Leibler divergence ``KL(p || q) = sum_k p_k log(p_k / q_k)`` of each row pair.

    Both rows are normalised, ``eps`` is added to every probability of both, and both are
    normalised again (exactly ``scipy.stats.entropy(p + eps, q + eps)``), so that a label the
    second distribution never uses costs ``log(1 / eps)`` instead of infinity.  With the paper's
    ``eps=1e-10``, P = human and Q = participant this gives Table 5's KL(P||Q) and KL(Q||P).
    Natural logarithm.  NaN for rows without any count.
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    p_arr, q_arr = _pair(p, q)
    p_dist = _normalised(p_arr) + eps
    q_dist = _normalised(q_arr) + eps
    p_dist = p_dist / p_dist.sum(axis=-1, keepdims=True)
    q_dist = q_dist / q_dist.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return rel_entr(p_dist, q_dist).sum(axis=-1)


# ---------------------------------------------------------------------------- majority, agree
def majority_label(counts: object) -> np.ndarray:
    """Index (into LABELS) of each row's majority label; ties go to the first label.

    The argmax of the counts in the study's alphabetical order ``either, false, true``: a tie
    between ``false`` and ``true`` is ``false``, any tie with ``either`` is ``either`` (this is
    what reproduces the paper's Agree).  Rows without any count get ``-1``.
    """
    array = _counts(counts, "counts")
    index = array.argmax(axis=-1)
    return np.where(array.sum(axis=-1) > 0, index, -1)


def majority_match(p_counts: object, q_counts: object) -> np.ndarray:
    """Per row: 1.0 if both rows have the same majority label, 0.0 if not, NaN if either row
    has no counts (no majority to compare)."""
    p_arr, q_arr = _pair(p_counts, q_counts)
    p_major, q_major = majority_label(p_arr), majority_label(q_arr)
    same = (p_major == q_major).astype(float)
    return np.where((p_major < 0) | (q_major < 0), np.nan, same)


def agree(p_counts: object, q_counts: object) -> float:
    """Agree: the share of items whose majority label in ``q`` equals that in ``p``.

    ``Agree = mean_i [argmax p_i == argmax q_i]`` over items where both have counts (ties to
    the first label in LABELS order, see :func:`majority_label`).  NaN if no item qualifies.
    """
    match = majority_match(p_counts, q_counts)
    return _nanmean(match.reshape(-1))


# ---------------------------------------------------------------------------- consistency
def distinct_labels(counts: object) -> np.ndarray:
    """Per row: the number of different labels with a non-zero count (NaN for empty rows)."""
    array = _counts(counts, "counts")
    distinct = (array > 0).sum(axis=-1).astype(float)
    return np.where(distinct > 0, distinct, np.nan)


def consistency(counts: object) -> float:
    """Consistency (Section 4.2): mean over items of the number of distinct labels that one
    participant gave across its trials.

    ``counts`` holds, per item, how often the participant chose each label over its trials
    (shape ``(n_items, n_labels)``, parse failures left out).  1 means the same label in every
    trial, 3 every label at least once.  Items without any parsed answer are left out; NaN if
    there is none.
    """
    return _nanmean(distinct_labels(counts).reshape(-1))


# ---------------------------------------------------------------------------- reliability
def _coder_codes(matrix: object, errors: str, labels: Sequence[str] = LABELS) -> np.ndarray:
    """A coders x items matrix of labels as float codes (``labels`` order, error, NaN missing)."""
    if errors not in ("category", "missing"):
        raise ValueError(f"errors must be 'category' or 'missing', got {errors!r}")
    array = np.asarray(matrix, dtype=object)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D coders x items matrix, got shape {array.shape}")
    codes = {label: code for code, label in enumerate(labels)}
    codes[ERROR_LABEL] = len(labels) if errors == "category" else np.nan
    out = np.full(array.shape, np.nan)
    for index, value in np.ndenumerate(array):
        if value is None or value == "" or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, str):
            if value not in codes:
                raise ValueError(
                    f"unknown label {value!r} in the coder matrix; expected one of "
                    f"{(*labels, ERROR_LABEL)} or a missing value"
                )
            out[index] = codes[value]
        else:
            out[index] = float(value)
    return out


def krippendorff_alpha(
    matrix: object, errors: str = "category", labels: Sequence[str] = LABELS
) -> float:
    """Nominal Krippendorff's alpha of a coders x items matrix of labels.

    ``alpha = 1 - D_o / D_e`` (Krippendorff 2011), computed by the ``krippendorff`` package with
    ``level_of_measurement='nominal'``.  Cells hold label strings (LABELS or ``"error"``) or
    integer codes; ``None``, ``""`` and NaN are missing.

    Args:
        matrix: shape ``(n_coders, n_items)``: trials or participants as coders.
        errors: ``"category"`` (the paper) counts parse failures as a category of their own;
            ``"missing"`` treats them as missing values.
        labels: the ordered label space the label strings come from (default: the NLI
            labels ``either, false, true``).

    Returns:
        alpha, or NaN where it is undefined: when fewer than two values are pairable (a single
        coder, or no item coded twice) or when only one value occurs at all (every coder gives
        the same label on every item: ``D_e = 0``, so alpha is 0/0; Krippendorff leaves it
        undefined, and we return NaN rather than a conventional 1.0).
    """
    codes = _coder_codes(matrix, errors, labels)
    pairable = (~np.isnan(codes)).sum(axis=0) >= 2
    values = np.unique(codes[:, pairable][~np.isnan(codes[:, pairable])])
    if not pairable.any() or values.size < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal"))


def alpha_from_counts(counts: object) -> np.ndarray:
    """Nominal Krippendorff's alpha from per-item value counts, vectorised over batch axes.

    Nominal alpha depends only on how often each value occurs per item, so a coders x items
    matrix can be replaced by its counts ``n[u, c]`` (shape ``(..., n_items, n_values)``).
    With ``m_u = sum_c n[u, c]`` and only items with ``m_u >= 2`` (pairable):
    ``o_cc = sum_u n[u, c] (n[u, c] - 1) / (m_u - 1)``, ``n_c = sum_u n[u, c]``,
    ``n = sum_c n_c`` and ``alpha = 1 - (n - 1) (n - sum_c o_cc) / (n^2 - sum_c n_c^2)``.
    Equal to :func:`krippendorff_alpha` up to floating-point rounding (tested); NaN where that
    returns NaN.  Include the error count as a value column for the paper's convention, leave
    it out for "missing".
    """
    array = _counts(counts, "counts")
    if array.ndim < 2:
        raise ValueError(f"counts must have shape (..., n_items, n_values), got {array.shape}")
    m = array.sum(axis=-1)
    pairable = m >= 2
    weight = np.where(pairable, 1.0 / np.where(pairable, m - 1, 1.0), 0.0)
    coincidence_same = (array * (array - 1)).sum(axis=-1) * weight
    n_c = (array * pairable[..., None]).sum(axis=-2)
    n = n_c.sum(axis=-1)
    observed_same = coincidence_same.sum(axis=-1)
    expected = n**2 - (n_c**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * (n - observed_same) / expected
    return np.where(expected > 0, alpha, np.nan)


# ---------------------------------------------------------------------------- correlation
def kendall_tau(x: object, y: object) -> float | np.ndarray:
    """Kendall's tau-b between ``x`` and ``y`` (pairs with a NaN in either are left out).

    ``tau_b = (n_c - n_d) / sqrt((n_0 - n_x) (n_0 - n_y))`` with concordant/discordant pairs
    ``n_c, n_d`` and pairs tied in x / y ``n_x, n_y`` (Kendall 1945).  For 1-D inputs this is
    ``scipy.stats.kendalltau(x, y, nan_policy='omit').statistic``.  A 2-D ``x`` of shape
    ``(n_rows, n)`` gives one tau per row, against the rows of a 2-D ``y`` or against one 1-D
    ``y`` of length ``n`` (e.g. the human entropies): a vectorised implementation of the same
    formula, used for random mixes.  NaN when undefined (fewer than two pairs, or a constant
    input).
    """
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x_arr.ndim == 1 and y_arr.ndim == 1:
        if x_arr.shape != y_arr.shape:
            raise ValueError(
                f"x and y must have the same shape, got {x_arr.shape} and {y_arr.shape}"
            )
        keep = ~(np.isnan(x_arr) | np.isnan(y_arr))
        if keep.sum() < 2:
            return float("nan")
        from scipy import stats  # here: scipy.stats costs ~0.5 s of start-up (issue 13)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(stats.kendalltau(x_arr[keep], y_arr[keep]).statistic)
    if (
        x_arr.ndim != 2
        or y_arr.ndim not in (1, 2)
        or y_arr.shape[-1] != x_arr.shape[1]
        or (y_arr.ndim == 2 and y_arr.shape != x_arr.shape)
    ):
        raise ValueError(
            "x and y must have the same shape (or x 2-D and y 1-D of x's row length), got "
            f"{x_arr.shape} and {y_arr.shape}"
        )
    return _kendall_tau_rows(x_arr, y_arr)


def _pair_signs(values: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """sign(v_i - v_j) for the pairs (i, j) as int8 (0 for ties and pairs with a NaN)."""
    a, b = values[..., first], values[..., second]
    return (a > b).astype(np.int8) - (a < b).astype(np.int8)


def _kendall_tau_rows(x: np.ndarray, y: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Row-wise tau-b over all pairs of columns; rows processed in chunks to bound memory.

    Against a fixed 1-D ``y`` the pair signs of ``y`` are computed once and the sums over
    pairs become matrix-vector products (float32 sign matrices: exact for sums of +-1 up to
    2**24 pairs).
    """
    n_rows, n = x.shape
    first, second = np.triu_indices(n, k=1)
    out = np.full(n_rows, np.nan)
    if y.ndim == 1:
        with np.errstate(invalid="ignore"):
            sy = np.nan_to_num(np.sign(y[first] - y[second])).astype(np.float32)
        valid_y = ~np.isnan(y)
        py = (valid_y[first] & valid_y[second]).astype(np.float32)
        abs_sy = np.abs(sy)
        # x as exact dense ranks (small integers): equal values tie exactly, and the pair
        # differences move a quarter of the bytes of float64
        finite = ~np.isnan(x)
        uniques, inverse = np.unique(x[finite], return_inverse=True)
        ranks = np.zeros(x.shape, dtype=np.int16 if uniques.size < 2**15 else np.int32)
        ranks[finite] = inverse
    for start in range(0, n_rows, chunk):
        xs = x[start : start + chunk]
        if y.ndim == 1:
            rs, fs = ranks[start : start + chunk], finite[start : start + chunk]
            sx = np.sign(np.take(rs, first, axis=1) - np.take(rs, second, axis=1))
            sx = sx.astype(np.float32)
            if not fs.all():
                px = np.take(fs, first, axis=1) & np.take(fs, second, axis=1)
                sx *= px
                n_y = px.astype(np.float32) @ abs_sy
            else:
                n_y = np.full(len(xs), abs_sy.sum(), dtype=np.float32)
            numerator = sx @ sy
            n_x = np.abs(sx, out=sx) @ py
        else:
            ys = y[start : start + chunk]
            valid_x, valid_y = ~np.isnan(xs), ~np.isnan(ys)
            px = valid_x[:, first] & valid_x[:, second]
            py_rows = valid_y[:, first] & valid_y[:, second]
            sx, sy_rows = _pair_signs(xs, first, second), _pair_signs(ys, first, second)
            numerator = (sx.astype(np.int32) * sy_rows).sum(axis=1)
            n_x = ((sx != 0) & py_rows).sum(axis=1)
            n_y = ((sy_rows != 0) & px).sum(axis=1)
        denominator = np.sqrt(n_x.astype(float) * n_y.astype(float))
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = np.where(denominator > 0, numerator / denominator, np.nan)
        out[start : start + chunk] = np.clip(tau, -1.0, 1.0)
    return out


# ---------------------------------------------------------------------------- summaries
def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


def mean_std(values: Sequence[float] | np.ndarray, ddof: int = 1) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``, the paper's) of per-item values.

    NaN values (items where a metric is undefined) are left out.  The std is NaN when fewer
    than ``ddof + 1`` values remain; both are NaN when there is no value.
    """
    array = np.asarray(values, dtype=float).reshape(-1)
    finite = array[~np.isnan(array)]
    if finite.size == 0:
        return float("nan"), float("nan")
    std = float(finite.std(ddof=ddof)) if finite.size > ddof else float("nan")
    return float(finite.mean()), std


def bootstrap_means(values: object, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Means of ``n_boot`` seeded resamples (with replacement) of the items, per row.

    ``values`` has shape ``(n_items,)`` or ``(n_rows, n_items)``; every row is resampled with the
    *same* item draws (so rows stay comparable).  NaN items are left out of each resample's
    mean.  Returns shape ``(n_boot,)`` or ``(n_rows, n_boot)``.  Implemented as one matrix
    product with the resample weight matrix, so thousands of rows cost milliseconds.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot!r}")
    array = np.asarray(values, dtype=float)
    single = array.ndim == 1
    rows = np.atleast_2d(array)
    if rows.ndim != 2:
        raise ValueError(f"values must be 1-D or 2-D, got shape {array.shape}")
    n_items = rows.shape[1]
    if n_items == 0:
        out = np.full((rows.shape[0], n_boot), np.nan)
        return out[0] if single else out
    weights = _resample_weights(n_items, n_boot, seed)
    valid = ~np.isnan(rows)
    sums = np.where(valid, rows, 0.0) @ weights.T
    counts = valid.astype(float) @ weights.T
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.nan)
    return means[0] if single else means


def _resample_weights(n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each item occurs in each of ``n_boot`` seeded resamples: ``(n_boot, n_items)``.

    Resample b draws ``rng.integers(0, n_items, size=(n_boot, n_items))[b]``.
    """
    draws = np.random.default_rng(seed).integers(0, n_items, size=(n_boot, n_items))
    flat = (np.arange(n_boot)[:, None] * n_items + draws).reshape(-1)
    return np.bincount(flat, minlength=n_boot * n_items).reshape(n_boot, n_items).astype(float)


def _row_percentiles(values: np.ndarray, percentiles: Sequence[float]) -> np.ndarray:
    """Per row, the given percentiles of its non-NaN values (linear interpolation, as
    ``numpy.nanpercentile``), vectorised over rows: shape ``(n_rows, len(percentiles))``."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    count = (~np.isnan(values)).sum(axis=1)
    out = np.full((values.shape[0], len(percentiles)), np.nan)
    has = count > 0
    for column, percentile in enumerate(percentiles):
        position = (count[has] - 1) * percentile / 100.0
        below = np.floor(position).astype(int)
        above = np.minimum(below + 1, count[has] - 1)
        low = np.take_along_axis(ordered[has], below[:, None], axis=1)[:, 0]
        high = np.take_along_axis(ordered[has], above[:, None], axis=1)[:, 0]
        out[has, column] = low + (high - low) * (position - below)
    return out


def bootstrap_ci(
    values: object, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float] | np.ndarray:
    """Seeded percentile bootstrap confidence interval of the mean over items.

    Resamples the items ``n_boot`` times with replacement (NumPy ``default_rng(seed)``), takes
    each resample's mean (NaN items left out) and returns the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` percentiles (Efron & Tibshirani 1993, percentile method).  1-D input
    gives ``(low, high)``; 2-D input ``(n_rows, n_items)`` an array of shape ``(n_rows, 2)``.
    NaN bounds when there is no value.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    means = bootstrap_means(values, n_boot=n_boot, seed=seed)
    tail = (1.0 - level) / 2.0 * 100.0
    bounds = _row_percentiles(np.atleast_2d(means), [tail, 100.0 - tail])
    if np.asarray(values).ndim == 1:
        return float(bounds[0, 0]), float(bounds[0, 1])
    return bounds
