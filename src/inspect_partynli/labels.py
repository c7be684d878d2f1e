"""The label vocabulary of the study, in one place.

LiveNLI annotators (and the models prompted like them) choose one or more of three labels:
``true`` (entailment), ``either`` (neutral) and ``false`` (contradiction).  The study orders
labels alphabetically -- ``either, false, true`` -- everywhere: in multi-labels
(``either-false-true``), in distributions, and when breaking ties for a majority label
(the first label in this order wins).  Every module takes the order from here.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The study's labels in its canonical (alphabetical) order.
LABELS: tuple[str, ...] = ("either", "false", "true")

#: Index of each label in :data:`LABELS` (the column of a distribution).
LABEL_INDEX: dict[str, int] = {label: i for i, label in enumerate(LABELS)}

#: The category used for replies that could not be parsed.
ERROR_LABEL = "error"

#: Failure category of a replayed item/trial the source never annotated.  Not a parse failure:
#: the scorer records it, and the annotation table leaves such rows out.
NO_ANNOTATION = "no_annotation"

#: Key of ``ModelOutput.metadata`` by which the offline provider marks such a reply.
NO_ANNOTATION_KEY = "partynli"

#: MNLI / ChaosNLI label names and letters mapped to the study's labels.
NLI_TO_LABEL: dict[str, str] = {
    "entailment": "true",
    "neutral": "either",
    "contradiction": "false",
    "e": "true",
    "n": "either",
    "c": "false",
}

#: The study's labels mapped back to the standard NLI names.
LABEL_TO_NLI: dict[str, str] = {"true": "entailment", "either": "neutral", "false": "contradiction"}


def multi_label(labels: Iterable[str]) -> str:
    """Join a set of study labels the way the system prompt asks: sorted, hyphen-joined.

    >>> multi_label({"true", "either"})
    'either-true'
    """
    chosen = set(labels)
    unknown = chosen - set(LABELS)
    if unknown:
        raise ValueError(f"unknown label(s) {sorted(unknown)}; expected a subset of {LABELS}")
    if not chosen:
        raise ValueError("a multi-label needs at least one label")
    return "-".join(label for label in LABELS if label in chosen)


def split_multi_label(value: str) -> frozenset[str]:
    """The label set of a multi-label written ``either-true`` (hyphens) or ``true | either``."""
    parts = value.replace("|", "-").split("-")
    chosen = frozenset(part.strip() for part in parts if part.strip())
    unknown = chosen - set(LABELS)
    if unknown or not chosen:
        raise ValueError(f"not a multi-label over {LABELS}: {value!r}")
    return chosen


def single_label(labels: Iterable[str] | str, *, rule: str = "study") -> str:
    """Collapse a multi-label response to one label.

    ``rule="study"`` (the paper, Section 3): ``true`` or ``false`` when that label was chosen
    alone, ``either`` otherwise (any combination, or ``either`` itself).  This makes LiveNLI's
    multi-label answers comparable to the single-label ChaosNLI and MNLI annotations.

    >>> single_label({"true"}), single_label({"true", "false"}), single_label("either-true")
    ('true', 'either', 'either')
    """
    if rule != "study":
        raise ValueError(f"unknown single-label rule {rule!r}; the only rule is 'study'")
    chosen = split_multi_label(labels) if isinstance(labels, str) else frozenset(labels)
    if not chosen or not chosen <= set(LABELS):
        raise ValueError(f"not a label set over {LABELS}: {sorted(chosen)}")
    if len(chosen) == 1 and chosen != {"either"}:
        return next(iter(chosen))
    return "either"
