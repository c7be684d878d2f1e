"""The ``verbalized`` estimator: a label distribution the model states as JSON (pure).

The prompt asks for ``{"probabilities": {"<label>": <percent>, ...}, "explanation": "..."}``.
:func:`parse_verbalized` reads every reply whose distribution is unambiguous, with the same
robustness as the annotation parser (:mod:`inspect_partynli.parsing`, whose lenient JSON
scanner it uses: code fences, text around the object, ``<think>`` blocks, single quotes,
trailing commas, unquoted keys), and classifies every other reply.  What is accepted:

* **Where**: the first object (outermost first) with keys that name labels, at any depth
  (``{"probabilities": {...}}``, a flat ``{"true": 70, ...}``, ``{"distribution": ...}``); a
  list of entries ``[{"label": "true", "probability": 70}, ...]``; or, with no JSON at all,
  lines such as ``true: 70%``.  Keys are label names or the dataset's synonyms, any case.
* **Values**: numbers or numeric strings, with or without ``%``; a label given as
  ``{"probability": 70}``; ``null`` or a missing label reads as 0.  Values are percentages
  (the prompt's scale) unless none is written with ``%``, all are at most 1 and they sum to at
  most 1.01: then they are fractions (``0.7``) and read as ``70``.
* **Normalising**: the distribution is the values divided by their sum, whatever the sum; the
  sum itself (in percent: 100 for a well-formed reply) is recorded as ``raw_sum``.

Failures (never raised), in :data:`FAILURES`: ``empty``; ``truncated`` (an object that never
closes, an unclosed ``<think>``, or a length stop without a distribution); ``refused`` (stop
reason ``content_filter``); ``no_distribution`` (no object or line naming a label);
``bad_json`` (an object is there but cannot be read even leniently); ``bad_probability`` (a
value that is not a number, negative, above 100 percent, or not finite); ``unknown_label`` (a
number under a key that names no label, e.g. ``"maybe": 20``); ``zero_sum`` (every
probability is 0); ``conflicting`` (two distributions in one reply, or one label given twice,
that disagree); ``parser_error`` (an internal error; a bug).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..labels import LabelSpace
from ..parsing import TRUNCATING_STOP_REASONS, _scan, _strip_reasoning, _walk, reply_text
from .base import Estimate, label_of, normalised

ESTIMATOR = "verbalized"
#: Failure categories of this estimator, in one place.
FAILURES: tuple[str, ...] = (
    "empty",
    "truncated",
    "refused",
    "no_distribution",
    "bad_json",
    "bad_probability",
    "unknown_label",
    "zero_sum",
    "conflicting",
    "parser_error",
)
#: Keys under which an entry (or a label's own object) holds its probability.
PROBABILITY_KEYS: tuple[str, ...] = (
    "probability", "prob", "p", "percent", "percentage", "value", "score", "confidence",
)  # fmt: skip
#: Numeric keys beside the labels that are not a label (a stated total).
TOTAL_KEYS = frozenset({"total", "sum"})
#: Largest sum that is still read as fractions (0.7, 0.2, 0.1) rather than percentages.
FRACTION_SUM_LIMIT = 1.01
#: Two distributions of one reply agree when no probability differs by more than this.
AGREEMENT_TOLERANCE = 1e-6

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(%?)\s*$")
_LINE = re.compile(
    r"^[\s\-*\u2022>#]*[\"'`*]*(?P<key>[^:=\"'`*\n][^:=\n]*?)[\"'`*]*\s*[:=]\s*"
    r"[\"'`*]*(?P<value>[+-]?(?:\d+\.?\d*|\.\d+))\s*(?P<pct>%?)",
    re.MULTILINE,
)


class _Problem(Exception):
    """A candidate distribution that cannot be read; ``reason`` is a failure category."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class _Value:
    number: float
    percent: bool  # written with "%"


