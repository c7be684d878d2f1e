"""The ``estimator`` setting kind: one model's label distribution read each way it was run.

A model run with ``-T estimator=logprobs`` or ``verbalized`` (issue 12) has, besides its
sampling run, a unit per estimator run (see :mod:`.coding`).  :func:`estimator_settings` gives,
per model with at least one such run, one setting per estimator in
:data:`~inspect_partynli.estimators.base.ESTIMATORS` order (its sampling run first, when it
has one), all named by the model, with the estimator in ``options["estimator"]``:

* ``sampling``: the model's first MODEL MIX unit (:func:`.kinds.model_mix_units`: not a sweep
  value or a size), its label shares over the epochs -- exactly its SINGLE row;
* ``logprobs`` / ``verbalized``: the mean over its epochs of the distributions it read, with
  the spread across epochs.

:func:`evaluate_estimator` computes a setting's record with
:func:`inspect_partynli.estimators.evaluation.compare` (H, JS, KL both ways, Agree, Cor. and
the spread; alpha and consistency need discrete annotations: NaN).  ``partynli metrics``
(``--setting estimator``, and by default when there are estimator runs) and the report's
estimator comparison both take their rows from here.  The kind is registered with
:func:`.kinds.register_kind` when :mod:`inspect_partynli.analysis` is imported.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..estimators.base import DEFAULT_ESTIMATOR, ESTIMATORS
from ..estimators.table import ESTIMATOR_COLUMN
from .coding import CodedTable
from .conventions import PAPER, Conventions
from .kinds import DiscoveryOptions, Setting, model_mix_units, register_kind, resolve_units
from .references import Reference

__all__ = ["ESTIMATOR_KEYS", "estimator_settings", "evaluate_estimator"]

#: Keys an estimator record has beyond the engine's metric keys.
ESTIMATOR_KEYS: tuple[str, ...] = ("estimator", "unit", "spread", "other_mass", "raw_sum")


def estimator_settings(coded: CodedTable) -> list[Setting]:
    """Per model with a logprobs or verbalized run: one setting per estimator (see the module
    docstring), the models in unit order."""
    units = coded.units
    plain = set(model_mix_units(coded))
    settings: list[Setting] = []
    read_otherwise = units.loc[units[ESTIMATOR_COLUMN] != DEFAULT_ESTIMATOR, "participant"]
    for participant in dict.fromkeys(read_otherwise):
        mine = units[units["participant"] == participant]
        for estimator in ESTIMATORS:
            members = mine.loc[mine[ESTIMATOR_COLUMN] == estimator, "unit"].tolist()
            if estimator == DEFAULT_ESTIMATOR:
                members = [u for u in members if u in plain][:1]
            for unit in members:
                settings.append(
                    Setting(participant, "estimator", (unit,), {"estimator": estimator})
                )
    return settings


def _discover(coded: CodedTable, options: DiscoveryOptions) -> list[Setting]:
    found = estimator_settings(coded)
    if not found:
        raise UsageError(
            "no participant was run with another estimator (-T estimator=logprobs|verbalized): "
            "nothing to evaluate as --setting estimator"
        )
    return found


def _unit_rows(coded: CodedTable, unit: int) -> pd.DataFrame:
    """The coded rows of one unit as the annotation-table rows
    :func:`~inspect_partynli.estimators.evaluation.item_distributions` reads."""
    mask = coded.unit == unit
    labels = np.array([*coded.labels, "error"], dtype=object)
    category = coded.category[mask]
    rows = pd.DataFrame(
        {
            "sent_id": coded.items[coded.item[mask]].astype(str),
            "parsed": category < len(coded.labels),
            "class_simple": labels[category],
            ESTIMATOR_COLUMN: coded.units.at[unit, ESTIMATOR_COLUMN],
        }
    )
    if coded.estimates is not None:
        chosen = coded.estimates[mask]
        for column in chosen.columns:
            rows[column] = chosen[column].to_numpy()
    return rows


def evaluate_estimator(
    coded: CodedTable,
    setting: Setting,
    reference: Reference,
    conventions: Conventions = PAPER,
) -> dict:
    """One estimator setting against a human reference: the engine's record keys (alpha and
    consistency NaN, no bootstrap intervals) plus ``estimator``, ``unit``, ``spread``,
    ``other_mass`` and ``raw_sum``."""
    from ..estimators.evaluation import compare, item_distributions

    (unit,) = resolve_units(coded, setting.participants, f"setting {setting.name!r}")
    run = item_distributions(_unit_rows(coded, int(unit)), coded.labels, ddof=conventions.ddof)
    found = compare(run, reference, conventions)
    record: dict[str, object] = {"participant": setting.name, "setting": setting.kind}
    record.update({key: found[key] for key in (
        "n_items", "n_trials", "H", "H_std", "JS", "JS_std", "KL_pq", "KL_qp", "agree",
    )})  # fmt: skip
    record.update(alpha=math.nan, cor=found["cor"], consistency=math.nan,
                  parse_rate=found["parse_rate"])  # fmt: skip
    record.update(estimator=found["estimator"], unit=str(coded.units.at[unit, "unit"]),
                  spread=found["spread"], other_mass=found["other_mass"],
                  raw_sum=found["raw_sum"])  # fmt: skip
    return record


register_kind("estimator", _discover, evaluate_estimator)
