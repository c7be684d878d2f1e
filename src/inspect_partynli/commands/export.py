"""``partynli export``: Inspect logs and PartyNLI files -> one PartyNLI-schema file.

    partynli export logs/ extra.csv -o annotations.parquet

The output has the PartyNLI columns first (``sent_id ... top_p``), then model, source,
parse status and failure reason.  An existing output file is never replaced without
``--force``; the output path is checked before any log is read.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..annotations import (
    AnnotationWarning,
    check_output_path,
    load_annotations,
    write_partynli_file,
)
from ..errors import UsageError

NAME = "export"
HELP = "Write Inspect logs and PartyNLI files as one PartyNLI-schema CSV or Parquet file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE",
        help="Inspect logs (.eval/.json), folders of logs, or PartyNLI files (.csv/.parquet)",
    )  # fmt: skip
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE",
        help="output file: FILE.csv or FILE.parquet",
    )  # fmt: skip
    parser.add_argument(
        "--explanations", action=argparse.BooleanOptionalAction, default=True,
        help="include explanations (reads full samples from logs; default: yes)",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    parser.add_argument(
        "--humans", action="store_true", help="append the 48 LiveNLI workers as participants"
    )
    parser.add_argument("--data", metavar="PATH", help="LiveNLI CSV or folder (for --humans)")
    parser.add_argument(
        "--participant", action="append", default=[], metavar="MODEL=NAME",
        help="name the participant of a model's log rows (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--num-params", action="append", default=[], metavar="PARTICIPANT=BILLIONS",
        help="model size in billions for a participant (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--experiment", metavar="NAME", help="experiment name for log rows (default: from the task)"
    )
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    output = check_output_path(args.output, force=args.force)  # fail before reading anything
    sizes = parse_mapping(args.num_params, "--num-params", float)
    names = parse_mapping(args.participant, "--participant", str)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    with warnings_to_stderr(NAME):
        table = load_annotations(
            args.sources,
            explanations=args.explanations,
            include_humans=args.humans,
            data=args.data,
            progress=progress,
            participants=names,
            num_params=sizes,
            experiment=args.experiment,
        )
    write_partynli_file(table, output, force=args.force)
    participants = table["participant"].nunique()
    print(f"wrote {len(table)} annotations ({participants} participant(s)) to {output}",
          file=sys.stderr)  # fmt: skip
    return 0


def parse_mapping(items: Sequence[str], option: str, convert: type) -> dict:
    """``["a=1", "b=2"]`` -> ``{"a": convert("1"), ...}``; a UsageError names a bad item."""
    mapping = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            mapping[key.strip()] = convert(value.strip())
        except ValueError:
            raise UsageError(f"{option} {item!r}: expected KEY=VALUE") from None
    return mapping


@contextmanager
def warnings_to_stderr(command: str) -> Iterator[None]:
    """Show :class:`AnnotationWarning` s as one line each: ``partynli CMD: warning: ...``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnnotationWarning)
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, AnnotationWarning):
                    print(f"partynli {command}: warning: {warning.message}", file=sys.stderr)
                else:
                    warnings.showwarning(warning.message, warning.category,
                                         warning.filename, warning.lineno)  # fmt: skip
