"""The Inspect tasks: LLMs annotate a human-label-variation dataset like its human annotators.

``inspect_partynli/livenli``, ``inspect_partynli/varierr`` and ``inspect_partynli/annotate -T
dataset=CARD.yaml`` are one task over three datasets (:mod:`inspect_partynli.datasets`).  One
sample per item (``id`` = the item id; ``input`` = the item's text fields, which is what
``inspect view`` lists), prompted with the dataset's system and user prompts (LiveNLI and
VariErr: the paper's Figures 6 and 7), which the solver builds from the item.  Each epoch is
one independent annotation ("trial"); every epoch's reply is kept in the log (no epoch
reducer), because the study compares the *distribution* of a participant's labels with the
human one.

Example::

    inspect eval inspect_partynli/livenli --model partynli/annotators
    inspect eval inspect_partynli/varierr --model openai/gpt-4o-mini -T subset=ambiguous
    inspect eval inspect_partynli/annotate -T dataset=my-card.yaml --model ollama/qwen3:8b

Generation parameters: none beyond the prompts by default (as in the paper).  With
``sweep="temperature"`` or ``sweep="top_p"`` epoch *e* (1-based) sends the *e*-th of
:data:`SWEEP_STEPS` values equally spaced over ``[0.05 * max, 0.95 * max]`` (wrapping after
the last), the paper's temperature modulation (Section 3).  The value actually sent is
recorded on every sample (``temperature``, ``top_p``, ``sweep`` in the sample metadata),
because the log header only shows run-wide settings.

The dataset the task ran (:class:`~inspect_partynli.datasets.DatasetRef`: name, path, sha256)
is in the task metadata (``dataset``) and so in the log header; samples carry only what the
scorer and the viewer need (:meth:`~inspect_partynli.datasets.HLVDataset.sample_metadata`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageSystem,
    ChatMessageUser,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver

from ._inspect_errors import for_inspect
from .datasets import METADATA_KEY, DatasetRef, HLVDataset, load_dataset
from .datasets.livenli import UPSTREAM as LIVENLI_UPSTREAM
from .datasets.locate import verified_sha256
from .design import (  # the study design's constants (one home: design.py)
    DEFAULT_EPOCHS,
    DEFAULT_SWEEP_MAX,
    SWEEP_RANGE,
    SWEEP_STEPS,
)
from .design import SWEEP_PARAMETERS as SWEEPS
from .errors import UsageError, UserInputError
from .estimators import (
    DEFAULT_ESTIMATOR,
    ESTIMATOR_KEY,
    ESTIMATOR_REQUESTS,
    check_estimator,
    estimator_prompt,
)
from .estimators.support import active_model, check_logprobs_support
from .prompts import NLI_PROMPT, PromptSpec

#: ``Task(version=...)`` of each task; raised when what a task's log holds changes.
#: livenli 2: lean sample metadata, the item's texts as the sample input, the dataset in the header.
TASK_VERSIONS: dict[str, int] = {"livenli": 2, "varierr": 1, "annotate": 1}

#: The dataset of the sample being solved (set by the solver, read by the offline participants
#: in the same sample's context: never process-wide).
ACTIVE_DATASET: ContextVar[DatasetRef | None] = ContextVar("partynli_dataset", default=None)


def sweep_values(maximum: float = DEFAULT_SWEEP_MAX, steps: int = SWEEP_STEPS) -> list[float]:
    """``steps`` values equally spaced over ``[0.05 * maximum, 0.95 * maximum]``.

    Rounded to 10 decimals so the values in logs read cleanly (``0.075``, not
    ``0.07500000000000001``).

    >>> sweep_values(1.5)[:3]
    [0.075, 0.225, 0.375]
    """
    if not maximum > 0:
        raise ValueError(f"the sweep maximum must be > 0, got {maximum!r}")
    if steps < 1:
        raise ValueError(f"a sweep needs at least one step, got {steps!r}")
    low, high = SWEEP_RANGE
    return [round(float(v), 10) for v in np.linspace(low * maximum, high * maximum, steps)]


def sweep_value(values: list[float], epoch: int) -> float:
    """The value used at a 1-based ``epoch``: the epoch-th value, wrapping after the last."""
    if epoch < 1:
        raise ValueError(f"epochs are 1-based, got {epoch!r}")
    return values[(epoch - 1) % len(values)]


def sweep_schedule(sweep: str | None, tmax: float | None = None) -> list[float] | None:
    """The values of a sweep (validated), or None when nothing is swept.

    ``tmax`` is the maximum of the swept parameter (default :data:`DEFAULT_SWEEP_MAX`);
    for ``top_p`` it cannot exceed 1.  Raises ``ValueError`` with the accepted choices.
    """
    if sweep is None or sweep == "none":
        if tmax is not None:
            raise ValueError(
                f"tmax={tmax!r} was given without a sweep; add -T sweep=temperature or "
                "-T sweep=top_p"
            )
        return None
    if sweep not in SWEEPS:
        raise ValueError(f"unknown sweep {sweep!r}; choose one of {', '.join(SWEEPS)}")
    maximum = DEFAULT_SWEEP_MAX if tmax is None else tmax
    if isinstance(maximum, bool) or not isinstance(maximum, int | float) or not maximum > 0:
        raise ValueError(f"tmax must be a number > 0, got {tmax!r}")
    bound = SWEEPS[sweep]
    if bound is not None and maximum > bound:
        raise ValueError(f"tmax={maximum!r} is too large for sweep={sweep}: at most {bound}")
    return sweep_values(float(maximum))


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


def item_input(dataset: HLVDataset, item_id: str) -> str:
    """The sample's input as ``inspect view`` lists it: each text field on its own line."""
    row = dataset.items.loc[item_id]
    return "\n".join(f"{field}: {row[field]}" for field in dataset.text_fields)


