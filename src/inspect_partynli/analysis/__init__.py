"""The label analysis: annotation table -> settings -> metrics against human references.

The stages, one module each:

* :mod:`.coding` -- the annotation table coded once into integer arrays (units, trials,
  items, labels over the dataset's label space);
* :mod:`.kinds` -- setting kinds (SINGLE, MODEL MIX, SIZE, SWEEP, RANDOM MIX) and how each is
  discovered in a table; :mod:`.estimator_setting` registers ESTIMATOR (one model's
  distribution read by sampling, log-probabilities or verbalized probabilities);
* :mod:`.references` -- a dataset's human populations as per-item counts, and the Human rows;
* :mod:`.engine` -- the vectorised evaluation of many settings against one reference;
* :mod:`.conventions` -- the one object that says how every metric is computed (the paper's
  conventions by default), passed from the CLI and the report down to the engine.

Typical use::

    from inspect_partynli import analysis
    from inspect_partynli.datasets import load_dataset

    dataset = load_dataset("livenli")
    coded = analysis.prepare(table, dataset.labels)
    ref = analysis.reference(dataset, "chaosnli", subset="chaosnli")
    rows = analysis.evaluate_many(coded, analysis.default_settings(coded), ref)
"""

from __future__ import annotations

from .coding import UNSET_WORDS, VARIANT_COLUMNS, CodedTable, as_coded, prepare, unit_per_row
from .conventions import PAPER, Conventions
from .engine import CI_KEYS, METRIC_KEYS, evaluate, evaluate_many, item_table, random_mix
from .estimator_setting import ESTIMATOR_KEYS, estimator_settings, evaluate_estimator
from .kinds import (
    DISCOVERY,
    EVALUATION,
    KINDS,
    Setting,
    default_settings,
    group_settings,
    model_mix_units,
    parse_group,
    register_kind,
    settings_of_kind,
    size_settings,
    sweep_settings,
)
from .references import (
    Reference,
    coder_matrix,
    human_rows,
    human_table,
    reference,
    reference_counts,
)

__all__ = [
    "CI_KEYS",
    "DISCOVERY",
    "ESTIMATOR_KEYS",
    "EVALUATION",
    "KINDS",
    "METRIC_KEYS",
    "PAPER",
    "UNSET_WORDS",
    "VARIANT_COLUMNS",
    "CodedTable",
    "Conventions",
    "Reference",
    "Setting",
    "as_coded",
    "coder_matrix",
    "default_settings",
    "estimator_settings",
    "evaluate",
    "evaluate_estimator",
    "evaluate_many",
    "group_settings",
    "human_rows",
    "human_table",
    "item_table",
    "model_mix_units",
    "parse_group",
    "prepare",
    "random_mix",
    "reference",
    "reference_counts",
    "register_kind",
    "settings_of_kind",
    "size_settings",
    "sweep_settings",
    "unit_per_row",
]
