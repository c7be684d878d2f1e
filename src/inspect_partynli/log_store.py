"""Where logs live: a local folder or an object store URL (``s3://bucket/prefix``).

Inspect reads and writes logs through fsspec, so a study's ``--log-dir`` may be any fsspec
URL (``s3://`` needs ``s3fs``, which reads the usual AWS settings: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for S3-compatible stores).  Local folders
stay :class:`~pathlib.Path` objects; remote locations are strings joined with ``/``.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

#: A log location: a local path, or a URL string for a remote store.
Location = Path | str

#: Suffixes of Inspect log files.
LOG_SUFFIXES = (".eval", ".json")


def is_remote(location: str | os.PathLike) -> bool:
    """True for a URL of a remote store (``s3://...``); ``file://`` counts as local."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def location(path: str | os.PathLike) -> Location:
    """``path`` as a :class:`Path`, or unchanged (minus a trailing ``/``) if it is remote."""
    return str(path).rstrip("/") if is_remote(path) else Path(path)


def join(root: Location, *parts: str) -> Location:
    """``root / parts`` for either kind of location."""
    if is_remote(root):
        return posixpath.join(str(root).rstrip("/"), *parts)
    return Path(root, *parts)


def _fs(url: str):
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def is_dir(folder: Location) -> bool:
    """Whether ``folder`` exists as a folder (on an object store: holds any object)."""
    if not is_remote(folder):
        return Path(folder).is_dir()
    fs, path = _fs(str(folder))
    return bool(fs.isdir(path))


def make_dirs(folder: Location) -> None:
    """Create a local folder (object stores need none)."""
    if not is_remote(folder):
        Path(folder).mkdir(parents=True, exist_ok=True)


def log_files(folder: Location, *, recursive: bool = True) -> list[Location]:
    """Inspect log files in ``folder`` (sorted by path): ``.eval`` files, and ``.json`` files
    whose name starts with a log timestamp (eval-set's ``logs.json`` is left alone); hidden
    folders are skipped."""
    if not is_remote(folder):
        found = []
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
            for name in sorted(files):
                if is_log_name(name):
                    found.append(Path(root) / name)
        return found
    fs, path = _fs(str(folder))
    protocol = str(folder).split("://", 1)[0]
    base = path.rstrip("/")
    names = fs.find(base) if recursive else fs.ls(base, detail=False)
    logs = []
    for name in sorted(names):
        relative = name[len(base) :].lstrip("/")
        if any(part.startswith(".") for part in relative.split("/")[:-1]):
            continue
        if is_log_name(posixpath.basename(name)):
            logs.append(f"{protocol}://{name}")
    return logs


def is_log_name(name: str) -> bool:
    return name.endswith(".eval") or (name.endswith(".json") and _timestamped(name))


def _timestamped(name: str) -> bool:
    return len(name) >= 19 and name[:4].isdigit() and name[4] == "-" and name[10] == "T"
