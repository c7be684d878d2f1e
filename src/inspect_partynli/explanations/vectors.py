"""Dispersion of a set of explanation vectors: D_pair, D_cent and D_max (cosine distance).

For the n >= 2 vectors x_1..x_n of one group (the explanations of one item with one label),
with cosine distance d(a, b) = 1 - a.b / (|a| |b|):

* ``D_pair`` = mean of d(x_i, x_j) over the n(n-1)/2 pairs i < j;
* ``D_cent`` = mean of d(x_i, c) over i, with the centroid c = (1/n) sum x_i (the plain mean of
  the vectors as given, not of their normalised versions);
* ``D_max``  = max of d(x_i, x_j) over pairs (the group's diameter).

Zero vectors (e.g. the TF-IDF vector of an explanation left empty by de-lexicalisation) have
no direction; :func:`dispersion` drops them first and reports how many were dropped.  A group
left with fewer than 2 vectors gets NaN; a zero centroid gives ``D_cent`` NaN.
"""

from __future__ import annotations

import numpy as np

METRICS = ("D_pair", "D_cent", "D_max")


def _row_norms(matrix) -> np.ndarray:
    if hasattr(matrix, "multiply"):  # scipy sparse
        return np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return np.linalg.norm(matrix, axis=1)


def _as_matrix(vectors):
    if hasattr(vectors, "tocsr"):
        return vectors.tocsr().astype(float)
    return np.atleast_2d(np.asarray(vectors, dtype=float))


def cosine_distances(vectors) -> np.ndarray:
    """The n x n cosine distances of non-zero rows (dense or scipy sparse), clipped to [0, 2]."""
    matrix = _as_matrix(vectors)
    norms = _row_norms(matrix)
    gram = matrix @ matrix.T
    gram = gram.toarray() if hasattr(gram, "toarray") else np.asarray(gram)
    distances = np.clip(1.0 - gram / np.outer(norms, norms), 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    return distances


def dispersion(vectors) -> dict[str, float]:
    """``{"n", "n_zero", "D_pair", "D_cent", "D_max"}`` for one group of row vectors.

    ``vectors`` is a 2-D numpy array or a scipy sparse matrix (kept sparse: TF-IDF rows are
    never densified).
    """
    matrix = _as_matrix(vectors)
    norms = _row_norms(matrix)
    nonzero = norms > 0
    kept, kept_norms = matrix[nonzero], norms[nonzero]
    result = {"n": int(nonzero.sum()), "n_zero": int((~nonzero).sum())}
    if result["n"] < 2:
        return {**result, **dict.fromkeys(METRICS, float("nan"))}
    distances = cosine_distances(kept)
    upper = distances[np.triu_indices(result["n"], k=1)]
    centroid = np.asarray(kept.mean(axis=0)).ravel()
    centroid_norm = float(np.linalg.norm(centroid))
    if centroid_norm > 0:
        similarity = np.asarray(kept @ centroid).ravel() / (kept_norms * centroid_norm)
        d_cent = float(np.clip(1.0 - similarity, 0.0, 2.0).mean())
    else:
        d_cent = float("nan")
    return {
        **result,
        "D_pair": float(upper.mean()),
        "D_cent": d_cent,
        "D_max": float(upper.max()),
    }
