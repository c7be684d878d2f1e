"""``partynli humans``: the Human rows of Tables 2 and 5, one per population of the dataset.

    partynli humans --subset chaosnli --format json
    partynli humans --dataset varierr

Per population (LiveNLI: livenli, chaosnli, mnli; VariErr: varierr, varierr_validated,
chaosnli; a card: its one population): ``n_items``, the mean natural-log entropy ``H`` of the
per-item label distributions with its sample std ``H_std``, and ``alpha`` (nominal
Krippendorff's alpha over the primary population's annotators x the items; null for the
populations given only as counts, whose coders are unknown).  ``--reference POPULATION``
shows that population's row only; ``--dataset`` defaults to livenli (no logs to read).
"""

from __future__ import annotations

import argparse

from ._arguments import (
    add_conventions,
    add_data,
    add_reference,
    add_subset,
    conventions,
    load_dataset,
    whole_number,
)
from .metrics import add_format_argument, render

NAME = "humans"
HELP = "The human reference rows: entropy per population and the primary one's alpha."

KEYS = ("population", "n_items", "H", "H_std", "alpha")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_subset(parser)
    add_data(parser)
    add_reference(parser)
    parser.add_argument(
        "--seed", type=whole_number(0), default=0, help="seed for the bootstrap (--ci)"
    )
    add_format_argument(parser)
    add_conventions(parser)


def run(args: argparse.Namespace) -> int:
    from ..analysis import human_rows, reference

    dataset = load_dataset(args)
    if args.reference is not None:
        reference(dataset, args.reference, args.subset)  # one line naming the choices
    rows = human_rows(dataset, args.subset, conventions(args))
    if args.reference is not None:
        rows = [row for row in rows if row["population"] == args.reference]
    keys = [*KEYS, "H_ci_low", "H_ci_high"] if args.ci else list(KEYS)
    print(render(rows, keys, args.format))
    return 0
