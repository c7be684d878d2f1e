"""Inspect logs and PartyNLI files -> one annotation table (and back out to a PartyNLI file).

:func:`load_annotations` takes any mix of

* Inspect logs (``.eval`` or ``.json``) of the ``livenli`` task, or folders holding them
  (searched recursively; a folder contributes its logs only, never CSV/Parquet files), and
* PartyNLI-schema files (``.csv`` or ``.parquet``, the study's export format),

and returns one DataFrame in the annotation-table schema
(:mod:`inspect_partynli.annotation_schema`), one row per (item, participant, trial).

Reading logs
------------
Labels live in the scorer's ``Score.value`` dict (``label``, ``multi_label``, ``parsed``,
``failure``, ``temperature``, ``top_p``), so the fast path reads only the log header and
Inspect's *sample summaries*.  Summaries truncate text, so full samples are read only when
``explanations=True`` (the explanation is ``Score.explanation``), one log at a time and without
the messages and events.

One log row per sample and epoch: ``trial`` = epoch, ``model`` = the full model id,
``participant`` = the ``participants`` mapping's name for the model if given, else the
model argument ``participant`` (the replay provider), else the model name without its
provider prefix (``openai/gpt-4.1`` -> ``gpt-4.1``; ``partynli/replay/NAME`` -> ``NAME``).
``experiment`` is the ``experiment`` argument if given, else the replay provider's model
argument ``experiment``, else ``temperature_sweep`` / ``top_p_sweep`` for sweeps (the
sample's ``sweep`` metadata, else the task argument ``sweep``), else ``single``.
``temperature`` / ``top_p`` are the values the solver sent (``Score.value``, else the sample
metadata; NaN = provider default).  ``num_params`` is NaN unless the ``num_params`` mapping
names the participant.

Robustness (deterministic, and reported in ONE :class:`AnnotationWarning` per call):

* logs of other tasks are ignored;
* samples that errored (or were cancelled) are skipped; logs with status ``error``,
  ``cancelled`` or ``started`` contribute the samples they completed;
* samples without a livenli score (the scorer did not run, e.g. ``--no-score``) are skipped,
  not counted as parse failures: score the log with ``inspect score`` first;
* the same annotation -- (participant, model, experiment, temperature, top_p, item, trial) --
  found in several logs (an eval-set retry, a re-run): the latest log wins (ordered by the
  log's ``eval.created``, then its completion time, then path);
* (item, epoch) pairs a run was meant to produce but that no log holds are counted as
  missing.

Samples scored ``failure == "no_annotation"`` (the replay provider's answer for an item and
trial its source file never annotated) are left out silently: the replayed participant then
has exactly the source's annotations, and they are neither parse failures nor missing.

Reading PartyNLI files
----------------------
Columns ``sent_id, participant, trial, class_simple`` are required (a :class:`SourceError`
lists what is missing); the other schema columns are filled when absent and extra columns
(e.g. the study's ``tsne_*``/``umap_*`` projections) are kept.  ``class_simple == 'error'``
rows are parse failures (``parsed`` False, ``failure_reason`` ``error``; the explanation
holds the parse error).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .annotation_schema import (
    ANNOTATION_COLUMNS,
    PARTYNLI_COLUMNS,
    STUDY_METADATA_KEY,
    conform,
    empty_annotation_table,
    selected_columns,
    text_values,
)
from .design import SINGLE_EXPERIMENT, sweep_experiment
from .errors import SourceError, UsageError
from .estimators.base import DEFAULT_ESTIMATOR
from .estimators.table import estimate_column_names, estimate_columns, with_estimate_columns
from .labels import ERROR_LABEL, NO_ANNOTATION
from .log_store import LOG_SUFFIXES as STORE_LOG_SUFFIXES
from .log_store import is_remote, log_files

if TYPE_CHECKING:
    from .datasets import HLVDataset

#: Task names (``log.eval.task``) this reader accepts: the package's annotation tasks
#: (livenli, varierr, a card's annotate), each by its registered name and by the bare name
#: Inspect records when the task is run from a file.
ANNOTATION_TASKS: tuple[str, ...] = tuple(
    name
    for task in ("livenli", "varierr", "annotate")
    for name in (f"inspect_partynli/{task}", task)
)

#: The scorer whose ``Score.value`` dict holds the labels (key in ``sample.scores``).
SCORER_NAME = "livenli_scorer"

LOG_SUFFIXES: tuple[str, ...] = STORE_LOG_SUFFIXES
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")

#: Columns a PartyNLI file must have (everything else can be filled in).
PARTYNLI_REQUIRED: tuple[str, ...] = ("sent_id", "participant", "trial", "class_simple")

#: Model ids ``partynli/replay/NAME`` replay participant NAME (see :mod:`.providers`).
REPLAY_PREFIX = "partynli/replay/"

#: ``failure_reason`` of parse-failure rows read from PartyNLI files.
PARTYNLI_FAILURE = "error"

#: Fields of a sample the explanation reader never needs (speeds up ``.eval`` reads).
_EXCLUDED_SAMPLE_FIELDS = {"messages", "events", "store", "attachments", "output"}

#: The key that identifies one annotation across logs (retries and re-runs collapse on it).
ANNOTATION_KEY: tuple[str, ...] = (
    "participant", "model", "experiment", "temperature", "top_p", "sent_id", "trial",
)  # fmt: skip

_SUPERSEDED = "logs whose annotations a later log superseded (eval-set retry or re-run)"
# What makes the annotations a partial run (the report says so in its opening lines):
_UNFINISHED = "logs with status"  # cancelled / error / started
_ERRORED = "logs with samples that errored"
_MISSING = "runs with missing (item, epoch) annotations"
_DAMAGED = "damaged samples skipped"
#: Note prefixes that mean the sources are a partial run (see :class:`AnnotationWarning`).
PARTIAL_NOTES: tuple[str, ...] = (_UNFINISHED, _ERRORED, _MISSING, _DAMAGED)
_MAX_NAMED = 3  # file names listed per warning line before "and N more"


class AnnotationWarning(UserWarning):
    """Something in the sources was skipped or superseded; the message says what.

    ``notes`` holds the message's parts, one per kind of problem; those starting with one of
    :data:`PARTIAL_NOTES` mean the annotations come from a partial run.
    """

    def __init__(self, message: str, notes: list[str] | None = None) -> None:
        super().__init__(message)
        self.notes = notes if notes is not None else [message]


# --------------------------------------------------------------------------------------
# public API


def load_annotations(
    sources: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    explanations: bool = False,
    include_humans: bool | str | os.PathLike | HLVDataset = False,
    data: str | os.PathLike | None = None,
    progress: bool = False,
    participants: Mapping[str, str] | None = None,
    num_params: Mapping[str, float] | None = None,
    experiment: str | None = None,
    columns: Iterable[str] | None = None,
    labels: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
) -> pd.DataFrame:
    """Read Inspect logs and PartyNLI files into one annotation table.

    Args:
        sources: a path or an iterable of paths: Inspect logs (``.eval``/``.json``), folders
            of logs (recursive), PartyNLI files (``.csv``/``.parquet``).
        explanations: also read explanations from logs (reads full samples, slower).
            PartyNLI files always carry theirs.
        include_humans: append a dataset's primary annotators as participants
            (:func:`inspect_partynli.analysis.human_table`): an
            :class:`~inspect_partynli.datasets.HLVDataset`, what
            :func:`~inspect_partynli.datasets.load_dataset` takes (``"varierr"``, a card path),
            or True for the dataset the sources are annotations of (the logs' headers, else
            LiveNLI: :func:`sources_dataset`).
        data: where a built-in dataset's file is (see
            :mod:`inspect_partynli.datasets.locate`); used only with ``include_humans``.
        progress: show a progress bar over files on stderr.
        participants: model id (full, e.g. ``openai/gpt-4.1``, or without provider) ->
            participant name, for log rows.
        num_params: participant (or model id) -> size in billions; fills ``num_params``
            where it is unknown (always for logs).
        experiment: experiment name for every log row (default: from the task arguments).
        columns: read only these schema columns (plus
            :data:`~inspect_partynli.annotation_schema.KEY_COLUMNS`); PartyNLI Parquet and
            CSV files then never load the others (explanations, ids, projections), which keeps
            tables of millions of annotations small.  Default: every column.
        labels: the dataset's label space: PartyNLI files with any other ``class_simple`` are
            refused (default: not checked here; the analysis checks against its dataset).
        exclude: glob patterns; a log or file whose path, or any folder on its path,
            matches one is not read (``offline`` leaves out ``logs/offline/...``).

    Returns:
        The annotation table: log rows first (sorted by participant, model, experiment,
        settings, item, trial), then PartyNLI files in the order given, then humans.

    Raises:
        SourceError: a source is missing, unreadable or of an unknown kind, or the same
            participant run comes from two sources (:func:`source_conflicts`).
    """
    logs, tables = _expand_sources(sources, tuple(exclude))
    notes = _Notes()
    frames: list[pd.DataFrame] = []
    with _progress_bar(len(logs) + len(tables), enabled=progress) as advance:
        reader = _LogReader(
            explanations=explanations,
            participants=participants or {},
            experiment=experiment,
            notes=notes,
        )
        for path in logs:
            reader.read(path)
            advance()
        if logs:
            frames.append(reader.table())
        for path in tables:
            frame = _read_partynli(path, columns, labels)
            if "source" not in frame.columns:  # needed for source_conflicts (one code per row)
                codes = np.zeros(len(frame), dtype=np.int8)
                frame["source"] = pd.Categorical.from_codes(codes, [str(path)])
            frames.append(frame)
            advance()
    if include_humans:
        from .analysis import human_table

        frames.append(human_table(_humans_dataset(include_humans, sources, data)))
    frames = [frame for frame in frames if not frame.empty]
    # conformed once, after the concatenation (a single frame is not copied)
    if not frames:
        table = empty_annotation_table()
    else:
        table = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    conflicts = source_conflicts(table)
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise SourceError(
            f"conflict: {conflicts[0]}{more}; it would count as two participants: keep one "
            "source (--exclude PATTERN, or point at one folder)"
        )
    # an estimator run's columns say how its rows are read: kept whatever ``columns`` asks for
    estimates = estimate_column_names(table.columns) if columns is not None else []
    conformed = conform(table, columns)
    for column in estimates:
        conformed[column] = table[column].to_numpy()
    table = conformed
    if num_params:
        table = _fill_num_params(table, num_params)
    notes.warn()
    return table


def _humans_dataset(spec: Any, sources: Any, data: str | os.PathLike | None) -> Any:
    """The dataset ``include_humans`` names: itself, a ``load_dataset`` spec, or (True) the
    dataset of the sources."""
    if spec is True:
        return sources_dataset(sources, data=data)
    from .datasets import HLVDataset, load_dataset

    return spec if isinstance(spec, HLVDataset) else load_dataset(spec, data=data)


def logged_datasets(sources: str | os.PathLike | Iterable[str | os.PathLike]) -> list[dict]:
    """The ``dataset`` entries (:class:`~inspect_partynli.datasets.DatasetRef` as dicts) of
    the sources' log headers, each once, in order (PartyNLI files and older logs name none;
    unreadable logs are left to :func:`load_annotations` to report)."""
    from .datasets import METADATA_KEY

    logs, _ = _expand_sources(sources)
    found: list[dict] = []
    for path in logs:
        try:
            metadata = _read_header(path).eval.metadata or {}
        except SourceError:
            continue
        entry = metadata.get(METADATA_KEY)
        if isinstance(entry, Mapping) and dict(entry) not in found:
            found.append(dict(entry))
    return found


def sources_dataset(
    sources: str | os.PathLike | Iterable[str | os.PathLike],
    spec: str | os.PathLike | None = None,
    *,
    data: str | os.PathLike | None = None,
) -> Any:
    """The dataset the sources are annotations of: ``spec`` (``livenli``, ``varierr`` or a
    card path) when given, else the one the logs' headers record, else LiveNLI.  A
    :class:`UsageError` when the logs are of several datasets and no ``spec`` says which."""
    from .datasets import load_dataset

    if spec is None:
        logged = logged_datasets(sources) if sources else []
        names = list(dict.fromkeys(str(entry.get("name")) for entry in logged))
        if len(names) > 1:
            raise UsageError(
                f"the logs are annotations of several datasets ({', '.join(names)}); "
                "choose one with --dataset"
            )
        if logged:
            return load_dataset(logged[0], data=data)
        spec = "livenli"
    return load_dataset(spec, data=data)


def read_partynli_file(
    path: str | os.PathLike,
    columns: Iterable[str] | None = None,
    *,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read one PartyNLI-schema CSV or Parquet file into the annotation-table schema
    (only the schema ``columns`` asked for, as for :func:`load_annotations`).

    The one reader of PartyNLI files (the analysis commands and the replay participant use
    it): columns ``sent_id, participant, trial, class_simple`` are required, the rest filled
    (``class_multi`` from ``class_simple``, ``explanation`` empty, ...).  With ``labels``
    (the dataset's label space), a ``class_simple`` outside it and ``error`` is refused.
    """
    return conform(_read_partynli(Path(path), columns, labels), columns)


