"""Lexical explanation metrics on de-lexicalised tokens: w_c, V and JAC.

* ``wc`` (the paper's w_c): number of de-lexicalised word tokens of one explanation.
* ``V``: vocabulary size, the number of distinct de-lexicalised tokens of one explanation.
* ``JAC``: unigram Jaccard similarity |A ∩ B| / |A ∪ B| between the de-lexicalised token sets
  of two explanations of the same item.  The paper computes JAC "at the item level" and plots
  it per annotator, so here each explanation gets the **mean Jaccard similarity to every other
  explanation of the same item in the same pool** (humans with humans, participants with the
  other participants' explanations, trials included); ``by_label=True`` restricts the
  comparison to explanations of the same item *and* label.  Two empty sets have no defined
  similarity: such pairs are left out (NaN), and an explanation with no defined pair gets NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def word_count(tokens: Sequence[str]) -> int:
    """w_c: the number of (de-lexicalised) tokens."""
    return len(tokens)


def vocabulary_size(tokens: Sequence[str]) -> int:
    """V: the number of distinct (de-lexicalised) tokens."""
    return len(set(tokens))


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    """Unigram Jaccard similarity of two token collections (NaN when both are empty)."""
    set_a, set_b = set(a), set(b)
    union = len(set_a | set_b)
    return len(set_a & set_b) / union if union else float("nan")


def pairwise_jaccard(token_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """The n x n matrix of Jaccard similarities (diagonal NaN), computed with one sparse product."""
    from scipy import sparse

    n = len(token_lists)
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, tokens in enumerate(token_lists):
        for token in set(tokens):
            rows.append(row)
            cols.append(vocabulary.setdefault(token, len(vocabulary)))
    matrix = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(n, max(len(vocabulary), 1))
    )
    intersection = (matrix @ matrix.T).toarray()
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    union = sizes[:, None] + sizes[None, :] - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = np.where(union > 0, intersection / np.where(union > 0, union, 1), np.nan)
    np.fill_diagonal(similarity, np.nan)
    return similarity


def mean_jaccard_to_others(token_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """For each token list, its mean Jaccard similarity to all the others (NaN-pairs skipped)."""
    if len(token_lists) < 2:
        return np.full(len(token_lists), np.nan)
    similarity = pairwise_jaccard(token_lists)
    counts = np.sum(~np.isnan(similarity), axis=1)
    sums = np.nansum(similarity, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def lexical_metrics(
    frame: pd.DataFrame,
    *,
    tokens_column: str = "tokens",
    pool_column: str = "pool",
    by_label: bool = False,
    label_column: str = "label",
) -> pd.DataFrame:
    """``wc``, ``V`` and ``JAC`` for each row of ``frame`` (a copy with those three columns).

    ``frame`` needs ``sent_id``, ``tokens_column`` (de-lexicalised token lists) and
    ``pool_column``; JAC compares explanations of the same ``sent_id`` within one pool
    (and of the same label when ``by_label``).
    """
    out = frame.copy()
    out["wc"] = out[tokens_column].map(word_count).astype(int)
    out["V"] = out[tokens_column].map(vocabulary_size).astype(int)
    keys = [pool_column, "sent_id"] + ([label_column] if by_label else [])
    jac = pd.Series(np.nan, index=out.index, dtype=float)
    for _, group in out.groupby(keys, sort=False):
        jac.loc[group.index] = mean_jaccard_to_others(group[tokens_column].tolist())
    out["JAC"] = jac
    return out
