"""The Inspect task ``inspect_partynli/livenli``: LLMs annotate LiveNLI like its human workers.

One sample per LiveNLI item (``id`` = the MNLI pair id), prompted with the paper's system
prompt (Figure 6) and user prompt (Figure 7).  Each epoch is one independent annotation
("trial"); every epoch's reply is kept in the log (no epoch reducer), because the study
compares the *distribution* of a participant's labels with the human one.

Example::

    inspect eval inspect_partynli/livenli --model partynli/livenli-annotators
    inspect eval inspect_partynli/livenli --model openai/gpt-4o-mini --epochs 10 \\
        -T sweep=temperature -T tmax=2.0

Generation parameters: none beyond the prompts by default (as in the paper).  With
``sweep="temperature"`` or ``sweep="top_p"`` epoch *e* (1-based) sends the *e*-th of
:data:`SWEEP_STEPS` values equally spaced over ``[0.05 * max, 0.95 * max]`` (wrapping after
the last), the paper's temperature modulation (Section 3).  The value actually sent is
recorded on every sample (``temperature``, ``top_p``, ``sweep`` in the sample metadata),
because the log header only shows run-wide settings.
"""

from __future__ import annotations

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
from .errors import UserInputError
from .livenli_data import (
    load_livenli,
    resolve_livenli,
    sample_metadata,
    subset_uids,
    verified_sha256,
)
from .prompts import PROMPT_VERSION, SYSTEM_PROMPT, user_prompt

#: Parameters that can be swept, and the largest maximum each accepts (None: unbounded).
SWEEPS: dict[str, float | None] = {"temperature": None, "top_p": 1.0}
#: Number of distinct values in a sweep (the paper matches the 10 human annotations per item).
SWEEP_STEPS = 10
#: The sweep's range as fractions of its maximum: ``[0.05 * max, 0.95 * max]``.
SWEEP_RANGE = (0.05, 0.95)
#: The maximum used when ``tmax`` is not given (temperature and top_p alike).
DEFAULT_SWEEP_MAX = 1.0
#: Annotations per item by default (the paper's SINGLE setting: 5 prompting runs).
DEFAULT_EPOCHS = 5
SUBSETS = ("all", "chaosnli")


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


def livenli_messages(premise: str, hypothesis: str) -> list[ChatMessage]:
    """The two messages of one annotation: Figure 6 as system, Figure 7 filled as user.

    Built directly rather than with Inspect's ``system_message()`` / ``prompt_template()``,
    which would read the literal JSON braces of the system prompt as format fields.
    """
    return [
        ChatMessageSystem(content=SYSTEM_PROMPT),
        ChatMessageUser(content=user_prompt(premise, hypothesis)),
    ]


def livenli_samples(data: str | None = None, subset: str = "all") -> list[Sample]:
    """One Sample per LiveNLI item of ``subset`` (``all``: 122, ``chaosnli``: 50), in uid order.

    ``metadata`` = :func:`~inspect_partynli.livenli_data.sample_metadata` of the item plus
    ``prompt_version``.
    """
    if subset not in SUBSETS:
        raise ValueError(f"unknown subset {subset!r}; choose one of {', '.join(SUBSETS)}")
    frame = load_livenli(data)
    metadata = sample_metadata(frame)
    samples = []
    for uid in subset_uids(frame, subset):
        item = metadata[uid]
        samples.append(
            Sample(
                id=uid,
                input=livenli_messages(item["premise"], item["hypothesis"]),
                metadata={**item, "prompt_version": PROMPT_VERSION},
            )
        )
    return samples


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
def annotate(sweep: str | None = None, values: list[float] | None = None) -> Solver:
    """Ask for one annotation, sending the sweep's value for this epoch (if any).

    Records on ``state.metadata`` the settings in effect: ``sweep`` (None, ``temperature``
    or ``top_p``), ``temperature`` and ``top_p`` (the swept value; otherwise whatever the
    run's configuration sends, None meaning the provider's default), and ``http_retries``
    (:func:`_http_retries`).
    """
    if (sweep is None) != (values is None):
        raise ValueError("annotate() needs both sweep and values, or neither")
    if sweep is not None and sweep not in SWEEPS:
        raise ValueError(f"unknown sweep {sweep!r}; choose one of {', '.join(SWEEPS)}")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        settings: dict[str, float] = {}
        if sweep is not None and values is not None:
            settings[sweep] = sweep_value(values, state.epoch)
        state.metadata["sweep"] = sweep
        for name in SWEEPS:
            state.metadata[name] = settings[name] if name in settings else _configured(name)
        state = await generate(state, **settings)  # type: ignore[arg-type]
        state.metadata["http_retries"] = _http_retries()
        return state

    return solve


@task
def livenli(
    data: str | None = None,
    subset: str = "all",
    sweep: str | None = None,
    tmax: float | None = None,
    epochs: int = DEFAULT_EPOCHS,
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
    """
    try:  # bad parameters or data: one message on Inspect's command line, no traceback
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if subset not in SUBSETS:
            raise ValueError(f"unknown subset {subset!r}; choose one of {', '.join(SUBSETS)}")
        values = sweep_schedule(sweep, tmax)
        csv = resolve_livenli(data)
        samples = livenli_samples(str(csv), subset)
    except (ValueError, UserInputError) as error:
        raise for_inspect(error) from None
    sweep = None if values is None else sweep

    from .scorer import livenli_scorer

    return Task(
        dataset=MemoryDataset(samples, name=f"livenli-{subset}"),
        solver=annotate(sweep, values),
        scorer=livenli_scorer(),
        epochs=Epochs(epochs, reducer=[]),
        metadata={
            "prompt_version": PROMPT_VERSION,
            "subset": subset,
            "sweep": sweep,
            "tmax": None if values is None else float(DEFAULT_SWEEP_MAX if tmax is None else tmax),
            "sweep_values": values,
            "data_path": str(csv),
            "data_sha256": verified_sha256(csv),
        },
    )
