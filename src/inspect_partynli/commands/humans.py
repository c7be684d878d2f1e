"""``partynli humans``: the Human rows of Tables 2 and 5 (LiveNLI, ChaosNLI, MNLI).

    partynli humans --subset chaosnli --format json

Per population: ``n_items``, the mean natural-log entropy ``H`` of the per-item label
distributions with its sample std ``H_std``, and ``alpha`` (nominal Krippendorff's alpha over
the 48 LiveNLI workers x the items; null for ChaosNLI and MNLI, whose coders are unknown).
"""

from __future__ import annotations

import argparse

from ._arguments import add_data, add_subset
from .metrics import add_format_argument, render

NAME = "humans"
HELP = "The human reference rows: entropy per population and LiveNLI's Krippendorff's alpha."

KEYS = ("population", "n_items", "H", "H_std", "alpha")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_subset(parser)
    add_data(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed for the bootstrap (--ci)")
    add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    from ..livenli_data import load_livenli
    from ..settings import human_rows

    rows = human_rows(load_livenli(args.data), args.subset, seed=args.seed)
    keys = [*KEYS, "H_ci_low", "H_ci_high"] if args.ci else list(KEYS)
    print(render(rows, keys, args.format))
    return 0
