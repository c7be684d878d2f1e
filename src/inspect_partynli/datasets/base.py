"""The dataset interface every stage takes: items, label space, human populations, prompts.

An :class:`HLVDataset` is what a human-label-variation dataset means to this package, whatever
its file format: items with named text fields, an ordered label space with its single-label
rule, one or more human *populations* (per-item label counts; the primary one also has
per-annotator rows with explanations), subsets, the prompts, and the file it came from
(:class:`DatasetRef`, recorded in every log).  LiveNLI, VariErr-NLI and user cards are built by
the loaders beside this module; nothing downstream reads their files or columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from ..errors import SourceError
from ..labels import LabelSpace
from ..prompts import PromptSpec


class DataNotFoundError(SourceError):
    """A dataset file could not be found or fetched; the message says what to set."""


class DataFormatError(SourceError):
    """A file was found but is not the dataset it should be (one line saying what is wrong)."""


@dataclass(frozen=True)
class DatasetRef:
    """Where a dataset came from; travels in the task metadata and the log header.

    ``kind`` is ``livenli``, ``varierr`` or ``card`` (for a card, ``path`` is the card file and
    ``sha256`` covers the card and the files it names).
    """

    name: str
    path: str
    sha256: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> DatasetRef:
        """A ref from a log header's ``dataset`` entry (raises ValueError if malformed)."""
        try:
            return cls(**{key: str(value[key]) for key in ("name", "path", "sha256", "kind")})
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a dataset reference: {value!r}") from error


@dataclass(frozen=True)
class Population:
    """One group of human annotators, as per-item label counts.

    ``counts``: index = item id (str), columns = the dataset's labels in order, int counts;
    only the items this population annotated.
    """

    name: str
    counts: pd.DataFrame
    description: str
    primary: bool = False

    def distribution(self) -> pd.DataFrame:
        """Per-item label shares (rows sum to 1)."""
        counts = self.counts.astype(float)
        return counts.div(counts.sum(axis=1), axis=0)


def counts_frame(
    labels_per_item: Mapping[str, Iterable[str | None]] | pd.Series, labels: tuple[str, ...]
) -> pd.DataFrame:
    """Label counts per item from each item's labels (None entries are not counted)."""
    rows = {
        item: [sum(1 for x in given if x == label) for label in labels]
        for item, given in labels_per_item.items()
    }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(labels), dtype="int64")
    frame.index = frame.index.astype(str)
    frame.index.name = "item_id"
    return frame.sort_index()


def chaosnli_population(counts: pd.Series, labels: tuple[str, ...]) -> Population:
    """ChaosNLI's annotators (Nie et al. 2020; 100 per item), a population LiveNLI and
    VariErr-NLI share, from a column of per-item count tuples in label order (None where an
    item has none)."""
    given = counts.dropna()
    frame = pd.DataFrame(given.tolist(), index=given.index.astype(str), columns=list(labels))
    return Population("chaosnli", frame, "ChaosNLI annotators (100 per item)")


@dataclass(eq=False)
class HLVDataset:
    """A human-label-variation dataset (see the module docstring).

    ``items``: index = item id (str, sorted), the text fields plus dataset extras.
    ``annotations``: the primary population, one row per (item, annotator): ``item_id,
    annotator, labels`` (tuple in label order), ``label`` (collapsed; None when dropped),
    ``multi_label`` (the labels joined), ``explanation`` (may be ""), plus extras.
    ``metadata_fields``: the item columns that every sample carries besides the text fields
    (e.g. ``gold``).
    """

    ref: DatasetRef
    space: LabelSpace
    items: pd.DataFrame
    text_fields: tuple[str, ...]
    annotations: pd.DataFrame
    populations: dict[str, Population]
    subsets: dict[str, tuple[str, ...]]
    prompt: PromptSpec
    description: str = ""
    metadata_fields: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        primaries = [p.name for p in self.populations.values() if p.primary]
        if len(primaries) != 1:
            raise ValueError(f"a dataset needs exactly one primary population, got {primaries}")
        if "all" not in self.subsets:
            raise ValueError("a dataset needs the subset 'all'")

    # --- label space ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def labels(self) -> tuple[str, ...]:
        return self.space.labels

    @property
    def synonyms(self) -> Mapping[str, tuple[str, ...]]:
        return self.space.synonyms

    @property
    def multi_label(self) -> str | None:
        return self.space.multi_label

    def collapse(self, labels: Iterable[str] | str) -> str | None:
        """The single-label rule (one label alone keeps it; several -> ``multi_label``)."""
        return self.space.collapse(labels)

    # --- items and populations --------------------------------------------------------
    @property
    def primary(self) -> str:
        return next(p.name for p in self.populations.values() if p.primary)

    def item_text(self, item_id: str) -> str:
        """The item's text fields joined by a blank line (premise + hypothesis for NLI)."""
        row = self.items.loc[item_id]
        return "\n\n".join(str(row[f]) for f in self.text_fields)

    def subset(self, name: str = "all") -> tuple[str, ...]:
        """Item ids of a subset (raises ValueError naming the choices)."""
        if name not in self.subsets:
            raise ValueError(f"unknown subset {name!r}; choose one of {', '.join(self.subsets)}")
        return self.subsets[name]

    def population(self, name: str | None = None) -> Population:
        """A population by name (default: the primary one)."""
        name = name or self.primary
        if name not in self.populations:
            raise ValueError(
                f"unknown population {name!r}; {self.name} has {', '.join(self.populations)}"
            )
        return self.populations[name]

    @cached_property
    def annotators_by_item(self) -> dict[str, pd.DataFrame]:
        """The primary population's rows per item, in annotator order (for replay)."""
        return {
            str(item): rows.reset_index(drop=True)
            for item, rows in self.annotations.groupby("item_id", sort=True)
        }

    # --- what every sample carries ----------------------------------------------------
    @cached_property
    def _distributions(self) -> pd.DataFrame:
        return self.population().distribution()

    def sample_metadata(self, item_id: str) -> dict[str, Any]:
        """Lean per-sample metadata: the texts, the primary human distribution (one number per
        label), every other population's counts (label -> count, None where it has none) and
        the item's ``metadata_fields``.  Per-annotator lists stay in the dataset."""
        row = self.items.loc[item_id]
        metadata: dict[str, Any] = {f: str(row[f]) for f in self.text_fields}
        for name in self.metadata_fields:
            value = row[name]
            metadata[name] = None if _missing(value) else value
        distribution = self._distributions
        metadata["human_distribution"] = (
            {label: float(distribution.at[item_id, label]) for label in self.labels}
            if item_id in distribution.index
            else None
        )
        for population in self.populations.values():
            if population.primary:
                continue
            counts = population.counts
            metadata[f"{population.name}_counts"] = (
                {label: int(counts.at[item_id, label]) for label in self.labels}
                if item_id in counts.index
                else None
            )
        return metadata


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
