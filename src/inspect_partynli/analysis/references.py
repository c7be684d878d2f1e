"""Human references: a dataset's populations as per-item label counts, and the Human rows.

A *reference* is one human population of a dataset (e.g. LiveNLI's ``livenli``, ``chaosnli``,
``mnli``; VariErr's ``varierr``, ``varierr_validated``, ``chaosnli``; a card's one
population) restricted to one of the dataset's subsets: per item, how often each label of the
dataset's ordered label space was chosen.  Everything the engine compares against is a
:class:`Reference`; nothing here knows a dataset's columns, only the dataset interface
(``labels``, ``populations``, ``primary``, ``subsets``, ``annotations``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import metrics
from ..annotation_schema import conform
from ..design import ALL_SUBSET
from ..errors import UsageError
from .conventions import PAPER, Conventions

__all__ = [
    "Reference", "coder_matrix", "human_rows", "human_table", "reference", "reference_counts",
]  # fmt: skip


@dataclass(frozen=True)
class Reference:
    """Per-item human label counts of one population over one subset.

    ``uids``: the item ids (the subset's items the population labelled, in the subset's order);
    ``counts``: shape ``(items, labels)`` over ``labels``; ``entropy``: per-item entropy in
    nats (Kendall's tau, the only user inside the engine, is invariant to the log base).
    """

    name: str
    subset: str
    labels: tuple[str, ...]
    uids: np.ndarray
    counts: np.ndarray
    entropy: np.ndarray
    description: str = ""

    @classmethod
    def from_counts(
        cls, counts: pd.DataFrame, name: str, subset: str = ALL_SUBSET, description: str = ""
    ) -> Reference:
        """A reference from a counts frame (index item id, one column per label, in order)."""
        values = counts.to_numpy(dtype=float)
        return cls(
            name, subset, tuple(map(str, counts.columns)), counts.index.astype(str).to_numpy(),
            values, metrics.entropy(values), description,
        )  # fmt: skip

    def frame(self) -> pd.DataFrame:
        """The counts as a frame (index item id, columns labels)."""
        return pd.DataFrame(self.counts, index=pd.Index(self.uids), columns=list(self.labels))


def _population(dataset: Any, population: str | None) -> Any:
    name = population or dataset.primary
    populations: Mapping[str, Any] = dataset.populations
    if name not in populations:
        raise UsageError(
            f"unknown reference {name!r} for dataset {dataset_name(dataset)}; choose one of "
            f"{', '.join(populations)}"
        )
    return populations[name]


def _subset_items(dataset: Any, subset: str) -> Sequence[str]:
    subsets: Mapping[str, Sequence[str]] = dataset.subsets
    if subset not in subsets:
        raise UsageError(
            f"unknown subset {subset!r} for dataset {dataset_name(dataset)}; choose one of "
            f"{', '.join(subsets)}"
        )
    return subsets[subset]


def dataset_name(dataset: Any) -> str:
    """The dataset's name (its provenance record's), for messages."""
    ref = getattr(dataset, "ref", None)
    return str(getattr(ref, "name", None) or getattr(dataset, "name", "dataset"))


def reference_counts(
    dataset: Any, population: str | None = None, subset: str = ALL_SUBSET
) -> pd.DataFrame:
    """Human label counts per item (index item id, columns the dataset's labels) of one
    population (default: the primary one), restricted to a subset's items it labelled."""
    counts = _population(dataset, population).counts
    items = [str(i) for i in _subset_items(dataset, subset)]
    counts = counts.set_axis(counts.index.astype(str))
    present = [i for i in items if i in counts.index]
    return counts.loc[present, list(dataset.labels)].astype(float)


def reference(dataset: Any, population: str | None = None, subset: str = ALL_SUBSET) -> Reference:
    """The :class:`Reference` of a dataset's population (default: primary) over a subset."""
    chosen = _population(dataset, population)
    return Reference.from_counts(
        reference_counts(dataset, population, subset), chosen.name, subset,
        getattr(chosen, "description", ""),
    )  # fmt: skip


def coder_matrix(annotations: pd.DataFrame, items: Sequence[str] | None = None) -> pd.DataFrame:
    """The annotators x items matrix of (single) labels of a per-annotator table
    (``item_id``, ``annotator``, ``label``), NaN where an annotator did not label an item."""
    matrix = annotations.pivot_table(
        index="annotator", columns="item_id", values="label", aggfunc="first"
    )
    if items is not None:
        matrix = matrix.reindex(columns=list(items))
    return matrix


def human_rows(
    dataset: Any, subset: str = ALL_SUBSET, conventions: Conventions = PAPER
) -> list[dict]:
    """The Human rows of Tables 2 and 5: one per population of the dataset, primary first.

    Keys ``population, n_items, H, H_std, alpha, description`` (alpha: nominal Krippendorff's
    alpha over the primary population's annotators x the subset's items; ``None`` for the
    populations given only as counts, whose coders are unknown), plus ``setting='human'``,
    ``participant='human'``, ``reference``, ``subset`` and ``H_ci_low``/``H_ci_high``
    (seeded percentile bootstrap over items).
    """
    rows = []
    for name, population in dataset.populations.items():
        counts = reference_counts(dataset, name, subset)
        entropies = metrics.entropy(counts.to_numpy(dtype=float), base=conventions.log_base)
        mean, std = metrics.mean_std(entropies, ddof=conventions.ddof)
        low, high = metrics.bootstrap_ci(
            entropies, n_boot=conventions.n_boot, seed=conventions.seed, level=conventions.level
        )
        alpha = None
        if name == dataset.primary and len(counts):
            coders = coder_matrix(dataset.annotations, counts.index)
            alpha = metrics.krippendorff_alpha(
                coders.to_numpy(dtype=object), errors=conventions.errors, labels=dataset.labels
            )
        rows.append(
            {
                "population": name,
                "n_items": int(len(counts)),
                "H": mean,
                "H_std": std,
                "alpha": alpha,
                "description": getattr(population, "description", ""),
                "setting": "human",
                "participant": "human",
                "reference": name,
                "subset": subset,
                "H_ci_low": low,
                "H_ci_high": high,
            }
        )
    return rows


def human_table(dataset: Any) -> pd.DataFrame:
    """The primary population's annotators as participants, in the annotation-table schema.

    Each annotator is one participant (``participant_type='human'``, ``experiment`` = the
    population's name, trial 1) with its collapsed label, its label set (``class_multi``) and
    its explanation, so humans go through exactly the same metrics as models.  Annotators
    whose labels the dataset's rule drops (no single label) are left out.
    """
    rows = dataset.annotations
    rows = rows[rows["label"].notna()]
    multi = rows["multi_label"] if "multi_label" in rows.columns else rows["label"]
    explanation = rows["explanation"] if "explanation" in rows.columns else ""
    table = pd.DataFrame(
        {
            "sent_id": rows["item_id"].astype(str),
            "id": rows["annotator"].astype(str),
            "participant": rows["annotator"].astype(str),
            "participant_type": "human",
            "experiment": dataset.primary,
            "trial": 1,
            "class_simple": rows["label"].astype(str),
            "class_multi": multi,
            "explanation": explanation,
            "model": "human",
            "source": dataset_name(dataset),
            "parsed": True,
        }
    )
    return conform(table)
