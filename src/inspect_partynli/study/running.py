"""Planning and running a study: each run's log folder and state, the requests per model,
shards of the runs for several machines, and the runs themselves through Inspect's
``eval_set`` (retries; re-running resumes), side by side (:mod:`.workers`).

Log folders may be local or on an object store (``s3://bucket/prefix``, see
:mod:`inspect_partynli.log_store`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..log_store import Location, is_dir, join, location, make_dirs
from .expansion import Configuration, configurations
from .schema import METADATA_KEY, Study


@dataclass(frozen=True)
class PlannedRun:
    """A configuration with its log folder, its request count and its folder's state
    (:func:`folder_state`)."""

    config: Configuration
    log_dir: Location
    requests: int
    state: str = "new"
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.state == "done"

    @property
    def items(self) -> int:
        """Items the run annotates (each once per epoch)."""
        return self.requests // self.config.epochs


def study_items(study: Study) -> int:
    """Number of LiveNLI items the study's task annotates.

    Loads LiveNLI exactly as the task will (so a missing file is reported before any run).
    """
    from ..datasets import DataNotFoundError, load_dataset

    try:
        dataset = load_dataset(study.dataset or "livenli", data=study.data)
    except DataNotFoundError as error:
        raise DataNotFoundError(f"{error} In a study file, the path goes in task.data.") from None
    return len(dataset.subset(study.subset))


def study_task(args: dict[str, Any]) -> Any:
    """The task of a study's run: ``livenli``, ``varierr``, or ``annotate`` for a card."""
    from ..task import annotate_dataset, livenli, varierr

    args = dict(args)
    dataset = args.pop("dataset", None)
    if dataset in (None, "livenli"):
        return livenli(**args)
    if dataset == "varierr":
        return varierr(**args)
    return annotate_dataset(dataset=dataset, **args)


def _differences(header: Any, config: Configuration, study: Study) -> list[str]:
    """What differs between a log's run and ``config`` (empty: the log is one of its runs)."""
    wanted = {"model": config.model.id, "epochs": config.epochs, **config.task_args(study)}
    wanted.pop("data", None)  # the same data may be named differently
    wanted.pop("dataset", None)  # the task name and the dataset ref in the header say it
    found = {
        "model": header.eval.model,
        "epochs": header.eval.config.epochs,
        **{k: header.eval.task_args.get(k) for k in ("subset", "sweep", "tmax", "estimator")},
    }
    differences = [
        f"{key} {found.get(key)!r} (now {value!r})"
        for key, value in wanted.items()
        if found.get(key) != value and not _same_number(found.get(key), value)
    ]
    if dict(header.eval.model_args or {}) != dict(config.model.args):
        differences.append(f"model args {header.eval.model_args} (now {dict(config.model.args)})")
    return differences


