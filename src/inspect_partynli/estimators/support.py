"""Which providers return log-probabilities: checked before a ``logprobs`` run starts.

Inspect creates the task with the run's model already active, so the task refuses
``estimator=logprobs`` on a provider that cannot return log-probabilities with one message,
before any request is sent -- rather than 122 samples failing one by one.

The knowledge is in one place: :data:`NO_LOGPROBS`, the Inspect providers whose model API
never returns them (read from Inspect's provider sources: they do not forward ``logprobs`` or
drop it).  A provider of its own may instead declare ``returns_logprobs = True`` or ``False``
on its ``ModelAPI`` class (the offline ``partynli`` participants say True).  Any other provider
is trusted; a reply that nonetheless carries none (an OpenAI reasoning model, a server that
ignores the parameter) is scored as the failure ``no_logprobs``.
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError

#: Inspect providers (``provider/model``) whose model API never returns log-probabilities.
NO_LOGPROBS: frozenset[str] = frozenset(
    {"anthropic", "azureai", "bedrock", "groq", "meta", "mistral", "mockllm", "none"}
)
#: Attribute by which a ModelAPI declares whether it returns log-probabilities.
DECLARATION = "returns_logprobs"


def provider_of(model: Any) -> str:
    """The provider name of an Inspect ``Model`` (``openai`` for ``openai/gpt-4o``)."""
    from inspect_ai.model._model import ModelName

    return ModelName(model).api


def returns_logprobs(model: Any) -> bool:
    """Whether ``model`` (an Inspect ``Model``) can return log-probabilities."""
    declared = getattr(getattr(model, "api", None), DECLARATION, None)
    if isinstance(declared, bool):
        return declared
    return provider_of(model) not in NO_LOGPROBS


def check_logprobs_support(model: Any) -> None:
    """Raise a one-line :class:`UsageError` when ``model`` cannot return log-probabilities."""
    if model is None or returns_logprobs(model):
        return
    raise UsageError(
        f"-T estimator=logprobs needs token log-probabilities, which {model} does not return "
        f"(provider {provider_of(model)}); use -T estimator=verbalized or sampling, or a "
        "provider that returns them (openai, together, grok, vllm, hf, llama-cpp-python, ...)"
    )


def active_model() -> Any:
    """The model of the run being set up (Inspect's active model), or None outside a run."""
    from inspect_ai.model._model import active_model as inspect_active_model

    return inspect_active_model()
