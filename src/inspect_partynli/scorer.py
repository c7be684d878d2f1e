"""The Inspect scorers ``inspect_partynli/livenli_scorer`` (the study's NLI labels) and
``inspect_partynli/annotation_scorer`` (any dataset's labels), and the run-time metrics.

Every reply becomes one :class:`~inspect_ai.scorer.Score` (see :func:`reply_score`); nothing is
reduced across epochs, because each epoch is one annotation (a "trial" in the study).  The
scorer is registered, so an old log can be re-scored after a parser fix::

    inspect score LOG --scorer inspect_partynli/livenli_scorer --action overwrite --overwrite

The metrics are declared ``scores="unreduced"``: Inspect hands them one ``SampleScore`` per
(sample, epoch) whatever epoch reducer the task or a re-score uses (the task itself has none),
and they group the scores by sample id themselves.  Agree and JS call the study's own
functions in :mod:`inspect_partynli.metrics`, so they equal what the analysis reports for the
same run; the full analysis (entropy, KL, alpha, bootstrap...) lives there.  Every metric
returns a dict, so the log header names them all alike (``parse_rate``, ``share_either``,
``agree``, ``js``).  The metrics take the label order from the samples' human distribution
(``human_distribution``, which follows the dataset's labels); a sample without one counts its
labels in the study's NLI order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    metric,
    scorer,
)
from inspect_ai.solver import TaskState

from inspect_partynli.estimators.table import estimate_of
from inspect_partynli.labels import (
    ERROR_LABEL,
    LABELS,
    NLI,
    NO_ANNOTATION,
    NO_ANNOTATION_KEY,
    LabelSpace,
)
from inspect_partynli.parsing import parse_reply

#: Keys of ``Score.value`` (always all present).
VALUE_KEYS: tuple[str, ...] = (
    "label",
    "multi_label",
    "parsed",
    "failure",
    "temperature",
    "top_p",
    "n_labels",
)

#: The sample-metadata key holding the primary human label distribution ({label: share}).
HUMAN_DISTRIBUTION_KEY = "human_distribution"
#: The same in logs written before the dataset layer (LiveNLI only).
LEGACY_DISTRIBUTION_KEY = "livenli_distribution"


# ------------------------------------------------------------------------------ scoring


def _setting(metadata: Mapping[str, Any], name: str) -> float | None:
    value = metadata.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def score_metadata(
    highlights: Mapping[str, list[str]],
    unmatched: Mapping[str, list[str]],
    raw_label: str = "",
    answer: str = "",
    explanation: str = "",
    parsed: bool = True,
) -> dict[str, Any]:
    """``Score.metadata``: only what ``value``, ``answer`` and ``explanation`` do not say.

    Always ``highlights`` (the ``<<...>>`` spans of each text) and ``unmatched_highlights``
    (spans not found in the item's text); ``raw_label`` only when the label as written differs
    from the answer (a synonym, an unknown label); ``explanation`` only for a failure whose
    reply had one (``Score.explanation`` then holds the parse error).  Inspect thins and stores
    every metadata string of every sample several times over, so nothing is kept twice: the
    failure detail is in ``Score.explanation`` and the stop reason in the sample's output.
    """
    metadata: dict[str, Any] = {"highlights": highlights, "unmatched_highlights": unmatched}
    if raw_label and raw_label != answer:
        metadata["raw_label"] = raw_label
    if explanation and not parsed:
        metadata["explanation"] = explanation
    return metadata


def reply_score(
    completion: str | None,
    metadata: Mapping[str, Any] | None = None,
    stop_reason: str | None = None,
    space: LabelSpace = NLI,
) -> Score:
    """The Score of one reply (pure; what :func:`livenli_scorer` returns for a sample).

    ``value`` has every key of :data:`VALUE_KEYS`; ``answer`` is the multi-label (``error``
    when unparsed); ``explanation`` is the reply's explanation, or, for a failure, the parse
    error (as in the study's export, where error rows carry the error as explanation);
    ``metadata`` holds the explanation, highlights, unmatched highlights, the label as written
    and the failure detail; ``highlighted`` is the highlights as one flat line (readable in
    ``inspect view`` without unfolding).  ``space``: the dataset's labels (default: NLI).
    """
    metadata = metadata if isinstance(metadata, Mapping) else {}
    reply = parse_reply(
        completion,
        str(metadata.get("premise") or ""),
        str(metadata.get("hypothesis") or ""),
        stop_reason=stop_reason,
        space=space,
    )
    explanation = (
        reply.explanation if reply.parsed else f"parse error ({reply.failure}): {reply.detail}"
    )
    return Score(
        value={
            "label": reply.label,
            "multi_label": reply.multi_label,
            "parsed": int(reply.parsed),
            "failure": reply.failure,
            "temperature": _setting(metadata, "temperature"),
            "top_p": _setting(metadata, "top_p"),
            "n_labels": len(reply.labels),
        },
        answer=reply.multi_label,
        explanation=explanation,
        metadata=score_metadata(
            reply.highlights,
            reply.unmatched_highlights,
            reply.raw_label,
            reply.multi_label,
            reply.explanation,
            reply.parsed,
        ),
    )


def _error_score(exc: BaseException, metadata: Mapping[str, Any] | None) -> Score:
    """Last-resort Score when scoring itself fails (never expected): a parser_error."""
    detail = f"scorer error: {type(exc).__name__}: {exc}"
    metadata = metadata if isinstance(metadata, Mapping) else {}
    return Score(
        value={
            "label": ERROR_LABEL,
            "multi_label": ERROR_LABEL,
            "parsed": 0,
            "failure": "parser_error",
            "temperature": _setting(metadata, "temperature"),
            "top_p": _setting(metadata, "top_p"),
            "n_labels": 0,
        },
        answer=ERROR_LABEL,
        explanation=f"parse error (parser_error): {detail}",
        metadata=score_metadata({"context": [], "statement": []}, {"context": [], "statement": []}),
    )


def no_annotation_score(metadata: Mapping[str, Any] | None = None) -> Score:
    """The Score of an item/trial a replayed source never annotated (no reply to parse)."""
    score = reply_score("", metadata)
    score.value.update({"failure": NO_ANNOTATION})
    score.explanation = "no annotation: the replayed source has none for this item and trial"
    return score


# ------------------------------------------------------------------------------ metrics


def _parsed_label(score: SampleScore) -> str | None:
    """The single label of a parsed reply, or None (unparsed, or not one of our scores)."""
    value = score.score.value
    if not isinstance(value, Mapping) or not value.get("parsed"):
        return None
    label = value.get("label")
    return label if isinstance(label, str) and label != ERROR_LABEL else None


def _shares(metadata: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    metadata = metadata or {}
    shares = metadata.get(HUMAN_DISTRIBUTION_KEY)
    if shares is None:
        shares = metadata.get(LEGACY_DISTRIBUTION_KEY)
    return shares if isinstance(shares, Mapping) else None


def label_order(scores: Sequence[SampleScore]) -> tuple[str, ...]:
    """The dataset's labels in order, read from the first human distribution (the study's
    NLI labels when no sample has one); labels seen only in replies are appended."""
    order: tuple[str, ...] = ()
    for score in scores:
        shares = _shares(score.sample_metadata)
        if shares:
            order = tuple(str(label) for label in shares)
            break
    order = order or LABELS
    seen = {label for label in map(_parsed_label, scores) if label is not None}
    return order + tuple(sorted(seen - set(order)))


def _human_distribution(
    metadata: Mapping[str, Any] | None, labels: tuple[str, ...]
) -> np.ndarray | None:
    """The human distribution of a sample, in ``labels`` order (None when absent)."""
    shares = _shares(metadata)
    if shares is None:
        return None
    try:
        vector = np.array([float(shares.get(label) or 0.0) for label in labels])
    except (TypeError, ValueError):
        return None
    return vector if np.isfinite(vector).all() and vector.sum() > 0 else None


@dataclass(frozen=True)
class _Tally:
    """What the label metrics need from one list of scores, gathered in one pass.

    ``labels``: the label order (:func:`label_order`); ``parsed``: the single label of every
    parsed reply; ``model``: per item that has a human reference, the label counts of its
    replies over all epochs (rows of zeros for items never parsed; a reply read by an estimator,
    ``p_<label>`` in its value, adds its distribution instead of one label, so the row is
    proportional to the mean distribution over the epochs); ``human``: those items' human
    distributions.  Columns in ``labels`` order.
    """

    labels: tuple[str, ...]
    parsed: list[str]
    model: np.ndarray
    human: np.ndarray


#: The last tally, with the scores it was made from: Inspect hands one list of scores to every
#: metric of a scorer (and recomputes the metrics while the run goes on, for its display), so
#: label_shares, agree and js share one pass.  The scores are held, so their ids stay theirs.
_LAST_TALLY: list[tuple[list[SampleScore], tuple[int, ...], _Tally]] = []


def _tally(scores: Sequence[SampleScore]) -> _Tally:
    """The :class:`_Tally` of ``scores`` (reused when the same score objects come again)."""
    key = tuple(map(id, scores))
    if _LAST_TALLY and _LAST_TALLY[0][1] == key:
        return _LAST_TALLY[0][2]
    tally = _count(scores)
    _LAST_TALLY[:] = [(list(scores), key, tally)]
    return tally


def _count(scores: Sequence[SampleScore]) -> _Tally:
    labels = label_order(scores)
    index = {label: i for i, label in enumerate(labels)}
    counts: dict[Any, np.ndarray] = defaultdict(lambda: np.zeros(len(labels)))
    human: dict[Any, np.ndarray | None] = {}
    parsed: list[str] = []
    for score in scores:
        key = score.sample_id
        tally = counts[key]
        label = _parsed_label(score)
        if label is not None:
            parsed.append(label)
            distribution = estimate_of(score.score.value, labels)
            if distribution is not None:
                tally += distribution
            else:
                tally[index[label]] += 1
        if human.get(key) is None:
            human[key] = _human_distribution(score.sample_metadata, labels)
    keys = [key for key in counts if human.get(key) is not None]
    shape = (len(keys), len(labels))
    return _Tally(
        labels,
        parsed,
        np.array([counts[k] for k in keys]).reshape(shape),
        np.array([human[k] for k in keys]).reshape(shape),
    )


def _item_matrices(scores: Sequence[SampleScore]) -> tuple[np.ndarray, np.ndarray]:
    """(model label counts, human distributions), one row per item that has a human reference
    (see :class:`_Tally`)."""
    tally = _tally(scores)
    return tally.model, tally.human


@metric(scores="unreduced")
def parse_rate() -> Metric:
    """Share of replies (sample x epoch) that were parsed (items a replayed source never
    annotated are not replies and are left out)."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        values = [s.score.value for s in scores]
        parsed = [
            bool(v.get("parsed"))
            for v in values
            if isinstance(v, Mapping) and v.get("failure") != NO_ANNOTATION
        ]
        return {"parse_rate": sum(parsed) / len(parsed) if parsed else float("nan")}

    return compute


@metric(scores="unreduced")
def label_shares() -> Metric:
    """Share of each single label (``share_either`` ...) among the parsed replies."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        tally = _tally(scores)
        counts = Counter(tally.parsed)
        total = len(tally.parsed)
        return {
            f"share_{label}": counts[label] / total if total else float("nan")
            for label in tally.labels
        }

    return compute


@metric(scores="unreduced")
def agree() -> Metric:
    """Share of items whose majority label across epochs equals the human majority.

    :func:`inspect_partynli.metrics.agree` (argmax of counts in label order, tie -> first)
    over the items that have a human distribution and at least one parsed reply: like the
    study's analysis, items without any parsed reply are left out (see ``parse_rate``).
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        from inspect_partynli import metrics

        model, human = _item_matrices(scores)
        return {"agree": float(metrics.agree(human, model)) if len(model) else float("nan")}

    return compute


@metric(scores="unreduced")
def js() -> Metric:
    """Mean Jensen-Shannon distance between each item's label distribution and the humans'.

    :func:`inspect_partynli.metrics.js_distance` (scipy ``jensenshannon``, natural log)
    between the item's normalised single-label counts over the epochs and the human
    distribution, averaged over the items with at least one parsed reply.
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        from inspect_partynli import metrics

        model, human = _item_matrices(scores)
        distances = metrics.js_distance(model, human) if len(model) else np.array([])
        distances = distances[~np.isnan(distances)]
        return {"js": float(distances.mean()) if len(distances) else float("nan")}

    return compute


def _score_replies(space: LabelSpace) -> Scorer:
    """The scoring function shared by both scorers (never raises)."""

    async def score(state: TaskState, target: Target) -> Score:
        metadata = getattr(state, "metadata", None)
        try:
            output = state.output
            # ModelOutput.stop_reason raises on an output without choices (no generation)
            stop_reason = output.choices[0].stop_reason if output and output.choices else None
            completion = output.completion if output is not None else ""
            if output is not None and (output.metadata or {}).get(NO_ANNOTATION_KEY) == (
                NO_ANNOTATION
            ):
                return no_annotation_score(metadata)
            return reply_score(completion, metadata, stop_reason, space)
        except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
            return _error_score(exc, metadata)

    return score


METRICS = [parse_rate(), label_shares(), agree(), js()]


@scorer(metrics=METRICS)
def livenli_scorer() -> Scorer:
    """Parse each reply into the study's NLI annotation (labels, explanation, highlights).

    Never raises: an unparseable reply is a Score with ``parsed`` 0 and a failure category.
    """
    return _score_replies(NLI)


@scorer(metrics=METRICS)
def annotation_scorer(
    labels: list[str] | None = None,
    synonyms: dict[str, list[str]] | None = None,
    multi_label: str | None = None,
) -> Scorer:
    """Parse each reply against a dataset's labels (default: the study's NLI labels).

    ``labels`` (ordered), ``synonyms`` (extra words per label) and ``multi_label`` (what
    several labels become; None drops such a reply as ``unknown_label``) are the dataset's
    label space, recorded with the scorer in the log so ``inspect score`` can re-score it.
    """
    return _score_replies(space_of(labels, synonyms, multi_label))


def space_of(
    labels: list[str] | None, synonyms: dict[str, list[str]] | None, multi_label: str | None
) -> LabelSpace:
    """The label space a scorer was given (as recorded in the log); NLI when none."""
    if labels is None:
        return NLI
    words = {label: tuple(extra) for label, extra in (synonyms or {}).items()}
    return LabelSpace(tuple(labels), words, multi_label)


__all__ = [
    "VALUE_KEYS",
    "annotation_scorer",
    "score_metadata",
    "agree",
    "js",
    "label_shares",
    "livenli_scorer",
    "parse_rate",
    "no_annotation_score",
    "reply_score",
]