def _same_number(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    try:
        return a is not None and b is not None and math.isclose(float(a), float(b))
    except (TypeError, ValueError):
        return False


def folder_state(log_dir: Location, config: Configuration, study: Study) -> tuple[str, str]:
    """``(state, detail)`` of a run's log folder before running it.

    ``new`` (no logs), ``done`` (a successful log of this very run: nothing to do),
    ``partial`` (logs of this run, none finished: eval_set resumes it) or ``stale`` (a log of
    a different run, e.g. the study's epochs changed: eval_set would refuse the folder;
    ``detail`` says what differs).
    """
    from inspect_ai.log import list_eval_logs, read_eval_log

    if not is_dir(log_dir):
        return "new", ""
    state = "new"
    for info in list_eval_logs(str(log_dir), recursive=False):
        header = read_eval_log(info, header_only=True)
        differences = _differences(header, config, study)
        if differences:
            name = Path(info.name).name
            return "stale", f"{log_dir}/{name} is a different run: {'; '.join(differences)}"
        if header.status == "success":
            state = "done"
        elif state == "new":
            state = "partial"
    return state, ""


def plan(
    study: Study, log_dir: str | Path | None = None, shard: tuple[int, int] | None = None
) -> list[PlannedRun]:
    """The study's runs with their log folders (``<log_dir>/<slug>``) and request counts;
    with ``shard=(i, n)`` only the runs of the i-th of n shards (:func:`shard_of`)."""
    root = location(log_dir if log_dir is not None else study.default_log_dir)
    items = study_items(study)
    configs = configurations(study)
    if shard is not None:
        chosen = shard_of([(c.slug, c.requests(items)) for c in configs], *shard)
        configs = [c for c in configs if c.slug in chosen]
    runs = []
    for config in configs:
        folder = join(root, config.slug)
        state, detail = folder_state(folder, config, study)
        runs.append(PlannedRun(config, folder, config.requests(items), state, detail))
    return runs


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with 1 <= i <= n; ValueError with the expected form."""
    head, slash, tail = text.partition("/")
    try:
        index, count = int(head), int(tail)
    except ValueError:
        index = count = 0
    if not slash or not 1 <= index <= count:
        raise ValueError(f"--shard must be i/n with 1 <= i <= n (e.g. 2/4), got {text!r}")
    return index, count


def shard_of(runs: Sequence[tuple[str, int]], index: int, count: int) -> set[str]:
    """The names of the runs in shard ``index`` of ``count`` (1-based).

    ``runs`` are (name, requests).  Deterministic (it depends only on the study) and
    balanced by requests: the largest runs first (ties by name), each to the shard with the
    fewest requests so far (ties to the lowest shard).  Every run is in exactly one shard,
    so n machines running shards 1..n of one study complete it exactly once.
    """
    load = [0] * count
    members: list[set[str]] = [set() for _ in range(count)]
    for name, requests in sorted(runs, key=lambda run: (-run[1], run[0])):
        target = min(range(count), key=lambda k: (load[k], k))
        load[target] += requests
        members[target].add(name)
    return members[index - 1]


def stale_runs(runs: Sequence[PlannedRun]) -> list[str]:
    """One message per run whose folder holds logs of a different run (checked before running)."""
    return [
        f"{run.config.where}: {run.detail}; move the folder away or run into another --log-dir"
        for run in runs
        if run.state == "stale"
    ]


@dataclass
class ModelRequests:
    """One model's line of the plan: the epochs of each of its runs, its requests and those
    still to run (runs already finished in their folders send nothing)."""

    name: str
    model_id: str
    epochs: list[int] = field(default_factory=list)
    requests: int = 0
    todo: int = 0


def requests_per_model(runs: Sequence[PlannedRun]) -> list[ModelRequests]:
    """The runs summed per model (its single run, sweeps, size runs), in order of appearance."""
    table: dict[tuple[str, str], ModelRequests] = {}
    for run in runs:
        model = run.config.model
        row = table.setdefault((model.name, model.id), ModelRequests(model.name, model.id))
        row.epochs.append(run.config.epochs)
        row.requests += run.requests
        row.todo += 0 if run.done else run.requests
    return list(table.values())


def format_plan(study: Study, runs: Sequence[PlannedRun], root: Location) -> str:
    """The text shown before a run: per model its runs, their epochs, its requests (items x
    epochs, summed over its runs) and the requests still to run; then the totals."""
    rows = requests_per_model(runs)
    items = sorted({run.items for run in runs})
    table = [
        ("model", "inspect id", "runs", "epochs", "requests", "to run"),
        *[
            (r.name, r.model_id, len(r.epochs), "+".join(map(str, r.epochs)), r.requests, r.todo)
            for r in rows
        ],
        ("total", "", len(runs), "", sum(r.requests for r in rows), sum(r.todo for r in rows)),
    ]
    lines = [
        f"Study {study.name!r}: {len(runs)} runs into {root}/; requests = "
        f"{' or '.join(map(str, items))} items x epochs (a sweep sends one value per epoch)",
        *_aligned(table, left=2),
    ]
    done = sum(run.done for run in runs)
    if done:
        lines.append(f"  ({done} of {len(runs)} runs already finished in their log folders)")
    partial = sum(run.state == "partial" for run in runs)
    if partial:
        lines.append(
            f"  ({partial} of {len(runs)} runs started earlier: their finished samples are reused)"
        )
    return "\n".join(lines)


def _aligned(rows: Sequence[Sequence[Any]], left: int) -> list[str]:
    """``rows`` as text columns: the first ``left`` left-aligned, the others right-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [
        "  "
        + "  ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


@dataclass(frozen=True)
class RunResult:
    """The outcome of one configuration's ``eval_set``."""

    run: PlannedRun
    success: bool
    logs: tuple[str, ...]
    error: str = ""  # why the run stopped, when eval_set raised
    interrupted: bool = False  # Ctrl-C: the run ended with a cancelled log


def run_study(
    study: Study,
    log_dir: str | Path | None = None,
    *,
    runs: Sequence[PlannedRun] | None = None,
    retry_attempts: int | None = None,
    display: str | None = None,
    max_tasks: int | None = None,
    batch: bool | int | None = None,
    **eval_set_args: Any,
) -> list[RunResult]:
    """Run every configuration of the study through Inspect's ``eval_set``, one log folder each.

    ``eval_set`` retries failed samples and, on a re-run, reuses every finished log, so an
    interrupted study resumes where it stopped and a finished one costs nothing.  Each run is
    concurrent up to its model's ``max_connections``, and runs go side by side
    (:func:`~inspect_partynli.study.workers.slots`): ``max_tasks`` at once (default: the
    study's ``max_tasks``, else one run per provider and base URL at a time, so different
    providers run in parallel while one provider's rate limit is never shared by two runs).
    ``batch`` (default: the study's ``batch``) is Inspect's batch mode.  A failed run does not
    stop the others, an interrupted one (Ctrl-C) stops the study (KeyboardInterrupt).  A run
    is complete only when every log of it says ``success``.  No checks here: call
    :func:`preflight` first.
    """
    from .workers import run_parallel, slots

    runs = list(runs) if runs is not None else plan(study, log_dir)
    # Inspect's realtime sample buffer (a SQLite file beside each log, for `inspect view`
    # of running samples) costs about a third of the CPU per sample; samples still reach
    # the log every log_buffer samples.  Pass log_realtime=True to have it back.
    eval_set_args.setdefault("log_realtime", False)
    batch = study.batch if batch is None else batch
    if batch is not None and batch is not False:
        eval_set_args["batch"] = batch
    limit = max_tasks if max_tasks is not None else study.max_tasks
    width = slots(runs, limit)

    def one(index: int, run: PlannedRun, shown: str | None) -> RunResult:
        return run_one(study, run, index, len(runs), retry_attempts=retry_attempts,
                       display=shown, **eval_set_args)  # fmt: skip

    if width <= 1:
        results = []
        for index, run in enumerate(runs, start=1):
            result = one(index, run, display)
            if result.interrupted:
                raise KeyboardInterrupt
            results.append(result)
        return results
    return run_parallel(runs, one, width, lanes=limit is None)


def run_one(
    study: Study,
    run: PlannedRun,
    index: int,
    total: int,
    *,
    retry_attempts: int | None = None,
    display: str | None = None,
    **eval_set_args: Any,
) -> RunResult:
    """One configuration through ``eval_set`` into its folder; never raises but Ctrl-C."""
    from inspect_ai import eval_set

    config = run.config
    state = "finished, checking" if run.done else f"{run.requests} requests"
    _progress(f"[{index}/{total}] {config.slug}: {config.model.id} ({state})")
    make_dirs(run.log_dir)
    if display == "none":  # nobody sees the running metrics: Inspect need not recompute them
        eval_set_args.setdefault("score_display", False)
    try:
        success, logs = eval_set(
            tasks=[study_task(config.task_args(study))],
            log_dir=str(run.log_dir),
            model=config.model.id,
            model_args=dict(config.model.args),
            model_base_url=config.model.base_url,
            max_connections=config.model.max_connections or study.max_connections,
            metadata={METADATA_KEY: config.metadata(study)},
            tags=config.tags(study),
            retry_attempts=retry_attempts,
            display=display,  # type: ignore[arg-type]
            **eval_set_args,
        )
    except Exception as error:  # one broken run (model gone, server down) spares the rest
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        _progress(f"[{index}/{total}] {config.slug} failed: {type(error).__name__}: {message}")
        return RunResult(run, False, (), f"{type(error).__name__}: {message}")
    # after Ctrl-C, eval_set may return no log (and success): the folder's logs tell
    statuses = {log.status for log in logs} or _statuses(run.log_dir)
    if "cancelled" in statuses:
        # Ctrl-C: Inspect ends the run with a cancelled log; the study stops rather than go
        # on to the next run.
        _progress(
            f"[{index}/{total}] {config.slug} interrupted: run the same command again to resume"
        )
        return RunResult(run, False, (), "interrupted", interrupted=True)
    complete = bool(success) and statuses == {"success"}
    why = ""
    if statuses != {"success"}:
        why = f"log status {', '.join(sorted(map(str, statuses))) or 'none'}"
    elif not complete:
        why = "eval_set did not complete it"
    return RunResult(run, complete, tuple(log.location for log in logs), why)


def _statuses(log_dir: Location) -> set[str]:
    """Statuses of the eval logs in a run's folder (read from their headers)."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    return {
        read_eval_log(info, header_only=True).status
        for info in list_eval_logs(str(log_dir), recursive=False)
    }


#: Set in worker processes, whose progress the parent's board shows instead.
_QUIET = False


def _progress(message: str) -> None:
    import sys

    if not _QUIET:
        print(message, file=sys.stderr, flush=True)
