"""``partynli dataset``: check a dataset (a built-in one or a YAML card) and summarise it.

    partynli dataset varierr
    partynli dataset my-card.yaml --format json

Prints where the dataset comes from (path, sha256), its labels and single-label rule, its
subsets, and one row per human population: ``n_items``, annotations per item (mean), and the
mean natural-log entropy ``H`` of the per-item label distributions with its sample std
``H_std``.  A card that cannot be used gives one line naming the key, and exit 2.
"""

from __future__ import annotations

import argparse

from .metrics import render

NAME = "dataset"
HELP = "Check a dataset (livenli, varierr or a YAML card) and summarise its populations."
KEYS = ("population", "primary", "n_items", "per_item", "H", "H_std")
FORMATS = ("table", "csv", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="livenli, varierr, or a dataset card (.yaml)")
    parser.add_argument(
        "--data", metavar="PATH",
        help="the built-in dataset's file or its folder (default: $INSPECT_PARTYNLI_DATA)",
    )  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default="table", help="population rows as")


def population_rows(dataset) -> list[dict]:  # noqa: ANN001 - an HLVDataset
    """One summary row per population (mean entropy with the study's conventions)."""
    from ..metrics import entropy

    rows = []
    for population in dataset.populations.values():
        counts = population.counts.to_numpy(dtype=float)
        per_item = entropy(counts) if len(counts) else counts[:, :0].sum(axis=1)
        rows.append(
            {
                "population": population.name,
                "primary": population.primary,
                "n_items": len(counts),
                "per_item": float(counts.sum(axis=1).mean()) if len(counts) else float("nan"),
                "H": float(per_item.mean()) if len(counts) else float("nan"),
                "H_std": float(per_item.std(ddof=1)) if len(counts) > 1 else float("nan"),
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset

    dataset = load_dataset(args.dataset, data=args.data, download=False)
    rows = population_rows(dataset)
    if args.format != "table":
        print(render(rows, KEYS, args.format))
        return 0
    ref = dataset.ref
    rule = dataset.multi_label or "dropped"
    print(f"{ref.name} ({ref.kind}): {ref.path}")
    print(f"sha256 {ref.sha256}")
    print(f"labels: {', '.join(dataset.labels)} (several from one annotator: {rule})")
    print(f"items: {len(dataset.items)}; text fields: {', '.join(dataset.text_fields)}")
    subsets = ", ".join(f"{name} {len(ids)}" for name, ids in dataset.subsets.items())
    print(f"subsets: {subsets}")
    print(render(rows, KEYS, "table"))
    return 0
