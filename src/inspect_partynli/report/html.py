"""Render a :class:`~.document.Report` as one self-contained HTML page.

Everything the page needs is inside it: CSS inline, figures embedded as base64 PNG (the SVG
files beside the page are linked for print quality), no script, no external URL, so the page
opens offline, can be mailed as one file, and shows no console errors.
"""

from __future__ import annotations

import base64
import html
import math

import pandas as pd

from ..labels import ERROR_LABEL, LABELS
from .document import Figure, ItemCard, Paragraph, Report, Table, format_cell, is_number_column
from .figures import LABEL_COLORS

CSS = """
:root { --fg: #222; --muted: #666; --line: #ddd; --bg: #fff; --soft: #f6f7f9; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 1.7rem; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem;
     border-bottom: 1px solid var(--line); }
nav { font-size: .9rem; margin: .8rem 0 1.2rem; }
nav a { margin-right: .9rem; white-space: nowrap; }
a { color: #0b5cad; }
p.caption { color: var(--muted); font-size: .9rem; margin: .3rem 0 1.2rem; }
.table-wrap { overflow-x: auto; margin: .4rem 0; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { padding: .25rem .55rem; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: var(--soft); position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1rem 0 1.6rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .9rem; }
ul.skipped li { margin: .2rem 0; }
details.item { border: 1px solid var(--line); border-radius: 6px; margin: .4rem 0;
               background: var(--bg); }
details.item > summary { cursor: pointer; padding: .45rem .7rem; background: var(--soft);
                         border-radius: 6px; }
details.item[open] > summary { border-bottom: 1px solid var(--line);
                               border-radius: 6px 6px 0 0; }
details.item .body { padding: .6rem .8rem; }
.pair { display: grid; grid-template-columns: 7rem 1fr; gap: .2rem .8rem; margin-bottom: .6rem; }
.pair .k { color: var(--muted); }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
@media (max-width: 800px) { .cols { grid-template-columns: 1fr; } }
.expl { list-style: none; padding: 0; margin: 0; font-size: .88rem; }
.expl li { padding: .3rem 0; border-bottom: 1px dotted var(--line); }
.who { font-weight: 600; margin-right: .3rem; }
.tag { display: inline-block; padding: 0 .4rem; border-radius: 3px; color: #fff;
       font-size: .78rem; margin-right: .35rem; }
.bar { display: flex; width: 14rem; height: .9rem; border: 1px solid var(--line); }
.bar span { display: block; height: 100%; }
.legend span.tag { margin-right: .6rem; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_html(report: Report) -> str:
    """The whole report as a standalone HTML document (UTF-8 text)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body><main>",
        f"<h1>{_e(report.title)}</h1>",
    ]
    parts += [f"<p>{_e(text)}</p>" for text in report.intro]
    links = [f'<a href="#{_e(s.anchor)}">{_e(s.title)}</a>' for s in report.sections]
    parts.append(f'<nav>{"".join(links)}<a href="#skipped">Skipped</a></nav>')
    for section in report.sections:
        parts.append(f'<section id="{_e(section.anchor)}"><h2>{_e(section.title)}</h2>')
        cards = [b for b in section.blocks if isinstance(b, ItemCard)]
        if cards:
            parts.append(_legend(cards[0].labels))
        parts += [_block(block) for block in section.blocks]
        parts.append("</section>")
    parts.append('<section id="skipped"><h2>Skipped</h2>')
    if report.skipped:
        items = "".join(f"<li><b>{_e(w)}</b>: {_e(why)}</li>" for w, why in report.skipped)
        parts.append(f'<ul class="skipped">{items}</ul>')
    else:
        parts.append("<p>Nothing was skipped.</p>")
    parts += ["</section>", "</main></body>", "</html>", ""]
    return "\n".join(parts)


def _block(block: Paragraph | Table | Figure | ItemCard) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{_e(block.text)}</p>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return _figure(block)
    if isinstance(block, ItemCard):
        return _card(block)
    raise TypeError(f"unknown block {type(block).__name__}")


