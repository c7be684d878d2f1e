"""A user's own dataset, described by a YAML card (see docs/datasets.md)::

    name: toy-reviews
    labels: [negative, neutral, positive]   # order = tie order and table order
    items: items.csv                  # columns: id, plus every field the prompt names
    annotations: annotations.csv      # columns: item_id, annotator, label ("a|b" for several),
                                      #          explanation (optional)
    multi_label: neutral              # optional: what several labels become (a label, or drop)
    synonyms: {positive: [pos, good]} # optional: extra words the parser accepts for a label
    prompt:
      system: "You label the sentiment of short product reviews."   # text or a file; optional
      user: 'Review: {text}. Answer with JSON: {{"label": "...", "explanation": "..."}}'

Paths are relative to the card.  ``{field}`` placeholders name columns of items.csv; doubled
braces are literal braces.  The card's one human population is named after ``name``.  Every
problem raises :class:`CardError`, one line naming the card and the key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ..labels import LabelSpace
from ..prompts import PromptSpec, template_fields
from .base import DataFormatError, DatasetRef, HLVDataset, Population, counts_frame
from .livenli import read_csv_strictly

KEYS = (
    "name",
    "labels",
    "items",
    "annotations",
    "multi_label",
    "synonyms",
    "prompt",
    "description",
)
REQUIRED = ("name", "labels", "items", "annotations", "prompt")
PROMPT_KEYS = ("system", "user")
ITEM_ID = "id"
ANNOTATION_COLUMNS = ("item_id", "annotator", "label")
#: What ``multi_label`` may say instead of a label: several labels drop the answer.
DROP = "drop"
#: Separator of several labels in one annotations.csv cell.
LABEL_SEPARATOR = "|"
#: A prompt value that looks like a file name (no spaces, a suffix) is read from that file.
_FILE_NAME = re.compile(r"^[^\s{}]+\.[A-Za-z0-9]{1,8}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class CardError(DataFormatError):
    """A dataset card that cannot be used; the message names the card and the key."""


class _Card:
    """Reads one card, raising :class:`CardError` naming the key for every problem."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    def fail(self, key: str, problem: str) -> CardError:
        return CardError(f"{self.path}: {key}: {problem}")

    def mapping(self) -> dict[str, Any]:
        import yaml

        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CardError(f"{self.path}: not a UTF-8 text file, so not a YAML card") from None
        except OSError as error:
            raise CardError(f"{self.path}: cannot be read ({error.strerror})") from None
        try:
            card = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or "invalid YAML"
            raise CardError(f"{self.path}: not valid YAML{where} ({problem})") from None
        if not isinstance(card, dict):
            raise CardError(
                f"{self.path}: a dataset card is a YAML mapping with keys {', '.join(REQUIRED)}"
            )
        unknown = [str(key) for key in card if key not in KEYS]
        if unknown:
            raise self.fail(unknown[0], f"unknown key; a card has {', '.join(KEYS)}")
        for key in REQUIRED:
            if card.get(key) in (None, "", [], {}):
                raise self.fail(key, "missing (required)")
        return card

    def file(self, key: str, value: object) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a file name, got {value!r}")
        found = (self.base / value).expanduser()
        if not found.is_file():
            raise self.fail(key, f"file not found: {found}")
        return found

    def csv(self, key: str, value: object) -> tuple[Path, pd.DataFrame]:
        path = self.file(key, value)
        try:
            frame = read_csv_strictly(path, "a CSV table")
        except DataFormatError as error:
            raise self.fail(key, str(error)) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        return path, frame

    def text(self, key: str, value: object) -> tuple[str, Path | None]:
        if not isinstance(value, str):
            raise self.fail(key, f"must be text or a file name, got {type(value).__name__}")
        if "\n" not in value and _FILE_NAME.match(value.strip()):
            path = self.file(key, value.strip())
            try:
                return path.read_text(encoding="utf-8"), path
            except (UnicodeDecodeError, OSError):
                raise self.fail(key, f"{path} is not a UTF-8 text file") from None
        return value, None