def dataset_samples(dataset: HLVDataset, subset: str = "all") -> list[Sample]:
    """One Sample per item of ``subset``, in item-id order.

    ``input`` is the item's text fields (the solver builds the prompts from them);
    ``metadata`` = :meth:`HLVDataset.sample_metadata` plus ``prompt_version``.
    """
    version = dataset.prompt.version
    return [
        Sample(
            id=item_id,
            input=item_input(dataset, item_id),
            metadata={**dataset.sample_metadata(item_id), "prompt_version": version},
        )
        for item_id in dataset.subset(subset)
    ]


def livenli_samples(data: str | None = None, subset: str = "all") -> list[Sample]:
    """One Sample per LiveNLI item of ``subset`` (``all``: 122, ``chaosnli``: 50), in uid order."""
    return dataset_samples(load_dataset("livenli", data=data), subset)


def _configured(name: str) -> float | None:
    """A generation parameter the run sends anyway (``--temperature``, model config), or None.

    Mirrors how Inspect resolves the config of the active model: its own config merged with
    the eval's active generate config.
    """
    from inspect_ai.model._generate_config import active_generate_config
    from inspect_ai.model._model import active_model

    config = active_generate_config()
    model = active_model()
    if model is not None:
        config = model.config.merge(config)
    return getattr(config, name)


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
    prompt = PromptSpec(system=system, user=user)
    ref = DatasetRef.from_dict(dataset) if dataset else None

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        settings: dict[str, object] = dict(request or {})
        if sweep is not None and values is not None:
            settings[sweep] = sweep_value(values, state.epoch)
        if estimator is not None:
            state.metadata[ESTIMATOR_KEY] = estimator
        state.metadata["sweep"] = sweep
        for name in SWEEPS:
            state.metadata[name] = settings[name] if name in settings else _configured(name)
        state.messages = prompt_messages(prompt, state.metadata)
        if ref is not None:
            ACTIVE_DATASET.set(ref)
        state = await generate(state, **settings)  # type: ignore[arg-type]
        state.metadata["http_retries"] = _http_retries()
        return state

    return solve


def annotation_task(
    dataset: HLVDataset,
    *,
    subset: str,
    sweep: str | None,
    tmax: float | None,
    epochs: int,
    version: int,
    scorer_name: str = "annotation_scorer",
    estimator: str | None = None,
) -> Task:
    """The annotation task over any dataset (what every ``@task`` here returns).

    ``estimator`` (``sampling``, the default; ``logprobs``; ``verbalized``): how a reply gives
    the item's distribution (:mod:`inspect_partynli.estimators`).  The two others send their
    own prompt variant, are read by :func:`~inspect_partynli.estimators.scoring.estimator_scorer`
    and are recorded in the task and sample metadata; ``logprobs`` is refused up front on a
    provider that returns no log-probabilities.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    dataset.subset(subset)  # an unknown subset names the choices
    values = sweep_schedule(sweep, tmax)
    sweep = None if values is None else sweep
    estimator = check_estimator(estimator)

    from . import scorer as scorers
    from .estimators.scoring import estimator_scorer

    space = dataset.space
    space_args = {
        "labels": list(space.labels),
        "synonyms": {label: list(words) for label, words in space.synonyms.items()},
        "multi_label": space.multi_label,
    }
    ref = dataset.ref.as_dict()
    samples = dataset_samples(dataset, subset)
    prompt = dataset.prompt
    system, user, prompt_version = prompt.system, prompt.user, prompt.version
    extra: dict[str, Any] = {}  # an estimator's solver arguments (none for sampling)
    if estimator == DEFAULT_ESTIMATOR:
        score = (
            scorers.livenli_scorer()
            if scorer_name == "livenli_scorer"
            else scorers.annotation_scorer(**space_args)
        )
    else:
        if estimator == "logprobs":
            check_logprobs_support(active_model())
        variant = estimator_prompt(estimator, system, user, space.labels)
        system, user, prompt_version = variant.system, variant.user, variant.version
        extra = {"estimator": estimator, "request": ESTIMATOR_REQUESTS.get(estimator, {})}
        score = estimator_scorer(estimator, **space_args)
        for sample in samples:
            sample.metadata["prompt_version"] = prompt_version
    task = Task(
        dataset=MemoryDataset(samples, name=f"{dataset.name}-{subset}"),
        solver=annotate(sweep, values, system, user, ref, **extra),
        scorer=score,
        epochs=Epochs(epochs, reducer=[]),
        version=version,
        metadata={
            "prompt_version": prompt_version,
            "subset": subset,
            "sweep": sweep,
            "tmax": None if values is None else float(DEFAULT_SWEEP_MAX if tmax is None else tmax),
            "sweep_values": values,
            METADATA_KEY: ref,
            "labels": list(space.labels),
            "populations": list(dataset.populations),
        },
    )
    if estimator != DEFAULT_ESTIMATOR:  # a sampling run's header stays as it was
        task.metadata[ESTIMATOR_KEY] = estimator
    return task


def _for_inspect(build):  # noqa: ANN001, ANN202
    """Run a task builder, turning user-input errors into one message on Inspect's CLI."""
    try:
        return build()
    except (ValueError, UserInputError) as error:
        raise for_inspect(error) from None