def html_table(frame: pd.DataFrame, *, digits: int = 2) -> str:
    """A DataFrame as an HTML table (numbers right-aligned), values escaped."""
    numeric = [is_number_column(frame[c]) for c in frame.columns]
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="num">{_e(format_cell(v, digits))}</td>' if n
            else f"<td>{_e(format_cell(v, digits))}</td>"
            for v, n in zip(values, numeric, strict=True)
        )  # fmt: skip
        rows.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _table(block: Table) -> str:
    frame = block.frame if block.max_rows is None else block.frame.head(block.max_rows)
    notes = []
    if block.max_rows is not None and len(block.frame) > block.max_rows:
        notes.append(f"first {block.max_rows} of {len(block.frame)} rows")
    if block.csv:
        notes.append(f'CSV: <a href="{_e(block.csv)}">{_e(block.csv)}</a>')
    caption = _e(block.caption) + (f" ({'; '.join(notes)})" if notes else "")
    return html_table(frame) + (f'<p class="caption">{caption}</p>' if caption else "")


def _figure(block: Figure) -> str:
    data = base64.b64encode(block.png.read_bytes()).decode("ascii")
    links = f'<a href="{_e(block.png.name)}">PNG</a>'
    if block.svg is not None:
        links += f' · <a href="{_e(block.svg.name)}">SVG</a>'
    return (
        f'<figure id="fig-{_e(block.name)}"><img alt="{_e(block.caption)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{_e(block.caption)} ({links})'
        "</figcaption></figure>"
    )


def _tag(label: str) -> str:
    color = LABEL_COLORS.get(label, "#888888")
    return f'<span class="tag" style="background:{color}">{_e(label)}</span>'


def _legend(labels: tuple[str, ...] = LABELS) -> str:
    tags = "".join(_tag(label) for label in (*labels, ERROR_LABEL))
    return f'<p class="legend">Label colours: {tags}</p>'


def _bar(shares: pd.Series, labels: tuple[str, ...]) -> str:
    spans = []
    for label in labels:
        share = float(shares.get(label, 0.0) or 0.0)
        if share > 0 and not math.isnan(share):
            spans.append(
                f'<span title="{_e(label)} {share:.2f}" '
                f'style="width:{100 * share:.1f}%;background:{LABEL_COLORS[label]}"></span>'
            )
    return f'<div class="bar">{"".join(spans)}</div>'


def _card(card: ItemCard) -> str:
    rows = []
    for name, shares in card.distributions.iterrows():
        cells = "".join(
            f'<td class="num">{format_cell(float(shares.get(label, 0.0)))}</td>'
            for label in card.labels
        )
        n = shares.get("n")
        n_text = "" if n is None or pd.isna(n) else str(int(n))
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{_bar(shares, card.labels)}</td>{cells}"
            f'<td class="num">{n_text}</td></tr>'
        )
    head = "".join(f"<th>{_e(label)}</th>" for label in card.labels)
    dist = (
        '<div class="table-wrap"><table><thead><tr><th>annotators</th><th>distribution</th>'
        f"{head}<th>n</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )

    def explanations(entries: list[tuple[str, str, str]]) -> str:
        if not entries:
            return "<p>No explanations.</p>"
        lis = "".join(
            f'<li>{_tag(label)}<span class="who">{_e(who)}</span>{_e(text)}</li>'
            for who, label, text in entries
        )
        return f'<ul class="expl">{lis}</ul>'

    return (
        f'<details class="item" id="item-{_e(card.uid)}"><summary><b>{_e(card.uid)}</b> · '
        f'{_e(card.summary)}</summary><div class="body">'
        '<div class="pair">'
        + "".join(f'<span class="k">{_e(k)}</span><span>{_e(v)}</span>' for k, v in card.fields)
        + "</div>"
        f"{dist}"
        f'<div class="cols"><div><h4>Humans ({len(card.human_explanations)})</h4>'
        f"{explanations(card.human_explanations)}</div>"
        f"<div><h4>Participants ({len(card.participant_explanations)})</h4>"
        f"{explanations(card.participant_explanations)}</div></div>"
        "</div></details>"
    )
