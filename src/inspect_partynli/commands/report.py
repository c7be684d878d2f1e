"""``partynli report``: tables, figures and a browsable HTML page from logs and PartyNLI files."""

from __future__ import annotations

import argparse

from ..design import RANDOM_MIX_DRAWS, RANDOM_MIX_SEED, RANDOM_MIX_SIZE
from ..errors import SourceError, UsageError
from ._arguments import (
    add_conventions,
    add_data,
    add_device,
    add_naming,
    add_progress,
    add_reference,
    add_sources,
    add_subset,
    checked_device,
    collected_warnings,
    conventions,
    naming,
    print_warnings,
    progress,
    whole_number,
)

NAME = "report"
HELP = (
    "Write the study's report (report.md, self-contained report.html, CSV tables, figures as "
    "PNG, and SVG with --svg) for Inspect logs and PartyNLI files into a folder."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_sources(parser, nargs="*", help="Inspect logs or log folders, PartyNLI CSV/Parquet "
                "files; or one study file or packaged study name (see --study)")  # fmt: skip
    parser.add_argument("--study", metavar="STUDY",
                        help="report a study (YAML file or packaged name, as for "
                        "`partynli run`): its logs, groups, SINGLE")  # fmt: skip
    parser.add_argument("--log-dir", metavar="DIR",
                        help="with a study: its root log folder")  # fmt: skip
    parser.add_argument("-o", "--out", metavar="DIR",
                        help="output folder (must be empty or absent unless --force); "
                        "with a study, default <log dir>/report")  # fmt: skip
    add_data(parser)
    add_reference(parser)
    add_naming(parser)
    parser.add_argument("--group", action="append", default=[], metavar="NAME=P1,P2",
                        help="declare a MODEL MIX group (repeatable)")  # fmt: skip
    add_subset(parser, default=None, help="items for every table and figure (default: Table 2 "
               "over the items every population labelled -- LiveNLI: the 50 ChaosNLI items -- "
               "the rest over all, as in the paper)")  # fmt: skip
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
    parser.add_argument("--draws", type=whole_number(1), default=RANDOM_MIX_DRAWS,
                        help=f"RandomMix draws (Figure 8; default {RANDOM_MIX_DRAWS})")  # fmt: skip
    parser.add_argument(
        "--k",
        type=whole_number(1),
        default=RANDOM_MIX_SIZE,
        help=f"participants per RandomMix draw (default {RANDOM_MIX_SIZE})",
    )
    parser.add_argument(
        "--seed",
        type=whole_number(0),
        default=RANDOM_MIX_SEED,
        help=f"seed for RandomMix and the bootstrap (default {RANDOM_MIX_SEED})",
    )
    parser.add_argument("--force", action="store_true",
                        help="overwrite files in a non-empty output folder")  # fmt: skip
    add_device(parser)
    parser.add_argument("--svg", action="store_true",
                        help="also write every figure as SVG (PNG is always written)")  # fmt: skip
    add_progress(parser)
    add_conventions(parser)


def run(args: argparse.Namespace) -> int:
    from ..analysis import parse_group
    from ..report.build import ReportOptions

    groups: dict[str, tuple[str, ...]] = {}
    for spec in args.group:
        name, members = parse_group(spec)
        if name in groups:
            raise UsageError(f"group {name!r} is declared twice")
        groups[name] = members
    if args.draws < 1 or args.k < 1:
        raise UsageError("--draws and --k must be at least 1")
    names = naming(args)
    options = ReportOptions(
        dataset=args.dataset, data=args.data, reference=args.reference,
        conventions=conventions(args),
        groups=groups, subset=args.subset,
        explanations=not args.no_explanations, encoder=args.encoder,
        style_encoder=args.style_encoder, random_mix_draws=args.draws, random_mix_size=args.k,
        seed=args.seed, force=args.force, progress=progress(args), svg=args.svg,
        device=checked_device(args),
        participants=names["participants"], num_params=names["num_params"],
        exclude=tuple(args.exclude),
    )  # fmt: skip
    study = _study_argument(args)
    if study is not None:
        if args.participant or args.num_params:
            raise UsageError("--participant/--num-params do not go with a study (it names them)")
        return _report_study(study, args, options)
    if not args.sources:
        raise UsageError("no sources given: name Inspect logs, log folders or PartyNLI files")
    if args.out is None:
        raise UsageError("-o/--out DIR is required (except when reporting a study)")
    result = _build(args.sources, args.out, options)
    print(f"report written to {result.out_dir / 'report.html'} ({len(result.files)} files)")
    return 0


def _build(sources, out, options):
    """:func:`build_report` with the loader's warnings (skipped logs, ...) as one line each on
    stderr; when the sources turn out unusable, the warnings join the one error line (they
    say why: e.g. only logs of another task)."""
    from ..report.build import build_report

    messages: list[str] = []
    try:
        with collected_warnings() as messages:
            result = build_report(sources, out, options)
    except SourceError as error:
        if not messages:
            raise
        raise SourceError(f"{error}; skipped {'; '.join(messages)}") from None
    print_warnings(NAME, messages)
    return result


def _study_argument(args: argparse.Namespace) -> str | None:
    """The study to report: ``--study``, or a lone source that is a study file / name."""
    if args.study:
        if args.sources:
            raise UsageError("give either --study or sources, not both")
        return args.study
    if len(args.sources) == 1:
        source = args.sources[0]
        if source.endswith((".yaml", ".yml")):
            return source
        from pathlib import Path

        from ..study import packaged_studies

        if not Path(source).exists() and source in packaged_studies():
            return source
    if args.log_dir:
        raise UsageError("--log-dir goes with a study (--study STUDY)")
    return None


def _report_study(study_path: str, args: argparse.Namespace, options) -> int:
    """Report a study: its runs' logs (each with the study's participant, experiment and size),
    its groups (and ``all``) as MODEL MIX settings, nothing else to give."""
    import sys
    import tempfile
    from pathlib import Path

    from ..log_store import is_remote, location
    from ..report.build import Encoders, check_out_dir
    from ..study import load_study, report_inputs, write_report_table

    study = load_study(study_path)
    root = location(args.log_dir or study.default_log_dir)
    if is_remote(root) and not args.out:
        raise UsageError(f"the logs are in {root}: give a local output folder with -o")
    out = Path(args.out) if args.out else Path(root) / "report"
    check_out_dir(out, force=options.force)  # refuse before reading every log of the study
    options.encoders = Encoders.resolve(options)  # a bad --encoder, too
    import warnings

    from ..annotations import AnnotationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnnotationWarning)
        inputs = report_inputs(
            study, root, explanations=options.explanations, progress=options.progress
        )
    options.notes = []  # said in the report too: a partial run (cancelled, missing epochs)
    for warning in caught:
        options.notes += getattr(warning.message, "notes", [str(warning.message)])
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    if inputs.missing:
        missing = (
            f"{len(inputs.missing)} run(s) of the study have no logs yet and are left out: "
            f"{', '.join(inputs.missing)}"
        )
        print(f"partynli report: {missing}", file=sys.stderr)
        options.notes.append(f"runs with missing (item, epoch) annotations: {missing}")
    options.groups = {**inputs.groups, **dict(options.groups)}
    if options.data is None:
        options.data = study.data
    options.single = inputs.single  # Table 2's SINGLE row: the study's choice
    with tempfile.TemporaryDirectory(prefix="partynli-study-") as folder:
        table = write_report_table(inputs, folder)
        result = _build([table], out, options)
    print(f"report written to {result.out_dir / 'report.html'} ({len(result.files)} files)")
    return 0
