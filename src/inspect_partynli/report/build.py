"""Build the report: tables, figures, per-item explorer, ``report.md`` and ``report.html``.

:func:`build_report` is the orchestration behind ``partynli report``.  It reads the sources
into one annotation table, evaluates the settings (via :mod:`inspect_partynli.settings`),
draws the figures (:mod:`.figures`), computes explanation metrics when asked
(:mod:`inspect_partynli.explanations`), and writes everything into one folder.  Each part that
the inputs do not allow (no sweeps, one participant, no explanations, ...) is *skipped with a
reason*: the reason is listed in the report and printed on stderr, and the rest goes on (a
part that fails unexpectedly is listed the same way; ``PARTYNLI_DEBUG=1`` prints its
traceback).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import OutputExistsError, SourceError, UsageError
from . import figures
from .document import Figure, Report, Section, render_markdown
from .html import render_html

#: Human annotators with more than this many items are shown individually (Figures 3, 4).
MIN_ANNOTATOR_ITEMS = 100
#: The item of the paper's Figure 1 (used when it has explanations; else the lowest-JS item).
FIGURE1_ITEM = "108083c"


@dataclass
class ReportOptions:
    """Everything ``partynli report`` can change; defaults are the paper's choices."""

    data: str | Path | None = None  # LiveNLI location (see livenli.resolve_livenli)
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)  # name -> participants
    subset: str | None = None  # None: Table 2 over the 50 ChaosNLI items, the rest over all
    explanations: bool = True
    encoder: str | object | None = None  # semantic encoder id/path/object (None: default)
    style_encoder: str | object | None = None
    random_mix_draws: int = 1000
    random_mix_size: int = 10
    seed: int = 0
    force: bool = False
    progress: bool = True
    projection_items: int | None = None  # Figure 11 over at most this many items (None: all)
    single: str | None = None  # unit of Table 2's SINGLE row (None: the lowest JS; a study's)
    participants: Mapping[str, str] | None = None  # model id -> participant name (log rows)
    num_params: Mapping[str, float] | None = None  # participant or model id -> billions
    encoders: Encoders | None = None  # already resolved (None: from encoder / style_encoder)
    svg: bool = False  # also write every figure as SVG (PNG is always written)
    device: str = "auto"  # where the encoders run: auto, cpu, cuda or mps


@dataclass
class ReportResult:
    """What :func:`build_report` wrote and skipped."""

    out_dir: Path
    files: list[Path]
    skipped: list[tuple[str, str]]


# ------------------------------------------------------------------------- validation
def check_sources(sources: Iterable[str | Path]) -> list[Path]:
    """Every source as a Path; :class:`SourceError` (one line) for any that does not exist."""
    paths = [Path(s).expanduser() for s in sources]
    if not paths:
        raise UsageError("no sources given: name Inspect logs, log folders or PartyNLI files")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SourceError(f"source not found: {', '.join(missing)}")
    return paths


def check_out_dir(out_dir: str | Path, *, force: bool) -> Path:
    """The output folder; refuses (:class:`OutputExistsError`) a non-empty one without force."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} is not empty; use --force to overwrite its files")
    return out


# ------------------------------------------------------------------------------ steps
class _Steps:
    """A rich progress bar over the report's steps (on stderr), or nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self.progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]report[/bold] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.task = self.progress.add_task("starting", total=total)

    def __enter__(self) -> _Steps:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description="done")
            self.progress.stop()

    def step(self, description: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=description)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)


class _Builder:
    """Holds the state of one report build; each ``_part_*`` method adds one part."""

    def __init__(self, table, livenli_df, out_dir: Path, options: ReportOptions) -> None:
        self.models = table[table["participant_type"] != "human"].reset_index(drop=True)
        self.livenli = livenli_df
        self.out = out_dir
        self.options = options
        self.report = Report(title="PartyNLI report: label and explanation variation")
        self.files: list[Path] = []
        self.figures_section = Section("Figures")
        self.encoders = Encoders()
        from .. import livenli_data as livenli_module

        self.humans = livenli_module.human_annotation_table(livenli_df)
        self.item_info = livenli_module.items(livenli_df)
        self.subset_uids = {
            name: livenli_module.subset_uids(livenli_df, name) for name in ("all", "chaosnli")
        }

    # ----------------------------------------------------------------- helpers
    def write_csv(self, frame: pd.DataFrame, name: str) -> str:
        path = self.out / name
        frame.to_csv(path, index=False)
        self.files.append(path)
        return name

    def add_figure(self, section: Section, fig, name: str, caption: str) -> None:
        formats = ("png", "svg") if self.options.svg else ("png",)
        paths = figures.save_figure(fig, self.out, name, formats)
        self.files += list(paths.values())
        section.blocks.append(Figure(name, caption, paths["png"], paths.get("svg")))

    def attempt(self, what: str, function: Callable[[], None]) -> None:
        """Run one part; a part that fails is skipped with its reason, never the whole report."""
        try:
            function()
        except _Skip as skip:
            self.report.skip(what, str(skip))
        except Exception as error:  # a bug or odd data in one part must not lose the others
            reason = f"failed: {type(error).__name__}: {error}"
            self.report.skip(what, reason)
            if os.environ.get("PARTYNLI_DEBUG"):  # the full traceback, for bug reports
                traceback.print_exc(file=sys.stderr)


