"""2-D t-SNE projections of explanation embeddings (data for the study's Figures 1 and 11).

Figure 1 shows the explanations of one item (:func:`explanation_projection` with
``sent_ids="108083c"``); Figure 11 all LiveNLI explanations, where raw sentence embeddings
cluster by item (the topic bias that motivates subtracting the item embedding:
``subtract_item=True`` projects the EMB_e5 vectors instead).

t-SNE (``sklearn.manifold.TSNE``) uses cosine distance, PCA initialisation and a fixed
``seed``; ``perplexity`` (default 30) is lowered to ``(n - 1) / 3`` (at least 1) for small
sets, since t-SNE needs it below the number of points.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UsageError
from .analysis import _as_cached, embed_explanations, prepare_explanations
from .encoders import Encoder, Notify, print_note, resolve_semantic_encoder

PROJECTION_COLUMNS = (
    "sent_id", "participant", "participant_type", "label", "explanation", "x", "y", "encoder",
)  # fmt: skip


def tsne_2d(vectors: np.ndarray, *, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """An (n, 2) t-SNE embedding of ``vectors`` (zeros for n < 2)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n = vectors.shape[0]
    if n < 2:
        return np.zeros((n, 2))
    from sklearn.manifold import TSNE

    tsne = TSNE(
        n_components=2,
        perplexity=min(perplexity, max((n - 1) / 3, 1.0)),
        metric="cosine",
        init="pca",
        random_state=seed,
    )
    return tsne.fit_transform(vectors)


def explanation_projection(
    table: pd.DataFrame,
    livenli_df: pd.DataFrame,
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
    frame = prepare_explanations(table, livenli_df)
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
    coordinates = tsne_2d(vectors, seed=seed, perplexity=perplexity)
    out = frame[["sent_id", "participant", "participant_type", "label", "explanation"]].copy()
    out["x"] = coordinates[:, 0] if len(out) else []
    out["y"] = coordinates[:, 1] if len(out) else []
    out["encoder"] = cached.name
    return out[list(PROJECTION_COLUMNS)]
