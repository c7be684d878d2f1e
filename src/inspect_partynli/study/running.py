"""Planning and running a study: each run's log folder and state, the requests per model,
and the runs themselves through Inspect's ``eval_set`` (retries; re-running resumes)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .expansion import Configuration, configurations
from .schema import METADATA_KEY, Study


@dataclass(frozen=True)
class PlannedRun:
    """A configuration with its log folder, its request count and its folder's state
    (:func:`folder_state`)."""

    config: Configuration
    log_dir: Path
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
    from ..livenli_data import DataNotFoundError, load_livenli, subset_uids

    try:
        frame = load_livenli(study.data)
    except DataNotFoundError as error:
        raise DataNotFoundError(f"{error} In a study file, the path goes in task.data.") from None
    return len(subset_uids(frame, study.subset))


def _differences(header: Any, config: Configuration, study: Study) -> list[str]:
    """What differs between a log's run and ``config`` (empty: the log is one of its runs)."""
    wanted = {"model": config.model.id, "epochs": config.epochs, **config.task_args(study)}
    wanted.pop("data", None)  # the same data may be named differently
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


def folder_state(log_dir: Path, config: Configuration, study: Study) -> tuple[str, str]:
    """``(state, detail)`` of a run's log folder before running it.

    ``new`` (no logs), ``done`` (a successful log of this very run: nothing to do),
    ``partial`` (logs of this run, none finished: eval_set resumes it) or ``stale`` (a log of
    a different run, e.g. the study's epochs changed: eval_set would refuse the folder;
    ``detail`` says what differs).
    """
    from inspect_ai.log import list_eval_logs, read_eval_log

    if not log_dir.is_dir():
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


def plan(study: Study, log_dir: str | Path | None = None) -> list[PlannedRun]:
    """The study's runs with their log folders (``<log_dir>/<slug>``) and request counts."""
    root = Path(log_dir if log_dir is not None else study.default_log_dir)
    items = study_items(study)
    runs = []
    for config in configurations(study):
        folder = root / config.slug
        state, detail = folder_state(folder, config, study)
        runs.append(PlannedRun(config, folder, config.requests(items), state, detail))
    return runs


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


def format_plan(study: Study, runs: Sequence[PlannedRun], root: Path) -> str:
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


def run_study(
    study: Study,
    log_dir: str | Path | None = None,
    *,
    runs: Sequence[PlannedRun] | None = None,
    retry_attempts: int | None = None,
    display: str | None = None,
    **eval_set_args: Any,
) -> list[RunResult]:
    """Run every configuration of the study through Inspect's ``eval_set``, one log folder each.

    ``eval_set`` retries failed samples and, on a re-run, reuses every finished log, so an
    interrupted study resumes where it stopped and a finished one costs nothing.  Runs go one
    after the other (each one concurrent up to its ``max_connections``); a failed run does
    not stop the others, an interrupted one (Ctrl-C) stops the study (KeyboardInterrupt).  A
    run is complete only when every log of it says ``success``.  No checks here: call
    :func:`preflight` first.
    """
    from inspect_ai import eval_set

    from ..task import livenli

    runs = list(runs) if runs is not None else plan(study, log_dir)
    results: list[RunResult] = []
    for index, run in enumerate(runs, start=1):
        config = run.config
        state = "finished, checking" if run.done else f"{run.requests} requests"
        _progress(f"[{index}/{len(runs)}] {config.slug}: {config.model.id} ({state})")
        run.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            success, logs = eval_set(
                tasks=[livenli(**config.task_args(study))],
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
            _progress(
                f"[{index}/{len(runs)}] {config.slug} failed: {type(error).__name__}: {message}"
            )
            results.append(RunResult(run, False, (), f"{type(error).__name__}: {message}"))
            continue
        # after Ctrl-C, eval_set may return no log (and success): the folder's logs tell
        statuses = {log.status for log in logs} or _statuses(run.log_dir)
        if "cancelled" in statuses:
            # Ctrl-C: Inspect ends the run with a cancelled log; stop the whole study rather
            # than go on to the next run.
            _progress(
                f"[{index}/{len(runs)}] {config.slug} interrupted: run the same command again "
                "to resume"
            )
            raise KeyboardInterrupt
        complete = bool(success) and statuses == {"success"}
        why = ""
        if statuses != {"success"}:
            why = f"log status {', '.join(sorted(map(str, statuses))) or 'none'}"
        elif not complete:
            why = "eval_set did not complete it"
        results.append(RunResult(run, complete, tuple(log.location for log in logs), why))
    return results


def _statuses(log_dir: Path) -> set[str]:
    """Statuses of the eval logs in a run's folder (read from their headers)."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    return {
        read_eval_log(info, header_only=True).status
        for info in list_eval_logs(str(log_dir), recursive=False)
    }


def _progress(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)
