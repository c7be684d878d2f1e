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

from pathlib import Path
from typing import Any

import numpy as np
from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample

from ._inspect_errors import for_inspect
from .datasets import METADATA_KEY, HLVDataset, load_dataset
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

# the solver and its helpers live in .solver; imported here too, where they were first defined
from .solver import ACTIVE_DATASET as ACTIVE_DATASET
from .solver import annotate as annotate
from .solver import livenli_messages as livenli_messages
from .solver import prompt_messages as prompt_messages
from .solver import sweep_value as sweep_value

#: ``Task(version=...)`` of each task; raised when what a task's log holds changes.
#: livenli 2: lean sample metadata, the item's texts as the sample input, the dataset in the header.
#: livenli 3, varierr 2, annotate 2: ``prompt_version`` only in the header, lean Score.metadata
#: (:func:`~inspect_partynli.scorer.score_metadata`).
#: livenli 4, varierr 3, annotate 3: an estimator run's Score.metadata holds only the
#: estimator's extras (:func:`~inspect_partynli.estimators.scoring.estimate_score`).
TASK_VERSIONS: dict[str, int] = {"livenli": 4, "varierr": 3, "annotate": 3}


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


def item_input(dataset: HLVDataset, item_id: str) -> str:
    """The sample's input as ``inspect view`` lists it: each text field on its own line."""
    row = dataset.items.loc[item_id]
    return "\n".join(f"{field}: {row[field]}" for field in dataset.text_fields)


def dataset_samples(dataset: HLVDataset, subset: str = "all") -> list[Sample]:
    """One Sample per item of ``subset``, in item-id order.

    ``input`` is the item's text fields (the solver builds the prompts from them);
    ``metadata`` = :meth:`HLVDataset.sample_metadata` (the prompts' version is in the header).
    """
    return [
        Sample(
            id=item_id,
            input=item_input(dataset, item_id),
            metadata=dataset.sample_metadata(item_id),
        )
        for item_id in dataset.subset(subset)
    ]


def livenli_samples(data: str | None = None, subset: str = "all") -> list[Sample]:
    """One Sample per LiveNLI item of ``subset`` (``all``: 122, ``chaosnli``: 50), in uid order."""
    return dataset_samples(load_dataset("livenli", data=data), subset)


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
