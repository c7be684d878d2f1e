"""inspect_partynli: LLMs as annotation participants, compared with human label variation.

The Inspect tasks ``inspect_partynli/livenli``, ``inspect_partynli/varierr`` and
``inspect_partynli/annotate`` (any dataset card) run the PartyNLI study (Kulmizev et al.) on a
human-label-variation dataset; the analysis functions read their logs into an annotation table
and compute the study's label and explanation variation metrics.

The public names below are imported lazily (on first use), so ``import inspect_partynli``
and the ``partynli`` command stay fast and do not load Inspect until it is needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: Public name -> the submodule defining it (add new exports here).
_EXPORTS: dict[str, str] = {
    # the Inspect tasks: ``from inspect_partynli import livenli`` (``livenli_task`` is an alias)
    "livenli": "task",
    "livenli_task": "task",
    "varierr": "task",
    "annotate_dataset": "task",
    # and their building blocks
    "annotate": "task",
    "annotation_task": "task",
    "dataset_samples": "task",
    "livenli_samples": "task",
    "livenli_messages": "task",
    "sweep_values": "task",
    # datasets (LiveNLI, VariErr-NLI, YAML cards)
    "load_dataset": "datasets",
    "HLVDataset": "datasets",
    "DatasetRef": "datasets",
    # the offline participants (model API ``partynli/...``)
    "PartyNLIModelAPI": "providers",
    # Inspect logs and PartyNLI files -> the annotation table
    "load_annotations": "annotations",
    "read_partynli_file": "annotations",
    "write_partynli_file": "annotations",
    # prompts and labels
    "SYSTEM_PROMPT": "prompts",
    "USER_PROMPT_TEMPLATE": "prompts",
    "PROMPT_VERSION": "prompts",
    "user_prompt": "prompts",
    "LABELS": "labels",
    "single_label": "labels",
}

#: Exported names that differ from the name in their module.
_ALIASES = {"livenli_task": "livenli"}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inspect_partynli' has no attribute {name!r}")
    source = import_module(f".{module}", __name__)
    value = getattr(source, _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
