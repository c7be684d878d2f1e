"""Compatibility shim: the LiveNLI frame helpers of the analysis, until it moves to
:mod:`inspect_partynli.datasets` (``load_dataset("livenli")`` gives the :class:`HLVDataset`).

The loader, file resolution and checksum live in :mod:`inspect_partynli.datasets.livenli` and
:mod:`inspect_partynli.datasets.locate`; this module re-exports them under their old names.
There is no process-wide "last loaded file" any more: the task records its dataset
(:class:`~inspect_partynli.datasets.DatasetRef`) in its metadata and the log header.
"""

from __future__ import annotations

import urllib.request  # noqa: F401 - tests patch urllib.request.urlopen through this module
from pathlib import Path

import pandas as pd

from .annotation_schema import conform
from .datasets.base import DataFormatError, DataNotFoundError
from .datasets.livenli import POPULATIONS, UPSTREAM, item_table, load_livenli_frame, resolve_livenli
from .datasets.locate import CACHE_ENV, DATA_ENV, cache_dir, sha256_of
from .datasets.locate import download as _download
from .datasets.locate import verified_sha256 as _verified_sha256
from .labels import LABELS

FILENAME = UPSTREAM.filename
UPSTREAM_URL = UPSTREAM.url
SHA256 = UPSTREAM.sha256


def load_livenli(path: str | Path | None = None, *, download: bool = True) -> pd.DataFrame:
    """LiveNLI as one row per (item, worker): see :func:`~.datasets.livenli.load_livenli_frame`."""
    return load_livenli_frame(path, download=download)


def download_livenli(target_dir: Path | None = None, url: str = UPSTREAM_URL) -> Path:
    """Download LiveNLI into ``target_dir`` (default: the cache), verified by sha256."""
    return _download(UPSTREAM, target_dir, url)


def verified_sha256(csv: Path) -> str:
    """The sha256 of a LiveNLI file, warning once if it is not the upstream version."""
    return _verified_sha256(csv, UPSTREAM)


def check_checksum(path: str | Path | None = None) -> bool:
    """Whether the LiveNLI file in use is the exact upstream version (warns if not)."""
    return verified_sha256(resolve_livenli(path, download=False)) == SHA256


def items(livenli: pd.DataFrame) -> pd.DataFrame:
    """One row per item (index ``uid``): premise, hypothesis, gold (MNLI's 3-of-5 majority),
    prompt_label (the uid's letter), chaos_counts, mnli_labels, n_annotators, has_chaosnli."""
    return item_table(livenli)


def subset_uids(livenli: pd.DataFrame, subset: str = "all") -> list[str]:
    """Item ids of a subset: ``all`` (122 items) or ``chaosnli`` (the 50 with ChaosNLI + MNLI)."""
    table = items(livenli)
    if subset == "all":
        return table.index.tolist()
    if subset == "chaosnli":
        return table.index[table["has_chaosnli"]].tolist()
    raise ValueError(f"unknown subset {subset!r}; choose 'all' or 'chaosnli'")


def _label_counts(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    counts = pd.crosstab(frame["uid"], frame[column])
    return counts.reindex(columns=list(LABELS), fill_value=0).astype(float)


def human_counts(livenli: pd.DataFrame, population: str = "livenli") -> pd.DataFrame:
    """Per-item human label counts (index uid, columns LABELS) for one population.

    ``livenli``: every worker's single label (study's rule), all 122 items.
    ``chaosnli``: the 100 ChaosNLI labels, 50 items.  ``mnli``: the MNLI annotator labels
    (5 per item for 110 items, the gold label only for 12), 122 items.
    """
    if population == "livenli":
        return _label_counts(livenli, "class_simple")
    table = items(livenli)
    if population == "chaosnli":
        chaos = table["chaos_counts"].dropna()
        return pd.DataFrame(chaos.tolist(), index=chaos.index, columns=list(LABELS), dtype=float)
    if population == "mnli":
        rows = {
            uid: [labels.count(label) for label in LABELS]
            for uid, labels in table["mnli_labels"].items()
            if labels
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=list(LABELS), dtype=float)
    raise ValueError(f"unknown population {population!r}; choose one of {POPULATIONS}")


def human_distribution(livenli: pd.DataFrame, population: str = "livenli") -> pd.DataFrame:
    """Per-item human label distributions (rows sum to 1) for one population."""
    counts = human_counts(livenli, population)
    return counts.div(counts.sum(axis=1), axis=0)


def livenli_coders(livenli: pd.DataFrame) -> pd.DataFrame:
    """The LiveNLI workers x items matrix of single labels (NaN where a worker did not annotate)."""
    matrix = livenli.pivot_table(
        index="worker_id", columns="uid", values="class_simple", aggfunc="first"
    )
    return matrix.reindex(sorted(matrix.index, key=lambda w: (len(w), w)))


def human_annotation_table(livenli: pd.DataFrame) -> pd.DataFrame:
    """The LiveNLI workers as participants, in the annotation-table schema.

    Each worker is one participant (``participant_type='human'``, ``experiment='livenli'``,
    trial 1), so humans go through exactly the same metrics as models.
    """
    table = pd.DataFrame(
        {
            "sent_id": livenli["uid"],
            "id": livenli["worker_id"],
            "participant": livenli["worker_id"],
            "participant_type": "human",
            "experiment": "livenli",
            "trial": 1,
            "class_simple": livenli["class_simple"],
            "class_multi": livenli["class_multi"],
            "explanation": livenli["explanation"],
            "model": "human",
            "source": FILENAME,
            "parsed": True,
        }
    )
    return conform(table)


__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "DataFormatError",
    "DataNotFoundError",
    "FILENAME",
    "POPULATIONS",
    "SHA256",
    "UPSTREAM_URL",
    "cache_dir",
    "check_checksum",
    "download_livenli",
    "human_annotation_table",
    "human_counts",
    "human_distribution",
    "items",
    "livenli_coders",
    "load_livenli",
    "resolve_livenli",
    "sha256_of",
    "subset_uids",
    "verified_sha256",
]
