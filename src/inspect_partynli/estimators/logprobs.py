"""The ``logprobs`` estimator: a label distribution from the first generated token (pure).

The prompt asks for the label word alone as the first thing in the reply, and the request asks
for ``logprobs=True, top_logprobs=20``.  The item's distribution is the probability mass the
model puts, at the **first generated token**, on tokens that write a label word, normalised
over the labels.  A candidate token counts for a label when, after

* dropping a leading space (and the tokenizer markers ``Ġ`` / ``▁`` that stand for one),
* dropping trailing spaces and punctuation (``true.`` ``True,``),
* and lower-casing (``True``, ``TRUE``),

it is a label name or one of the dataset's synonyms (``entailment`` for ``true``), or it
**starts** exactly one label's space (``tr`` or ``ent`` -> ``true``; ``e`` starts both
``either`` and ``entailment`` and counts for neither).  Everything else -- a quote, a brace,
``<think>``, a token that starts the space of several labels -- is ``other_mass``, together
with the mass beyond the top-20 list: ``other_mass = 1 - label mass``.

Failures (never raised): ``no_logprobs`` (the reply carries no log-probabilities: the provider
or model ignored the request) and ``no_label_logprobs`` (none of the first token's candidates
writes a label word).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from ..labels import LabelSpace
from .base import Estimate, normalise_word, normalised

ESTIMATOR = "logprobs"
#: Candidates requested per token (the most OpenAI-compatible APIs allow).
TOP_LOGPROBS = 20
#: What every request of this estimator sends besides the prompts.
REQUEST: dict[str, object] = {"logprobs": True, "top_logprobs": TOP_LOGPROBS}
#: Failure categories of this estimator, in one place.
FAILURES: tuple[str, ...] = ("no_logprobs", "no_label_logprobs")
#: Leading characters that tokenizers use to mark a leading space.
_SPACE_MARKERS = " \t\r\n\u0120\u2581"  # Ġ (byte-level BPE), ▁ (SentencePiece)
#: Trailing characters that do not change the word a token writes.
_TRAILING = " \t\r\n.,:;!?\"'`*)]}"


def token_label(token: str, space: LabelSpace) -> str | None:
    """The label a first token writes (whole word, synonym or the start of one), or None.

    >>> token_label(" True", LabelSpace(("either", "false", "true")))
    'true'
    >>> token_label("e", LabelSpace(("either", "true"), {"true": ("entailment",)})) is None
    True
    """
    text = normalise_word(str(token).lstrip(_SPACE_MARKERS).rstrip(_TRAILING))
    if not text:
        return None
    exact = space.words.get(text)
    if exact is not None:
        return exact
    starts = {label for word, label in space.words.items() if word.startswith(text)}
    return starts.pop() if len(starts) == 1 else None


def _probability(logprob: Any) -> float:
    try:
        value = math.exp(float(logprob))
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def read_first_token(
    candidates: Iterable[tuple[str, float]] | None, space: LabelSpace
) -> Estimate:
    """The distribution of one reply from its first token's ``(token, logprob)`` candidates.

    ``candidates`` is the first token's top-logprobs list (plus the generated token if it is
    not in the list); None or empty means the reply has no log-probabilities.
    """
    pairs = list(candidates or ())
    if not pairs:
        return Estimate(
            ESTIMATOR,
            space.labels,
            failure="no_logprobs",
            detail="the reply carries no log-probabilities (the provider or model ignored "
            "logprobs=True)",
        )
    masses = [0.0] * len(space.labels)
    tokens: dict[str, list[str]] = {}
    for token, logprob in pairs:
        label = token_label(token, space)
        if label is None:
            continue
        masses[space.index[label]] += _probability(logprob)
        tokens.setdefault(label, []).append(str(token))
    label_mass = math.fsum(masses)
    if not label_mass > 0:
        shown = ", ".join(repr(str(token)) for token, _ in pairs[:5])
        return Estimate(
            ESTIMATOR,
            space.labels,
            failure="no_label_logprobs",
            detail=f"no label word among the first token's {len(pairs)} candidates "
            f"(most likely: {shown})",
        )
    return Estimate(
        ESTIMATOR,
        space.labels,
        probabilities=normalised(masses),
        other_mass=min(1.0, max(0.0, 1.0 - label_mass)),
        extras={"label_mass": min(1.0, label_mass), "label_tokens": tokens},
    )


def first_token_candidates(logprobs: Any) -> list[tuple[str, float]] | None:
    """``(token, logprob)`` candidates of the first generated token of an Inspect reply.

    ``logprobs`` is ``ModelOutput.choices[0].logprobs`` (Inspect's ``Logprobs``): the first
    entry's ``top_logprobs``, plus the generated token itself when the list lacks it (a
    sampled token outside the top-20).  None when there are no log-probabilities.
    """
    content: Sequence[Any] | None = getattr(logprobs, "content", None)
    if not content:
        return None
    first = content[0]
    top = [(str(t.token), float(t.logprob)) for t in (getattr(first, "top_logprobs", None) or [])]
    chosen = (str(first.token), float(first.logprob))
    if chosen[0] not in {token for token, _ in top}:
        top.append(chosen)
    return top


def read_logprobs(logprobs: Any, space: LabelSpace) -> Estimate:
    """The ``logprobs`` estimate of one Inspect reply (``ModelOutput.choices[0].logprobs``)."""
    return read_first_token(first_token_candidates(logprobs), space)
