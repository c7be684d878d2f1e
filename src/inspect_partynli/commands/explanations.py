"""``partynli explanations``: explanation variation, humans vs participants (Section 5).

    partynli explanations logs/ --format json
    partynli explanations partynli.csv --pool-by experiment --style-encoder none

Prints, for every group (``humans``, the participant pool, human annotators with more than
100 items, every participant), metric (wc, V, JAC, D_pair, D_cent, D_max), representation
(lexical, e5, style, tfidf) and encoder: n, median, q1, q3, mean and the Mann-Whitney U
p-value against ``humans`` (the dataset's primary annotators -- LiveNLI's workers, VariErr's
annotators with their reasons, a card's annotators -- on the items the participants
annotated; ``--no-humans`` leaves them out).  Models that are not available locally are
never downloaded (unless ``--allow-download``): the semantic encoder falls back to the
offline MiniLM and the style metrics are skipped, each said in one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from ..errors import UsageError
from ._arguments import (
    add_data,
    add_device,
    add_formula_guard,
    add_naming,
    add_progress,
    add_reference,
    add_sources,
    annotator_population,
    checked_device,
    load_dataset,
    progress,
    read_sources,
    whole_number,
)

if TYPE_CHECKING:
    import pandas as pd

NAME = "explanations"
HELP = "Explanation variation (lexical metrics, embedding distances), humans vs participants."

FORMATS = ("table", "csv", "json")
TABLES = ("summary", "explanations", "groups")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..explanations.delexicalise import DEFAULT_N
    from ..explanations.encoders import DEFAULT_SEMANTIC_ENCODER, DEFAULT_STYLE_ENCODER

    add_sources(parser)
    parser.add_argument(
        "--encoder", metavar="ID|PATH", default=None,
        help=f"semantic encoder for EMB_e5 (default {DEFAULT_SEMANTIC_ENCODER}; 'none' skips; "
        "offline MiniLM if not available locally)",
    )  # fmt: skip
    parser.add_argument(
        "--style-encoder", metavar="ID|PATH|none", default=None,
        help=f"style encoder for EMB_style (default {DEFAULT_STYLE_ENCODER}; skipped if not "
        "available locally)",
    )  # fmt: skip
    parser.add_argument(
        "--no-tfidf", dest="tfidf", action="store_false", help="skip the TF-IDF representation"
    )
    parser.add_argument(
        "--no-humans", dest="humans", action="store_false",
        help="do not add the dataset's human annotators (no comparison with humans)",
    )  # fmt: skip
    parser.add_argument(
        "--pool-by", metavar="COLUMN", default=None,
        help="split participants into pools by this column (e.g. experiment); default: one pool",
    )  # fmt: skip
    parser.add_argument(
        "--ngram", type=whole_number(1), default=DEFAULT_N, metavar="N",
        help=f"de-lexicalisation n-gram order ({DEFAULT_N})",
    )  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument(
        "--table", choices=TABLES, default="summary",
        help="what to print: summary per group (default), one row per explanation, or one row "
        "per (item, label) group",
    )  # fmt: skip
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_formula_guard(parser)
    add_data(parser)
    add_reference(parser)
    add_naming(parser)
    parser.add_argument(
        "--cache-dir", metavar="DIR", default=None,
        help="embedding cache folder (default: <package cache>/embeddings)",
    )  # fmt: skip
    parser.add_argument("--no-cache", dest="cache", action="store_false", help="cache nothing")
    parser.add_argument(
        "--allow-download", action="store_true",
        help="let sentence-transformers download models that are not cached (needs internet)",
    )  # fmt: skip
    add_device(parser)
    add_progress(parser)


def run(args: argparse.Namespace) -> int:
    from ..explanations import explanation_metrics, resolve_semantic_encoder, resolve_style_encoder

    if args.ngram < 1:
        raise UsageError(f"--ngram must be a positive integer, not {args.ngram}")
    output = _output_path(args)

    def notify(message: str) -> None:
        print(f"partynli {NAME}: note: {message}", file=sys.stderr)

    # resolve the encoders first: a bad --encoder fails before any log is read
    options = {"allow_download": args.allow_download, "notify": notify,
               "device": checked_device(args)}  # fmt: skip
    encoder = resolve_semantic_encoder(args.encoder, **options) or "none"
    style_encoder = resolve_style_encoder(args.style_encoder, **options) or "none"
    dataset = load_dataset(args)
    annotator_population(dataset, args.reference)  # explanations: the primary population
    result = explanation_metrics(
        _annotation_table(args, dataset, notify),
        dataset,
        encoder=encoder,
        style_encoder=style_encoder,
        tfidf=args.tfidf,
        n=args.ngram,
        pool_by=args.pool_by,
        cache_dir=args.cache_dir,
        use_cache=args.cache,
        allow_download=args.allow_download,
        progress=progress(args),
        notify=notify,
    )
    vectors_asked = args.tfidf or encoder != "none" or style_encoder != "none"
    without = sorted(set(result.per_explanation["pool"]) - set(result.per_group["group"]))
    if vectors_asked and without:
        notify(
            f"no (item, label) group of {', '.join(without)} has 2 or more explanations: "
            "no vector metrics for it (more trials or participants give some)"
        )
    frame = {
        "summary": result.summary,
        "explanations": result.per_explanation,
        "groups": result.per_group,
    }[args.table]
    text = render(frame, args.format, formula_guard=args.formula_guard)
    if output is None:
        sys.stdout.write(text)
    else:
        from ..outputs import write_text

        write_text(output, text)  # a link at FILE is replaced, never written through
        print(f"wrote {len(frame)} rows to {output}", file=sys.stderr)
    return 0


def _output_path(args: argparse.Namespace):
    """``-o FILE`` as a Path (None for stdout), refused before any work if it is a folder,
    cannot be written or exists without ``--force``; ``--cache-dir`` is checked too."""
    from ..outputs import check_output_file, check_output_folder

    if args.cache and args.cache_dir:
        check_output_folder(args.cache_dir, "--cache-dir")
    return check_output_file(args.output, force=args.force) if args.output else None


def _annotation_table(args: argparse.Namespace, dataset, notify) -> pd.DataFrame:
    """The sources' annotations (+ the dataset's human annotators unless ``--no-humans``),
    humans on the participants' items; a UsageError when no participant explanation is there
    to measure."""
    from ..explanations import humans_on_participant_items

    table = read_sources(args, NAME, explanations=True, labels=dataset.labels)
    if args.humans:
        table = with_humans(table, dataset, notify)
    participants = table[table["participant_type"] != "human"]
    if not (participants["explanation"].fillna("").astype(str).str.strip() != "").any():
        raise UsageError(
            f"the {len(participants)} participant annotation(s) of the sources carry no "
            "explanation (logs of a run that did not record them?)"
        )
    table, dropped = humans_on_participant_items(table)
    if dropped:
        notify(f"humans compared on the participants' items only ({dropped} item(s) left out)")
    return table


def with_humans(table: pd.DataFrame, dataset, notify) -> pd.DataFrame:
    """``table`` plus the dataset's human annotators, unless it already holds human rows (a
    PartyNLI file exported with ``--humans``): adding them again would count every human
    twice."""
    import pandas as pd

    from ..analysis import human_table
    from ..annotation_schema import conform

    present = int((table["participant_type"] == "human").sum())
    if present:
        notify(f"the sources hold {present} human annotation(s); the {dataset.primary} "
               "annotators are not added again")  # fmt: skip
        return table
    return conform(pd.concat([table, human_table(dataset)], ignore_index=True))


def render(frame: pd.DataFrame, fmt: str, *, formula_guard: bool = True) -> str:
    """``frame`` as an aligned text table, CSV, or a JSON list of objects (NaN -> null).

    CSV text that starts like a spreadsheet formula gets a leading ``'`` unless
    ``formula_guard`` is False (:func:`inspect_partynli.outputs.guard_formulas`)."""
    import pandas as pd

    if fmt == "json":
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return json.dumps(records, indent=1, ensure_ascii=False, default=_json_value) + "\n"
    if fmt == "csv":
        from ..outputs import guard_formulas

        return (guard_formulas(frame) if formula_guard else frame).to_csv(index=False)
    if frame.empty:
        return "(no rows)\n"
    shown = frame.copy()
    for column in shown.columns:
        if column == "p_value":
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.2g}")
        elif pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    return shown.to_string(index=False) + "\n"


def _json_value(value):
    """numpy scalars (and anything else JSON lacks) as plain Python values."""
    return value.item() if hasattr(value, "item") else str(value)
