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
import warnings
from collections.abc import Sequence
from typing import NoReturn

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
    parser = _OneLineParser(
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


class _OneLineParser(argparse.ArgumentParser):
    """A parser whose usage errors are one line (the usage itself stays on ``--help``).

    Sub-parsers are made of the same class (argparse's default), so every command's bad
    option, bad choice or missing argument is one line too, with exit code 2.
    """

    def error(self, message: str) -> NoReturn:
        first = message.strip().splitlines()[0] if message.strip() else "bad arguments"
        self.exit(2, f"{self.prog}: error: {first} (see {self.prog} --help)\n")


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
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            return int(args.handler(args) or 0)
    except UserInputError as error:
        print(f"partynli {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # a file the user named cannot be written or read
        if isinstance(error, BrokenPipeError):
            return _quiet_broken_pipe()
        print(f"partynli {args.command}: error: {_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"partynli {args.command}: interrupted", file=sys.stderr)
        return 130


def _quiet_broken_pipe() -> int:
    """The reader went away (``partynli metrics ... | head``): stop quietly, as Unix tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def _one_line(error: BaseException) -> str:
    """An error message as one line (a multi-line message keeps its lines, joined by '; ')."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    text = lines[0]
    for line in lines[1:]:
        text += f" {line}" if text.endswith(":") else f"; {line}"
    return text


def _os_error(error: OSError) -> str:
    """``PATH: reason`` for an operating-system error (no errno, no traceback)."""
    reason = error.strerror or _one_line(error)
    return f"{error.filename}: {reason}" if error.filename else reason


def _one_line_warning(command: str):
    """A ``warnings.showwarning`` that prints ``partynli CMD: warning: MESSAGE`` (one line,
    no file name or source line): warnings are messages to the user, not to a developer."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"partynli {command}: warning: {_one_line(message)}", file=file or sys.stderr)

    return show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
