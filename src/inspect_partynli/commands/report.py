"""``partynli report``: tables, figures and a browsable HTML page from logs and PartyNLI files."""

from __future__ import annotations

import argparse

from ..errors import UsageError

NAME = "report"
HELP = (
    "Write the study's report (report.md, self-contained report.html, CSV tables, figures as "
    "PNG and SVG) for Inspect logs and PartyNLI files into a folder."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="Inspect logs or log folders, PartyNLI CSV/Parquet files")  # fmt: skip
    parser.add_argument("-o", "--out", required=True, metavar="DIR",
                        help="output folder (must be empty or absent unless --force)")  # fmt: skip
    parser.add_argument("--data", metavar="PATH",
                        help="LiveNLI CSV or folder (default: $INSPECT_PARTYNLI_DATA)")  # fmt: skip
    parser.add_argument("--group", action="append", default=[], metavar="NAME=P1,P2",
                        help="declare a MODEL MIX group (repeatable)")  # fmt: skip
    parser.add_argument("--subset", choices=("all", "chaosnli"), default=None,
                        help="items for every table and figure (default: Table 2 over the 50 "
                        "ChaosNLI items, the rest over all 122, as in the paper)")  # fmt: skip
    parser.add_argument("--no-explanations", action="store_true",
                        help="skip explanation metrics and projections (fast)")  # fmt: skip
    parser.add_argument("--encoder", metavar="ID|PATH",
                        help="semantic sentence encoder (default: the paper's e5; falls back "
                        "to the offline MiniLM when unavailable)")  # fmt: skip
    parser.add_argument(
        "--style-encoder",
        metavar="ID|PATH|none",
        help="style encoder (default: StyleDistance; skipped when unavailable)",
    )
    parser.add_argument("--draws", type=int, default=1000,
                        help="RandomMix draws (Figure 8; default 1000)")  # fmt: skip
    parser.add_argument("--k", type=int, default=10,
                        help="participants per RandomMix draw (default 10)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed for RandomMix (default 0)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite files in a non-empty output folder")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..report.build import ReportOptions, build_report
    from ..settings import parse_group

    groups: dict[str, tuple[str, ...]] = {}
    for spec in args.group:
        name, members = parse_group(spec)
        if name in groups:
            raise UsageError(f"group {name!r} is declared twice")
        groups[name] = members
    if args.draws < 1 or args.k < 1:
        raise UsageError("--draws and --k must be at least 1")
    options = ReportOptions(
        data=args.data, groups=groups, subset=args.subset,
        explanations=not args.no_explanations, encoder=args.encoder,
        style_encoder=args.style_encoder, random_mix_draws=args.draws, random_mix_size=args.k,
        seed=args.seed, force=args.force, progress=not args.no_progress,
    )  # fmt: skip
    result = build_report(args.sources, args.out, options)
    print(f"report written to {result.out_dir / 'report.html'} ({len(result.files)} files)")
    return 0
