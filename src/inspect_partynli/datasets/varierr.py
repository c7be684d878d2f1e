"""VariErr-NLI (Weber-Genzel et al., ACL 2024) as an :class:`HLVDataset`.

500 MNLI items (JSON Lines, one object per item).  Four annotators wrote an explanation for
every label they chose (round 1) and then judged each other's label-explanation pairs
(round 2), which marks some labels as annotation *errors*.  The prompts are the paper's
(Figures 6 and 7) with premise = ``context`` and hypothesis = ``statement``.

Populations (labels mapped entailment/neutral/contradiction -> true/either/false):

``varierr`` (primary)
    each annotator's label set (the labels under which it wrote at least one explanation),
    collapsed by the single-label rule.  Annotators who gave no label (``idk``) are absent.
    One annotator (item 54327n, annotator 2) is listed under ``idk`` yet wrote a
    contradiction explanation: its label is kept, which gives the data README's mean entropy
    0.418 (std 0.338) over the 500 items.
``varierr_validated``
    each annotator's label set minus the item's ``error_labels``; an annotator left with no
    label is dropped.
``chaosnli``
    ChaosNLI's 100-annotator counts (every item).

Subsets: ``all`` (500), ``ambiguous`` (``has_ambiguity``: 236), ``errors`` (items with
``error_labels``: 119).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ..labels import LABELS, NLI, NLI_TO_LABEL
from ..prompts import NLI_PROMPT
from . import locate
from .base import (
    DataFormatError,
    DatasetRef,
    HLVDataset,
    Population,
    chaosnli_population,
    counts_frame,
)
from .livenli import read_text_strictly

UPSTREAM = locate.Upstream(
    filename="varierr.json",
    title="VariErr-NLI",
    url="https://raw.githubusercontent.com/mainlp/VariErr-NLI/main/varierr.json",
    sha256="c8f9a634a69d72a6c390047ac242562b80a8caac08db19714db3f98bd40e13ea",
)

#: The label keys of a VariErr item, in the order reasons are listed.
NLI_KEYS = ("entailment", "neutral", "contradiction")
REQUIRED_KEYS = ("id", "context", "statement", *NLI_KEYS, "idk", "error_labels",
                 "has_ambiguity", "chaosnli_labels")  # fmt: skip
POPULATIONS = ("varierr", "varierr_validated", "chaosnli")
SUBSETS = ("all", "ambiguous", "errors")


def resolve_varierr(path: str | Path | None = None, *, download: bool = True) -> Path:
    """The path of ``varierr.json`` (explicit path, environment, cache, verified download)."""
    return locate.resolve(UPSTREAM, path, download_ok=download)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON Lines objects of ``path``; one DataFormatError line for anything unreadable."""
    text = read_text_strictly(path, "VariErr-NLI")
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            reason = getattr(error, "msg", type(error).__name__)
            raise DataFormatError(
                f"{path}: line {number} is not a JSON object ({reason}); VariErr-NLI is JSON "
                "Lines, one item per line"
            ) from None
        if not isinstance(record, dict):
            raise DataFormatError(f"{path}: line {number} is not a JSON object")
        missing = [key for key in REQUIRED_KEYS if key not in record]
        if missing:
            raise DataFormatError(
                f"{path}: line {number} is not a VariErr-NLI item: missing key(s) "
                f"{', '.join(missing)}"
            )
        records.append(record)
    if not records:
        raise DataFormatError(f"{path} is empty, not VariErr-NLI")
    return records


def _label(name: object, where: str) -> str:
    try:
        return NLI_TO_LABEL[str(name).strip().lower()]
    except KeyError:
        raise DataFormatError(f"{where}: unknown label {name!r}") from None


