"""``partynli run STUDY``: run a whole study (one YAML file) through Inspect's ``eval_set``.

Before anything runs, the study file is validated, every model is checked (known provider,
API key, client package) and the number of requests per model is shown; the run starts
after a y/N confirmation (or ``--yes``).  Each configuration (model, sweep, size member) logs
into its own folder ``<log-dir>/<configuration>/`` (local, or ``s3://bucket/prefix``);
re-running the same command resumes unfinished runs and skips finished ones.  Configurations
run side by side (``--max-tasks``; by default one per provider at a time), ``--shard i/n``
runs the i-th of n parts of the study (n machines, one log store), ``--batch`` passes
Inspect's batch mode through, and ``--dry-run`` adds an estimated cost plan.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import UsageError, UserInputError
from ._arguments import whole_number

NAME = "run"
#: Sample-level retries of a request that fails past the client's own retries.
DEFAULT_RETRY_ON_ERROR = 3
#: Allocations between young-generation collections while a study runs (Python's default: 700).
GC_YOUNG_THRESHOLD = 10_000
HELP = "Run a study file (models, sweeps, sizes) through Inspect's eval_set; resumable"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "study", help="study YAML file, or the name of a packaged study (paper, offline)"
    )
    parser.add_argument(
        "--log-dir",
        help="root log folder (default: the study's log_dir, else logs/<study name>); "
        "each configuration logs into a subfolder",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="run without asking")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the study, check models and keys, print the plan; run nothing",
    )
    parser.add_argument(
        "--retry-attempts",
        type=whole_number(0),
        default=None,
        help="eval_set retries of a failed run (Inspect's default: 10)",
    )
    parser.add_argument(
        "--retry-on-error",
        type=int,
        default=DEFAULT_RETRY_ON_ERROR,
        metavar="N",
        help="re-run a sample up to N times when its request fails past the client's "
        f"retries, e.g. an unreadable reply body (default: {DEFAULT_RETRY_ON_ERROR})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per-request timeout of the model client (default: the provider's)",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=None,
        metavar="N",
        help="retries of one request by the model client: 429, 5xx, resets, timeouts "
        "(default: Inspect's)",
    )
    parser.add_argument(
        "--max-tasks",
        type=_positive,
        default=None,
        metavar="N",
        help="configurations run at once (default: the study's max_tasks, else one per "
        "provider and base URL at a time)",
    )
    parser.add_argument(
        "--batch",
        nargs="?",
        const=True,
        type=_positive,
        default=None,
        metavar="SIZE",
        help="send requests through the providers' batch APIs (Inspect's batch mode; "
        "optionally a batch size); default: the study's batch",
    )
    parser.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="run only the I-th of N parts of the study's configurations (deterministic; "
        "N machines on one --log-dir complete the study exactly once)",
    )
    parser.add_argument(
        "--display",
        choices=("full", "conversation", "rich", "plain", "log", "none"),
        default=None,
        help="Inspect's progress display (default: Inspect's)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def confirm(prompt: str) -> bool:
    """Ask y/N on the terminal; refuse (exit 2) when there is no terminal to ask on.

    Only ``y`` or ``yes`` (any case) says yes; end of input (Ctrl-D) says no.
    """
    if not sys.stdin.isatty():
        raise UsageError("no terminal to confirm the run on: pass --yes to run, or --dry-run")
    try:
        answer = input(f"{prompt} [y/N] ").strip().lower()
    except EOFError:
        print()
        return False
    return answer in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    from ..log_store import location
    from ..outputs import check_output_folder
    from ..study import (
        configurations,
        format_plan,
        load_study,
        parse_shard,
        plan,
        preflight,
        run_study,
        stale_runs,
    )
    from ..study.cost import cost_plan, format_cost_plan, item_tokens

    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as error:
        raise UsageError(str(error)) from None
    study = load_study(args.study)
    root = location(args.log_dir if args.log_dir else study.default_log_dir)
    try:  # a local log folder that is a file or cannot be written: refused, also --dry-run
        if "://" not in str(root):
            check_output_folder(root, "log folder")
    except UserInputError as error:
        runs = []
        problems = preflight(configurations(study))
        problems.append(str(error))
    else:
        try:
            runs = plan(study, root, shard=shard)
        except UserInputError as error:  # LiveNLI missing or unreadable: one more problem
            runs = []
            problems = preflight(configurations(study))
            problems.append(f"task.data: {error}")
        else:
            problems = preflight([run.config for run in runs])
            if shard is not None:
                print(f"Shard {shard[0]}/{shard[1]}: {len(runs)} of the study's "
                      f"{len(configurations(study))} runs")  # fmt: skip
            print(format_plan(study, runs, root))
            if args.dry_run:
                print(format_cost_plan(cost_plan(study, runs, item_tokens(study))))
            problems += stale_runs(runs)
    if problems:
        listed = "\n  ".join(problems)
        raise UsageError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found before "
            f"running; nothing was run:\n  {listed}"
        )
    if args.dry_run:
        print("Dry run: nothing was run.")
        return 0
    todo = sum(run.requests for run in runs if not run.done)
    # nothing to send (every run finished): eval_set only checks the logs, so no question
    if todo and not args.yes and not confirm(f"Send up to {todo} requests?"):
        print("Nothing was run.")
        return 1
    with study_gc():
        results = run_study(
            study, root, runs=runs, retry_attempts=args.retry_attempts, display=args.display,
            max_tasks=args.max_tasks, batch=args.batch, retry_on_error=args.retry_on_error,
            **{k: v for k in ("timeout", "max_retries") if (v := getattr(args, k)) is not None},
        )  # fmt: skip
    failed = [result for result in results if not result.success]
    for result in failed:
        why = f" ({result.error})" if result.error else ""
        print(
            f"unfinished: {result.run.config.slug}{why}; logs in {result.run.log_dir}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
    print(f"{len(results) - len(failed)} of {len(results)} runs complete; logs in {root}/")
    _print_request_stats([log for result in results for log in result.logs])
    return 1 if failed else 0


@contextmanager
def study_gc(young: int = GC_YOUNG_THRESHOLD) -> Iterator[None]:
    """Python's cyclic garbage collector, tuned for the duration of a study, then restored.

    Without it a third of a worker's CPU went to collections that walk the whole imported
    heap (Inspect, pydantic, pandas) again and again while each request allocates many small
    objects.  So: collect once, freeze what exists (those objects are never walked again,
    and forked workers share their pages), and collect the young generation every ``young``
    allocations instead of 700.  Reference counting frees most garbage as ever; this only
    spaces out the cycle search.  Restored on exit, so a Python caller's process is as before.
    """
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def _print_request_stats(logs: list[str]) -> None:
    """One line: the annotations of this run's logs, requests sent, retried and failed."""
    from ..request_stats import RequestStats, sample_attempts

    if not logs:
        return
    try:
        stats = RequestStats.of(sample_attempts(logs))
    except (OSError, ValueError) as error:  # a log gone meanwhile: the line is optional
        print(f"(request counts unavailable: {error})", file=sys.stderr)
        return
    print(f"Requests: {stats.line()}")
