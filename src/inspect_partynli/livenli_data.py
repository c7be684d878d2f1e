"""Find, verify and load LiveNLI, and derive the human reference distributions from it.

LiveNLI (Jiang, Tan & de Marneffe, Findings of EMNLP 2023) is third-party data and is never
shipped with this package.  :func:`resolve_livenli` finds it, in this order:

1. an explicit path (the task parameter ``-T data=PATH``: a CSV file or a folder holding
   ``livenli.csv``);
2. the folder named by the environment variable ``INSPECT_PARTYNLI_DATA``;
3. the user cache (``$INSPECT_PARTYNLI_CACHE``, else ``$XDG_CACHE_HOME/inspect_partynli``,
   else ``~/.cache/inspect_partynli``);
4. a download of the upstream file into that cache, accepted only if its sha256 matches.

Nothing touches the network at import time.  The loaded table has one row per
(item, worker) with the labels already parsed; the per-item reference distributions
(LiveNLI, ChaosNLI, MNLI) are over :data:`~inspect_partynli.labels.LABELS`.
"""

from __future__ import annotations

import ast
import hashlib
import os
import tempfile
import urllib.request
import warnings
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .annotation_schema import conform
from .errors import SourceError
from .labels import LABELS, NLI_TO_LABEL, multi_label, single_label, split_multi_label

FILENAME = "livenli.csv"
DATA_ENV = "INSPECT_PARTYNLI_DATA"
CACHE_ENV = "INSPECT_PARTYNLI_CACHE"
UPSTREAM_URL = "https://raw.githubusercontent.com/njjiang/LiveNLI/main/livenli.csv"
SHA256 = "34d5e6d2cecfe3123c9972a681b4725a0f9cdae95de727a5d4392cc407f9c764"

REQUIRED_COLUMNS = (
    "uid", "premise", "hypothesis", "chaos_dist", "mnli_labels", "worker_id", "multilabel",
    "explanation", "highlight_p", "highlight_h",
)  # fmt: skip

#: The three human populations the study compares against.
POPULATIONS = ("livenli", "chaosnli", "mnli")


class DataNotFoundError(SourceError):
    """LiveNLI could not be found or fetched; the message says what to set."""


class DataFormatError(SourceError):
    """A file was found but is not LiveNLI as this package expects it."""


def cache_dir() -> Path:
    """The per-user cache folder for downloaded data (not created here)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "inspect_partynli"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _as_csv(path: str | Path) -> Path:
    """A user-given path: the CSV itself or a folder holding ``livenli.csv``."""
    path = Path(path).expanduser()
    return path / FILENAME if path.is_dir() else path


def download_livenli(target_dir: Path | None = None, url: str = UPSTREAM_URL) -> Path:
    """Download LiveNLI into ``target_dir`` (default: the cache), verified by sha256.

    The file is written to a temporary name first and renamed only once its checksum
    matches, so a failed or tampered download never replaces anything.
    """
    target_dir = target_dir or cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / FILENAME
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
    if actual != SHA256:
        tmp_path.unlink(missing_ok=True)
        raise DataNotFoundError(
            f"downloaded {url} but its sha256 is {actual}, not the expected {SHA256}; "
            "nothing was saved"
        )
    tmp_path.replace(target)
    return target


def resolve_livenli(path: str | Path | None = None, *, download: bool = True) -> Path:
    """The path of ``livenli.csv``: explicit path, ``$INSPECT_PARTYNLI_DATA``, cache, download."""
    if path:
        csv = _as_csv(path)
        if not csv.is_file():
            raise DataNotFoundError(f"LiveNLI not found at {csv} (given as data={path})")
        return csv
    if os.environ.get(DATA_ENV):
        csv = _as_csv(os.environ[DATA_ENV])
        if not csv.is_file():
            raise DataNotFoundError(
                f"{DATA_ENV}={os.environ[DATA_ENV]} but there is no {FILENAME} there"
            )
        return csv
    cached = cache_dir() / FILENAME
    if cached.is_file():
        return cached
    if download:
        try:
            return download_livenli()
        except DataNotFoundError:
            raise
        except Exception as error:  # network errors of every kind
            raise DataNotFoundError(_not_found_message(f"the download failed ({error})")) from None
    raise DataNotFoundError(_not_found_message("downloading is switched off"))


def _not_found_message(reason: str) -> str:
    return (
        f"LiveNLI ({FILENAME}) was not found and {reason}. Set {DATA_ENV} to a folder holding "
        f"{FILENAME}, pass -T data=PATH (inspect eval) or --data PATH (partynli), or put the "
        f"file in {cache_dir()} "
        f"(upstream: {UPSTREAM_URL}, sha256 {SHA256})."
    )


def _literal(value: object) -> object:
    """A Python-literal cell (dict or list) as an object; empty cells as None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return ast.literal_eval(value)


def _spans(value: object) -> list[tuple[int, int]]:
    """Highlight spans ``[(start, end), ...]`` from a LiveNLI highlight cell."""
    parsed = _literal(value)
    if not isinstance(parsed, dict):
        return []
    spans = [(int(e["startIndex"]), int(e["endIndex"])) for e in parsed.get("entities", [])]
    return sorted(spans)


def _chaos_counts(value: object) -> tuple[int, int, int] | None:
    """ChaosNLI counts ``{'c': 11, 'e': 14, 'n': 75}`` ordered as LABELS; None if absent."""
    parsed = _literal(value)
    if not isinstance(parsed, dict):
        return None
    counts = dict.fromkeys(LABELS, 0)
    for letter, count in parsed.items():
        counts[NLI_TO_LABEL[letter]] += int(count)
    return tuple(counts[label] for label in LABELS)


