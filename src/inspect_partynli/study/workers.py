"""Running a study's configurations side by side, with one progress line per running one.

Each configuration is one ``eval_set`` into its own log folder (the layout that resuming,
shards and the report rely on).  Inspect allows one evaluation per process at a time, so
configurations that run at once each get a worker process (forked, so nothing is imported
twice); within its worker a configuration is concurrent up to its model's
``max_connections``, as ever.

How many run at once (:func:`slots`): ``max_tasks`` if given (the study key or
``--max-tasks``); otherwise one configuration per *lane* at a time, a lane being a provider
and base URL (:func:`lane`).  So by default different providers (OpenAI, Anthropic, a local
vLLM) run in parallel, while the runs of one provider (a model's sweeps, a size family on
one Ollama server) take turns and never share its rate limit or GPU.

Progress: the worker reports every finished sample through an Inspect hook; the parent
shows one line per running configuration (a live table on a terminal; otherwise a line when
a configuration starts, at every quarter and when it ends).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from queue import Empty
from typing import Any

from .running import PlannedRun, RunResult

#: Seconds between redraws of the live progress table (and the main loop's poll).
REFRESH_SECONDS = 0.25

#: Where the worker's progress hook reports a finished sample (True: it ended in error).
_sink: Callable[[bool], None] | None = None
_hook_registered = False


def lane(run: PlannedRun) -> tuple[str, str]:
    """The connection pool a run draws on: its provider (for ``openai-api/<service>/...``
    the service) and base URL."""
    model = run.config.model
    provider = model.provider
    if provider == "openai-api":
        provider = "/".join(model.id.split("/")[:2])
    return provider, model.base_url or str(model.args.get("base_url", ""))


def slots(runs: Sequence[PlannedRun], max_tasks: int | None) -> int:
    """How many configurations run at once: ``max_tasks``, else one per lane."""
    if not runs:
        return 0
    if max_tasks is not None:
        return max(1, min(max_tasks, len(runs)))
    return len({lane(run) for run in runs})


def _register_progress_hook() -> None:
    """Register (once per process) the Inspect hook that feeds :data:`_sink`."""
    global _hook_registered
    if _hook_registered:
        return
    from inspect_ai.hooks import Hooks, SampleEnd, hooks

    @hooks(name="partynli_study_progress", description="partynli run: samples per config")
    class _StudyProgress(Hooks):
        def enabled(self) -> bool:
            return _sink is not None

        async def on_sample_end(self, data: SampleEnd) -> None:
            if _sink is not None:
                _sink(data.sample.error is not None)

    _hook_registered = True


RunOne = Callable[[int, PlannedRun, "str | None"], RunResult]


def _child(queue: Any, index: int, run: PlannedRun, one: RunOne) -> None:
    """A worker: run one configuration without Inspect's display, report to ``queue``."""
    global _sink
    from . import running

    running._QUIET = True
    _sink = lambda errored: queue.put(("sample", index, errored))  # noqa: E731
    try:
        result = one(index, run, "none")
    except KeyboardInterrupt:
        result = RunResult(run, False, (), "interrupted", interrupted=True)
    except BaseException as error:  # noqa: BLE001 - reported as the run's failure
        result = RunResult(run, False, (), f"{type(error).__name__}: {error}")
    queue.put(("done", index, result))
    queue.close()
    queue.join_thread()


