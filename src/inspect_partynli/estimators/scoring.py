"""The Score of one reply to an estimator prompt (``logprobs`` / ``verbalized``).

``Score.value`` keeps every key the annotation scorer writes (``label``, ``multi_label``,
``parsed``, ``failure``, ``temperature``, ``top_p``, ``n_labels``), so the annotation table,
``parse_rate`` and ``label_shares`` read an estimator run like any other: its ``label`` is
the most probable label (a tie goes to the first label).  It adds, as flat keys visible in
``inspect view``:

* ``estimator``: ``logprobs`` or ``verbalized``;
* ``p_<label>`` for every label of the dataset (``p_either``, ``p_false``, ``p_true``): the
  reply's distribution, None on a failure;
* ``other_mass`` (logprobs: first-token mass on anything but a label word) and ``raw_sum``
  (verbalized: the stated probabilities' sum in percent), None where they do not apply.

``Score.explanation`` is the reply's explanation (verbalized: the JSON's; logprobs: the lines
after the label), or ``parse error (<failure>): <detail>`` for a reply that could not be read.
``Score.metadata`` holds only the estimator's extras (which tokens counted for which label;
the scale the probabilities were written in): as with the annotation scorer
(:func:`~inspect_partynli.scorer.score_metadata`), nothing the Score or the sample already
says is stored again (Inspect thins and stores every metadata value several times a sample).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState

from ..labels import ERROR_LABEL, NO_ANNOTATION, NO_ANNOTATION_KEY, LabelSpace
from ..scorer import METRICS, no_annotation_score, space_of
from .base import ESTIMATOR_KEY, Estimate
from .logprobs import read_logprobs
from .verbalized import parse_verbalized

#: Keys an estimator's ``Score.value`` adds to the annotation scorer's.
ESTIMATE_KEYS: tuple[str, ...] = (ESTIMATOR_KEY, "other_mass", "raw_sum")


def _setting(metadata: Mapping[str, Any], name: str) -> float | None:
    value = metadata.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _after_first_line(text: str) -> str:
    _, _, rest = text.strip().partition("\n")
    return rest.strip()


def estimate_score(
    estimate: Estimate,
    metadata: Mapping[str, Any] | None = None,
    *,
    completion: str = "",
) -> Score:
    """The Score of one reply read by an estimator (pure)."""
    metadata = metadata if isinstance(metadata, Mapping) else {}
    label = estimate.label or ERROR_LABEL
    if estimate.parsed:
        shown = str(estimate.extras.get("explanation") or _after_first_line(completion))
    else:
        shown = f"parse error ({estimate.failure}): {estimate.detail}"
    extras = {k: v for k, v in estimate.extras.items() if k != "explanation"}
    return Score(
        value={
            "label": label,
            "multi_label": label,
            "parsed": int(estimate.parsed),
            "failure": estimate.failure,
            "temperature": _setting(metadata, "temperature"),
            "top_p": _setting(metadata, "top_p"),
            "n_labels": int(estimate.parsed),
            ESTIMATOR_KEY: estimate.estimator,
            **estimate.values(),
            "other_mass": estimate.other_mass,
            "raw_sum": estimate.raw_sum,
        },
        answer=label,
        explanation=shown,
        metadata=extras,
    )


def read_reply(estimator: str, output: Any, space: LabelSpace) -> Estimate:
    """The estimate of an Inspect ``ModelOutput`` by ``estimator`` (never raises)."""
    choices = getattr(output, "choices", None) or []
    first = choices[0] if choices else None
    if estimator == "logprobs":
        return read_logprobs(getattr(first, "logprobs", None), space)
    completion = output.completion if output is not None else ""
    return parse_verbalized(completion, space, stop_reason=getattr(first, "stop_reason", None))


@scorer(metrics=METRICS)
def estimator_scorer(
    estimator: str = "logprobs",
    labels: list[str] | None = None,
    synonyms: dict[str, list[str]] | None = None,
    multi_label: str | None = None,
) -> Scorer:
    """Read each reply by ``estimator`` (``logprobs`` or ``verbalized``) over a dataset's labels
    (default: the study's NLI labels); the label space is recorded with the scorer in the log,
    so ``inspect score`` can re-score it.  Never raises: a reply that cannot be read is a Score
    with ``parsed`` 0 and a failure category.  The metrics are the annotation scorer's (``js``
    and ``agree`` on the mean distribution over the epochs)."""
    if estimator not in ("logprobs", "verbalized"):
        raise ValueError(f"estimator_scorer reads logprobs or verbalized, not {estimator!r}")
    space = space_of(labels, synonyms, multi_label)

    async def score(state: TaskState, target: Target) -> Score:
        metadata = getattr(state, "metadata", None)
        output = getattr(state, "output", None)
        if output is not None and (output.metadata or {}).get(NO_ANNOTATION_KEY) == NO_ANNOTATION:
            return no_annotation_score(metadata)
        try:
            estimate = read_reply(estimator, output, space)
        except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
            detail = f"scorer error: {type(exc).__name__}: {exc}"
            estimate = Estimate(estimator, space.labels, failure="parser_error", detail=detail)
        completion = output.completion if output is not None else ""
        return estimate_score(estimate, metadata, completion=completion)

    return score
