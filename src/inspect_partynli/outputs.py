"""Where commands write: output paths checked before any work, files written without
following links, and a folder's manifest of what a command wrote.

Promises (docs/robustness.md):

* **Checked first.** :func:`check_output_file` and :func:`check_output_folder` refuse, in one
  line and before anything is read or computed, an output that is of the wrong kind (a folder
  given as a file, a file given as a folder, a path below a regular file) or that cannot be
  written.  Writability is *tried*, not asked: ``os.access`` answers "yes" to root for a
  read-only ``chmod`` and even for ``/sys``, where every write fails.  For an existing folder
  a temporary file is created and removed inside it; for a folder still to be made, a
  temporary folder is created and removed in its nearest existing parent.
* **Links are never followed.** Files are written to a temporary name in the same folder and
  moved into place with :func:`os.replace`, which replaces a symbolic link at the target
  instead of writing through it; a link where a sub-folder should be is replaced by a folder.
* **A manifest** (:data:`MANIFEST`) lists what a report wrote, so that ``--force`` removes
  the files of the previous report that the new one does not write again -- and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputExistsError, UsageError

#: The manifest of a report folder: the files (relative names) the last report wrote.
MANIFEST = ".partynli-manifest.json"


def check_output_file(
    path: str | os.PathLike, *, force: bool = False, suffixes: Iterable[str] | None = None
) -> Path:
    """An output file path, refused (one line) when it cannot become the output.

    Refuses an unknown suffix (when ``suffixes`` are given), a folder, an existing file
    without ``force``, a parent that is missing or not a folder, and a parent that cannot be
    written.
    """
    path = Path(path).expanduser()
    if suffixes is not None:
        suffixes = tuple(suffixes)
        if path.suffix.lower() not in suffixes:
            raise UsageError(
                f"{path}: unknown output format {path.suffix or '(no extension)'!r}; "
                f"use {' or '.join(suffixes)}"
            )
    if path.is_dir():
        raise UsageError(f"{path}: is a folder, expected a file name")
    if (path.exists() or path.is_symlink()) and not force:
        raise OutputExistsError(f"{path} exists; pass --force to overwrite it")
    parent = path.parent
    if not parent.exists():
        raise UsageError(f"{parent}: output folder does not exist")
    if not parent.is_dir():
        raise UsageError(f"{path}: cannot be written: {parent} is not a folder")
    _try_writing(parent, path)
    return path


def check_output_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """A folder to write into (existing or to be made), refused (one line) when it is a file,
    lies below a file, or cannot be written.  Nothing is created."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: {what} is a file, not a folder")
    if path.is_dir():
        _try_writing(path, path)
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{path}: {what} cannot be made: {parent} is a file, not a folder")
    try:  # a folder that does not exist yet: can one be made where it would go?
        probe = tempfile.mkdtemp(prefix=".partynli-probe-", dir=parent)
    except OSError as error:
        raise UsageError(f"{path}: {what} cannot be made in {parent} ({_reason(error)})") from None
    os.rmdir(probe)
    return path


def _try_writing(folder: Path, shown: Path) -> None:
    try:
        with tempfile.TemporaryFile(prefix=".partynli-probe-", dir=folder):
            pass
    except OSError as error:
        raise UsageError(f"{shown}: cannot write in {folder} ({_reason(error)})") from None


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


# ------------------------------------------------------------------------------ writing
def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and :func:`os.replace`:
    never half-written, and a link at ``path`` is replaced, not followed."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def install_folder(staging: Path, out: Path, *, force: bool) -> list[Path]:
    """Move every file written in ``staging`` into ``out`` (same relative names) and write
    the manifest; return the installed paths.

    Links in ``out`` are never followed: a link at a file's name is replaced by the file, a
    link where a sub-folder goes is replaced by a folder.  With ``force``, the files that the
    previous manifest lists and this one does not are removed (stale figures and tables);
    files the manifest does not list are the user's and are kept.
    """
    out.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(out) if force else []
    written: list[str] = []
    for source in sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = source.relative_to(staging)
        target = out / relative
        _real_folder(out, relative.parent)
        os.replace(source, target)
        written.append(relative.as_posix())
    for name in sorted(set(previous) - set(written)):
        stale = out / name
        if (
            _inside(out, stale)
            and _no_links_between(out, stale)
            and (stale.is_symlink() or stale.is_file())
        ):
            stale.unlink()  # a link itself, never its target
    write_text(out / MANIFEST, json.dumps({"files": written}, indent=1) + "\n")
    shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in written]


def read_manifest(folder: Path) -> list[str]:
    """The relative names the folder's manifest lists ([] when there is none or it is not
    ours: a manifest that cannot be read lists nothing, so nothing is removed)."""
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return []
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [str(name) for name in files if isinstance(name, str)]


def _real_folder(out: Path, relative: Path) -> None:
    """Make ``out/relative`` a real folder, replacing links on the way (never following)."""
    current = out
    for part in relative.parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        current.mkdir(exist_ok=True)


def _no_links_between(folder: Path, path: Path) -> bool:
    """Whether no folder between ``folder`` and ``path`` is a link (so removing ``path``
    cannot reach outside ``folder``)."""
    current = folder
    for part in path.relative_to(folder).parts[:-1]:
        current = current / part
        if current.is_symlink():
            return False
    return True


def _inside(folder: Path, path: Path) -> bool:
    """Whether ``path`` (not resolved: links stay links) lies inside ``folder``."""
    parts = Path(os.path.normpath(path)).parts
    base = Path(os.path.normpath(folder)).parts
    return parts[: len(base)] == base and len(parts) > len(base) and ".." not in parts


# ------------------------------------------------------------------- CSV formula guard
#: First characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: What the guard puts before such a cell: a quote, which spreadsheets show as text.
FORMULA_GUARD = "'"


def guard_formulas(frame):
    """A copy of ``frame`` whose text cells that start like a formula (``=``, ``+``, ``-``,
    ``@``, tab, carriage return) get a leading ``'``: opened in a spreadsheet, an explanation
    such as ``=HYPERLINK(...)`` stays text (CSV formula injection).  Numbers are untouched
    (a negative number is a number, not text).  :func:`unguard_formulas` undoes it.
    """
    import pandas as pd

    guarded = frame.copy()
    for column in guarded.columns:
        values = guarded[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_STARTS).fillna(False)
        if risky.any():
            guarded[column] = values.astype(object).where(~risky, FORMULA_GUARD + text)
    return guarded


def unguard_formulas(frame):
    """Undo :func:`guard_formulas` on text read from a CSV: a leading ``'`` before a
    formula start is removed (so a guarded export reads back exactly)."""
    import pandas as pd

    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.astype("string")
        marked = text.str.startswith(tuple(FORMULA_GUARD + s for s in FORMULA_STARTS))
        marked = marked.fillna(False)
        if marked.any():
            frame[column] = values.astype(object).where(~marked, text.str.slice(1))
    return frame
