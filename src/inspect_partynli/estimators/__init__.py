"""Three ways to read a model's label distribution for an item (issue 12).

``sampling`` (the paper's, the default), ``logprobs`` (first-token log-probabilities) and
``verbalized`` (a stated distribution).  See :mod:`.base` for what they produce,
:mod:`.logprobs` and :mod:`.verbalized` for how replies are read, :mod:`.prompts` for the
prompt variants, :mod:`.offline` for the offline participants' answers and :mod:`.support`
for the providers that return log-probabilities.  ``docs/estimators.md`` is the user's guide.
"""

from __future__ import annotations

from .base import (
    DEFAULT_ESTIMATOR,
    ESTIMATOR_KEY,
    ESTIMATORS,
    PROBABILITY_PREFIX,
    Estimate,
    check_estimator,
    probability_key,
)
from .logprobs import FAILURES as LOGPROBS_FAILURES
from .logprobs import REQUEST as LOGPROBS_REQUEST
from .logprobs import TOP_LOGPROBS, read_first_token, read_logprobs
from .prompts import EstimatorPrompt, estimator_prompt, split_request
from .verbalized import FAILURES as VERBALIZED_FAILURES
from .verbalized import parse_verbalized

#: Generation settings each estimator sends with every request (sampling and verbalized: none).
ESTIMATOR_REQUESTS: dict[str, dict[str, object]] = {"logprobs": LOGPROBS_REQUEST}

__all__ = [
    "DEFAULT_ESTIMATOR",
    "ESTIMATORS",
    "ESTIMATOR_REQUESTS",
    "ESTIMATOR_KEY",
    "LOGPROBS_FAILURES",
    "PROBABILITY_PREFIX",
    "TOP_LOGPROBS",
    "VERBALIZED_FAILURES",
    "Estimate",
    "EstimatorPrompt",
    "check_estimator",
    "estimator_prompt",
    "parse_verbalized",
    "probability_key",
    "read_first_token",
    "read_logprobs",
    "split_request",
]
