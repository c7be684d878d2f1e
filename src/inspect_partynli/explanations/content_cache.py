"""Building blocks of the caches keyed by content (t-SNE projections, explanation metrics).

A cached result is stored under the hex sha256 of everything it depends on
(:func:`content_key`: a JSON header of parameters and versions, then the raw input bytes), so
a changed input or parameter simply misses.  Files are written atomically
(:func:`write_atomically`), so a reader never sees half a file, and a cache that cannot be
written (read-only, full) never fails the computation it would have saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import BinaryIO


def content_key(header: dict, chunks: Iterable[bytes] = ()) -> str:
    """Hex sha256 of ``header`` (as sorted JSON) followed by each chunk of ``chunks``."""
    digest = hashlib.sha256()
    digest.update(json.dumps(header, sort_keys=True, default=str).encode("utf-8"))
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "little"))  # "ab","c" never keys like "a","bc"
        digest.update(chunk)
    return digest.hexdigest()


def distribution_version(name: str) -> str:
    """The installed version of distribution ``name`` without importing it (importing
    scikit-learn just to read ``sklearn.__version__`` costs a second)."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    Errors of the file system (a read-only or full cache) are swallowed: a cache must never
    fail what it would have saved.  Any other error of ``write`` is raised, after the
    temporary file is removed.
    """
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        if not isinstance(error, OSError):
            raise
