"""Start-up of the ``partynli`` command: what it imports, not how long it takes.

The CLI dispatches lazily (:func:`inspect_partynli.cli.build_parser`): listing the commands
or parsing one command's arguments must not load the heavy libraries (scipy.stats, sklearn,
matplotlib, torch), which only the commands that compute with them import.  Checked in a fresh
interpreter, since this test session has long imported all of them.  The timings themselves
are measured by ``benchmarks/startup.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import inspect_partynli
from inspect_partynli.cli import COMMANDS, build_parser

HEAVY = ("scipy.stats", "sklearn", "matplotlib", "torch", "sentence_transformers", "inspect_ai")

_PROBE = """
import contextlib, io, json, sys
from inspect_partynli.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""


def _imported_by(*argv: str) -> set[str]:
    """The modules a fresh interpreter holds after ``partynli ARGV`` (which must exit)."""
    source = str(Path(inspect_partynli.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, env=env, check=True
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in HEAVY if name in modules)


def test_help_imports_no_heavy_module_and_no_pandas():
    modules = _imported_by("--help")
    assert _heavy(modules) == []
    assert "pandas" not in modules and "numpy" not in modules


@pytest.mark.parametrize("command", COMMANDS)
def test_a_commands_help_imports_no_heavy_module(command):
    assert _heavy(_imported_by(command, "--help")) == []


def test_a_usage_error_imports_no_heavy_module():
    """A mistyped option fails in the parser, before the command's work imports anything."""
    assert _heavy(_imported_by("metrics", "--no-such-option")) == []


def test_the_full_parser_still_knows_every_commands_arguments():
    parser = build_parser()
    args = parser.parse_args(["metrics", "x.csv", "--setting", "size", "--format", "json"])
    assert (args.command, args.setting, args.format) == ("metrics", ["size"], "json")
    args = parser.parse_args(["export", "x.csv", "-o", "out.csv"])
    assert args.output == "out.csv"


def test_the_lazy_parser_reads_the_chosen_commands_arguments():
    argv = ["metrics", "x.csv", "--reference", "chaosnli", "--ci"]
    args = build_parser(argv).parse_args(argv)
    assert (args.reference, args.ci, args.sources) == ("chaosnli", True, ["x.csv"])


def test_metrics_on_a_partynli_file_loads_no_plotting_learning_or_torch(fixture_csv):
    """The label metrics need pandas, numpy and scipy's special functions, nothing heavier."""
    modules = _imported_by("metrics", str(fixture_csv))
    assert "inspect_partynli.analysis.engine" in modules  # the command did run
    assert [m for m in ("sklearn", "matplotlib", "torch") if m in modules] == []
