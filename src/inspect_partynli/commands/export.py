"""``partynli export``: Inspect logs and PartyNLI files -> one PartyNLI-schema file.

    partynli export logs/ extra.csv -o annotations.parquet

The output has the PartyNLI columns first (``sent_id ... top_p``), then model, source,
parse status and failure reason.  An existing output file is never replaced without
``--force``; the output path is checked before any log is read.
"""

from __future__ import annotations

import argparse
import sys

from ._arguments import (
    add_data,
    add_formula_guard,
    add_naming,
    add_progress,
    add_reference,
    add_sources,
    annotator_population,
    load_dataset,
    read_sources,
)

NAME = "export"
HELP = "Write Inspect logs and PartyNLI files as one PartyNLI-schema CSV or Parquet file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_sources(parser)
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE",
        help="output file: FILE.csv or FILE.parquet",
    )  # fmt: skip
    parser.add_argument(
        "--explanations", action=argparse.BooleanOptionalAction, default=True,
        help="include explanations (reads full samples from logs; default: yes)",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_formula_guard(parser)
    parser.add_argument(
        "--humans", action="store_true",
        help="append the dataset's human annotators (its primary population) as participants",
    )  # fmt: skip
    add_data(parser, purpose="for --humans")
    add_reference(parser)
    add_naming(parser)
    parser.add_argument(
        "--experiment", metavar="NAME", help="experiment name for log rows (default: from the task)"
    )
    add_progress(parser)


def run(args: argparse.Namespace) -> int:
    from ..annotations import check_output_path, write_partynli_file

    output = check_output_path(args.output, force=args.force)  # fail before reading anything
    dataset = load_dataset(args) if args.humans else None
    if dataset is not None:
        annotator_population(dataset, args.reference)
    table = read_sources(
        args, NAME, explanations=args.explanations, experiment=args.experiment,
        labels=dataset.labels if dataset is not None else None,
    )  # fmt: skip
    if dataset is not None:
        import pandas as pd

        from ..analysis import human_table
        from ..annotation_schema import conform

        table = conform(pd.concat([table, human_table(dataset)], ignore_index=True))
    write_partynli_file(table, output, force=args.force, formula_guard=args.formula_guard)
    participants = table["participant"].nunique()
    print(f"wrote {len(table)} annotations ({participants} participant(s)) to {output}",
          file=sys.stderr)  # fmt: skip
    return 0
