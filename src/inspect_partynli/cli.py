"""The ``partynli`` command: a thin dispatcher over the modules in :mod:`.commands`.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``
(returning an exit code).  Bad input is reported as one line on stderr with exit code 2:
commands raise :class:`UsageError` (or one of the data errors below) and this module prints
it, so users never see a traceback for a mistake of theirs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .errors import UserInputError

#: Command modules under ``inspect_partynli.commands``, in the order ``--help`` lists them.
COMMANDS = ("dataset", "humans", "metrics", "export", "explanations", "report", "run")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``partynli`` parser.

    Lazy dispatch: every command is listed (from its module's ``NAME`` and ``HELP``; command
    modules import nothing heavy at module level), but only the command that ``argv`` names
    gets its arguments, so ``partynli --help`` and each command load only what they need
    (see docs/performance.md).  Without ``argv`` every command gets its arguments.
    """
    parser = argparse.ArgumentParser(
        prog="partynli",
        description="Label and explanation variation of LLM annotators vs humans (PartyNLI).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = None if argv is None else _named_command(argv)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as error:
            if error.name and error.name.endswith(f"commands.{name}"):
                continue  # command not built yet
            raise
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        if argv is None or name == chosen:
            module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def _named_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs: its first word that is not an option (the top-level parser
    has no options besides ``--help``), or None."""
    words = [word for word in argv if not word.startswith("-")]
    return words[0] if words and words[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UserInputError as error:
        print(f"partynli {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"partynli {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``partynli metrics ... | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
