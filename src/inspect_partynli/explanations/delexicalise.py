"""Tokenisation and de-lexicalisation of explanations against their item.

Many explanations (models' above all) quote the premise or hypothesis; quoted text inflates
length and pairwise similarity without saying anything new.  The study therefore
*de-lexicalises* each explanation with respect to its item: every word n-gram (trigram by
default) of the explanation that also occurs in the premise or in the hypothesis is removed.

Tokenisation (:func:`tokenize`): the text is lower-cased, typographic apostrophes (``’ ‘``)
become ``'``, and word tokens are the matches of :data:`TOKEN_PATTERN`,
``\\w+(?:'\\w+)?`` (Unicode word characters, keeping one inner apostrophe: ``wouldn't``,
``author's``).  Punctuation is dropped.

De-lexicalisation (:func:`delexicalise`): the item's n-grams are taken from the premise and
the hypothesis separately (no n-gram spans the boundary between them).  An explanation token
is removed when *any* n-gram of the explanation that covers it is one of the item's n-grams;
the remaining tokens are kept in order.  Explanations shorter than ``n`` tokens are kept whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Word tokens: Unicode word characters with at most one inner apostrophe.
TOKEN_PATTERN = re.compile(r"\w+(?:'\w+)?")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

#: The study's n-gram order for de-lexicalisation.
DEFAULT_N = 3


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` (see the module docstring for the rules)."""
    if not isinstance(text, str):
        return []
    return TOKEN_PATTERN.findall(text.lower().translate(_APOSTROPHES))


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    """The set of contiguous ``n``-grams of ``tokens`` (empty when fewer than ``n`` tokens)."""
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def item_ngrams(sources: Iterable[str], n: int = DEFAULT_N) -> set[tuple[str, ...]]:
    """The union of the n-grams of each source text (premise, hypothesis), taken separately."""
    grams: set[tuple[str, ...]] = set()
    for text in sources:
        grams |= ngrams(tokenize(text), n)
    return grams


def delexicalise_tokens(tokens: list[str], grams: set[tuple[str, ...]], n: int) -> list[str]:
    """``tokens`` without every token covered by an n-gram that is in ``grams``."""
    if n < 1:
        raise ValueError(f"n must be a positive integer, not {n}")
    removed = [False] * len(tokens)
    for start in range(len(tokens) - n + 1):
        if tuple(tokens[start : start + n]) in grams:
            removed[start : start + n] = [True] * n
    return [token for token, gone in zip(tokens, removed, strict=True) if not gone]


def delexicalise(explanation: str, premise: str, hypothesis: str, n: int = DEFAULT_N) -> list[str]:
    """The explanation's tokens left after removing the n-grams it shares with its item.

    >>> delexicalise("The context says 'are you sure' so yes.", "Are you sure?", "Sure.")
    ['the', 'context', 'says', 'so', 'yes']
    """
    return delexicalise_tokens(tokenize(explanation), item_ngrams((premise, hypothesis), n), n)