@task
def livenli(
    data: str | None = None,
    subset: str = "all",
    sweep: str | None = None,
    tmax: float | None = None,
    epochs: int = DEFAULT_EPOCHS,
    estimator: str = DEFAULT_ESTIMATOR,
) -> Task:
    """PartyNLI annotation of LiveNLI: every epoch is one annotation of every item.

    Args:
        data: LiveNLI ``livenli.csv`` or a folder holding it (default: ``$INSPECT_PARTYNLI_DATA``,
            then the user cache, then a verified download).
        subset: ``all`` (122 items) or ``chaosnli`` (the 50 items with ChaosNLI and MNLI labels).
        sweep: None (send no generation parameters), ``temperature`` or ``top_p``.
        tmax: maximum of the swept parameter (default 1.0; for ``top_p`` at most 1.0).  Epoch e
            uses the e-th of 10 values over ``[0.05 * tmax, 0.95 * tmax]``, wrapping after 10.
        epochs: annotations per item (default 5); ``--epochs`` on the command line overrides
            it.  Every epoch is kept: the task has no epoch reducer.
        estimator: how a reply gives the item's distribution: ``sampling`` (the paper: one
            label per epoch), ``logprobs`` (first-token log-probabilities) or ``verbalized``
            (stated probabilities); see docs/estimators.md.
    """

    def build() -> Task:
        dataset = load_dataset("livenli", data=data)
        built = annotation_task(
            dataset, subset=subset, sweep=sweep, tmax=tmax, epochs=epochs,
            version=TASK_VERSIONS["livenli"], scorer_name="livenli_scorer", estimator=estimator,
        )  # fmt: skip
        csv = dataset.ref.path
        # the file's digest as before the dataset layer (warns when it is not upstream)
        built.metadata["data_path"] = csv
        built.metadata["data_sha256"] = verified_sha256(Path(csv), LIVENLI_UPSTREAM)
        return built

    return _for_inspect(build)


@task
def varierr(
    data: str | None = None,
    subset: str = "all",
    sweep: str | None = None,
    tmax: float | None = None,
    epochs: int = DEFAULT_EPOCHS,
    estimator: str = DEFAULT_ESTIMATOR,
) -> Task:
    """PartyNLI annotation of VariErr-NLI (500 MNLI items; the paper's prompts with premise =
    ``context`` and hypothesis = ``statement``).

    Args:
        data: ``varierr.json`` or a folder holding it (default: ``$INSPECT_PARTYNLI_DATA``,
            then the user cache, then a verified download).
        subset: ``all`` (500 items), ``ambiguous`` (236 with ``has_ambiguity``) or ``errors``
            (119 with ``error_labels``).
        sweep, tmax, epochs, estimator: as for ``inspect_partynli/livenli``.

    Samples carry the ``varierr`` annotators' distribution (``human_distribution``) and the
    ``varierr_validated`` and ``chaosnli`` counts.
    """
    return _for_inspect(
        lambda: annotation_task(
            load_dataset("varierr", data=data), subset=subset, sweep=sweep, tmax=tmax,
            epochs=epochs, version=TASK_VERSIONS["varierr"], estimator=estimator,
        )  # fmt: skip
    )


@task(name="annotate")
def annotate_dataset(
    dataset: str | None = None,
    data: str | None = None,
    subset: str = "all",
    sweep: str | None = None,
    tmax: float | None = None,
    epochs: int = DEFAULT_EPOCHS,
    estimator: str = DEFAULT_ESTIMATOR,
) -> Task:
    """PartyNLI annotation of any dataset: ``-T dataset=CARD.yaml`` (a dataset card, see
    docs/datasets.md), or a built-in name (``livenli``, ``varierr``; ``data`` then locates
    its file).  ``subset``, ``sweep``, ``tmax``, ``epochs`` and ``estimator`` as for the other
    tasks."""

    def build() -> Task:
        if not dataset:
            raise UsageError("inspect_partynli/annotate needs -T dataset=CARD.yaml")
        return annotation_task(
            load_dataset(dataset, data=data), subset=subset, sweep=sweep, tmax=tmax,
            epochs=epochs, version=TASK_VERSIONS["annotate"], estimator=estimator,
        )  # fmt: skip

    return _for_inspect(build)
