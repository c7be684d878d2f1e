"""Feeding ``partynli report``: a study's logs as one annotation table, with the study's
participants, experiments and sizes, and its groups as the report's MODEL MIX settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SourceError
from .expansion import Configuration, configurations
from .schema import Study


@dataclass(frozen=True)
class ReportInputs:
    """What ``partynli report`` needs for a study.

    ``table``: the annotation table of every run that has logs, with the study's participant,
    experiment and ``num_params`` for each; ``groups``: the study's groups (and ``all``)
    as the report's MODEL MIX settings, members named by unit (:func:`analysis.prepare`) so
    that a model's sweep runs never join its mixes; ``single``: the unit of the SINGLE row;
    ``missing``: runs without logs yet (left out).
    """

    table: Any
    groups: dict[str, tuple[str, ...]]
    single: str | None
    missing: tuple[str, ...]


def study_annotations(
    study: Study,
    log_dir: str | Path | None = None,
    *,
    explanations: bool = False,
    progress: bool = False,
) -> tuple[Any, list[Configuration], list[Configuration]]:
    """The annotation table of a study's logs: ``(table, runs read, runs without logs)``.

    Each run's folder is read on its own, so its rows get the run's participant (the study's
    name for the model; a size family's name for its members), experiment (its group,
    ``<parameter>_sweep`` or ``size_ablation``) and ``num_params``, whatever the model id.
    """
    import pandas as pd

    from ..annotations import load_annotations
    from ..log_store import is_dir, join, location, log_files

    root = location(log_dir if log_dir is not None else study.default_log_dir)
    frames, read, missing = [], [], []
    for config in configurations(study):
        folder = join(root, config.slug)
        if not is_dir(folder) or not log_files(folder, recursive=False):
            missing.append(config)
            continue
        model = config.model
        numbers = {model.id: model.num_params} if model.num_params is not None else None
        table = load_annotations(
            [folder], explanations=explanations, progress=progress,
            participants={model.id: model.participant}, num_params=numbers,
            experiment=config.experiment,
        )  # fmt: skip
        if table.empty:
            missing.append(config)
            continue
        frames.append(table)
        read.append(config)
    if not frames:
        raise SourceError(
            f"no logs of study {study.name!r} in {root}/: run `partynli run "
            f"{study.path or study.name}` first (or give --log-dir)"
        )
    return pd.concat(frames, ignore_index=True), read, missing


def report_inputs(
    study: Study,
    log_dir: str | Path | None = None,
    *,
    explanations: bool = False,
    progress: bool = False,
) -> ReportInputs:
    """The study's table, its groups as MODEL MIX settings (``all`` included) and its SINGLE.

    A group member whose run has no logs yet is left out (and listed in ``missing``); a
    group left empty is dropped.
    """
    from ..analysis import prepare

    table, read, missing = study_annotations(
        study, log_dir, explanations=explanations, progress=progress
    )
    from ..estimators.base import DEFAULT_ESTIMATOR
    from ..estimators.table import row_estimators

    # units as the report names them: its settings leave logprobs / verbalized runs out
    units = prepare(table[row_estimators(table) == DEFAULT_ESTIMATOR]).units
    single_units: dict[str, str] = {}
    for config in read:
        if config.kind != "single":
            continue
        match = units[
            (units["participant"] == config.model.participant)
            & (units["experiment"] == config.experiment)
        ]
        if len(match):
            single_units[config.model.name] = str(match["unit"].iloc[0])
    groups: dict[str, tuple[str, ...]] = {}
    for group, members in study.all_groups().items():
        found = tuple(single_units[m] for m in members if m in single_units)
        if found:
            groups[group] = found
    single = single_units.get(study.single) if study.single else None
    return ReportInputs(table, groups, single, tuple(c.slug for c in missing))


def write_report_table(inputs: ReportInputs, folder: str | Path) -> Path:
    """Write the study's annotation table as a PartyNLI parquet file that the report reads."""
    from ..annotations import write_partynli_file

    return write_partynli_file(inputs.table, Path(folder) / "study-annotations.parquet")
