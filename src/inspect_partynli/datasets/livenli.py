"""LiveNLI (Jiang, Tan & de Marneffe, Findings of EMNLP 2023) as an :class:`HLVDataset`.

122 MNLI items, each annotated by 10-38 crowd workers who could choose several labels and
explained them with highlights (the primary population ``livenli``), plus ChaosNLI's 100
annotators for 50 items (``chaosnli``) and the original MNLI annotators (``mnli``: 5 labels for
110 items, the gold label alone for 12).  Subsets: ``all`` (122) and ``chaosnli`` (50).

The file is found by :mod:`.locate`.  :func:`load_livenli_frame` is the raw one-row-per-worker
table; :func:`livenli_dataset` builds the dataset from it.  A file that is not LiveNLI (empty,
binary, not UTF-8, truncated, malformed cells) raises :class:`DataFormatError` with one line.
"""

from __future__ import annotations

import ast
import csv
import io
from collections import Counter
from functools import lru_cache
from pathlib import Path

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

UPSTREAM = locate.Upstream(
    filename="livenli.csv",
    title="LiveNLI",
    url="https://raw.githubusercontent.com/njjiang/LiveNLI/main/livenli.csv",
    sha256="34d5e6d2cecfe3123c9972a681b4725a0f9cdae95de727a5d4392cc407f9c764",
)

REQUIRED_COLUMNS = (
    "uid", "premise", "hypothesis", "chaos_dist", "mnli_labels", "worker_id", "multilabel",
    "explanation", "highlight_p", "highlight_h",
)  # fmt: skip

#: The three human populations, primary first.
POPULATIONS = ("livenli", "chaosnli", "mnli")
SUBSETS = ("all", "chaosnli")
#: MNLI's gold label: the label at least this many of its 5 annotators chose.
MNLI_GOLD_VOTES = 3


def resolve_livenli(path: str | Path | None = None, *, download: bool = True) -> Path:
    """The path of ``livenli.csv`` (explicit path, environment, cache, verified download)."""
    return locate.resolve(UPSTREAM, path, download_ok=download)


def read_text_strictly(path: Path, title: str) -> str:
    """A file's text, or one :class:`DataFormatError` line if it is binary or not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataFormatError(f"{path} cannot be read ({error.strerror})") from None
    if b"\x00" in raw[:65536]:
        raise DataFormatError(f"{path} is not a UTF-8 text file (binary); is it really {title}?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFormatError(
            f"{path} is not a UTF-8 text file (byte {error.start}: {error.reason}); "
            f"is it really {title}?"
        ) from None


def read_csv_strictly(path: Path, title: str) -> pd.DataFrame:
    """A CSV file as strings, or one :class:`DataFormatError` line saying why it is unreadable.

    Strict: every row must have as many fields as the others (LiveNLI's header names one
    more column than its rows fill), so a truncated file (a last row cut short, a quote never
    closed) is refused instead of read as a shorter table.
    """
    text = read_text_strictly(path, title)
    if not text.strip():
        raise DataFormatError(f"{path} is empty, not {title}")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        raise DataFormatError(f"{path} cannot be read as {title} CSV ({error})") from None
    header, body = rows[0], [row for row in rows[1:] if row]
    usual = Counter(len(row) for row in body).most_common(1)[0][0] if body else len(header)
    for number, row in enumerate(rows[1:], start=2):
        if row and (len(row) != usual or len(row) > len(header)):
            raise DataFormatError(
                f"{path} cannot be read as {title} CSV (row {number} has {len(row)} fields, "
                f"the others {usual}, the header {len(header)}: truncated?)"
            )
    body = [row + [""] * (len(header) - len(row)) for row in body]
    return pd.DataFrame(body, columns=[name.lstrip("\ufeff") for name in header], dtype=str)


def _literal(value: object) -> object:
    """A Python-literal cell (dict or list) as an object; empty cells as None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return ast.literal_eval(value)


