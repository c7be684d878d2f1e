"""The dataset layer: every stage takes an :class:`HLVDataset`, never a dataset's own file.

``load_dataset(spec)`` gives one:

* ``"livenli"`` and ``"varierr"``: the built-in datasets (files found by :mod:`.locate`:
  ``data=PATH``, ``$INSPECT_PARTYNLI_DATA``, the cache, a verified download);
* a path to a YAML dataset card (``*.yaml`` / ``*.yml``, see :mod:`.card`);
* a :class:`DatasetRef` or the ``dataset`` entry of a log header (a dict): the dataset a run
  used.  Its recorded file is used when it still has the recorded sha256; otherwise the
  dataset is found again by name (a warning says when that file differs).

The result is cached per file (and its modification time), so loading twice is cheap and
returns the same object: treat it as read-only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .base import DataFormatError, DataNotFoundError, DatasetRef, HLVDataset, Population
from .card import CardError, card_dataset
from .livenli import livenli_dataset
from .locate import sha256_of
from .varierr import varierr_dataset

#: The built-in datasets, by name.
BUILTIN = ("livenli", "varierr")
_LOADERS = {"livenli": livenli_dataset, "varierr": varierr_dataset}
#: Key of the task metadata / log header entry holding the :class:`DatasetRef`.
METADATA_KEY = "dataset"


def is_card(spec: object) -> bool:
    """Whether ``spec`` names a dataset card (a ``.yaml`` / ``.yml`` path)."""
    return isinstance(spec, (str, Path)) and Path(str(spec)).suffix.lower() in (".yaml", ".yml")


def load_dataset(
    spec: str | Path | DatasetRef | Mapping[str, Any],
    *,
    data: str | Path | None = None,
    download: bool = True,
) -> HLVDataset:
    """The dataset ``spec`` names (see the module docstring).

    ``data`` is the file (or its folder) of a built-in dataset; it is ignored for cards.
    Raises :class:`~inspect_partynli.errors.SourceError` subclasses with one-line messages.
    """
    if isinstance(spec, Mapping):
        try:
            spec = DatasetRef.from_dict(spec)
        except ValueError as error:
            raise DataFormatError(str(error)) from None
    if isinstance(spec, DatasetRef):
        return _from_ref(spec, data=data, download=download)
    if is_card(spec):
        return card_dataset(spec)
    name = str(spec).strip().lower()
    if name not in _LOADERS:
        raise DataNotFoundError(
            f"unknown dataset {str(spec)!r}: choose {', '.join(BUILTIN)}, or a dataset card "
            "(a .yaml file)"
        )
    return _LOADERS[name](data, download=download)


def _from_ref(ref: DatasetRef, *, data: str | Path | None, download: bool) -> HLVDataset:
    recorded = Path(ref.path)
    if data is None and recorded.is_file():
        try:
            same = sha256_of(recorded) == ref.sha256
        except OSError:
            same = False
        if same or ref.kind == "card":
            dataset = card_dataset(recorded) if ref.kind == "card" else _LOADERS[ref.kind](recorded)
            if dataset.ref.sha256 == ref.sha256:
                return dataset
    if ref.kind == "card":
        raise DataNotFoundError(
            f"the dataset card {ref.path} ({ref.name}) the run used is gone or has changed "
            f"(sha256 {ref.sha256[:12]}...)"
        )
    if ref.kind not in _LOADERS:
        raise DataFormatError(f"unknown dataset kind {ref.kind!r} in {ref}")
    dataset = _LOADERS[ref.kind](data, download=download)
    if dataset.ref.sha256 != ref.sha256:
        warnings.warn(
            f"the run used {ref.name} with sha256 {ref.sha256[:12]}... ({ref.path}); "
            f"{dataset.ref.path} differs (sha256 {dataset.ref.sha256[:12]}...)",
            stacklevel=2,
        )
    return dataset


def dataset_ref(metadata: Mapping[str, Any] | None) -> DatasetRef | None:
    """The :class:`DatasetRef` recorded in a task's / log header's metadata, or None.

    Logs written before the dataset layer have only ``data_path`` / ``data_sha256``: they
    were LiveNLI runs.
    """
    metadata = metadata or {}
    entry = metadata.get(METADATA_KEY)
    if isinstance(entry, Mapping):
        try:
            return DatasetRef.from_dict(entry)
        except ValueError:
            return None
    if metadata.get("data_sha256"):
        return DatasetRef(
            "livenli", str(metadata.get("data_path") or ""), str(metadata["data_sha256"]), "livenli"
        )
    return None


__all__ = [
    "BUILTIN",
    "METADATA_KEY",
    "CardError",
    "DataFormatError",
    "DataNotFoundError",
    "DatasetRef",
    "HLVDataset",
    "Population",
    "dataset_ref",
    "is_card",
    "load_dataset",
]