def _item(record: dict[str, Any], where: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(item row, annotator rows) of one VariErr object."""
    item_id = str(record["id"])
    chosen: dict[str, set[str]] = {}
    reasons: dict[str, list[tuple[str, str]]] = {}
    for key in NLI_KEYS:
        entries = record[key] or []
        if not isinstance(entries, list):
            raise DataFormatError(f"{where}: '{key}' is not a list of explanations")
        for entry in entries:
            if not isinstance(entry, dict) or "annotator" not in entry:
                raise DataFormatError(f"{where}: an explanation under '{key}' has no annotator")
            annotator = f"a{entry['annotator']}"
            chosen.setdefault(annotator, set()).add(NLI_TO_LABEL[key])
            reasons.setdefault(annotator, []).append(
                (NLI_TO_LABEL[key], str(entry.get("reason") or ""))
            )
    errors = tuple(
        sorted({_label(x, where) for x in record["error_labels"] or []}, key=LABELS.index)
    )
    chaos = record["chaosnli_labels"]
    if not isinstance(chaos, dict):
        raise DataFormatError(f"{where}: chaosnli_labels is not a dict of counts")
    counts = dict.fromkeys(LABELS, 0)
    try:
        for letter, count in chaos.items():
            counts[_label(letter, where)] += int(count or 0)
    except (TypeError, ValueError):
        raise DataFormatError(
            f"{where}: chaosnli_labels holds a count that is not a number"
        ) from None
    item = {
        "item_id": item_id,
        "premise": str(record["context"]),
        "hypothesis": str(record["statement"]),
        "prompt_label": NLI_TO_LABEL.get(item_id[-1:]),
        "error_labels": errors,
        "has_ambiguity": bool(record["has_ambiguity"]),
        "chaosnli_counts": tuple(counts[label] for label in LABELS),
        "n_idk": len(record["idk"] or []),
    }
    rows = []
    for annotator in sorted(chosen, key=lambda name: int(name[1:]) if name[1:].isdigit() else 0):
        labels = tuple(label for label in LABELS if label in chosen[annotator])
        validated = tuple(label for label in labels if label not in errors)
        ordered = sorted(reasons[annotator], key=lambda pair: LABELS.index(pair[0]))
        rows.append(
            {
                "item_id": item_id,
                "annotator": annotator,
                "labels": labels,
                "label": NLI.collapse(labels),
                "multi_label": NLI.join(labels),
                "explanation": " ".join(reason for _, reason in ordered if reason),
                "reasons": tuple(ordered),
                "validated_labels": validated,
                "validated_label": NLI.collapse(validated) if validated else None,
            }
        )
    return item, rows


def varierr_dataset(path: str | Path | None = None, *, download: bool = True) -> HLVDataset:
    """VariErr-NLI as an :class:`HLVDataset` (see the module docstring)."""
    return _dataset(*locate.file_key(resolve_varierr(path, download=download)))


@lru_cache(maxsize=4)
def _dataset(path: Path, mtime: float, size: int) -> HLVDataset:
    items, rows = [], []
    for number, record in enumerate(_read_lines(path), start=1):
        item, annotators = _item(record, f"{path}: line {number}")
        items.append(item)
        rows.extend(annotators)
    table = pd.DataFrame(items).set_index("item_id")
    if table.index.duplicated().any():
        twice = table.index[table.index.duplicated()][0]
        raise DataFormatError(f"{path}: item id {twice!r} appears more than once")
    table = table.sort_index()
    annotations = pd.DataFrame(rows)
    by_item = annotations.groupby("item_id", sort=True)
    table["n_annotators"] = by_item.size().reindex(table.index, fill_value=0)
    empty = {item: [] for item in table.index}
    populations = {
        "varierr": Population(
            "varierr",
            counts_frame({**empty, **by_item["label"].agg(list).to_dict()}, LABELS),
            "VariErr annotators (4 per item, idk excluded; several labels become either)",
            primary=True,
        ),
        "varierr_validated": Population(
            "varierr_validated",
            counts_frame(by_item["validated_label"].agg(list).to_dict(), LABELS).pipe(
                lambda frame: frame[frame.sum(axis=1) > 0]
            ),
            "VariErr annotators after validation (labels judged errors removed)",
        ),
        "chaosnli": chaosnli_population(table["chaosnli_counts"], LABELS),
    }
    return HLVDataset(
        ref=DatasetRef("varierr", str(path), locate.sha256_of(path), "varierr"),
        space=NLI,
        items=table,
        text_fields=("premise", "hypothesis"),
        annotations=annotations,
        populations=populations,
        subsets={
            "all": tuple(table.index),
            "ambiguous": tuple(table.index[table["has_ambiguity"]]),
            "errors": tuple(table.index[table["error_labels"].map(len) > 0]),
        },
        prompt=NLI_PROMPT,
        description="VariErr-NLI: 500 MNLI items, 4 annotators with explanations and validation",
        metadata_fields=("prompt_label",),
    )
