"""A small document model for the report, rendered to Markdown here and to HTML in :mod:`.html`.

The report is assembled once as a :class:`Report` (sections of paragraphs, tables, figures,
per-item cards and the list of skipped parts) so that ``report.md`` and ``report.html`` always
say the same thing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..labels import LABELS


@dataclass
class Paragraph:
    """Plain text (Markdown inline syntax is not interpreted in HTML; keep it plain)."""

    text: str


@dataclass
class Table:
    """A table shown in the report, with the CSV file that holds the same data."""

    frame: pd.DataFrame
    caption: str = ""
    csv: str | None = None  # file name relative to the report folder
    max_rows: int | None = None  # rows shown (the CSV always has all)


@dataclass
class Figure:
    """A saved figure: PNG (embedded in the HTML) and SVG beside it."""

    name: str
    caption: str
    png: Path
    svg: Path | None = None


@dataclass
class ItemCard:
    """One item as the study's explorer app shows it."""

    uid: str
    fields: list[tuple[str, str]]  # the item's text fields: (name, text), e.g. premise
    summary: str  # one line: gold label, human majority, metrics
    distributions: pd.DataFrame  # rows: humans / participants; columns: labels (shares), n
    human_explanations: list[tuple[str, str, str]]  # (annotator, label, explanation)
    participant_explanations: list[tuple[str, str, str]]  # (participant t#, label, text)
    labels: tuple[str, ...] = LABELS  # the dataset's label space (distribution columns)


@dataclass
class Section:
    title: str
    blocks: list[Paragraph | Table | Figure | ItemCard] = field(default_factory=list)
    anchor: str = ""

    def __post_init__(self) -> None:
        if not self.anchor:  # GitHub's heading anchors: keep word characters, spaces -> "-"
            kept = "".join(c for c in self.title.lower() if c.isalnum() or c in " -_")
            self.anchor = kept.replace(" ", "-")


@dataclass
class Report:
    title: str
    intro: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)

    def skip(self, what: str, why: str) -> None:
        """Record a part of the report that could not be produced, and why."""
        self.skipped.append((what, why))


# ----------------------------------------------------------------------------- Markdown
#: Markdown punctuation that can start emphasis, code, links or images, or split a table
#: cell, escaped with a backslash in input strings (``(`` ``!`` ``#`` are inert without
#: ``[`` or a line start, and every line starts with the report's own text).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_markdown(text: object) -> str:
    """Text from an input (participant names, item ids, explanations, reasons) as inert
    Markdown: HTML special characters as entities (``<script>``, ``<img onerror=...>`` stay
    text in every renderer), Markdown punctuation backslash-escaped (no links, images or
    emphasis), and line breaks as spaces (no headings or lists injected by a newline).

    Every string :func:`render_markdown` shows passes through here, as ``report.html``
    escapes every string it shows.
    """
    text = " ".join(str(text).splitlines())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def format_cell(value: object, digits: int = 2) -> str:
    """A table cell as text: floats rounded (never ``-0.00``), NaN/None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        text = f"{value:.{digits}f}"
        return text.lstrip("-") if float(text) == 0 else text  # no "-0.00"
    return str(value)


#: A cell that reads as a number: ``0.64``, ``-0.12 (0.30)``, ``1.7e-87``, ``1,405``, ``–`` or
#: label shares ``0.10/0.70/0.20``.
_NUMBER = r"[-+]?\d[\d,]*(\.\d+)?(e[-+]?\d+)?"
NUMBER_TEXT = re.compile(rf"^(–|{_NUMBER}( \({_NUMBER}\))?|{_NUMBER}(/{_NUMBER})+)$")


def is_number_column(column: pd.Series) -> bool:
    """Numbers (or number-like text such as ``0.64 (0.23)``): right-aligned, never wrapped."""
    if pd.api.types.is_numeric_dtype(column):
        return True
    if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
        return False
    values = column.dropna()
    return (
        len(values) > 0
        and all(isinstance(v, str) and NUMBER_TEXT.match(v) for v in values)
        and not all(v == "–" for v in values)
    )


def markdown_table(frame: pd.DataFrame, *, digits: int = 2, index: bool = False) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (no extra dependency)."""
    data = frame.reset_index() if index else frame
    header = [escape_markdown(c) for c in data.columns]
    rows = [[escape_markdown(format_cell(v, digits)) for v in row] for row in data.to_numpy()]
    numeric = [is_number_column(data[c]) for c in data.columns]
    align = ["---:" if n else ":---" for n in numeric]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    """The whole report as Markdown; figures are linked as PNG files beside ``report.md``."""
    out = [f"# {escape_markdown(report.title)}", ""]
    out += [line for text in report.intro for line in (escape_markdown(text), "")]
    if report.sections:
        links = (f"[{escape_markdown(s.title)}](#{s.anchor})" for s in report.sections)
        out += ["Contents: " + " · ".join(links), ""]
    for section in report.sections:
        out += [f"## {escape_markdown(section.title)}", ""]
        for block in section.blocks:
            out += _markdown_block(block)
    out += ["## Skipped", ""]
    if report.skipped:
        out += [f"- **{escape_markdown(what)}**: {escape_markdown(why)}"
                for what, why in report.skipped]  # fmt: skip
    else:
        out.append("Nothing was skipped.")
    out.append("")
    return "\n".join(out)


def _markdown_block(block: Paragraph | Table | Figure | ItemCard) -> list[str]:
    if isinstance(block, Paragraph):
        return [escape_markdown(block.text), ""]
    if isinstance(block, Table):
        frame = block.frame if block.max_rows is None else block.frame.head(block.max_rows)
        lines = []
        if block.caption:
            lines += [f"*{escape_markdown(block.caption)}*", ""]
        lines += [markdown_table(frame), ""]
        notes = []
        if block.max_rows is not None and len(block.frame) > block.max_rows:
            notes.append(f"first {block.max_rows} of {len(block.frame)} rows")
        if block.csv:
            notes.append(f"all rows: [{block.csv}]({block.csv})")
        if notes:
            lines += ["(" + "; ".join(notes) + ")", ""]
        return lines
    if isinstance(block, Figure):
        svg = f" ([SVG]({block.svg.name}))" if block.svg else ""
        caption = escape_markdown(block.caption)
        return [f"![{caption}]({block.png.name})", "", f"*{caption}*{svg}", ""]
    if isinstance(block, ItemCard):  # Markdown keeps the summary only; HTML has the card
        return [f"- **{escape_markdown(block.uid)}**: {escape_markdown(block.summary)}"]
    raise TypeError(f"unknown block {type(block).__name__}")
