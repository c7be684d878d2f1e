"""The prompts of the ``logprobs`` and ``verbalized`` estimators, derived from a dataset's own.

Both keep the dataset's task instructions -- for LiveNLI and VariErr the paper's user prompt
(Figure 7) -- word for word, and change only the reply format:

* the **system prompt** keeps the first line of the dataset's (the role: "You are an expert
  at natural language inference tasks.") and replaces the rest (Figure 6's JSON format) by the
  estimator's reply format, naming the dataset's labels in order;
* the **user prompt** is the dataset's, followed by one paragraph saying that this request
  asks for a different reply format (:data:`LOGPROBS_REQUEST`, :data:`VERBALIZED_REQUEST`).
  The paragraph names no label and holds no brace, so it can end any user template and the
  offline participants can recognise it.

``logprobs`` asks for the one option that applies best, written alone as the first thing in
the reply (then the explanation): the distribution is read from the first token's
log-probabilities, so what follows it costs tokens but changes nothing.  ``verbalized`` asks
for a probability in percent per option (summing to 100) as JSON, with an explanation.

Each variant has its own version (a content hash of its system prompt and user template), so
runs of different prompts are never mixed up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

#: The last paragraph of the user prompt of the ``logprobs`` estimator.
LOGPROBS_REQUEST = (
    "Reply format for this request (it replaces the JSON format): choose the one option that "
    "applies best and write its label alone, exactly as written above, as the very first "
    "thing in your reply, on its own line. Then give your explanation on the following lines."
)
#: The last paragraph of the user prompt of the ``verbalized`` estimator.
VERBALIZED_REQUEST = (
    "Reply format for this request (it replaces the label and highlights): do not choose. "
    "Instead, estimate for every option the probability, in percent, that it applies, so that "
    "the probabilities sum to 100, and explain your estimate, in the JSON format of the system "
    "message."
)
#: What separates the dataset's user prompt from the estimator's paragraph.
SEPARATOR = "\n\n"
REQUESTS: dict[str, str] = {"logprobs": LOGPROBS_REQUEST, "verbalized": VERBALIZED_REQUEST}

_LOGPROBS_FORMAT = """\
Start your reply with the label of the one option that applies best, alone on the first line, \
written exactly as one of: {labels}.
Write nothing before it: no JSON, no quotes, no markdown, no other words.
After that line, explain your choice in a few sentences."""

_VERBALIZED_FORMAT = """\
Always provide your responses as valid JSON that can be parsed by Python's json.loads() function.

Your response format should be:
{example}

For probabilities:
- Give one number per label: the probability, in percent (0 to 100), that the label applies
- The probabilities of all labels sum to 100

CRITICAL: Respond with ONLY the raw JSON object. Do not use markdown formatting, code blocks, \
or any wrapper text."""


@dataclass(frozen=True)
class EstimatorPrompt:
    """The prompts of one estimator for one dataset: a system text and a user template.

    ``user`` is a template in the dataset's syntax (``{field}`` placeholders, ``{{`` for a
    literal brace): the dataset's user template plus the estimator's paragraph.
    """

    estimator: str
    system: str
    user: str

    @property
    def version(self) -> str:
        """Short content hash of both prompts (recorded in every sample and log)."""
        text = f"{self.estimator}\x00{self.system}\x00{self.user}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def role_line(system: str) -> str:
    """The first non-blank line of a system prompt (the role it gives the model), or ""."""
    return next((line.strip() for line in system.splitlines() if line.strip()), "")


def _listed(labels: Sequence[str]) -> str:
    return ", ".join(labels)


def verbalized_example(labels: Sequence[str]) -> str:
    """The JSON object the ``verbalized`` system prompt shows (``...`` for each value)."""
    entries = ",\n".join(f"    {json.dumps(label, ensure_ascii=False)}: ..." for label in labels)
    return f'{{\n  "probabilities": {{\n{entries}\n  }},\n  "explanation": "..."\n}}'


def estimator_system(estimator: str, system: str, labels: Sequence[str]) -> str:
    """The system prompt of ``estimator``: the dataset's role line, then its reply format."""
    if estimator == "logprobs":
        body = _LOGPROBS_FORMAT.format(labels=_listed(labels))
    elif estimator == "verbalized":
        body = _VERBALIZED_FORMAT.format(example=verbalized_example(labels))
    else:
        raise ValueError(f"the {estimator!r} estimator has no prompt variant")
    role = role_line(system)
    return f"{role}\n{body}" if role else body


def estimator_prompt(
    estimator: str, system: str, user_template: str, labels: Sequence[str]
) -> EstimatorPrompt:
    """The prompts of ``estimator`` derived from a dataset's ``system`` and ``user_template``."""
    return EstimatorPrompt(
        estimator=estimator,
        system=estimator_system(estimator, system, labels),
        user=f"{user_template}{SEPARATOR}{REQUESTS[estimator]}",
    )


def split_request(user_text: str) -> tuple[str | None, str]:
    """(estimator, the dataset's user prompt) of a filled user prompt.

    The estimator is None when the prompt ends with no estimator paragraph (the paper's own
    prompt, i.e. ``sampling``); the text is then returned whole.
    """
    for estimator, request in REQUESTS.items():
        ending = SEPARATOR + request
        if user_text.endswith(ending):
            return estimator, user_text[: -len(ending)]
    return None, user_text
