"""2-D t-SNE projections of explanation embeddings (data for the study's Figures 1 and 11).

Figure 1 shows the explanations of one item (:func:`explanation_projection` with
``sent_ids="108083c"``); Figure 11 all LiveNLI explanations, where raw sentence embeddings
cluster by item (the topic bias that motivates subtracting the item embedding:
``subtract_item=True`` projects the EMB_e5 vectors instead).

t-SNE (``sklearn.manifold.TSNE``) uses cosine distance, PCA initialisation and a fixed
``seed``; ``perplexity`` (default 30) is lowered to ``(n - 1) / 3`` (at least 1) for small
sets, since t-SNE needs it below the number of points.

Projections are cached by content, like the embeddings: the file
``<embedding cache>/projections/tsne-<sha256>.npy`` is keyed by the sha256 of the input
vectors (bytes, shape, dtype) and of every parameter (seed, effective perplexity, metric,
initialisation, scikit-learn's version), so a warm report does not refit t-SNE and any change
of input or parameter computes afresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError
from .analysis import _as_cached, embed_explanations, prepare_explanations
from .content_cache import content_key, distribution_version, write_atomically
from .encoders import Encoder, Notify, print_note, resolve_semantic_encoder

PROJECTION_COLUMNS = (
    "sent_id", "participant", "participant_type", "label", "explanation", "x", "y", "encoder",
)  # fmt: skip


#: Folder of cached projections inside an embedding cache folder.
PROJECTION_CACHE = "projections"


def tsne_2d(
    vectors: np.ndarray,
    *,
    seed: int = 0,
    perplexity: float = 30.0,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """An (n, 2) t-SNE embedding of ``vectors`` (zeros for n < 2).

    With ``cache_dir``, the result is read from / written to ``cache_dir`` under
    :func:`projection_key` (an unreadable cache file is recomputed and replaced).
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    n = vectors.shape[0]
    if n < 2:
        return np.zeros((n, 2))
    parameters = {
        "method": "tsne",
        "n_components": 2,
        "perplexity": min(perplexity, max((n - 1) / 3, 1.0)),
        "metric": "cosine",
        "init": "pca",
        "random_state": seed,
    }
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"tsne-{projection_key(vectors, parameters)}.npy"
        cached = _load(path, n)
        if cached is not None:
            return cached
    from sklearn.manifold import TSNE

    params = {key: value for key, value in parameters.items() if key != "method"}
    coordinates = TSNE(**params).fit_transform(vectors)
    if path is not None:
        write_atomically(path, lambda file: np.save(file, coordinates, allow_pickle=False))
    return coordinates


def projection_key(vectors: np.ndarray, parameters: dict) -> str:
    """Hex sha256 of the vectors (dtype, shape, bytes), the parameters and scikit-learn's
    version (read without importing it): the content key of a cached projection."""
    header = {"dtype": str(vectors.dtype), "shape": vectors.shape,
              "sklearn": distribution_version("scikit-learn")}  # fmt: skip
    return content_key({**header, **parameters}, [np.ascontiguousarray(vectors).tobytes()])


def _load(path: Path, rows: int) -> np.ndarray | None:
    """A cached (rows, 2) projection, or None when absent or unusable."""
    try:
        coordinates = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return coordinates if coordinates.shape == (rows, 2) else None


def explanation_projection(
    table: pd.DataFrame,
    dataset: Any,
    *,
    encoder: str | Encoder | None = None,
    sent_ids: str | Iterable[str] | None = None,
    subtract_item: bool = False,
    seed: int = 0,
    perplexity: float = 30.0,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    allow_download: bool = False,
    progress: bool = True,
    notify: Notify | None = print_note,
) -> pd.DataFrame:
    """t-SNE coordinates of the explanations of ``table`` (one item, several, or all).

    Returns one row per usable explanation with columns ``sent_id, participant,
    participant_type, label, explanation, x, y, encoder`` (``encoder`` names the model that
    produced the embeddings; the semantic encoder falls back to MiniLM offline, announced
    through ``notify``).  Raises :class:`UsageError` when the semantic encoder is disabled or
    a requested item has no explanations.
    """
    frame = prepare_explanations(table, dataset, tokens=False)
    if sent_ids is not None:
        wanted = [sent_ids] if isinstance(sent_ids, str) else list(sent_ids)
        absent = sorted(set(wanted) - set(frame["sent_id"]))
        if absent:
            raise UsageError(f"no explanations for item(s) {', '.join(absent)}")
        frame = frame[frame["sent_id"].isin(wanted)].reset_index(drop=True)
    resolved = resolve_semantic_encoder(encoder, allow_download=allow_download, notify=notify)
    if resolved is None:
        raise UsageError("a projection needs a semantic encoder; none is available")
    cached = _as_cached(resolved, cache_dir, use_cache, progress)
    vectors = embed_explanations(frame, cached, subtract_item=subtract_item)
    cache = getattr(cached, "cache", None)
    projections = cache.path.parent / PROJECTION_CACHE if cache is not None else None
    coordinates = tsne_2d(vectors, seed=seed, perplexity=perplexity, cache_dir=projections)
    out = frame[["sent_id", "participant", "participant_type", "label", "explanation"]].copy()
    out["x"] = coordinates[:, 0] if len(out) else []
    out["y"] = coordinates[:, 1] if len(out) else []
    out["encoder"] = cached.name
    return out[list(PROJECTION_COLUMNS)]
