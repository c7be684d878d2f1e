"""Build the report: tables, figures, per-item explorer, ``report.md`` and ``report.html``.

:func:`build_report` is the orchestration behind ``partynli report``.  It reads the sources
into one annotation table, evaluates the settings (via :mod:`inspect_partynli.analysis`),
draws the figures (:mod:`.figures`), computes explanation metrics when asked
(:mod:`inspect_partynli.explanations`), and writes everything into one folder.  Each part that
the inputs do not allow (no sweeps, one participant, no explanations, ...) is *skipped with a
reason*: the reason is listed in the report and printed on stderr, and the rest goes on (a
part that fails unexpectedly is listed the same way; ``PARTYNLI_DEBUG=1`` prints its
traceback).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import OutputExistsError, SourceError, UsageError
from . import figures, parts
from .document import Figure, Report, Section, render_markdown
from .html import render_html
from .options import Encoders, ReportOptions, Skip

__all__ = ["Encoders", "ReportOptions", "ReportResult", "build_report", "check_out_dir"]


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
    """The output folder; refuses (:class:`OutputExistsError`) a non-empty one without force,
    and (:class:`UsageError`) one that is a file, lies below a file or cannot be written."""
    from ..outputs import check_output_folder

    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} is not empty; use --force to overwrite its files")
    return check_output_folder(out, "report folder")


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

    def __init__(self, table, dataset, out_dir: Path, options: ReportOptions) -> None:
        from ..analysis import human_table
        from ..estimators.base import DEFAULT_ESTIMATOR
        from ..estimators.table import row_estimators

        models = table[table["participant_type"] != "human"].reset_index(drop=True)
        # logprobs / verbalized runs: only in the estimator comparison, never in the settings
        sampling = row_estimators(models) == DEFAULT_ESTIMATOR
        self.models = models[sampling].reset_index(drop=True)
        self.estimates = models[~sampling].reset_index(drop=True)
        self.dataset = dataset
        self.out = out_dir
        self.options = options
        self.report = Report(title="PartyNLI report: label and explanation variation")
        self.files: list[Path] = []
        self.figures_section = Section("Figures")
        self.encoders = Encoders()
        self.humans = human_table(dataset)
        self.item_info = dataset.items
        self.subset_uids = {name: list(ids) for name, ids in dataset.subsets.items()}

    # ----------------------------------------------------------------- helpers
    def write_csv(self, frame: pd.DataFrame, name: str) -> str:
        from ..outputs import guard_formulas

        path = self.out / name
        guard_formulas(frame).to_csv(path, index=False)  # input text may start with "="
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
        except Skip as skip:
            self.report.skip(what, str(skip))
        except Exception as error:  # a bug or odd data in one part must not lose the others
            reason = f"failed: {type(error).__name__}: {error}"
            self.report.skip(what, reason)
            if os.environ.get("PARTYNLI_DEBUG"):  # the full traceback, for bug reports
                traceback.print_exc(file=sys.stderr)


# ------------------------------------------------------------------------ entry point
def build_report(
    sources: Iterable[str | Path],
    out_dir: str | Path,
    options: ReportOptions | None = None,
    **overrides,
) -> ReportResult:
    """Build the whole report from ``sources`` into ``out_dir`` and return what was written.

    ``options`` (or keyword overrides of :class:`ReportOptions` fields) select the dataset and
    its reference population, groups, item subset, explanation encoders, RandomMix draws, the
    metric conventions and whether to overwrite.
    Raises :class:`SourceError` for missing/unreadable sources and
    :class:`OutputExistsError` for a non-empty ``out_dir`` without ``force``; both before
    anything is written.
    """
    from ..analysis.references import dataset_name
    from ..annotations import AnnotationWarning, load_annotations
    from ..outputs import install_folder

    options = options or ReportOptions()
    for key, value in overrides.items():
        if not hasattr(options, key):
            raise TypeError(f"unknown report option {key!r}")
        setattr(options, key, value)
    paths = check_sources(sources)
    out = check_out_dir(out_dir, force=options.force)
    dataset = options.resolve_dataset(paths)
    name = dataset_name(dataset)
    if options.subset is not None and options.subset not in dataset.subsets:
        raise UsageError(
            f"unknown subset {options.subset!r} for dataset {name}; choose one of "
            f"{', '.join(dataset.subsets)}"
        )
    if options.reference is not None and options.reference not in dataset.populations:
        raise UsageError(
            f"unknown reference {options.reference!r} for dataset {name}; choose one of "
            f"{', '.join(dataset.populations)}"
        )
    encoders = options.encoders or Encoders.resolve(options)  # a bad --encoder fails first
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnnotationWarning)
        table = load_annotations(
            paths, explanations=options.explanations, progress=options.progress,
            participants=options.participants, num_params=options.num_params,
            labels=dataset.labels,
            exclude=tuple(options.exclude),
        )  # fmt: skip
    notes = []
    for warning in caught:  # said in the report too, and shown as usual
        if issubclass(warning.category, AnnotationWarning):
            notes += getattr(warning.message, "notes", [str(warning.message)])
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    if table.empty or not (table["participant_type"] != "human").any():
        raise SourceError(f"the sources hold no model annotations of the {name} task")
    unknown = sorted(set(table["sent_id"]) - set(dataset.items.index.astype(str)))
    if unknown and len(unknown) == table["sent_id"].nunique():
        raise SourceError(f"no annotated item is a {name} item (are these {name} logs?)")
    table, dropped = _known_items(table, dataset, name)
    # Everything is written into a fresh staging folder inside ``out`` and then moved into
    # place (outputs.install_folder): no writer can follow a link the folder already holds,
    # and --force removes exactly the stale files of the previous report's manifest.
    builder = _Builder(table, dataset, out, options)
    builder.encoders = encoders
    builder.report.intro += _input_notes(notes, options.notes, dropped)
    parts = _parts(builder)  # user errors (an unknown group member) surface here
    out.mkdir(parents=True, exist_ok=True)  # only once the inputs are known to be usable
    builder.out = Path(tempfile.mkdtemp(prefix=".partynli-report-", dir=out))
    try:
        with _Steps(len(parts) + 1, options.progress) as steps:
            for what, function in parts:
                steps.step(what)
                builder.attempt(what, function)
                steps.advance()
            steps.step("writing report.md and report.html")
            _write_documents(builder)
            steps.advance()
        files = install_folder(builder.out, out, force=options.force)
    finally:
        shutil.rmtree(builder.out, ignore_errors=True)
    for what, why in builder.report.skipped:
        print(f"partynli report: skipped {what}: {why}", file=sys.stderr)
    return ReportResult(out, files, list(builder.report.skipped))


def _known_items(table: pd.DataFrame, dataset, name: str) -> tuple[pd.DataFrame, list]:
    """``table`` without the rows of items the dataset does not have, and those item ids.

    A stray unknown ``sent_id`` (a typo, another dataset's row) must not disable the figures
    that need the items' texts and human labels: its rows are dropped with a note instead.
    """
    known = table["sent_id"].astype(str).isin(set(dataset.items.index.astype(str)))
    if known.all():
        return table, []
    dropped = sorted(set(table.loc[~known, "sent_id"].astype(str)))
    message = (
        f"{int((~known).sum())} annotation row(s) of {len(dropped)} item id(s) that are not "
        f"{name} items were left out: {', '.join(dropped[:5])}"
        + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
    )
    warnings.warn(message, ReportNote, stacklevel=2)
    return table[known].reset_index(drop=True), dropped


class ReportNote(UserWarning):
    """Something about the inputs the report says and prints (rows left out, ...)."""


def _input_notes(loader: Sequence[str], given: Sequence[str], dropped: Sequence[str]) -> list:
    """The report's opening notes: a partial run (cancelled, errored, missing epochs or runs)
    said first and plainly, then what the loader skipped and the rows left out."""
    partial = [note for note in (*given, *loader) if _is_partial(note)]
    other = [note for note in loader if not _is_partial(note)]
    lines = []
    if partial:
        lines.append(
            "PARTIAL RUN: these results come from an incomplete study, not a complete one. "
            + " ".join(f"{note}." for note in partial)
        )
    lines += [f"Note on the inputs: {note}." for note in other]
    if dropped:
        lines.append(
            f"Note on the inputs: rows of {len(dropped)} item id(s) that are not dataset items "
            f"were left out ({', '.join(dropped[:5])}{' ...' if len(dropped) > 5 else ''})."
        )
    return lines


def _is_partial(note: str) -> bool:
    from ..annotations import PARTIAL_NOTES

    return note.startswith(PARTIAL_NOTES)


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
    "Figures": 3, "Estimators: sampling vs log-probabilities vs verbalized": 3.5,
    "Explanations": 4, "Per-item table": 5, "Items": 6,
}  # fmt: skip


def _parts(builder: _Builder) -> list[tuple[str, Callable[[], None]]]:
    return parts.plan(builder)
