"""Where a built-in dataset's file comes from: explicit path, environment, cache, download.

Third-party data is never shipped with this package.  :func:`resolve` finds a file in this
order:

1. an explicit path (``-T data=PATH`` / ``--data PATH``: the file itself or a folder holding it);
2. the folder named by the environment variable ``INSPECT_PARTYNLI_DATA``;
3. the user cache (``$INSPECT_PARTYNLI_CACHE``, else ``$XDG_CACHE_HOME/inspect_partynli``,
   else ``~/.cache/inspect_partynli``);
4. a download of the upstream file into that cache, accepted only if its sha256 matches.

Nothing touches the network at import time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from .base import DataNotFoundError

DATA_ENV = "INSPECT_PARTYNLI_DATA"
CACHE_ENV = "INSPECT_PARTYNLI_CACHE"


@dataclass(frozen=True)
class Upstream:
    """A built-in dataset's file: its name, display name, upstream URL and sha256."""

    filename: str
    title: str
    url: str
    sha256: str


def cache_dir() -> Path:
    """The per-user cache folder for downloaded data (not created here)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "inspect_partynli"


def file_key(path: Path) -> tuple[Path, float, int]:
    """``(resolved path, modification time, size)``: the key of a data file in the per-file
    caches (``functools.lru_cache``) of the dataset loaders, so a changed file is read again."""
    found = path.resolve()
    stat = found.stat()
    return found, stat.st_mtime, stat.st_size


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def as_file(path: str | Path, filename: str) -> Path:
    """A user-given path: the file itself or a folder holding ``filename``."""
    path = Path(path).expanduser()
    return path / filename if path.is_dir() else path


def download(upstream: Upstream, target_dir: Path | None = None, url: str | None = None) -> Path:
    """Download ``upstream`` into ``target_dir`` (default: the cache), verified by sha256.

    The file is written to a temporary name first and renamed only once its checksum
    matches, so a failed or tampered download never replaces anything.
    """
    url = url or upstream.url
    target_dir = target_dir or cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / upstream.filename
    with tempfile.NamedTemporaryFile(dir=target_dir, suffix=".part", delete=False) as tmp:
        tmp_path = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (fixed https URL)
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    tmp.write(chunk)
        except Exception:
            tmp_path.unlink(missing_ok=True)
            raise
    actual = sha256_of(tmp_path)
    if actual != upstream.sha256:
        tmp_path.unlink(missing_ok=True)
        raise DataNotFoundError(
            f"downloaded {url} but its sha256 is {actual}, not the expected {upstream.sha256}; "
            "nothing was saved"
        )
    tmp_path.replace(target)
    return target


def resolve(
    upstream: Upstream, path: str | Path | None = None, *, download_ok: bool = True
) -> Path:
    """The path of ``upstream.filename``: explicit path, ``$INSPECT_PARTYNLI_DATA``, cache,
    download (in that order; see the module docstring)."""
    name = upstream.filename
    if path:
        found = as_file(path, name)
        if not found.is_file():
            raise DataNotFoundError(f"{upstream.title} not found at {found} (given as data={path})")
        return found
    if os.environ.get(DATA_ENV):
        found = as_file(os.environ[DATA_ENV], name)
        if not found.is_file():
            raise DataNotFoundError(
                f"{DATA_ENV}={os.environ[DATA_ENV]} but there is no {name} there"
            )
        return found
    cached = cache_dir() / name
    if cached.is_file():
        return cached
    if download_ok:
        try:
            return download(upstream)
        except DataNotFoundError:
            raise
        except Exception as error:  # network errors of every kind
            raise DataNotFoundError(
                not_found_message(upstream, f"the download failed ({error})")
            ) from None
    raise DataNotFoundError(not_found_message(upstream, "downloading is switched off"))


def not_found_message(upstream: Upstream, reason: str) -> str:
    name = upstream.filename
    return (
        f"{upstream.title} ({name}) was not found and {reason}. Set {DATA_ENV} to a folder "
        f"holding {name}, pass -T data=PATH (inspect eval) or --data PATH (partynli), or put the "
        f"file in {cache_dir()} (upstream: {upstream.url}, sha256 {upstream.sha256})."
    )


def verified_sha256(path: Path, upstream: Upstream) -> str:
    """The sha256 of a file, warning once if it is not the upstream version.

    A user-given file that differs from upstream (edited or newer) still runs, but may not
    reproduce the paper's numbers.
    """
    digest = sha256_of(path)
    if digest != upstream.sha256:
        warnings.warn(
            f"{path} differs from the upstream {upstream.title} (sha256 {upstream.sha256}); "
            "results may not match the paper",
            stacklevel=2,
        )
    return digest
