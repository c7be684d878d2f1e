"""The label vocabulary of the study, in one place.

LiveNLI annotators (and the models prompted like them) choose one or more of three labels:
``true`` (entailment), ``either`` (neutral) and ``false`` (contradiction).  The study orders
labels alphabetically -- ``either, false, true`` -- everywhere: in multi-labels
(``either-false-true``), in distributions, and when breaking ties for a majority label
(the first label in this order wins).  Every module takes the order from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

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


@dataclass(frozen=True, eq=False)
class LabelSpace:
    """A dataset's label vocabulary: ordered labels, parser synonyms and the single-label rule.

    ``labels`` is ordered: distributions, tables and multi-labels follow it, and a tie for the
    majority goes to the first label.  ``synonyms`` maps a label to extra words (or phrases) a
    reply may use for it.  ``multi_label`` is what several labels from one annotator become
    (the study's rule for NLI: ``either``); None drops such an answer.  One label alone always
    keeps it.
    """

    labels: tuple[str, ...]
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    multi_label: str | None = None

    def __post_init__(self) -> None:
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"a label space needs distinct labels, got {self.labels!r}")
        if self.multi_label is not None and self.multi_label not in self.labels:
            raise ValueError(f"multi_label {self.multi_label!r} is not one of {self.labels}")
        unknown = set(self.synonyms) - set(self.labels)
        if unknown:
            raise ValueError(f"synonyms for unknown label(s) {sorted(unknown)}")

    @cached_property
    def index(self) -> dict[str, int]:
        """Column of each label in a distribution."""
        return {label: i for i, label in enumerate(self.labels)}

    @cached_property
    def words(self) -> dict[str, str]:
        """Every lower-cased word or phrase that names a label (the label itself included)."""
        words = {" ".join(label.lower().split()): label for label in self.labels}
        for label, extra in self.synonyms.items():
            for word in extra:
                words.setdefault(" ".join(str(word).lower().split()), label)
        return words

    def join(self, labels: Iterable[str]) -> str:
        """A label set written as one string: labels in this space's order, hyphen-joined."""
        chosen = set(labels)
        unknown = chosen - set(self.labels)
        if unknown:
            raise ValueError(
                f"unknown label(s) {sorted(unknown)}; expected a subset of {self.labels}"
            )
        if not chosen:
            raise ValueError("a multi-label needs at least one label")
        return "-".join(label for label in self.labels if label in chosen)

    def split(self, value: str) -> frozenset[str]:
        """The label set of ``a-b`` or ``a | b`` (a label that itself holds ``-`` is kept whole)."""
        text = value.strip()
        if text in self.index:
            return frozenset({text})
        parts = text.split("|") if "|" in text else text.split("-")
        chosen = frozenset(part.strip() for part in parts if part.strip())
        unknown = chosen - set(self.labels)
        if unknown or not chosen:
            raise ValueError(f"not a multi-label over {self.labels}: {value!r}")
        return chosen

    def collapse(self, labels: Iterable[str] | str) -> str | None:
        """One annotator's labels as one: a label alone keeps it, several become
        :attr:`multi_label` (None: the answer is dropped)."""
        chosen = self.split(labels) if isinstance(labels, str) else frozenset(labels)
        if not chosen or not chosen <= set(self.labels):
            raise ValueError(f"not a label set over {self.labels}: {sorted(chosen)}")
        if len(chosen) == 1:
            return next(iter(chosen))
        return self.multi_label


#: Extra words the parser accepts for the NLI labels (single letters deliberately left out:
#: in this study ``e`` could mean *either*), with the prompt's option texts (Figure 7).
NLI_SYNONYMS: dict[str, tuple[str, ...]] = {
    "true": (
        "entailment", "entailed", "entails", "entail",
        "is most likely to be true", "most likely to be true", "most likely true", "likely true",
    ),
    "either": (
        "neutral",
        "can be either true or false", "could be either true or false", "either true or false",
    ),
    "false": (
        "contradiction", "contradicts", "contradictory", "contradict",
        "is most likely false", "most likely false", "likely false",
    ),
}  # fmt: skip

#: The study's NLI label space (LiveNLI, VariErr-NLI): either, false, true; several -> either.
NLI = LabelSpace(LABELS, NLI_SYNONYMS, multi_label="either")


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
