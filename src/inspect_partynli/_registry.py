"""What Inspect must be able to name (entry point ``inspect_ai`` -> ``inspect_partynli``).

Imports only: the task ``inspect_partynli/livenli`` and the model API ``partynli/...``.
"""

# ruff: noqa: F401
from .providers import PartyNLIModelAPI
from .task import livenli
