"""How the offline participants answer the two estimator prompts (pure).

An offline participant (``partynli/...``) has, for every item, a label distribution: the
item's human distribution for the dataset's annotators, or the replayed participant's label
shares over its trials.  Asked with an estimator prompt it answers *as a model whose belief is
that distribution*, optionally sharpened by a temperature ``T`` (``-M temperature=T``):

    q_i = p_i ** (1 / T) / sum_j p_j ** (1 / T)

(``T = 1`` keeps ``p``; ``T < 1`` sharpens it; ``T > 1`` flattens it; ``T = 0`` puts all the
mass on the most probable labels, shared equally when they tie).

* ``logprobs``: the reply is the most probable label (a tie goes to the first label) and its
  first token's top-logprobs list holds ``log q_i`` for every label with ``q_i > 0`` (at most
  :data:`~.logprobs.TOP_LOGPROBS`), most probable first.  Read back by the estimator, the
  distribution is ``q`` exactly.
* ``verbalized``: the reply is the JSON the prompt asks for, with ``100 * q_i`` per label.

So with ``T = 1`` both estimators reproduce the participant's distribution item by item.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from inspect_ai.model import Logprob, Logprobs, TopLogprob

from .base import normalised
from .logprobs import TOP_LOGPROBS


def sharpen(probabilities: Sequence[float], temperature: float = 1.0) -> tuple[float, ...]:
    """``p ** (1 / T)``, normalised (computed in log space; zeros stay zero).

    >>> [round(q, 4) for q in sharpen((0.2, 0.3, 0.5), 0.5)]
    [0.1053, 0.2368, 0.6579]
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    ps = [float(p) for p in probabilities]
    if any(p < 0 or not math.isfinite(p) for p in ps) or not math.fsum(ps) > 0:
        raise ValueError(f"not a distribution: {ps!r}")
    ps = list(normalised(ps))  # equal distributions from different counts: equal floats
    if temperature == 0:
        best = max(ps)
        return normalised([1.0 if p == best else 0.0 for p in ps])
    logs = [math.log(p) / temperature if p > 0 else -math.inf for p in ps]
    top = max(logs)
    return normalised([math.exp(x - top) if p > 0 else 0.0 for x, p in zip(logs, ps, strict=True)])


def top_logprobs(
    labels: Sequence[str], probabilities: Sequence[float], temperature: float = 1.0
) -> list[tuple[str, float]]:
    """The first token's ``(token, logprob)`` list: every label with mass, most probable first
    (ties in label order), at most :data:`TOP_LOGPROBS` of them."""
    q = sharpen(probabilities, temperature)
    order = sorted(range(len(labels)), key=lambda i: (-q[i], i))
    return [(labels[i], math.log(q[i])) for i in order if q[i] > 0][:TOP_LOGPROBS]


def logprobs_reply(
    labels: Sequence[str], probabilities: Sequence[float], temperature: float = 1.0
) -> tuple[str, Logprobs]:
    """(reply text, Inspect ``Logprobs``) of the ``logprobs`` prompt: the most probable label,
    one generated token, whose top-logprobs list is :func:`top_logprobs`."""
    candidates = top_logprobs(labels, probabilities, temperature)
    token, logprob = candidates[0]
    first = Logprob(
        token=token,
        logprob=logprob,
        top_logprobs=[TopLogprob(token=t, logprob=lp) for t, lp in candidates],
    )
    return token, Logprobs(content=[first])


def verbalized_reply(
    labels: Sequence[str], probabilities: Sequence[float], temperature: float = 1.0
) -> str:
    """The JSON reply of the ``verbalized`` prompt: ``100 * q`` per label (full precision)."""
    q = sharpen(probabilities, temperature)
    reply = {
        "probabilities": {label: 100.0 * p for label, p in zip(labels, q, strict=True)},
        "explanation": "The distribution of this participant's labels for the item.",
    }
    return json.dumps(reply, indent=2, ensure_ascii=False)