@dataclass
class Encoders:
    """The explanation encoders, resolved once per report (so a model loads once and each
    note is printed once), with what a reader must know about them."""

    semantic: object = "none"  # an Encoder, or "none" (no semantic representation)
    style: object = "none"
    notes: list[str] = field(default_factory=list)  # e.g. "... using MiniLM instead"
    style_missing: str = ""  # why the style representation is absent (not switched off)
    semantic_missing: str = ""

    @classmethod
    def resolve(cls, options: ReportOptions) -> Encoders:
        """Resolve ``options.encoder`` / ``options.style_encoder`` (nothing when explanations
        are off).  Raises :class:`UsageError` for an encoder path that does not exist."""
        encoders = cls()
        if not options.explanations:
            return encoders
        from ..explanations import resolve_semantic_encoder, resolve_style_encoder

        def resolve(function, spec) -> tuple[object, str]:
            said: list[str] = []  # the resolver's notes (fallback used, model missing)
            encoder = function(spec, notify=said.append, device=options.device)
            for message in said:
                print(f"partynli report: note: {message}", file=sys.stderr)
            encoders.notes += said
            # None after a note: the model is missing (after none: the user switched it off)
            return ("none", said[-1] if said else "") if encoder is None else (encoder, "")

        encoders.semantic, encoders.semantic_missing = resolve(
            resolve_semantic_encoder, options.encoder
        )
        encoders.style, encoders.style_missing = resolve(resolve_style_encoder,
                                                         options.style_encoder)  # fmt: skip
        return encoders


class _Skip(Exception):
    """Raised inside a part: the inputs do not allow it (the message says why)."""


# ------------------------------------------------------------------------ entry point
def build_report(
    sources: Iterable[str | Path],
    out_dir: str | Path,
    options: ReportOptions | None = None,
    **overrides,
) -> ReportResult:
    """Build the whole report from ``sources`` into ``out_dir`` and return what was written.

    ``options`` (or keyword overrides of :class:`ReportOptions` fields) select the human data,
    groups, item subset, explanation encoders, RandomMix draws and whether to overwrite.
    Raises :class:`SourceError` for missing/unreadable sources and
    :class:`OutputExistsError` for a non-empty ``out_dir`` without ``force``; both before
    anything is written.
    """
    from .. import livenli_data as livenli_module
    from ..annotations import load_annotations

    options = options or ReportOptions()
    for key, value in overrides.items():
        if not hasattr(options, key):
            raise TypeError(f"unknown report option {key!r}")
        setattr(options, key, value)
    if options.subset not in (None, "all", "chaosnli"):
        raise UsageError(f"unknown subset {options.subset!r}; choose all or chaosnli")
    paths = check_sources(sources)
    out = check_out_dir(out_dir, force=options.force)
    encoders = options.encoders or Encoders.resolve(options)  # a bad --encoder fails first
    livenli_df = livenli_module.load_livenli(options.data)
    table = load_annotations(
        paths, explanations=options.explanations, progress=options.progress,
        participants=options.participants, num_params=options.num_params,
    )  # fmt: skip
    if table.empty or not (table["participant_type"] != "human").any():
        raise SourceError("the sources hold no model annotations of the livenli task")
    unknown = sorted(set(table["sent_id"]) - set(livenli_df["uid"]))
    if unknown and len(unknown) == table["sent_id"].nunique():
        raise SourceError("no annotated item is a LiveNLI item (are these livenli logs?)")
    builder = _Builder(table, livenli_df, out, options)
    builder.encoders = encoders
    parts = _parts(builder)  # user errors (an unknown group member) surface here
    out.mkdir(parents=True, exist_ok=True)  # only once the inputs are known to be usable
    with _Steps(len(parts) + 1, options.progress) as steps:
        for what, function in parts:
            steps.step(what)
            builder.attempt(what, function)
            steps.advance()
        steps.step("writing report.md and report.html")
        _write_documents(builder)
        steps.advance()
    for what, why in builder.report.skipped:
        print(f"partynli report: skipped {what}: {why}", file=sys.stderr)
    return ReportResult(out, builder.files, list(builder.report.skipped))


def _write_documents(builder: _Builder) -> None:
    report = builder.report
    report.sections.append(builder.figures_section)
    report.sections.sort(key=lambda s: _SECTION_ORDER.get(s.title, 99))
    for name, text in (
        ("report.md", render_markdown(report)),
        ("report.html", render_html(report)),
    ):
        path = builder.out / name
        path.write_text(text, encoding="utf-8")
        builder.files.append(path)


_SECTION_ORDER = {
    "Inputs": 0, "Table 2: settings vs human populations": 1, "Table 5: every participant": 2,
    "Figures": 3, "Explanations": 4, "Per-item table": 5, "Items": 6,
}  # fmt: skip


def _parts(builder: _Builder) -> list[tuple[str, Callable[[], None]]]:
    from . import parts

    return parts.plan(builder)
