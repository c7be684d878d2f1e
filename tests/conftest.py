"""Shared test fixtures.

The tests read third-party data that is never committed: LiveNLI and VariErr from
``INSPECT_PARTYNLI_DATA`` and the PartyNLI fixture from ``PARTYNLI_FIXTURES`` (each defaults
to a folder of ``PARTYNLI_SHARED``, else of ``../shared`` beside the checkout).  Tests take the
fixture folder from :data:`FIXTURES_DIR` (or the ``fixture_csv`` fixture), never from their own
path, so they pass in any checkout or git worktree.  Inspect's log folder and
the package cache are redirected into a temporary folder so tests leave nothing behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PARTYNLI_SHARED", REPO.parent / "shared"))
DATA_DIR = Path(os.environ.get("INSPECT_PARTYNLI_DATA", SHARED / "data"))
#: The folder of the PartyNLI fixture (the shipped offline studies read it as ${PARTYNLI_FIXTURES}).
FIXTURES_DIR = Path(os.environ.get("PARTYNLI_FIXTURES", SHARED / "fixtures"))
FIXTURE_CSV = FIXTURES_DIR / "partynli-ministral-8b.csv"

os.environ.setdefault("INSPECT_PARTYNLI_DATA", str(DATA_DIR))
os.environ.setdefault("PARTYNLI_FIXTURES", str(FIXTURES_DIR))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the package cache out of the user's home during tests."""
    monkeypatch.setenv("INSPECT_PARTYNLI_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def livenli():
    """LiveNLI as loaded by the package (one row per item and worker)."""
    from inspect_partynli.datasets.livenli import load_livenli_frame

    if not (DATA_DIR / "livenli.csv").is_file():
        pytest.fail(f"LiveNLI not found in {DATA_DIR}: set INSPECT_PARTYNLI_DATA")
    return load_livenli_frame(DATA_DIR)


@pytest.fixture(scope="session")
def fixture_csv() -> Path:
    """The PartyNLI ministral-8b annotations (609 rows) from :data:`FIXTURES_DIR`."""
    if not FIXTURE_CSV.is_file():
        pytest.fail(f"PartyNLI fixture not found at {FIXTURE_CSV}")
    return FIXTURE_CSV


@pytest.fixture(scope="session")
def livenli_dataset():
    """LiveNLI as a dataset (the interface the analysis, explanations and report take)."""
    from inspect_partynli.datasets import load_dataset

    return load_dataset("livenli", data=DATA_DIR)
