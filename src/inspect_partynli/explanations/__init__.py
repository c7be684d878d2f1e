"""Explanation variation (the study's Section 5): de-lexicalised lexical metrics, vector
dispersion over semantic, style and TF-IDF representations, humans vs participants, and 2-D
projections for the figures.

Main entry points: :func:`explanation_metrics` (Figure 4 and Appendix H numbers) and
:func:`explanation_projection` (Figures 1 and 11).
"""

from .analysis import (
    HUMAN_POOL,
    PARTICIPANT_POOL,
    ExplanationMetrics,
    explanation_metrics,
    humans_on_participant_items,
    prepare_explanations,
)
from .compare import describe, mann_whitney_p, summarise
from .delexicalise import DEFAULT_N, delexicalise, tokenize
from .encoders import (
    DEFAULT_SEMANTIC_ENCODER,
    DEFAULT_STYLE_ENCODER,
    FALLBACK_ENCODER_NAME,
    CachedEncoder,
    EmbeddingCache,
    Encoder,
    SentenceTransformerEncoder,
    default_cache_dir,
    fallback_encoder,
    resolve_semantic_encoder,
    resolve_style_encoder,
)
from .lexical import jaccard, lexical_metrics, pairwise_jaccard, vocabulary_size, word_count
from .projection import explanation_projection, tsne_2d
from .vectors import cosine_distances, dispersion

__all__ = [
    "DEFAULT_N",
    "DEFAULT_SEMANTIC_ENCODER",
    "DEFAULT_STYLE_ENCODER",
    "FALLBACK_ENCODER_NAME",
    "HUMAN_POOL",
    "PARTICIPANT_POOL",
    "CachedEncoder",
    "EmbeddingCache",
    "Encoder",
    "ExplanationMetrics",
    "SentenceTransformerEncoder",
    "cosine_distances",
    "default_cache_dir",
    "delexicalise",
    "describe",
    "dispersion",
    "explanation_metrics",
    "explanation_projection",
    "fallback_encoder",
    "humans_on_participant_items",
    "jaccard",
    "lexical_metrics",
    "mann_whitney_p",
    "pairwise_jaccard",
    "prepare_explanations",
    "resolve_semantic_encoder",
    "resolve_style_encoder",
    "summarise",
    "tokenize",
    "tsne_2d",
    "vocabulary_size",
    "word_count",
]
