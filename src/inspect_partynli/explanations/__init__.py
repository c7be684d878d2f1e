"""Explanation variation (the study's Section 5): de-lexicalised lexical metrics, vector
dispersion over semantic, style and TF-IDF representations, humans vs participants, and 2-D
projections for the figures.

Main entry points: :func:`explanation_metrics` (Figure 4 and Appendix H numbers) and
:func:`explanation_projection` (Figures 1 and 11).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Submodule -> the public names it defines.  They are imported on first use, so that
#: importing one light submodule (e.g. ``delexicalise`` for a default) does not load scipy,
#: sklearn and torch through the others (see docs/performance.md).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "analysis": (
        "HUMAN_POOL",
        "PARTICIPANT_POOL",
        "ExplanationMetrics",
        "explanation_metrics",
        "humans_on_participant_items",
        "prepare_explanations",
    ),
    "compare": (
        "describe",
        "mann_whitney_p",
        "summarise",
    ),
    "delexicalise": (
        "DEFAULT_N",
        "delexicalise",
        "tokenize",
    ),
    "encoders": (
        "DEFAULT_SEMANTIC_ENCODER",
        "DEFAULT_STYLE_ENCODER",
        "FALLBACK_ENCODER_NAME",
        "CachedEncoder",
        "EmbeddingCache",
        "Encoder",
        "SentenceTransformerEncoder",
        "default_cache_dir",
        "fallback_encoder",
        "resolve_semantic_encoder",
        "resolve_style_encoder",
    ),
    "lexical": (
        "jaccard",
        "lexical_metrics",
        "pairwise_jaccard",
        "vocabulary_size",
        "word_count",
    ),
    "projection": (
        "explanation_projection",
        "tsne_2d",
    ),
    "vectors": (
        "cosine_distances",
        "dispersion",
    ),
}

_MODULE_OF: dict[str, str] = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
