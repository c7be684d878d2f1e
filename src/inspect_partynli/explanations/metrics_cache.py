"""Explanation metric results cached by content, beside the embeddings.

A warm ``partynli report`` (or ``partynli explanations``) reads the three tables of
:func:`~.analysis.explanation_metrics` from here instead of computing them again: no TF-IDF
(scikit-learn), no Mann-Whitney test (scipy.stats), no dispersion over thousands of groups.

An entry is ``<embedding cache>/metrics/explanations-<key>.<table>.parquet`` for each of
:data:`TABLES` plus ``explanations-<key>.json`` (written last: its presence marks a complete
entry; it also records the devices the embeddings were computed on).  ``key`` is the sha256
(:func:`metrics_key`) of

* the table's columns that the metrics read, in row order, with their dtypes;
* the text fields of the table's items (de-lexicalisation removes them, EMB_e5 subtracts
  their embedding);
* every parameter (encoder identities as the embedding cache keys them, TF-IDF on/off, n,
  pooling, JAC by label, per-participant groups, the annotator threshold);
* the source code of the modules that compute the metrics and the versions of numpy,
  pandas, scipy and scikit-learn.

Any change of these misses and computes afresh; an unreadable entry is recomputed and
replaced.  Parquet keeps every dtype and float bit, so a warm result equals a cold one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .content_cache import content_key, distribution_version, write_atomically

#: Folder of cached metric results inside an embedding cache folder.
METRICS_CACHE = "metrics"
#: The tables of an entry, in the order of :class:`~.analysis.ExplanationMetrics`.
TABLES = ("per_explanation", "per_group", "summary")
#: The modules whose code computes the metrics: editing any of them invalidates the cache.
_CODE = ("analysis", "compare", "delexicalise", "lexical", "vectors", "metrics_cache")
_LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn")


def metrics_key(
    table: pd.DataFrame,
    columns: Sequence[str],
    texts: pd.DataFrame,
    parameters: Mapping[str, Any],
) -> str:
    """The content key of the metrics of ``table`` (its ``columns`` that exist), the items'
    ``texts`` (index item id, one column per text field) and ``parameters``."""
    present = [column for column in columns if column in table.columns]
    items = sorted(set(table["sent_id"].astype(str)))
    shown = texts.reindex(items)  # an item unknown to the dataset hashes as NaN (prepare refuses)
    header = {
        "parameters": dict(parameters),
        "columns": {column: str(table[column].dtype) for column in present},
        "text_fields": list(texts.columns),
        "code": _code_digest(),
        "versions": {name: distribution_version(name) for name in _LIBRARIES},
    }
    chunks = [_json_bytes(table[column].astype(str).tolist()) for column in present]
    chunks.append(_json_bytes([items, shown.astype(str).to_numpy().tolist()]))
    return content_key(header, chunks)


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _code_digest() -> str:
    """sha256 of the source of the modules that compute the metrics (:data:`_CODE`)."""
    folder = Path(__file__).parent
    return content_key({}, [(folder / f"{name}.py").read_bytes() for name in _CODE])


def _paths(directory: Path, key: str) -> tuple[Path, dict[str, Path]]:
    stem = f"explanations-{key}"
    return directory / f"{stem}.json", {t: directory / f"{stem}.{t}.parquet" for t in TABLES}


def load(directory: Path, key: str) -> tuple[list[pd.DataFrame], dict] | None:
    """The cached tables (in :data:`TABLES` order) and the entry's metadata, or None when the
    entry is absent, incomplete or unreadable."""
    meta_path, table_paths = _paths(directory, key)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        tables = [pd.read_parquet(table_paths[name]) for name in TABLES]
    except (OSError, ValueError, ImportError):  # pyarrow raises ArrowInvalid (a ValueError)
        return None
    return tables, meta if isinstance(meta, dict) else {}


def store(directory: Path, key: str, tables: Sequence[pd.DataFrame], meta: Mapping) -> None:
    """Write an entry: the tables first, the metadata last (it marks the entry complete).
    A table Parquet cannot hold (a column of mixed types) leaves the entry unwritten."""
    meta_path, table_paths = _paths(directory, key)
    try:
        for name, frame in zip(TABLES, tables, strict=True):
            write_atomically(table_paths[name], lambda file, frame=frame: frame.to_parquet(file))
    except (TypeError, ValueError, NotImplementedError, ImportError):  # pyarrow's Arrow*Error
        return
    text = json.dumps(dict(meta), sort_keys=True, default=_plain)
    write_atomically(meta_path, lambda file: file.write(text.encode("utf-8")))


def _plain(value: object) -> object:
    """JSON for sets and numpy scalars in the metadata."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
