"""What Inspect must be able to name (entry point ``inspect_ai`` -> ``inspect_partynli``).

Imports only: the tasks ``inspect_partynli/livenli``, ``inspect_partynli/varierr`` and
``inspect_partynli/annotate``, the model API ``partynli/...`` and the scorers
``inspect_partynli/livenli_scorer``, ``inspect_partynli/annotation_scorer`` and
``inspect_partynli/estimator_scorer`` (so ``inspect score`` can re-score a log).
"""

# ruff: noqa: F401
from .estimators.scoring import estimator_scorer
from .providers import PartyNLIModelAPI
from .scorer import annotation_scorer, livenli_scorer
from .task import annotate_dataset, livenli, varierr
