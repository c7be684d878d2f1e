"""Expansion of a study into its runs (:class:`Configuration`), one log folder each.

Every model runs once with the study's epochs (SINGLE / MODEL MIX), each sweep is a run of
its own (one value per epoch), each size family member is a run, and each estimator read of a
model (``estimators``) is a run with ``-T estimator=...``; folders (``single-<model>``,
``sweep-<model>-<parameter>``, ``size-<member>``, ``estimator-<model>-<estimator>``) never
collide, which :func:`inspect_partynli.study.load_study` checks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .schema import (
    DEFAULT_EXPERIMENT,
    SIZE_EXPERIMENT,
    SWEEP_EXPERIMENT,
    ModelSpec,
    Study,
    slug,
)


@dataclass(frozen=True)
class Configuration:
    """One run of the study: a model on the task with fixed settings, in its own log folder."""

    slug: str
    kind: str  # "single", "sweep", "size" or "estimator"
    model: ModelSpec
    epochs: int
    experiment: str
    where: str  # the key path that declared it (for messages)
    sweep: str | None = None
    tmax: float | None = None
    family: str | None = None
    groups: tuple[str, ...] = ()
    estimator: str | None = None  # logprobs / verbalized (None: the task's default, sampling)

    def task_args(self, study: Study) -> dict[str, Any]:
        """Arguments of ``inspect_partynli/livenli`` for this run."""
        args: dict[str, Any] = {"subset": study.subset, "epochs": self.epochs}
        if study.data is not None:
            args["data"] = study.data
        if study.dataset is not None:
            args["dataset"] = study.dataset
        if self.sweep is not None:
            args.update(sweep=self.sweep, tmax=self.tmax)
        if self.estimator is not None:
            args["estimator"] = self.estimator
        return args

    def metadata(self, study: Study) -> dict[str, Any]:
        """What the annotation table needs to know about this run (kept in the log header)."""
        metadata = {
            "study": study.name,
            "config": self.slug,
            "kind": self.kind,
            "experiment": self.experiment,
            "participant": self.model.participant,
            "model_name": self.model.name,
            "num_params": self.model.num_params,
            "family": self.family,
            "groups": list(self.groups),
            "sweep": self.sweep,
            "tmax": self.tmax,
        }
        if self.estimator is not None:  # a sampling run's header stays as it was
            metadata["estimator"] = self.estimator
        return metadata

    def tags(self, study: Study) -> list[str]:
        tags = [f"study:{study.name}", self.kind, self.experiment]
        return tags + [f"group:{group}" for group in self.groups]

    def requests(self, items: int) -> int:
        """Model requests of the run: items x epochs."""
        return items * self.epochs


def configurations(study: Study) -> list[Configuration]:
    """Every run of the study, in order: each model once, then sweeps, then size members,
    then estimator reads.

    Log folders (``slug``) are ``single-<model>``, ``sweep-<model>-<parameter>``,
    ``size-<member>`` (a member is named ``<family>-<size>b`` unless it has a name) and
    ``estimator-<model>-<estimator>`` (experiment: the estimator's name).
    """
    # each call: slug (the log folder), kind, model, epochs, experiment, where
    configs: list[Configuration] = []
    for index, model in enumerate(study.models):
        groups = tuple(g for g, members in study.groups.items() if model.name in members)
        experiment = groups[0] if groups else DEFAULT_EXPERIMENT
        folder = f"single-{slug(model.name)}"
        configs.append(
            Configuration(folder, "single", model, study.epochs, experiment, f"models[{index}]",
                          groups=groups)
        )  # fmt: skip
    for index, sweep in enumerate(study.sweeps):
        model = study.model(sweep.model)
        experiment = SWEEP_EXPERIMENT.format(parameter=sweep.parameter)
        folder = f"sweep-{slug(model.name)}-{slug(sweep.parameter)}"
        configs.append(
            Configuration(folder, "sweep", model, sweep.epochs, experiment, f"sweeps[{index}]",
                          sweep=sweep.parameter, tmax=sweep.max)
        )  # fmt: skip
    for family in study.sizes:
        for position, member in enumerate(family.members):
            where = f"sizes.{family.name}[{position}]"
            configs.append(
                Configuration(f"size-{slug(member.name)}", "size", member, study.epochs,
                              SIZE_EXPERIMENT, where, family=family.name)
            )  # fmt: skip
    for index, spec in enumerate(study.estimators):
        base = study.model(spec.model)
        model = replace(base, args={**base.args, **spec.args})
        folder = f"estimator-{slug(base.name)}-{spec.estimator}"
        configs.append(
            Configuration(folder, "estimator", model, spec.epochs, spec.estimator,
                          f"estimators[{index}]", estimator=spec.estimator)
        )  # fmt: skip
    return configs