def _read_partynli(
    path: Path, columns: Iterable[str] | None, labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """A PartyNLI file checked and completed, but not yet conformed (vectorised)."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    columns = None if columns is None else list(columns)
    wanted = selected_columns(columns)
    frame = _read_table_file(path, None if columns is None else wanted)
    missing = [column for column in PARTYNLI_REQUIRED if column not in frame.columns]
    if missing:
        raise SourceError(
            f"{path}: not a PartyNLI file: missing column(s) {', '.join(missing)} "
            f"(needs {', '.join(PARTYNLI_REQUIRED)})"
        )
    frame["class_simple"] = text_values(frame["class_simple"], str.strip)
    known = set(frame["class_simple"].unique())
    bad = sorted(known - {*labels, ERROR_LABEL}) if labels else []
    if bad:
        shown = ", ".join(repr(value) for value in bad[:_MAX_NAMED])
        raise SourceError(
            f"{path}: column class_simple holds {len(bad)} unknown value(s) ({shown}); "
            f"expected one of {', '.join((*labels, ERROR_LABEL))}"
        )
    trial = frame["trial"]
    if not pd.api.types.is_integer_dtype(trial):
        trial = pd.to_numeric(trial, errors="coerce")
    bad = (trial.isna() | (trial % 1 != 0) | (trial < 1)).to_numpy()
    if bad.any():
        row = int(bad.argmax())
        raise SourceError(
            f"{path}: column trial must hold whole numbers from 1 (1-based runs): row {row + 2}: "
            f"trial {str(frame['trial'].iloc[row])!r} is not a positive integer"
        )
    frame["trial"] = trial.astype(int)
    failed = frame["class_simple"] == ERROR_LABEL
    if "parsed" not in frame.columns:
        frame["parsed"] = ~failed
    else:
        frame["parsed"] = _as_bool(frame["parsed"]) & ~failed
    if "failure_reason" not in frame.columns and "failure_reason" in wanted:
        reasons = pd.array(["", PARTYNLI_FAILURE], dtype="str")
        frame["failure_reason"] = reasons.take(failed.to_numpy(dtype=np.intp))
    if "participant_type" not in frame.columns:
        frame["participant_type"] = _repeated("model", len(frame))
    if "model" not in frame.columns and "model" in wanted:
        frame["model"] = frame["participant"]
    if "source" in wanted:
        frame["source"] = _repeated(str(path), len(frame))
    return frame


def _repeated(text: str, rows: int) -> pd.api.extensions.ExtensionArray:
    """``text`` on every row, as Arrow-backed strings (no per-row Python objects)."""
    return pd.array([text], dtype="str").take(np.zeros(rows, dtype=np.intp))


def write_partynli_file(
    table: pd.DataFrame,
    path: str | os.PathLike,
    *,
    force: bool = False,
    formula_guard: bool = True,
) -> Path:
    """Write ``table`` as a PartyNLI file (``.csv`` or ``.parquet``, from the suffix).

    The PartyNLI columns come first, the rest after.  Refuses to replace an existing file
    unless ``force`` (:class:`OutputExistsError`); writes to a temporary file first so a
    failed write never leaves a half-written or clobbered file (and a link at ``path`` is
    replaced, never written through).  In CSV, text cells that start like a spreadsheet
    formula (``=`` ``+`` ``-`` ``@``) get a leading ``'`` unless ``formula_guard`` is False
    (:func:`outputs.guard_formulas`; :func:`read_partynli_file` removes it again); Parquet
    keeps text raw.
    """
    path = check_output_path(path, force=force)
    frame = conform(table)
    columns = list(PARTYNLI_COLUMNS) + [c for c in frame.columns if c not in PARTYNLI_COLUMNS]
    frame = frame[columns]
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if path.suffix.lower() == ".csv":
            from .outputs import guard_formulas

            (guard_formulas(frame) if formula_guard else frame).to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def check_output_path(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Validate an output path for :func:`write_partynli_file` before any work is done
    (format, kind, existing file, writable folder: see :func:`outputs.check_output_file`)."""
    from .outputs import check_output_file

    return check_output_file(path, force=force, suffixes=TABLE_SUFFIXES)


def participant_name(
    model: str,
    model_args: Mapping[str, Any] | None = None,
    participants: Mapping[str, str] | None = None,
    recorded: str | None = None,
) -> str:
    """The participant a model's log rows belong to.

    In order: the ``participants`` mapping (keyed by the full model id or the id without
    its provider), the name a study run ``recorded`` in the log header, the model argument
    ``participant`` (``-M participant=NAME`` of the replay provider), the name after
    ``partynli/replay/``, else the model id without its provider prefix
    (``openai/gpt-4.1`` -> ``gpt-4.1``).
    """
    short = model.split("/", 1)[1] if "/" in model else model
    participants = participants or {}
    for key in (model, short):
        if key in participants:
            return str(participants[key])
    if recorded:
        return str(recorded)
    if model_args and model_args.get("participant"):
        return str(model_args["participant"])
    if model.startswith(REPLAY_PREFIX) and len(model) > len(REPLAY_PREFIX):
        return model[len(REPLAY_PREFIX) :]
    return short


# --------------------------------------------------------------------------------------
# sources


def source_conflicts(table: pd.DataFrame) -> list[str]:
    """The participant runs that come from more than one source, described in words.

    A source is a PartyNLI file, or the folder of a log (an eval-set retry or a resumed
    study run stays in its folder, and a re-run whose log supersedes every annotation of an
    earlier one leaves only its own rows).  A run is a participant with its size and
    generation settings; when the same run is found in two sources -- a folder of logs read
    next to the study folder inside it, a replayed participant next to another copy -- every
    setting would count it twice (MODEL MIX ``all`` among them).  A model's runs with another
    estimator (``-T estimator=logprobs``, each in its own folder) are other runs.
    """
    from .estimators.table import ESTIMATOR_COLUMN, row_estimators

    if table.empty or not {"participant", "source"} <= set(table.columns):
        return []
    settings = [c for c in ("num_params", "temperature", "top_p") if c in table.columns]
    models = table
    if "participant_type" in table.columns:
        models = table[table["participant_type"].astype(str) != "human"]
    if ESTIMATOR_COLUMN in models.columns:
        models = models.assign(**{ESTIMATOR_COLUMN: row_estimators(models)})
        settings.append(ESTIMATOR_COLUMN)
    keys = ["participant", *settings, "source"]
    runs = models[keys].drop_duplicates()  # small: one row per run and file
    if runs.empty:
        return []
    runs = runs.astype({"participant": str, "source": str})
    runs["where"] = [
        str(Path(s).parent) + os.sep if s.lower().endswith(LOG_SUFFIXES) else s
        for s in runs["source"]
    ]
    found = []
    by_run = runs.groupby(["participant", *settings], dropna=False)
    for (participant, *_), group in by_run:
        places = sorted(set(group["where"]))
        if len(places) > 1:
            shown = ", ".join(places[:_MAX_NAMED]) + (" ..." if len(places) > _MAX_NAMED else "")
            found.append(f"participant {participant!r} comes from {len(places)} sources ({shown})")
    return found


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    from fnmatch import fnmatch

    return any(
        fnmatch(str(path), pattern) or any(fnmatch(part, pattern) for part in path.parts)
        for pattern in patterns
    )


def _expand_sources(
    sources: str | os.PathLike | Iterable[str | os.PathLike],
    exclude: tuple[str, ...] = (),
) -> tuple[list[Path], list[Path]]:
    """Split sources into (log files, PartyNLI files), each path once, checking every one
    (paths matching an ``exclude`` pattern are left out)."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    logs: list[Path] = []
    tables: list[Path] = []
    seen: set[Path] = set()

    def add(bucket: list[Path], path: Path) -> None:
        key = path.resolve()
        if exclude and _excluded(path, exclude):
            return
        if key not in seen:
            seen.add(key)
            bucket.append(path)

    for source in sources:
        if is_remote(source):  # s3://bucket/prefix: a folder of logs, or one log
            found = [source] if str(source).endswith(LOG_SUFFIXES) else log_files(source)
            if not found:
                raise SourceError(f"{source}: holds no Inspect logs (.eval or .json)")
            logs.extend(log for log in found if log not in logs)  # type: ignore[misc]
            continue
        path = Path(source)
        if path.is_dir():
            found = log_files(path)  # type: ignore[assignment]
            if not found:
                raise SourceError(f"{path}: folder holds no Inspect logs (.eval or .json)")
            for log in found:
                add(logs, log)
        elif not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        elif path.suffix.lower() in LOG_SUFFIXES:
            add(logs, path)
        elif path.suffix.lower() in TABLE_SUFFIXES:
            add(tables, path)
        else:
            raise SourceError(
                f"{path}: unknown kind of source {path.suffix or '(no extension)'!r}; expected "
                f"Inspect logs ({', '.join(LOG_SUFFIXES)}), PartyNLI files "
                f"({', '.join(TABLE_SUFFIXES)}) or folders of logs"
            )
    if not logs and not tables:
        raise SourceError("no sources given" + (" (all excluded)" if exclude else ""))
    return logs, tables


# --------------------------------------------------------------------------------------
# Inspect logs


@dataclass
class _Log:
    """What the reader keeps of one log header."""

    path: Path
    order: tuple
    run: str  # the run (model, participant, experiment) it belongs to: for missing epochs
    expected: set[tuple[str, int]]
    num_params: float = np.nan  # model size recorded by a study run, else unknown
    #: (item, epoch) pairs the log's model had no annotation for (a replayed source's gaps):
    #: never missing, for any log of the run (a killed log may not have reached them)
    unannotated: set[tuple[str, int]] = field(default_factory=set)
    status: str = "success"


@dataclass
class _LogReader:
    """Accumulates rows from livenli logs; :meth:`table` resolves duplicates."""

    explanations: bool
    participants: Mapping[str, str]
    experiment: str | None
    notes: _Notes
    logs: list[_Log] = field(default_factory=list)
    columns: dict[str, list] = field(
        default_factory=lambda: {name: [] for name in (*_LOG_ROW_FIELDS, "_completed", "_log")}
    )
    estimates: list[dict] = field(default_factory=list)  # per row: an estimator's columns

    def read(self, path: Path) -> None:
        header = _read_header(path)
        task = header.eval.task
        if task not in ANNOTATION_TASKS:
            self.notes.add(f"logs of other tasks ({task})", path)
            return
        model = header.eval.model
        # what `partynli run` recorded about this run (participant, experiment, size)
        study_run = (header.eval.metadata or {}).get(STUDY_METADATA_KEY) or {}
        participant = participant_name(
            model, header.eval.model_args, self.participants, study_run.get("participant")
        )
        task_sweep = header.eval.task_args.get("sweep")
        task_estimator = header.eval.task_args.get("estimator")
        # an explicit name wins, then the study's, then the replay's -M experiment=, then sweeps
        named = (
            self.experiment
            or study_run.get("experiment")
            or (header.eval.model_args or {}).get("experiment")
        )
        index = len(self.logs)
        samples = self._samples(path)
        unscored = errored = 0
        present: set[tuple[str, int]] = set()
        unannotated: set[tuple[str, int]] = set()
        append = self.columns
        for sample_id, epoch, error, scores, metadata, completed, explanation in samples:
            if error:
                errored += 1
                continue
            value = _livenli_value(scores)
            if value is None:
                unscored += 1
                continue
            if value.get("failure") == NO_ANNOTATION:  # a replayed source has none here
                unannotated.add((str(sample_id), int(epoch)))
                continue
            sweep = (metadata or {}).get("sweep") or task_sweep
            label = str(value.get("label", ERROR_LABEL))
            parsed = bool(value.get("parsed", label != ERROR_LABEL))
            append["sent_id"].append(str(sample_id))
            append["trial"].append(int(epoch))
            append["participant"].append(participant)
            append["model"].append(model)
            append["experiment"].append(named or _experiment(sweep, value.get("estimator")))
            append["class_simple"].append(label)
            append["class_multi"].append(str(value.get("multi_label", label)))
            append["parsed"].append(parsed)
            append["failure_reason"].append("" if parsed else str(value.get("failure") or ""))
            append["temperature"].append(_setting(value, metadata, "temperature"))
            append["top_p"].append(_setting(value, metadata, "top_p"))
            append["explanation"].append(explanation)
            append["source"].append(str(path))
            append["_completed"].append(completed)
            append["_log"].append(index)
            self.estimates.append(estimate_columns(value))
            present.add((str(sample_id), int(epoch)))
        if errored:
            self.notes.add(f"{_ERRORED} (skipped)", path, errored)
        if unscored:
            self.notes.add("logs with unscored samples (skipped; run `inspect score` on them)",
                           path, unscored)  # fmt: skip
        ids = header.eval.dataset.sample_ids
        epochs = header.eval.config.epochs or 1
        expected = (
            {(str(i), e) for i in ids for e in range(1, epochs + 1)} if ids is not None else present
        ) - unannotated
        run = [model, participant, named or _experiment(task_sweep, task_estimator)]
        run_key = json.dumps(run, default=str)
        size = study_run.get("num_params")
        size = float(size) if isinstance(size, (int, float)) else np.nan
        order = _log_order(header, path)
        self.logs.append(_Log(path, order, run_key, expected, size, unannotated, header.status))

    def _samples(self, path: Path) -> Iterator[tuple]:
        """(id, epoch, error, scores, metadata, completed_at, explanation) per sample."""
        try:
            if not self.explanations:
                from inspect_ai.log import read_eval_log_sample_summaries

                for s in read_eval_log_sample_summaries(str(path)):
                    yield s.id, s.epoch, s.error, s.scores, s.metadata, s.completed_at, ""
            else:
                for s in _read_full_samples(path, self.notes):
                    error = s.error.message if s.error is not None else None
                    explanation = _explanation(s.scores)
                    yield s.id, s.epoch, error, s.scores, s.metadata, s.completed_at, explanation
        except Exception as error:  # noqa: BLE001 - any failure means "samples unreadable"
            # (zip, zstd/zlib, ijson, pydantic and OS errors alike: the class, not one type)
            reason = _first_line(error)
            raise SourceError(f"{path}: cannot read the log's samples ({reason})") from error

    def table(self) -> pd.DataFrame:
        """All rows read so far, duplicates resolved (latest sample wins), sorted."""
        self._note_unfinished()
        frame = with_estimate_columns(pd.DataFrame(self.columns), self.estimates)
        frame["participant_type"] = "model"
        sizes = np.array([log.num_params for log in self.logs], dtype=float)
        frame["num_params"] = sizes[frame["_log"].to_numpy(dtype=int)] if len(frame) else np.nan
        if frame.empty:
            return frame.drop(columns=["_log", "_completed"]).assign(id="")
        frame = self._latest(frame)
        self._note_missing(frame)
        frame["id"] = _run_ids(frame)
        frame = frame.sort_values(list(ANNOTATION_KEY), kind="stable", na_position="last")
        return frame.drop(columns=["_log", "_completed"]).reset_index(drop=True)

    def _latest(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Keep one row per annotation key: the sample completed last.

        Ties (a retry copies the samples its failed attempt completed) go to the later log
        (created, completed, path), so the outcome never depends on the order of sources.
        """
        order = sorted(range(len(self.logs)), key=lambda i: self.logs[i].order)
        log_rank = frame["_log"].map({log: rank for rank, log in enumerate(order)})
        log_created = frame["_log"].map({i: log.order[0] for i, log in enumerate(self.logs)})
        completed = pd.to_datetime(frame["_completed"], utc=True, format="ISO8601", errors="coerce")
        seconds = (completed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        ranked = frame.assign(_time=seconds.fillna(log_created), _rank=log_rank)
        ranked = ranked.sort_values(["_time", "_rank"], kind="stable")
        duplicated = ranked.duplicated(list(ANNOTATION_KEY), keep="last")
        if duplicated.any():
            superseded = ranked.loc[duplicated, "_log"].value_counts().sort_index()
            for index, count in superseded.items():
                self.notes.add(_SUPERSEDED, self.logs[index].path, count)
        return ranked.loc[~duplicated].drop(columns=["_time", "_rank"])

    def _note_unfinished(self) -> None:
        """Note the logs that did not finish (cancelled, errored, killed while ``started``),
        except those a later successful log of the same run resumed (an eval-set retry or a
        re-run of a study: its samples are in that log, so the run is complete)."""
        for log in self.logs:
            if log.status == "success":
                continue
            resumed = any(
                other.run == log.run and other.status == "success" and other.order > log.order
                for other in self.logs
            )
            if not resumed:
                self.notes.add(f"{_UNFINISHED} {log.status} (kept their completed samples)",
                               log.path)  # fmt: skip

    def _note_missing(self, frame: pd.DataFrame) -> None:
        """Count (item, epoch) pairs each run expected but no log of that run holds."""
        runs: dict[str, tuple[set, set, list[int]]] = {}
        for index, log in enumerate(self.logs):
            expected, unannotated, members = runs.setdefault(log.run, (set(), set(), []))
            expected |= log.expected
            unannotated |= log.unannotated
            members.append(index)
        pairs = set(zip(frame["_log"], frame["sent_id"], frame["trial"], strict=True))
        for expected, unannotated, members in runs.values():
            member_set = set(members)
            present = {(s, t) for log, s, t in pairs if log in member_set}
            # only what no log of the run holds: a pair a killed log never reached but a
            # later log annotated (or found the source has no annotation for) is not missing
            missing = len(expected - present - unannotated)
            if missing:
                latest = max(members, key=lambda i: self.logs[i].order)
                self.notes.add(_MISSING, self.logs[latest].path, missing)


_LOG_ROW_FIELDS = (
    "sent_id", "trial", "participant", "model", "experiment", "class_simple", "class_multi",
    "parsed", "failure_reason", "temperature", "top_p", "explanation", "source",
)  # fmt: skip


def _read_header(path: Path) -> Any:
    """The log header (no samples); a :class:`SourceError` when it cannot be read."""
    from inspect_ai.log import read_eval_log

    try:
        return read_eval_log(str(path), header_only=True)
    except Exception as error:  # noqa: BLE001 - any failure means "not a readable log"
        raise SourceError(f"{path}: not a readable Inspect log ({_first_line(error)})") from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _read_full_samples(path: Path, notes: _Notes) -> list[Any]:
    """A log's samples with their scores, one log at a time (big fields left out).

    One ``read_eval_log`` per log with ``exclude_fields`` (messages, events, ...) is about
    twice as fast as streaming the samples one by one with ``read_eval_log_sample``
    (which reopens the archive per sample), and only one log's thinned samples are held.
    When that read fails (a damaged sample spoils the whole read), the samples listed in the
    log's summaries are read one by one instead, and each that cannot be read is skipped
    with a note naming the log and the sample.
    """
    from inspect_ai.log import read_eval_log, read_eval_log_sample, read_eval_log_sample_summaries

    try:
        return read_eval_log(str(path), exclude_fields=_EXCLUDED_SAMPLE_FIELDS).samples or []
    except Exception:  # noqa: BLE001 - find the damaged samples below
        if path.suffix.lower() != ".eval":
            raise  # a JSON log is one document: nothing to salvage sample by sample
    samples, damaged = [], []
    for summary in read_eval_log_sample_summaries(str(path)):
        try:
            samples.append(read_eval_log_sample(
                str(path), summary.id, summary.epoch, exclude_fields=_EXCLUDED_SAMPLE_FIELDS
            ))  # fmt: skip
        except Exception as error:  # noqa: BLE001 - a damaged member, whatever the error
            damaged.append(f"{summary.id} epoch {summary.epoch} ({_first_line(error)[:80]})")
    if damaged:
        shown = "; ".join(damaged[:_MAX_NAMED])
        more = f" and {len(damaged) - _MAX_NAMED} more" if len(damaged) > _MAX_NAMED else ""
        notes.add(f"{_DAMAGED} in {path.name}: {shown}{more}", path, len(damaged))
    return samples


def _livenli_value(scores: Mapping[str, Any] | None) -> dict | None:
    """The livenli scorer's value dict among a sample's scores (None if it did not run)."""
    if not scores:
        return None
    score = scores.get(SCORER_NAME)
    if score is not None and isinstance(score.value, dict):
        return score.value
    for score in scores.values():
        if isinstance(score.value, dict) and "label" in score.value:
            return score.value
    return None


def _explanation(scores: Mapping[str, Any] | None) -> str:
    """``Score.explanation`` of the livenli score ("" when there is none)."""
    for name in (SCORER_NAME, *(scores or {})):
        score = (scores or {}).get(name)
        if score is not None and isinstance(score.value, dict):
            return score.explanation or ""
    return ""


def _setting(value: Mapping, metadata: Mapping | None, name: str) -> float:
    """A generation setting from Score.value, else the sample metadata; NaN when unset."""
    setting = value.get(name)
    if setting is None and metadata:
        setting = metadata.get(name)
    try:
        return float(setting) if setting is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _experiment(sweep: object, estimator: object = None) -> str:
    """The default experiment of a run: its estimator (``logprobs``, ``verbalized``), else
    ``<parameter>_sweep``, else ``single``."""
    if estimator and estimator != DEFAULT_ESTIMATOR:
        return str(estimator)
    return sweep_experiment(str(sweep)) if sweep else SINGLE_EXPERIMENT


def _log_order(header: Any, path: Path) -> tuple:
    """Sort key putting later logs last: created, completed, then path (deterministic)."""
    stats = getattr(header, "stats", None)
    return (
        _timestamp(header.eval.created),
        _timestamp(getattr(stats, "completed_at", None)),
        str(path),
    )


def _timestamp(value: object) -> float:
    if not value:
        return -math.inf
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return -math.inf


def _run_ids(frame: pd.DataFrame) -> pd.Series:
    """PartyNLI-style run ids: participant-temperature-top_p (``na`` where unset)."""

    def text(column: str) -> pd.Series:
        return frame[column].map(lambda v: "na" if pd.isna(v) else f"{v:g}")

    return frame["participant"] + "-" + text("temperature") + "-" + text("top_p")


# --------------------------------------------------------------------------------------
# PartyNLI files


def _read_table_file(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A CSV (text columns kept verbatim) or Parquet file as a DataFrame.

    With ``columns``, only those of them the file has are read (the rest never leave disk),
    and the columns of estimator runs (which say how their rows are read).
    """
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            if columns is None:
                return pd.read_parquet(path)
            return _read_parquet_columns(path, columns)
        usecols = None if columns is None else (
            lambda column: column in columns or bool(estimate_column_names([column]))
        )  # fmt: skip
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=usecols)
        from .outputs import unguard_formulas

        frame = unguard_formulas(frame)  # a guarded export reads back as written
    except (OSError, ValueError, ImportError) as error:
        raise SourceError(f"{path}: cannot read ({_first_line(error)})") from error
    except Exception as error:  # noqa: BLE001 - parser errors of pandas/pyarrow
        raise SourceError(f"{path}: cannot read ({_first_line(error)})") from error
    text_columns = set(ANNOTATION_COLUMNS) - {"num_params", "temperature", "top_p", "trial",
                                              "parsed"}  # fmt: skip
    for column in frame.columns:
        if column in text_columns:
            continue
        values = frame[column].replace("", np.nan)
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == values.notna().sum():
            frame[column] = numbers
    return frame


def _read_parquet_columns(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """Those of ``columns`` a Parquet file has, text columns as categoricals.

    Reading text as dictionaries keeps a column of 10M labels or names at one small integer
    per row instead of 10M strings (see docs/performance.md); explanations, nearly all
    distinct, stay strings.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    present = [column for column in columns if column in schema.names]
    present += estimate_column_names(schema.names)
    text = [
        column
        for column in present
        if column != "explanation"
        and (pa.types.is_string(schema.field(column).type)
             or pa.types.is_large_string(schema.field(column).type))
    ]  # fmt: skip
    # one dictionary per column (not per row group) makes the pandas conversion cheap
    table = pq.read_table(path, columns=present, read_dictionary=text).combine_chunks()
    # column by column, freeing each Arrow column once converted (lower peak memory)
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _as_bool(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    return text.isin(("true", "1", "1.0", "yes"))


# --------------------------------------------------------------------------------------
# helpers


def _fill_num_params(table: pd.DataFrame, num_params: Mapping[str, float]) -> pd.DataFrame:
    """Sizes for rows of unknown size: by participant, else by model (a table read without
    its ``model`` column goes by participant only).  One lookup per distinct name."""
    if "num_params" not in table.columns:
        return table
    unknown = table["num_params"].isna() & (table["participant_type"] != "human")
    sizes = _lookup(table["participant"], num_params)
    if "model" in table.columns:
        sizes = sizes.fillna(_lookup(table["model"], num_params))
    table.loc[unknown, "num_params"] = sizes[unknown].astype(float)
    return table


def _lookup(values: pd.Series, mapping: Mapping[str, float]) -> pd.Series:
    """``values.map(mapping)`` with one dictionary lookup per distinct value."""
    codes, uniques = pd.factorize(values)
    found = np.array([mapping.get(value, np.nan) for value in uniques] + [np.nan], dtype=float)
    return pd.Series(found[np.where(codes < 0, len(uniques), codes)], index=values.index)


class _Notes:
    """Everything skipped or superseded, emitted as one warning at the end."""

    def __init__(self) -> None:
        self._notes: dict[str, dict[str, int]] = {}

    def add(self, what: str, path: Path, count: int = 0) -> None:
        files = self._notes.setdefault(what, {})
        files[str(path)] = files.get(str(path), 0) + count

    def message(self) -> str:
        return "; ".join(self.parts())

    def parts(self) -> list[str]:
        """One text per kind of problem: what, how many files and annotations, which files."""
        parts = []
        for what, files in self._notes.items():
            total = sum(files.values())
            names = [Path(name).name for name in files]
            shown = ", ".join(names[:_MAX_NAMED])
            if len(names) > _MAX_NAMED:
                shown += f" and {len(names) - _MAX_NAMED} more"
            counted = f", {total} annotation(s)" if total else ""
            parts.append(f"{what}: {len(files)} file(s){counted} ({shown})")
        return parts

    def warn(self) -> None:
        if self._notes:
            warnings.warn(AnnotationWarning(self.message(), self.parts()), stacklevel=3)


@contextmanager
def _progress_bar(total: int, *, enabled: bool) -> Iterator[Callable[[], None]]:
    """A rich progress bar over files on stderr (a no-op when disabled)."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("reading annotations"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        job = bar.add_task("read", total=total)
        yield lambda: bar.advance(job)
