"""What Inspect must be able to name (entry point ``inspect_ai`` -> ``inspect_partynli``).

Imports only: the task ``inspect_partynli/livenli``, the model API ``partynli/...``
and the scorer ``inspect_partynli/livenli_scorer`` (so ``inspect score`` can re-score a log).
"""

# ruff: noqa: F401
from .providers import PartyNLIModelAPI
from .scorer import livenli_scorer
from .task import livenli
