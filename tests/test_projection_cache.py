"""t-SNE projections are cached by content (inputs and parameters), like the embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.manifold

from inspect_partynli.explanations.projection import tsne_2d


@pytest.fixture
def vectors() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(12, 5))


class _NoFit:
    def __init__(self, **_):
        raise AssertionError("t-SNE was refitted although the projection is cached")


def test_a_second_projection_of_the_same_vectors_is_read_from_the_cache(
    vectors, tmp_path, monkeypatch
):
    first = tsne_2d(vectors, seed=0, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("tsne-*.npy"))) == 1
    np.testing.assert_array_equal(first, tsne_2d(vectors, seed=0))  # same as uncached
    monkeypatch.setattr(sklearn.manifold, "TSNE", _NoFit)
    np.testing.assert_array_equal(tsne_2d(vectors, seed=0, cache_dir=tmp_path), first)


def test_any_change_of_input_or_parameter_computes_afresh(vectors, tmp_path):
    tsne_2d(vectors, seed=0, cache_dir=tmp_path)
    tsne_2d(vectors, seed=1, cache_dir=tmp_path)
    tsne_2d(vectors, seed=0, perplexity=2.0, cache_dir=tmp_path)
    changed = vectors.copy()
    changed[0, 0] += 1e-9
    tsne_2d(changed, seed=0, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("tsne-*.npy"))) == 4


def test_an_unreadable_cache_file_is_recomputed_and_replaced(vectors, tmp_path):
    first = tsne_2d(vectors, seed=0, cache_dir=tmp_path)
    (path,) = tmp_path.glob("tsne-*.npy")
    path.write_bytes(b"not a numpy file")
    np.testing.assert_array_equal(tsne_2d(vectors, seed=0, cache_dir=tmp_path), first)
    np.testing.assert_array_equal(np.load(path), first)