def _spans(value: object) -> list[tuple[int, int]]:
    """Highlight spans ``[(start, end), ...]`` from a LiveNLI highlight cell."""
    parsed = _literal(value)
    if not isinstance(parsed, dict):
        return []
    spans = [(int(e["startIndex"]), int(e["endIndex"])) for e in parsed.get("entities", [])]
    return sorted(spans)


def _chaos_counts(value: object) -> tuple[int, ...] | None:
    """ChaosNLI counts ``{'c': 11, 'e': 14, 'n': 75}`` ordered as LABELS; None if absent."""
    parsed = _literal(value)
    if parsed is None:
        return None
    if not isinstance(parsed, dict):
        raise ValueError(
            f"expected a dict of counts like {{'c': 11, 'e': 14, 'n': 75}}, got {value!r}"
        )
    counts = dict.fromkeys(LABELS, 0)
    for letter, count in parsed.items():
        counts[NLI_TO_LABEL[str(letter).strip().lower()]] += int(count)
    return tuple(counts[label] for label in LABELS)


def _mnli_labels(value: object) -> tuple[str, ...]:
    """MNLI annotator labels as study labels: a list of 5, or the bare gold label."""
    if not isinstance(value, str) or not value.strip():
        return ()
    raw = value.strip()
    parsed = ast.literal_eval(raw) if raw.startswith("[") else [raw]
    if not isinstance(parsed, list):
        raise ValueError(f"expected a list of labels, got {value!r}")
    return tuple(NLI_TO_LABEL[str(label).strip().lower()] for label in parsed)


def _cells(frame: pd.DataFrame, column: str, parse, csv: Path) -> pd.Series:  # noqa: ANN001
    """``parse`` applied to every cell of ``column``; a malformed cell is one error line
    naming the file, the row (as a spreadsheet shows it: header = 1) and the column."""
    values = []
    for row, cell in enumerate(frame[column].tolist()):
        try:
            values.append(parse(cell))
        except (ValueError, SyntaxError, KeyError, TypeError, MemoryError, RecursionError) as err:
            shown = cell if len(cell) <= 60 else cell[:57] + "..."
            raise DataFormatError(
                f"{csv}: row {row + 2}, column {column}: malformed value {shown!r} "
                f"({type(err).__name__})"
            ) from None
    return pd.Series(values, index=frame.index, dtype=object)


def mnli_gold(labels: tuple[str, ...]) -> str | None:
    """MNLI's gold label: the label of at least 3 of 5 annotators; a bare label is the gold
    itself; else None (no majority)."""
    if len(labels) == 1:
        return labels[0]
    for label in LABELS:
        if labels.count(label) >= MNLI_GOLD_VOTES:
            return label
    return None


@lru_cache(maxsize=4)
def _load(csv: Path, mtime: float, size: int) -> pd.DataFrame:
    raw = read_csv_strictly(csv, "LiveNLI")
    missing = [column for column in REQUIRED_COLUMNS if column not in raw.columns]
    if missing:
        raise DataFormatError(f"{csv} is not LiveNLI: missing column(s) {', '.join(missing)}")
    frame = raw[list(REQUIRED_COLUMNS)].copy()
    if frame.empty:
        raise DataFormatError(f"{csv} has the LiveNLI columns but no rows")
    label_sets = _cells(frame, "multilabel", NLI.split, csv)
    frame["labels"] = label_sets
    frame["class_multi"] = label_sets.map(NLI.join)
    frame["class_simple"] = label_sets.map(NLI.collapse)
    frame["highlight_p"] = _cells(frame, "highlight_p", _spans, csv)
    frame["highlight_h"] = _cells(frame, "highlight_h", _spans, csv)
    frame["chaos_counts"] = _cells(frame, "chaos_dist", _chaos_counts, csv)
    frame["mnli_labels"] = _cells(frame, "mnli_labels", _mnli_labels, csv)
    frame["gold"] = frame["mnli_labels"].map(mnli_gold)
    frame["prompt_label"] = frame["uid"].str[-1].map(NLI_TO_LABEL)
    worker_number = frame["worker_id"].str.extract(r"(\d+)$")[0].astype(float)
    frame = frame.assign(_worker_number=worker_number)
    frame = frame.sort_values(["uid", "_worker_number", "worker_id"], kind="stable")
    return frame.drop(columns=["chaos_dist", "_worker_number"]).reset_index(drop=True)


