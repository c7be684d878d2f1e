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

from collections import defaultdict
from collections.abc import Mapping, Sequence
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


def highlight_text(highlights: Mapping[str, list[str]]) -> str:
    """The highlights as one flat line for ``inspect view`` (``context: <<a>> <<b>> | ...``)."""
    parts = [
        f"{name}: " + " ".join(f"<<{span}>>" for span in spans)
        for name, spans in highlights.items()
        if spans
    ]
    return " | ".join(parts)


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
        metadata={
            "explanation": reply.explanation,
            "highlights": reply.highlights,
            "highlighted": highlight_text(reply.highlights),
            "unmatched_highlights": reply.unmatched_highlights,
            "raw_label": reply.raw_label,
            "failure_detail": reply.detail,
            "stop_reason": stop_reason,
        },
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
        metadata={
            "explanation": "",
            "highlights": {"context": [], "statement": []},
            "highlighted": "",
            "unmatched_highlights": {"context": [], "statement": []},
            "raw_label": "",
            "failure_detail": detail,
            "stop_reason": None,
        },
    )


def no_annotation_score(metadata: Mapping[str, Any] | None = None) -> Score:
    """The Score of an item/trial a replayed source never annotated (no reply to parse)."""
    score = reply_score("", metadata)
    score.value.update({"failure": NO_ANNOTATION})
    score.explanation = "no annotation: the replayed source has none for this item and trial"
    score.metadata.update({"failure_detail": score.explanation})
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


def _item_matrices(scores: Sequence[SampleScore]) -> tuple[np.ndarray, np.ndarray]:
    """(model label counts, human distributions), one row per item that has a human reference.

    Model counts are the parsed single labels of the item's replies over all epochs (rows of
    zeros for items never parsed); columns in the dataset's label order.  A reply read by an
    estimator (``p_<label>`` in its value) adds its distribution instead of one label, so the
    row is proportional to the mean distribution over the epochs.
    """
    labels = label_order(scores)
    index = {label: i for i, label in enumerate(labels)}
    counts: dict[Any, np.ndarray] = defaultdict(lambda: np.zeros(len(labels)))
    human: dict[Any, np.ndarray | None] = {}
    for score in scores:
        key = score.sample_id
        tally = counts[key]
        label = _parsed_label(score)
        distribution = estimate_of(score.score.value, labels) if label is not None else None
        if distribution is not None:
            tally += distribution
        elif label is not None:
            tally[index[label]] += 1
        if human.get(key) is None:
            human[key] = _human_distribution(score.sample_metadata, labels)
    keys = [key for key in counts if human.get(key) is not None]
    shape = (len(keys), len(labels))
    return (
        np.array([counts[k] for k in keys]).reshape(shape),
        np.array([human[k] for k in keys]).reshape(shape),
    )


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
        labels = [label for label in map(_parsed_label, scores) if label is not None]
        total = len(labels)
        return {
            f"share_{label}": labels.count(label) / total if total else float("nan")
            for label in label_order(scores)
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
    "highlight_text",
    "agree",
    "js",
    "label_shares",
    "livenli_scorer",
    "parse_rate",
    "no_annotation_score",
    "reply_score",
]