def _mnli_labels(value: object) -> tuple[str, ...]:
    """MNLI annotator labels as study labels: a list of 5, or the bare gold label."""
    if not isinstance(value, str) or not value.strip():
        return ()
    raw = value.strip()
    parsed = ast.literal_eval(raw) if raw.startswith("[") else [raw]
    return tuple(NLI_TO_LABEL[label.strip().lower()] for label in parsed)


@lru_cache(maxsize=4)
def _load(csv: Path, mtime: float) -> pd.DataFrame:
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    missing = [column for column in REQUIRED_COLUMNS if column not in raw.columns]
    if missing:
        raise DataFormatError(f"{csv} is not LiveNLI: missing column(s) {', '.join(missing)}")
    frame = raw[list(REQUIRED_COLUMNS)].copy()
    try:
        label_sets = frame["multilabel"].map(split_multi_label)
    except ValueError as error:
        raise DataFormatError(f"{csv}: {error}") from None
    frame["labels"] = label_sets
    frame["class_multi"] = label_sets.map(multi_label)
    frame["class_simple"] = label_sets.map(single_label)
    frame["highlight_p"] = frame["highlight_p"].map(_spans)
    frame["highlight_h"] = frame["highlight_h"].map(_spans)
    frame["chaos_counts"] = frame["chaos_dist"].map(_chaos_counts)
    frame["mnli_labels"] = frame["mnli_labels"].map(_mnli_labels)
    frame["gold"] = frame["uid"].str[-1].map(NLI_TO_LABEL)
    worker_number = frame["worker_id"].str.extract(r"(\d+)$")[0].astype(float)
    frame = frame.assign(_worker_number=worker_number)
    frame = frame.sort_values(["uid", "_worker_number", "worker_id"], kind="stable")
    return frame.drop(columns=["chaos_dist", "_worker_number"]).reset_index(drop=True)


#: The LiveNLI file this process loaded most recently (see :func:`last_loaded`).
_last_loaded: Path | None = None


def last_loaded() -> Path | None:
    """The LiveNLI file this process loaded most recently (e.g. the task's ``-T data``), or None.

    Lets the offline participant answer the task's prompts from the task's own file when it
    was given none and the usual resolution finds nothing.
    """
    return _last_loaded


def load_livenli(path: str | Path | None = None, *, download: bool = True) -> pd.DataFrame:
    """LiveNLI as one row per (item, worker), labels parsed, rows sorted by uid then worker.

    Columns: ``uid, premise, hypothesis, worker_id, multilabel, explanation,
    highlight_p, highlight_h`` (lists of ``(start, end)`` character spans), ``labels``
    (frozenset), ``class_multi`` (``either-true``), ``class_simple`` (the study's rule),
    ``chaos_counts`` (tuple over LABELS or None), ``mnli_labels`` (tuple), ``gold``.
    Returns a copy: callers may modify it.
    """
    global _last_loaded
    csv = resolve_livenli(path, download=download).resolve()
    frame = _load(csv, csv.stat().st_mtime).copy()
    _last_loaded = csv
    return frame


def verified_sha256(csv: Path) -> str:
    """The sha256 of a LiveNLI file, warning once if it is not the upstream version.

    The task records this digest in its log; a user-given file that differs from upstream
    (an edited or newer LiveNLI) still runs, but may not reproduce the paper's numbers.
    """
    digest = sha256_of(csv)
    if digest != SHA256:
        warnings.warn(
            f"{csv} differs from the upstream LiveNLI (sha256 {SHA256}); results may not "
            "match the paper",
            stacklevel=2,
        )
    return digest


def check_checksum(path: str | Path | None = None) -> bool:
    """Whether the LiveNLI file in use is the exact upstream version (warns if not)."""
    return verified_sha256(resolve_livenli(path, download=False)) == SHA256


def items(livenli: pd.DataFrame) -> pd.DataFrame:
    """One row per item (index ``uid``): premise, hypothesis, gold, chaos_counts,
    mnli_labels, n_annotators, ``has_chaosnli``."""
    grouped = livenli.groupby("uid", sort=True)
    table = grouped[["premise", "hypothesis", "gold", "chaos_counts", "mnli_labels"]].first()
    table["n_annotators"] = grouped.size()
    table["has_chaosnli"] = table["chaos_counts"].notna()
    return table


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


def sample_metadata(livenli: pd.DataFrame) -> dict[str, dict]:
    """Per-item metadata carried by every Inspect sample (JSON-serialisable), keyed by uid.

    Keys: ``premise, hypothesis, gold`` (study label from the uid's last letter),
    ``livenli_workers, livenli_multi, livenli_single`` (per worker, sorted by worker id),
    ``livenli_distribution`` (label -> share, study's single-label rule),
    ``chaosnli_counts`` (label -> count, or None), ``mnli_labels`` (list of study labels),
    ``n_annotators``, ``has_chaosnli``.
    """
    distribution = human_distribution(livenli, "livenli")
    metadata: dict[str, dict] = {}
    for uid, rows in livenli.groupby("uid", sort=True):
        first = rows.iloc[0]
        chaos = first["chaos_counts"]
        metadata[uid] = {
            "premise": first["premise"],
            "hypothesis": first["hypothesis"],
            "gold": first["gold"],
            "livenli_workers": rows["worker_id"].tolist(),
            "livenli_multi": rows["class_multi"].tolist(),
            "livenli_single": rows["class_simple"].tolist(),
            "livenli_distribution": {
                label: float(distribution.at[uid, label]) for label in LABELS
            },
            "chaosnli_counts": dict(zip(LABELS, chaos, strict=True)) if chaos else None,
            "mnli_labels": list(first["mnli_labels"]),
            "n_annotators": len(rows),
            "has_chaosnli": chaos is not None,
        }
    return metadata
