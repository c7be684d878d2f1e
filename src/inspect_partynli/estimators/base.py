"""What every estimator produces: one item's label distribution, or a classified failure.

Three estimators read a model's label distribution for an item (issue 12):

``sampling``
    The paper's method: every epoch is one annotation (a label); the distribution is the
    share of each label over the annotations.  Handled by the task and scorer as before.
``logprobs``
    One reply; the distribution is the normalised probability mass of the label words at the
    first generated token (:mod:`.logprobs`).
``verbalized``
    One reply that states a probability per label as JSON (:mod:`.verbalized`).

The two new estimators give an :class:`Estimate` per reply: a probability per label (in the
dataset's label order, summing to 1) or a failure category with a one-line detail.  Labels are
the dataset's own: the estimators take its :class:`~inspect_partynli.labels.LabelSpace`, whose
label names and synonyms (any case) are the words a reply may use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..labels import LabelSpace

#: The estimators, the default (the paper's) first.
ESTIMATORS: tuple[str, ...] = ("sampling", "logprobs", "verbalized")
#: The paper's estimator and today's behaviour.
DEFAULT_ESTIMATOR = "sampling"
#: Key of the per-sample metadata (and the task metadata) naming the estimator of a run.
ESTIMATOR_KEY = "estimator"
#: Prefix of the per-label probability keys of ``Score.value`` (``p_true``, ``p_either``...).
PROBABILITY_PREFIX = "p_"


def check_estimator(value: object) -> str:
    """The estimator named by ``value`` (None -> the default); ValueError naming the choices."""
    if value is None:
        return DEFAULT_ESTIMATOR
    name = str(value).strip().lower()
    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {value!r}; choose one of {', '.join(ESTIMATORS)}")
    return name


def probability_key(label: str) -> str:
    """The ``Score.value`` key holding a label's probability: ``p_<label>``."""
    return f"{PROBABILITY_PREFIX}{label}"


def normalise_word(text: str) -> str:
    """A word as compared with :attr:`LabelSpace.words`: lower-cased, whitespace collapsed."""
    return " ".join(str(text).lower().split())


def label_of(space: LabelSpace, text: object) -> str | None:
    """The label a key or word names in ``space`` (any case; surrounding quotes, markdown and
    space ignored), or None."""
    if not isinstance(text, str):
        return None
    return space.words.get(normalise_word(text.strip(" \t\r\n\"'`*_")))


@dataclass(frozen=True)
class Estimate:
    """One reply read by an estimator.

    ``probabilities`` is one value per label (in ``labels`` order, summing to 1), or None when
    the reply could not be read (``failure`` is then its category and ``detail`` says why).
    ``other_mass`` (logprobs): the first token's probability on anything but a label word.
    ``raw_sum`` (verbalized): the sum of the stated probabilities, in percent, before
    normalising (100 for a well-formed reply).
    """

    estimator: str
    labels: tuple[str, ...]
    probabilities: tuple[float, ...] | None = None
    failure: str = ""
    detail: str = ""
    other_mass: float | None = None
    raw_sum: float | None = None
    extras: Mapping[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if (self.probabilities is None) == (not self.failure):
            raise ValueError("an Estimate has either probabilities or a failure, not both")
        if self.probabilities is not None and len(self.probabilities) != len(self.labels):
            raise ValueError("an Estimate needs one probability per label")

    @property
    def parsed(self) -> bool:
        return self.probabilities is not None

    @property
    def label(self) -> str | None:
        """The most probable label (a tie goes to the first in label order); None on failure."""
        if self.probabilities is None:
            return None
        best = max(self.probabilities)
        return self.labels[self.probabilities.index(best)]

    def values(self) -> dict[str, float | None]:
        """``{p_<label>: probability}`` for every label (None on failure)."""
        given = self.probabilities or (None,) * len(self.labels)
        return {probability_key(label): p for label, p in zip(self.labels, given, strict=True)}


def normalised(masses: Sequence[float]) -> tuple[float, ...]:
    """``masses`` divided by their sum (which must be > 0 and finite)."""
    total = math.fsum(masses)
    if not (total > 0 and math.isfinite(total)):
        raise ValueError(f"cannot normalise masses summing to {total!r}")
    return tuple(m / total for m in masses)
