"""The study design's constants, in one place (Section 3 and Appendices D and E of the paper).

The task, the study schema, the analysis and the commands all take these from here, so that a
sweep's bounds, the default epochs or a setting kind's name cannot drift apart between the
stage that runs a study and the stage that analyses it.  Facts about one dataset (its labels,
populations and subsets) live with that dataset in :mod:`inspect_partynli.datasets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# ------------------------------------------------------------------------------ items
#: The subset every dataset has: all of its items.
ALL_SUBSET = "all"
#: LiveNLI's subsets: all 122 items, or the 50 with ChaosNLI and MNLI labels.
LIVENLI_SUBSETS: tuple[str, ...] = (ALL_SUBSET, "chaosnli")

# ------------------------------------------------------------------------------ runs
#: Annotations per item by default (the paper's SINGLE setting: 5 prompting runs).
DEFAULT_EPOCHS = 5
#: Parameters that can be swept, and the largest maximum each accepts (None: unbounded).
SWEEP_PARAMETERS: Mapping[str, float | None] = MappingProxyType({"temperature": None, "top_p": 1.0})
#: Distinct values in a sweep, hence its epochs by default (the paper: 10, like the humans).
SWEEP_STEPS = 10
#: The sweep's range as fractions of its maximum: ``[0.05 * max, 0.95 * max]``.
SWEEP_RANGE: tuple[float, float] = (0.05, 0.95)
#: The maximum used when a sweep's maximum is not given (temperature and top_p alike).
DEFAULT_SWEEP_MAX = 1.0

# ------------------------------------------------------------------------------ experiments
#: ``experiment`` of a run that is neither a sweep nor a size family (a SINGLE run).
SINGLE_EXPERIMENT = "single"
#: ``experiment`` of a sweep over one generation parameter.
SWEEP_EXPERIMENT = "{parameter}_sweep"
#: ``experiment`` of a size family's runs (as in the PartyNLI files).
SIZE_EXPERIMENT = "size_ablation"
#: ``experiment`` of a study's model that no group lists.
DEFAULT_EXPERIMENT = "model_mix"
#: The group every study has, and the MODEL MIX of every unit: all of its models.
ALL_GROUP = "all"

# ------------------------------------------------------------------------------ settings
#: Setting kinds, in the order tables list them (see :mod:`inspect_partynli.analysis.kinds`).
SETTING_KINDS: tuple[str, ...] = ("single", "mix", "size", "sweep", "random_mix", "estimator")
#: Table names of the setting kinds (the paper's capitals).
SETTING_NAMES: Mapping[str, str] = MappingProxyType({
    "single": "SINGLE", "mix": "MODEL MIX", "size": "SIZE", "sweep": "SWEEP",
    "random_mix": "RANDOM MIX", "estimator": "ESTIMATOR",
})  # fmt: skip
#: RANDOM MIX (Appendix D): draws, participants per draw, seed.
RANDOM_MIX_DRAWS = 1000
RANDOM_MIX_SIZE = 10
RANDOM_MIX_SEED = 0


def sweep_experiment(parameter: str) -> str:
    """The ``experiment`` of a sweep over ``parameter`` (``temperature_sweep``)."""
    return SWEEP_EXPERIMENT.format(parameter=parameter)
