"""The annotation solver (``inspect_partynli/annotate``): one annotation per sample and epoch.

The solver turns a sample (the item's text fields in its metadata) into the dataset's two
prompts, sends the sweep's value for the epoch (if any) and records on the sample the settings
in effect.  It runs once per sample *and epoch*, so whatever does not depend on the epoch is
done once per run, not once per sample:

* the messages of an item are built on its first epoch and reused (as copies that keep the
  message ids, exactly as Inspect copies a sample's own input for each epoch), so the log
  stores each item's prompts once and Inspect need not snapshot fresh messages every time;
* the run's generation config (the active model's merged with the eval's) is merged once per
  pair of config objects, not twice per sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from inspect_ai.model import ChatMessage, ChatMessageSystem, ChatMessageUser, GenerateConfig
from inspect_ai.solver import Generate, Solver, TaskState, solver

from .datasets import DatasetRef
from .design import SWEEP_PARAMETERS as SWEEPS
from .estimators import ESTIMATOR_KEY
from .prompts import NLI_PROMPT, PromptSpec

#: The dataset of the sample being solved (set by the solver, read by the offline participants
#: in the same sample's context: never process-wide).
ACTIVE_DATASET: ContextVar[DatasetRef | None] = ContextVar("partynli_dataset", default=None)


def sweep_value(values: list[float], epoch: int) -> float:
    """The value used at a 1-based ``epoch``: the epoch-th value, wrapping after the last."""
    if epoch < 1:
        raise ValueError(f"epochs are 1-based, got {epoch!r}")
    return values[(epoch - 1) % len(values)]


def prompt_messages(prompt: PromptSpec, item: Mapping[str, Any]) -> list[ChatMessage]:
    """The messages of one annotation: the system prompt (if any) and the filled user prompt.

    Built directly rather than with Inspect's ``system_message()`` / ``prompt_template()``,
    which would read literal JSON braces as format fields.
    """
    user = ChatMessageUser(content=prompt.user_text(item))
    return [ChatMessageSystem(content=prompt.system), user] if prompt.system else [user]


def livenli_messages(premise: str, hypothesis: str) -> list[ChatMessage]:
    """The two messages of one NLI annotation: Figure 6 as system, Figure 7 filled as user."""
    return prompt_messages(NLI_PROMPT, {"premise": premise, "hypothesis": hypothesis})


class ItemMessages:
    """An item's messages, built on first use and handed out as copies with the same ids.

    Keyed by the item's texts (the prompt's fields), so two samples with the same texts share
    their messages' content and ids, as the epochs of one sample do in Inspect.  The copies
    are shallow (message content is an immutable string), so a later edit of one sample's
    messages never reaches another's.
    """

    def __init__(self, prompt: PromptSpec) -> None:
        self.prompt = prompt
        self._built: dict[tuple[str, ...], list[ChatMessage]] = {}

    def __call__(self, item: Mapping[str, Any]) -> list[ChatMessage]:
        key = tuple(str(item[name]) for name in self.prompt.fields)
        messages = self._built.get(key)
        if messages is None:
            messages = self._built[key] = prompt_messages(self.prompt, item)
        return [message.model_copy() for message in messages]


class RunConfig:
    """The generation config a run sends anyway (``--temperature``, the model's own config).

    Mirrors how Inspect resolves the config of the active model: its own config merged with
    the eval's active generate config.  The merge is redone only when either object changes
    (another model, or a config changed while the run goes on).
    """

    def __init__(self) -> None:
        self._sources: tuple[object, object] | None = None
        self._merged = GenerateConfig()

    def __call__(self) -> GenerateConfig:
        from inspect_ai.model._generate_config import active_generate_config
        from inspect_ai.model._model import active_model

        config = active_generate_config()
        model = active_model()
        own = model.config if model is not None else None
        sources = self._sources
        if sources is None or sources[0] is not config or sources[1] is not own:
            self._merged = own.merge(config) if own is not None else config
            self._sources = (config, own)  # held, so neither id can be reused meanwhile
        return self._merged


def _http_retries() -> int:
    """Requests the provider client retried for this sample (429, 5xx, resets, timeouts),
    as Inspect counts them on the sample's model events; with the sample-level retries of
    the log (``retry_on_error``) this gives the attempts the annotation took."""
    from inspect_ai.event import ModelEvent
    from inspect_ai.log import transcript

    return sum(e.retries or 0 for e in transcript().events if isinstance(e, ModelEvent))


@solver
def annotate(
    sweep: str | None = None,
    values: list[float] | None = None,
    system: str = NLI_PROMPT.system,
    user: str = NLI_PROMPT.user,
    dataset: dict[str, str] | None = None,
    estimator: str | None = None,
    request: dict[str, object] | None = None,
) -> Solver:
    """Ask for one annotation, sending the sweep's value for this epoch (if any).

    The messages are the dataset's prompts (``system``, and the ``user`` template filled from
    the item's text fields in the sample metadata; default: the paper's NLI prompts).
    ``dataset`` (a :class:`DatasetRef` as a dict) is made known to the model for this sample
    only, so the offline participants answer from the dataset the task runs.  ``estimator``
    (``logprobs`` / ``verbalized``; None: sampling) is recorded on the sample, and ``request``
    holds the generation settings it sends every time (``logprobs=True, top_logprobs=20``).

    Records on ``state.metadata`` the settings in effect: ``sweep`` (None, ``temperature``
    or ``top_p``), ``temperature`` and ``top_p`` (the swept value; otherwise whatever the
    run's configuration sends, None meaning the provider's default), and ``http_retries``
    (:func:`_http_retries`).
    """
    if (sweep is None) != (values is None):
        raise ValueError("annotate() needs both sweep and values, or neither")
    if sweep is not None and sweep not in SWEEPS:
        raise ValueError(f"unknown sweep {sweep!r}; choose one of {', '.join(SWEEPS)}")
    messages = ItemMessages(PromptSpec(system=system, user=user))
    run_config = RunConfig()
    ref = DatasetRef.from_dict(dataset) if dataset else None

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        settings: dict[str, object] = dict(request or {})
        if sweep is not None and values is not None:
            settings[sweep] = sweep_value(values, state.epoch)
        if estimator is not None:
            state.metadata[ESTIMATOR_KEY] = estimator
        state.metadata["sweep"] = sweep
        config = run_config()
        for name in SWEEPS:
            state.metadata[name] = settings[name] if name in settings else getattr(config, name)
        state.messages = messages(state.metadata)
        if ref is not None:
            ACTIVE_DATASET.set(ref)
        state = await generate(state, **settings)  # type: ignore[arg-type]
        state.metadata["http_retries"] = _http_retries()
        return state

    return solve