def _labels(card: _Card, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise card.fail("labels", "must be a list of at least two label names")
    labels = tuple(str(label).strip() if isinstance(label, (str, int)) else "" for label in value)
    for label in labels:
        if not label or LABEL_SEPARATOR in label or label.lower() == "error":
            raise card.fail("labels", f"{label!r} is not a usable label name")
    if len(set(labels)) != len(labels):
        twice = next(label for label in labels if labels.count(label) > 1)
        raise card.fail("labels", f"label {twice!r} is listed twice")
    return labels


def _space(card: _Card, raw: Mapping[str, Any], labels: tuple[str, ...]) -> LabelSpace:
    multi = raw.get("multi_label", DROP)
    multi = DROP if multi is None else str(multi).strip()
    if multi != DROP and multi not in labels:
        raise card.fail(
            "multi_label", f"{multi!r} is not one of the labels ({', '.join(labels)}) or 'drop'"
        )
    synonyms_raw = raw.get("synonyms") or {}
    if not isinstance(synonyms_raw, dict):
        raise card.fail("synonyms", "must map a label to a list of words")
    synonyms: dict[str, tuple[str, ...]] = {}
    for label, words in synonyms_raw.items():
        if str(label) not in labels:
            raise card.fail(f"synonyms.{label}", f"{label!r} is not one of the labels")
        words = [words] if isinstance(words, str) else words
        if not isinstance(words, list) or not all(
            isinstance(w, (str, int)) and str(w).strip() for w in words
        ):
            raise card.fail(f"synonyms.{label}", "must be a list of words")
        synonyms[str(label)] = tuple(str(w).strip() for w in words)
    taken: dict[str, str] = {label.lower(): label for label in labels}
    for label, words in synonyms.items():
        for word in words:
            owner = taken.setdefault(" ".join(word.lower().split()), label)
            if owner != label:
                raise card.fail(f"synonyms.{label}", f"{word!r} already names the label {owner!r}")
    return LabelSpace(labels, synonyms, None if multi == DROP else multi)


def _items(card: _Card, value: object) -> tuple[Path, pd.DataFrame]:
    path, items = card.csv("items", value)
    if ITEM_ID not in items.columns:
        raise card.fail(
            "items", f"{path} has no '{ITEM_ID}' column (columns: {', '.join(items.columns)})"
        )
    items[ITEM_ID] = items[ITEM_ID].str.strip()
    if items.empty or (items[ITEM_ID] == "").all():
        raise card.fail("items", f"{path} has no items")
    if (items[ITEM_ID] == "").any():
        row = int((items[ITEM_ID] == "").to_numpy().argmax()) + 2
        raise card.fail("items", f"{path}: row {row} has an empty id")
    twice = items[ITEM_ID][items[ITEM_ID].duplicated()]
    if len(twice):
        raise card.fail("items", f"{path}: duplicate item id {twice.iloc[0]!r}")
    return path, items.set_index(ITEM_ID).sort_index()


def _prompt(card: _Card, value: object, columns: list[str]) -> tuple[PromptSpec, list[Path]]:
    if not isinstance(value, dict):
        raise card.fail("prompt", "must be a mapping with 'user' (and optionally 'system')")
    unknown = [str(key) for key in value if key not in PROMPT_KEYS]
    if unknown:
        raise card.fail(f"prompt.{unknown[0]}", "unknown key; a prompt has system and user")
    if not value.get("user"):
        raise card.fail("prompt.user", "missing (required)")
    user, user_file = card.text("prompt.user", value["user"])
    system, system_file = card.text("prompt.system", value.get("system") or "")
    try:
        fields = template_fields(user)
    except ValueError as error:
        raise card.fail("prompt.user", str(error)) from None
    if not fields:
        raise card.fail("prompt.user", "names no item field; use {column} for the item's text")
    for name in fields:
        if name not in columns:
            raise card.fail(
                "prompt.user",
                f"placeholder {{{name}}} names no column of items.csv ({', '.join(columns)})",
            )
    files = [path for path in (user_file, system_file) if path is not None]
    return PromptSpec(system=system, user=user, reply_format="flat"), files


def _annotations(
    card: _Card, value: object, space: LabelSpace, items: pd.DataFrame
) -> tuple[Path, pd.DataFrame]:
    path, raw = card.csv("annotations", value)
    missing = [c for c in ANNOTATION_COLUMNS if c not in raw.columns]
    if missing:
        raise card.fail("annotations", f"{path} lacks column(s) {', '.join(missing)}")
    rows = []
    known = set(items.index)
    for number, record in enumerate(raw.to_dict("records"), start=2):
        item = str(record["item_id"]).strip()
        if item not in known:
            raise card.fail(
                "annotations", f"{path}: row {number}: unknown item {item!r} (not in items)"
            )
        given = [
            part.strip() for part in str(record["label"]).split(LABEL_SEPARATOR) if part.strip()
        ]
        if not given:
            raise card.fail("annotations", f"{path}: row {number}: empty label")
        for label in given:
            if label not in space.index:
                raise card.fail(
                    "annotations",
                    f"{path}: row {number}: label {label!r} is not in labels "
                    f"({', '.join(space.labels)})",
                )
        labels = tuple(label for label in space.labels if label in given)
        rows.append(
            {
                "item_id": item,
                "annotator": str(record["annotator"]).strip(),
                "labels": labels,
                "label": space.collapse(labels),
                "multi_label": space.join(labels),
                "explanation": str(record.get("explanation") or ""),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["item_id", "annotator", "labels", "label", "multi_label", "explanation"]
    )
    if frame.duplicated(["item_id", "annotator"]).any():
        item, annotator = frame.loc[
            frame.duplicated(["item_id", "annotator"]), ["item_id", "annotator"]
        ].iloc[0]
        raise card.fail(
            "annotations", f"{path}: annotator {annotator!r} appears twice for item {item!r}"
        )
    return path, frame


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
        digest.update(b"\x00")
    return digest.hexdigest()


def card_dataset(path: str | Path) -> HLVDataset:
    """The dataset a YAML card describes (raises :class:`CardError` naming the key)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CardError(f"dataset card not found: {path}")
    path = path.resolve()
    files = [path, *_named_files(path)]
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file())
    return _load_card(path, stamp)


def _named_files(path: Path) -> list[Path]:
    """The files a card names (best effort, for the cache key; validation is in _load_card)."""
    try:
        import yaml

        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - reported properly when the card is loaded
        return []
    if not isinstance(raw, dict):
        return []
    prompt = raw.get("prompt") if isinstance(raw.get("prompt"), dict) else {}
    names = [raw.get("items"), raw.get("annotations"), prompt.get("system"), prompt.get("user")]
    return [path.parent / n for n in names if isinstance(n, str) and _FILE_NAME.match(n.strip())]


@lru_cache(maxsize=8)
def _load_card(path: Path, stamp: tuple) -> HLVDataset:  # noqa: ARG001 - stamp keys the cache
    card = _Card(path)
    raw = card.mapping()
    name = str(raw["name"]).strip()
    if not _NAME.match(name):
        raise card.fail("name", f"{name!r} must be letters, digits, '-', '_' or '.'")
    labels = _labels(card, raw["labels"])
    space = _space(card, raw, labels)
    items_path, items = _items(card, raw["items"])
    prompt, prompt_files = _prompt(card, raw["prompt"], list(items.columns))
    annotations_path, annotations = _annotations(card, raw["annotations"], space, items)
    counts = counts_frame(
        {
            **{item: [] for item in items.index},
            **annotations.groupby("item_id")["label"].agg(list).to_dict(),
        },
        labels,
    )
    counts = counts[counts.sum(axis=1) > 0]
    description = str(raw.get("description") or f"{name} annotators")
    return HLVDataset(
        ref=DatasetRef(
            name, str(path), _digest([path, items_path, annotations_path, *prompt_files]), "card"
        ),
        space=space,
        items=items,
        text_fields=prompt.fields,
        annotations=annotations,
        populations={name: Population(name, counts, description, primary=True)},
        subsets={"all": tuple(items.index)},
        prompt=prompt,
        description=description,
    )
