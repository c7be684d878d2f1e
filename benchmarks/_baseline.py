"""The package as it was at another commit, for benchmarks that compare against it.

``partynli`` benchmarks print their figures as ratios against a baseline measured in the same
run: :func:`baseline_source` extracts ``src/`` of a commit (``git archive``, nothing in the
working tree changes) into a temporary folder, and :func:`environment` gives the environment
of a subprocess that imports the package from there instead of from this checkout.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def baseline_source(commit: str) -> Path:
    """``src/`` of ``commit`` in a new temporary folder (kept until the process exits)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "src"],
        capture_output=True, check=False,
    )  # fmt: skip
    if archive.returncode != 0:
        raise SystemExit(f"cannot read commit {commit!r}: {archive.stderr.decode().strip()}")
    folder = Path(tempfile.mkdtemp(prefix=f"partynli-baseline-{commit[:8]}-"))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def environment(source: Path | None) -> dict[str, str]:
    """``os.environ`` with ``PYTHONPATH`` at ``source`` (None: this checkout's ``src``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(source if source is not None else REPO / "src")
    return env