def _number(value: Any, key: str) -> _Value | None:
    """A probability as written (None for null); raises _Problem for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Problem("bad_probability", f"the probability of {key!r} is a boolean: {value}")
    if isinstance(value, (int, float)):
        number, percent = float(value), False
    elif isinstance(value, str):
        match = _NUMBER.match(value)
        if not match:
            raise _Problem(
                "bad_probability", f"the probability of {key!r} is not a number: {value!r}"
            )
        number, percent = float(match.group(1)), bool(match.group(2))
    elif isinstance(value, Mapping):
        inner = {str(k).strip().lower(): v for k, v in value.items()}
        found = next((k for k in PROBABILITY_KEYS if k in inner), None)
        if found is None:
            raise _Problem("bad_probability", f"no probability for {key!r} in {value!r}")
        return _number(inner[found], key)
    else:
        kind = type(value).__name__
        raise _Problem("bad_probability", f"the probability of {key!r} is a {kind}: {value!r}")
    if not math.isfinite(number) or number < 0:
        raise _Problem("bad_probability", f"the probability of {key!r} is {value!r}")
    return _Value(number, percent)


def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) or (
        isinstance(value, str) and _NUMBER.match(value) is not None
    )


def _collect(pairs: list[tuple[str, str, Any]], space: LabelSpace) -> dict[str, _Value | None]:
    """``(label, key as written, value)`` triples -> one value per label (conflicts raise)."""
    values: dict[str, _Value | None] = {}
    written: dict[str, str] = {}
    for label, key, raw in pairs:
        value = _number(raw, key)
        if label in values and values[label] != value:
            raise _Problem(
                "conflicting",
                f"{label!r} is given twice: {written[label]!r} and {key!r} disagree",
            )
        values[label] = value
        written[label] = key
    return values


def _from_mapping(obj: Mapping[Any, Any], space: LabelSpace) -> dict[str, _Value | None] | None:
    """The distribution of an object whose keys name labels (None if no key names one)."""
    pairs: list[tuple[str, str, Any]] = []
    strays: list[str] = []
    for key, value in obj.items():
        label = label_of(space, str(key))
        if label is not None:
            pairs.append((label, str(key), value))
        elif _is_numeric(value) and str(key).strip().lower() not in TOTAL_KEYS:
            strays.append(str(key))
    if not pairs:
        return None
    if strays:
        raise _Problem("unknown_label", f"probabilities for unknown label(s): {strays}")
    return _collect(pairs, space)


def _from_entries(items: list[Any], space: LabelSpace) -> dict[str, _Value | None] | None:
    """``[{"label": ..., "probability": ...}, ...]`` (None if the list is not such entries)."""
    pairs: list[tuple[str, str, Any]] = []
    for item in items:
        if not isinstance(item, Mapping):
            return None
        entry = {str(k).strip().lower(): v for k, v in item.items()}
        name = entry.get("label", entry.get("class"))
        found = next((k for k in PROBABILITY_KEYS if k in entry), None)
        if not isinstance(name, str) or found is None:
            return None
        label = label_of(space, name)
        if label is None:
            raise _Problem("unknown_label", f"a probability for the unknown label {name!r}")
        pairs.append((label, name, entry[found]))
    return _collect(pairs, space) if pairs else None


def _distribution_in(obj: Any, space: LabelSpace) -> dict[str, _Value | None] | None:
    """The first distribution in a parsed JSON value, outermost first (None: none there):
    an object whose keys name labels, or a list of entries held by an object."""
    for candidate in _walk(obj):
        found = _from_mapping(candidate, space)
        for value in candidate.values():
            if found is None and isinstance(value, list):
                found = _from_entries(value, space)
        if found is not None:
            return found
    return None


def _from_lines(text: str, space: LabelSpace) -> dict[str, _Value | None] | None:
    """``label: 70%`` lines of a reply without JSON (None if no line names a label)."""
    pairs = []
    for match in _LINE.finditer(text):
        label = label_of(space, match.group("key"))
        if label is not None:
            value = match.group("value") + match.group("pct")
            pairs.append((label, match.group("key").strip(), value))
    return _collect(pairs, space) if pairs else None


def _explanation(obj: Any) -> str:
    for candidate in _walk(obj):
        for key, value in candidate.items():
            if str(key).strip().lower() == "explanation" and isinstance(value, str):
                return value.strip()
    return ""


def _estimate(values: dict[str, _Value | None], space: LabelSpace, explanation: str) -> Estimate:
    given = {label: value for label, value in values.items() if value is not None}
    fractions = (
        bool(given)
        and not any(v.percent for v in given.values())
        and all(v.number <= 1 for v in given.values())
        and math.fsum(v.number for v in given.values()) <= FRACTION_SUM_LIMIT
    )
    scale = 100.0 if fractions else 1.0
    percents = [given[label].number * scale if label in given else 0.0 for label in space.labels]
    too_large = [label for label, p in zip(space.labels, percents, strict=True) if p > 100]
    if too_large:
        raise _Problem("bad_probability", f"probabilities above 100 percent for {too_large}")
    raw_sum = math.fsum(percents)
    if not raw_sum > 0:
        raise _Problem("zero_sum", "every probability is 0")
    missing = [label for label in space.labels if label not in given]
    return Estimate(
        ESTIMATOR,
        space.labels,
        probabilities=normalised(percents),
        raw_sum=raw_sum,
        detail=f"missing label(s) read as 0: {missing}" if missing else "",
        extras={"explanation": explanation, "scale": "fraction" if fractions else "percent"},
    )


def _failure(space: LabelSpace, reason: str, detail: str) -> Estimate:
    return Estimate(ESTIMATOR, space.labels, failure=reason, detail=detail)


def _agree(a: Estimate, b: Estimate) -> bool:
    pairs = zip(a.probabilities or (), b.probabilities or (), strict=True)
    return all(abs(x - y) <= AGREEMENT_TOLERANCE for x, y in pairs)


def _parse(text: str, space: LabelSpace, stop_reason: str | None) -> Estimate:
    refused = stop_reason == "content_filter"
    if not text.strip():
        if refused:
            return _failure(space, "refused", "the provider's content filter stopped the reply")
        return _failure(space, "empty", "the reply is empty")
    body, unclosed_think = _strip_reasoning(text)
    if unclosed_think and not body.strip():
        return _failure(space, "truncated", "the reasoning block (<think>) never closes")
    if not body.strip():
        return _failure(space, "empty", "the reply holds only a reasoning block")

    scan = _scan(body)
    estimates: list[Estimate] = []
    problems: list[_Problem] = []
    for obj in scan.objects:
        try:
            found = _distribution_in(obj, space)
            if found is not None:
                estimates.append(_estimate(found, space, _explanation(obj)))
        except _Problem as problem:
            problems.append(problem)
    if not estimates and not problems and scan.objects:
        try:  # a list of entries: its objects are the top-level objects scanned
            found = _from_entries(scan.objects, space)
            if found is not None:
                estimates.append(_estimate(found, space, ""))
        except _Problem as problem:
            problems.append(problem)
    if not estimates and not problems:
        if scan.unclosed_at is not None or unclosed_think or stop_reason in (
            TRUNCATING_STOP_REASONS
        ):
            return _failure(space, "truncated", "the reply was cut off before a distribution")
        if refused:
            return _failure(space, "refused", "the provider's content filter stopped the reply")
        if scan.objects:
            return _failure(space, "no_distribution", "the JSON names no label")
        if scan.unreadable:
            return _failure(space, "bad_json", "a JSON object is there but cannot be read")
        try:
            found = _from_lines(body, space)
            if found is not None:
                return _estimate(found, space, "")
        except _Problem as problem:
            return _failure(space, problem.reason, str(problem))
        return _failure(space, "no_distribution", "no JSON object and no 'label: percent' line")
    if not estimates:
        return _failure(space, problems[0].reason, str(problems[0]))
    if any(not _agree(estimates[0], other) for other in estimates[1:]):
        return _failure(space, "conflicting", f"{len(estimates)} distributions disagree")
    return estimates[-1]


def parse_verbalized(
    text: str | None, space: LabelSpace, *, stop_reason: str | None = None
) -> Estimate:
    """Read the distribution a reply states, or classify why it cannot be read.

    Args:
        text: the reply (None or non-strings are tolerated).
        space: the dataset's labels and synonyms.
        stop_reason: the provider's stop reason (``max_tokens`` / ``model_length`` mark a
            reply without a distribution as ``truncated``; ``content_filter`` as ``refused``).

    Never raises: an unexpected internal error becomes ``parser_error``.
    """
    try:
        text = reply_text(text)
        return _parse(text, space, stop_reason)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
        return _failure(space, "parser_error", f"internal error: {type(exc).__name__}: {exc}")
