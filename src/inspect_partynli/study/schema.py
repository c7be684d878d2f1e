"""The validated study: its dataclasses, the keys a study file may hold and their defaults.

:func:`inspect_partynli.study.load_study` turns a study file into a :class:`Study`; everything
downstream (expansion into runs, checks, running, the report) reads only these frozen
dataclasses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..annotation_schema import STUDY_METADATA_KEY

# The study design's constants, re-exported for the study modules (one home: design.py).
# ``experiment`` values of the annotation table: a sweep is ``<parameter>_sweep`` (as the log
# reader names sweeps), sizes ``size_ablation`` (as in the PartyNLI files).  A single run's
# experiment is the first group that lists its model (e.g. ``model_mix_lo``), else
# ``DEFAULT_EXPERIMENT``.  A sweep has SWEEP_EPOCHS values, hence epochs, by default.
from ..design import ALL_GROUP as ALL_GROUP
from ..design import DEFAULT_EPOCHS as DEFAULT_EPOCHS
from ..design import DEFAULT_EXPERIMENT as DEFAULT_EXPERIMENT
from ..design import LIVENLI_SUBSETS as SUBSETS  # noqa: F401 (the study module's name)
from ..design import SIZE_EXPERIMENT as SIZE_EXPERIMENT
from ..design import SWEEP_EXPERIMENT as SWEEP_EXPERIMENT
from ..design import SWEEP_PARAMETERS as SWEEP_PARAMETERS
from ..design import SWEEP_STEPS as SWEEP_EPOCHS
from ..errors import UsageError
from ..estimators.base import DEFAULT_ESTIMATOR, ESTIMATORS

#: Keys a study file may hold at its top level.
STUDY_KEYS = (
    "name",
    "task",
    "epochs",
    "log_dir",
    "max_connections",
    "max_tasks",
    "batch",
    "models",
    "groups",
    "single",
    "sweeps",
    "sizes",
    "estimators",
)
TASK_KEYS = ("dataset", "data", "subset")
MODEL_KEYS = (
    "id", "name", "participant", "num_params", "args", "base_url", "max_connections", "prices",
)  # fmt: skip
SIZE_MEMBER_KEYS = ("id", "name", "num_params", "args", "base_url", "max_connections", "prices")
#: Keys of a model's ``prices``: USD per million input / output tokens (for the cost plan).
PRICE_KEYS = ("input", "output")
SWEEP_SPEC_KEYS = ("max", "epochs")
#: The estimators a study may add to a model's SINGLE run (which is its ``sampling`` run).
STUDY_ESTIMATORS = tuple(e for e in ESTIMATORS if e != DEFAULT_ESTIMATOR)
ESTIMATOR_SPEC_KEYS = ("model", *STUDY_ESTIMATORS, "args")
#: The key under which a run's study information is stored in the eval log's metadata.
METADATA_KEY = STUDY_METADATA_KEY


class StudyError(UsageError):
    """A study file is invalid; the message lists every problem with its key path."""


@dataclass(frozen=True)
class ModelSpec:
    """One participant: an Inspect model id with its arguments."""

    id: str
    name: str
    participant: str
    num_params: float | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    max_connections: int | None = None
    #: USD per million tokens, ``{"input": 2.0, "output": 8.0}``, for ``--dry-run``'s cost.
    prices: Mapping[str, float] | None = None

    @property
    def provider(self) -> str:
        """The model API of the id (``openai`` for ``openai/gpt-4.1``)."""
        return self.id.split("/", 1)[0]


@dataclass(frozen=True)
class SweepSpec:
    """One model swept over one generation parameter, ``epochs`` values up to ``max``."""

    model: str
    parameter: str
    max: float
    epochs: int = SWEEP_EPOCHS


@dataclass(frozen=True)
class EstimatorSpec:
    """One model read by one more estimator (``logprobs`` / ``verbalized``), ``epochs`` per
    item, with extra model ``args`` for that run (e.g. an offline participant's temperature)."""

    model: str
    estimator: str
    epochs: int = 1
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SizeFamily:
    """Members of one model family that differ in size (``num_params`` required)."""

    name: str
    members: tuple[ModelSpec, ...]


@dataclass(frozen=True)
class Study:
    """A validated study file (see the module docstring for the schema)."""

    name: str
    models: tuple[ModelSpec, ...]
    path: Path | None = None
    data: str | None = None
    subset: str = "all"
    #: ``livenli`` (None), ``varierr`` or a dataset card's path (see docs/datasets.md).
    dataset: str | None = None
    epochs: int = DEFAULT_EPOCHS
    log_dir: str | None = None
    max_connections: int | None = None
    #: Configurations run at once (None: one per provider and base URL, see running.py).
    max_tasks: int | None = None
    #: Inspect's batch mode for every run: True, a batch size, or None (off).
    batch: bool | int | None = None
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    single: str | None = None
    sweeps: tuple[SweepSpec, ...] = ()
    sizes: tuple[SizeFamily, ...] = ()
    estimators: tuple[EstimatorSpec, ...] = ()

    def model(self, name: str) -> ModelSpec:
        """The declared model called ``name``."""
        for spec in self.models:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def all_groups(self) -> dict[str, tuple[str, ...]]:
        """The declared groups plus ``all`` (every model, in file order)."""
        return {**self.groups, ALL_GROUP: tuple(m.name for m in self.models)}

    @property
    def default_log_dir(self) -> str:
        return self.log_dir or str(Path("logs") / slug(self.name))


def slug(text: str) -> str:
    """A folder-safe form of ``text``: lower case, runs of other characters become ``-``.

    >>> slug("openai/gpt-4.1"), slug("qwen3:0.6b")
    ('openai-gpt-4.1', 'qwen3-0.6b')
    """
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-.") or "x"
