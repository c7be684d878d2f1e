"""``partynli run STUDY``: run a whole study (one YAML file) through Inspect's ``eval_set``.

Before anything runs, the study file is validated, every model is checked (known provider,
API key, client package) and the number of requests per model is shown; the run starts
after a y/N confirmation (or ``--yes``).  Each configuration (model, sweep, size member) logs
into its own folder ``<log-dir>/<configuration>/``; re-running the same command resumes
unfinished runs and skips finished ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError, UserInputError

NAME = "run"
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
        type=int,
        default=None,
        help="eval_set retries of a failed run (Inspect's default: 10)",
    )
    parser.add_argument(
        "--display",
        choices=("full", "conversation", "rich", "plain", "log", "none"),
        default=None,
        help="Inspect's progress display (default: Inspect's)",
    )


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
    from ..study import (
        configurations,
        format_plan,
        load_study,
        plan,
        preflight,
        run_study,
        stale_runs,
    )

    study = load_study(args.study)
    problems = preflight(configurations(study))
    root = Path(args.log_dir if args.log_dir else study.default_log_dir)
    try:
        runs = plan(study, root)
    except UserInputError as error:  # LiveNLI missing or unreadable: one more problem
        problems.append(f"task.data: {error}")
    else:
        print(format_plan(study, runs, root))
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
    results = run_study(
        study, root, runs=runs, retry_attempts=args.retry_attempts, display=args.display
    )
    failed = [result for result in results if not result.success]
    for result in failed:
        why = f" ({result.error})" if result.error else ""
        print(
            f"unfinished: {result.run.config.slug}{why}; logs in {result.run.log_dir}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
    print(f"{len(results) - len(failed)} of {len(results)} runs complete; logs in {root}/")
    return 1 if failed else 0