def run_parallel(
    runs: Sequence[PlannedRun], one: RunOne, width: int, *, lanes: bool
) -> list[RunResult]:
    """Run ``runs`` with ``one`` in up to ``width`` worker processes at once (one per lane
    at a time when ``lanes``); results in the order of ``runs``.  Ctrl-C lets every running
    configuration end its log as cancelled, then raises KeyboardInterrupt."""
    import multiprocessing

    _register_progress_hook()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    board = Board(runs)
    pending = list(enumerate(runs, start=1))
    active: dict[int, Any] = {}
    busy: dict[int, tuple[str, str]] = {}
    results: dict[int, RunResult] = {}
    stopping = False

    def start_what_fits() -> None:
        for item in list(pending):
            if len(active) >= width or stopping:
                return
            index, run = item
            key = lane(run)
            if lanes and key in busy.values():
                continue
            pending.remove(item)
            process = context.Process(target=_child, args=(queue, index, run, one))
            process.start()
            active[index], busy[index] = process, key
            board.start(index)

    def receive(timeout: float) -> None:
        try:
            kind, index, payload = queue.get(timeout=timeout)
        except Empty:
            return
        if kind == "sample":
            board.sample(index, payload)
        else:
            results[index] = payload
            board.done(index, payload)

    def reap() -> None:
        for index, process in list(active.items()):
            if process.is_alive():
                continue
            while index not in results:  # drain what the worker sent before exiting
                before = len(results)
                receive(0.2)
                if len(results) == before and index not in results:
                    run = runs[index - 1]
                    results[index] = RunResult(
                        run, False, (), f"worker exited with code {process.exitcode}"
                    )
                    board.done(index, results[index])
            process.join()
            del active[index], busy[index]

    with board:
        try:
            while pending or active:
                start_what_fits()
                receive(REFRESH_SECONDS)
                reap()
                board.tick()
                stopping = stopping or any(r.interrupted for r in results.values())
                if stopping:
                    pending.clear()
        except KeyboardInterrupt:
            stopping = True
            deadline = time.monotonic() + 60  # workers end their logs as cancelled
            for process in active.values():
                process.join(timeout=max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.terminate()
            raise
    if any(result.interrupted for result in results.values()):
        print("partynli run: interrupted; run the same command again to resume",
              file=sys.stderr)  # fmt: skip
        raise KeyboardInterrupt
    return [results[index] for index in sorted(results)]


class Board:
    """One progress line per running configuration: a live table on a terminal, otherwise
    plain lines (start, every quarter, end) that read well in a CI log."""

    def __init__(self, runs: Sequence[PlannedRun]) -> None:
        self.runs = runs
        self.total = len(runs)
        self.count: dict[int, int] = {}
        self.errors: dict[int, int] = {}
        self.started: dict[int, float] = {}
        self.state: dict[int, str] = {}
        self.live: Any = None
        self.drawn = 0.0  # when the live table was last drawn (time.monotonic)

    def __enter__(self) -> Board:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            # auto_refresh off: Rich would draw from a thread of its own, and worker
            # processes are forked from this one (forking while another thread holds a
            # lock can deadlock the child); the main loop calls tick() instead
            self.live = Live(self._table(), console=Console(stderr=True), auto_refresh=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table(), refresh=True)
            self.live.__exit__(*exc)

    def tick(self) -> None:
        """Redraw the live table (elapsed times) at most :data:`REFRESH_SECONDS` apart."""
        if self.live is not None and time.monotonic() - self.drawn >= REFRESH_SECONDS:
            self.live.update(self._table(), refresh=True)
            self.drawn = time.monotonic()

    def _name(self, index: int) -> str:
        run = self.runs[index - 1]
        return f"[{index}/{self.total}] {run.config.slug} ({run.config.model.id})"

    def _line(self, index: int) -> str:
        run = self.runs[index - 1]
        seconds = time.monotonic() - self.started[index]
        errors = f", {self.errors[index]} errors" if self.errors.get(index) else ""
        return (
            f"{self._name(index)}: {self.count.get(index, 0)}/{run.requests} samples{errors}, "
            f"{seconds:.0f} s, {self.state[index]}"
        )

    def _table(self) -> Any:
        from rich.text import Text

        return Text("\n".join(self._line(index) for index in sorted(self.state)))

    def _show(self, index: int) -> None:
        if self.live is not None:
            self.tick()
        else:
            print(self._line(index), file=sys.stderr, flush=True)

    def start(self, index: int) -> None:
        done = self.runs[index - 1].done
        self.started[index] = time.monotonic()
        self.state[index] = "finished earlier, checking" if done else "running"
        self._show(index)

    def sample(self, index: int, errored: bool) -> None:
        before = self.count.get(index, 0)
        self.count[index] = before + 1
        self.errors[index] = self.errors.get(index, 0) + int(errored)
        requests = max(1, self.runs[index - 1].requests)
        if self.live is not None or (4 * self.count[index]) // requests > (4 * before) // requests:
            self._show(index)

    def done(self, index: int, result: RunResult) -> None:
        run_done = self.runs[index - 1].done
        if result.interrupted:
            self.state[index] = "interrupted"
        elif result.success:
            self.state[index] = "complete" + (" (finished earlier)" if run_done else "")
        else:
            self.state[index] = f"unfinished ({result.error})"
        self._show(index)