def load_livenli_frame(path: str | Path | None = None, *, download: bool = True) -> pd.DataFrame:
    """LiveNLI as one row per (item, worker), labels parsed, rows sorted by uid then worker.

    Columns: ``uid, premise, hypothesis, worker_id, multilabel, explanation,
    highlight_p, highlight_h`` (lists of ``(start, end)`` character spans), ``labels``
    (frozenset), ``class_multi`` (``either-true``), ``class_simple`` (the study's rule),
    ``chaos_counts`` (tuple over LABELS or None), ``mnli_labels`` (tuple), ``gold`` (MNLI's
    3-of-5 majority, else None), ``prompt_label`` (the uid's letter: the label the MNLI
    hypothesis writer was asked for).  Returns a copy: callers may modify it.
    """
    return _load(*locate.file_key(resolve_livenli(path, download=download))).copy()


def item_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per item (index ``uid``): premise, hypothesis, gold, prompt_label, chaos_counts,
    mnli_labels, n_annotators, ``has_chaosnli``."""
    grouped = frame.groupby("uid", sort=True)
    columns = ["premise", "hypothesis", "gold", "prompt_label", "chaos_counts", "mnli_labels"]
    table = grouped[columns].first()
    table["n_annotators"] = grouped.size()
    table["has_chaosnli"] = table["chaos_counts"].notna()
    return table


def _populations(frame: pd.DataFrame, table: pd.DataFrame) -> dict[str, Population]:
    workers = frame.groupby("uid", sort=True)["class_simple"].agg(list)
    mnli = table["mnli_labels"][table["mnli_labels"].map(len) > 0]
    sizes = table["n_annotators"]
    return {
        "livenli": Population(
            "livenli",
            counts_frame(workers, LABELS),
            f"LiveNLI workers ({sizes.min()}-{sizes.max()} per item, several labels allowed)",
            primary=True,
        ),
        "chaosnli": chaosnli_population(table["chaos_counts"], LABELS),
        "mnli": Population(
            "mnli",
            counts_frame(mnli, LABELS),
            "MNLI annotators (5 per item; gold label only for 12)",
        ),
    }


def livenli_dataset(path: str | Path | None = None, *, download: bool = True) -> HLVDataset:
    """LiveNLI as an :class:`HLVDataset` (see the module docstring)."""
    return _dataset(*locate.file_key(resolve_livenli(path, download=download)))


@lru_cache(maxsize=4)
def _dataset(csv: Path, mtime: float, size: int) -> HLVDataset:
    frame = _load(csv, mtime, size)
    table = item_table(frame)
    table.index = table.index.astype(str)
    table.index.name = "item_id"
    annotations = pd.DataFrame(
        {
            "item_id": frame["uid"].astype(str),
            "annotator": frame["worker_id"],
            "labels": frame["labels"].map(lambda chosen: tuple(x for x in LABELS if x in chosen)),
            "label": frame["class_simple"],
            "multi_label": frame["class_multi"],
            "explanation": frame["explanation"],
            "highlight_p": frame["highlight_p"],
            "highlight_h": frame["highlight_h"],
        }
    )
    return HLVDataset(
        ref=DatasetRef("livenli", str(csv), locate.sha256_of(csv), "livenli"),
        space=NLI,
        items=table,
        text_fields=("premise", "hypothesis"),
        annotations=annotations,
        populations=_populations(frame, table),
        subsets={
            "all": tuple(table.index),
            "chaosnli": tuple(table.index[table["has_chaosnli"]]),
        },
        prompt=NLI_PROMPT,
        description="LiveNLI: 122 MNLI items, 10-38 crowd workers each with explanations",
        metadata_fields=("gold", "prompt_label"),
    )
