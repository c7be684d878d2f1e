"""Arguments and source reading shared by the ``partynli`` commands.

Every command that reads annotations takes the same sources and options; they are defined
once here so that their names, metavars and help texts cannot drift apart:

* :func:`add_sources` -- positional ``SOURCE...`` (logs, log folders, PartyNLI files);
* :func:`add_dataset` -- ``--dataset livenli|varierr|CARD.yaml`` (read with
  :func:`load_dataset`: default from the logs' headers, else livenli);
* :func:`add_data` -- ``--data PATH`` (where the dataset's file is);
* :func:`add_subset` -- ``--subset NAME`` (one of the dataset's subsets);
* :func:`add_reference` -- ``--reference POPULATION`` (default: the dataset's primary one);
* :func:`add_conventions` -- the metric conventions (read back with :func:`conventions`);
* :func:`add_naming` -- ``--participant MODEL=NAME`` and ``--num-params PARTICIPANT=BILLIONS``
  (read back with :func:`naming`);
* :func:`add_progress` -- ``--progress/--no-progress`` (read back with :func:`progress`).

:func:`read_sources` reads the sources of such a command into one annotation table, with
the loader's warnings as one line each on stderr and an empty result as one error line
that says what was skipped (so a log of another task alone fails with exit 2).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..design import ALL_SUBSET
from ..errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from ..analysis import Conventions


# ------------------------------------------------------------------------------ arguments
def add_sources(parser: argparse.ArgumentParser, *, nargs: str = "+", help: str = "") -> None:
    """Positional ``SOURCE...``: Inspect logs, folders of logs or PartyNLI files."""
    parser.add_argument(
        "sources", nargs=nargs, metavar="SOURCE",
        help=help or "Inspect logs (.eval/.json), folders of logs, or PartyNLI files "
        "(.csv/.parquet)",
    )  # fmt: skip
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN",
        help="leave out logs and files whose path or a folder on it matches this glob "
        "(repeatable; e.g. --exclude offline)",
    )  # fmt: skip


def add_data(parser: argparse.ArgumentParser, *, purpose: str = "") -> None:
    """``--dataset`` (:func:`add_dataset`) and ``--data PATH``: the dataset's file or its
    folder (default ``$INSPECT_PARTYNLI_DATA``)."""
    add_dataset(parser)
    suffix = f"; {purpose}" if purpose else ""
    parser.add_argument(
        "--data", metavar="PATH",
        help=f"the dataset's file or folder (default: $INSPECT_PARTYNLI_DATA){suffix}",
    )  # fmt: skip


def add_subset(
    parser: argparse.ArgumentParser, *, default: str | None = ALL_SUBSET, help: str = ""
) -> None:
    """``--subset NAME``: one of the dataset's subsets (LiveNLI: all, chaosnli)."""
    parser.add_argument(
        "--subset", metavar="NAME", default=default,
        help=help or "items: one of the dataset's subsets (LiveNLI: all 122, or chaosnli, the "
        f"50 with ChaosNLI and MNLI labels; default: {default})",
    )  # fmt: skip


def add_reference(parser: argparse.ArgumentParser) -> None:
    """``--reference POPULATION``: the human population to compare with (default: primary)."""
    parser.add_argument(
        "--reference", metavar="POPULATION", default=None,
        help="human reference population of the dataset (LiveNLI: livenli, chaosnli, mnli; "
        "default: the dataset's primary population)",
    )  # fmt: skip


def annotator_population(dataset, reference: str | None) -> str:
    """The population whose annotators (and explanations) a command uses: ``--reference``
    if it names the dataset's primary population, which alone has per-annotator rows."""
    chosen = reference or dataset.primary
    if chosen not in dataset.populations:
        raise UsageError(
            f"unknown reference {chosen!r} for dataset {dataset.name}; choose one of "
            f"{', '.join(dataset.populations)}"
        )
    if chosen != dataset.primary:
        raise UsageError(
            f"population {chosen!r} of {dataset.name} is label counts only (no annotators, no "
            f"explanations); the one with annotators is {dataset.primary!r}"
        )
    return chosen


def add_conventions(parser: argparse.ArgumentParser) -> None:
    """The metric conventions (:class:`~inspect_partynli.analysis.Conventions`), paper's
    values by default: ``--errors``, ``--kl-epsilon``, ``--ddof``, ``--log-base``."""
    from ..analysis.conventions import ERRORS, PAPER

    group = parser.add_argument_group("metric conventions (defaults: the paper's)")
    group.add_argument(
        "--errors", choices=ERRORS, default=PAPER.errors,
        help="parse failures in alpha: their own category (the paper) or missing values",
    )  # fmt: skip
    group.add_argument(
        "--kl-epsilon", type=float, default=PAPER.kl_epsilon, metavar="EPS",
        help=f"added to both distributions before KL (default {PAPER.kl_epsilon:g})",
    )  # fmt: skip
    group.add_argument(
        "--ddof", type=int, default=PAPER.ddof,
        help=f"delta degrees of freedom of the std over items (default {PAPER.ddof})",
    )  # fmt: skip
    group.add_argument(
        "--log-base", type=float, default=None, metavar="BASE",
        help="logarithm base of entropy and JS (default: natural log, nats)",
    )  # fmt: skip


def conventions(args: argparse.Namespace) -> Conventions:
    """The :class:`~inspect_partynli.analysis.Conventions` of a command's options (those of
    :func:`add_conventions`, plus ``--seed``); one UsageError line for a bad value."""
    from ..analysis.conventions import PAPER

    chosen = {
        key: getattr(args, key)
        for key in ("errors", "kl_epsilon", "ddof", "log_base", "seed")
        if getattr(args, key, None) is not None
    }
    try:
        return PAPER.replace(**chosen)
    except ValueError as error:
        raise UsageError(str(error)) from None


def add_dataset(parser: argparse.ArgumentParser) -> None:
    """``--dataset livenli|varierr|CARD.yaml``: the dataset the annotations are of."""
    parser.add_argument(
        "--dataset", metavar="NAME|CARD",
        help="the dataset the annotations are of: livenli, varierr or a dataset card "
        "(CARD.yaml); default: the one the logs' headers record, else livenli",
    )  # fmt: skip


def load_dataset(args: argparse.Namespace):
    """The dataset of a command (``--dataset``, else the sources' log headers, else LiveNLI;
    ``--data`` says where a built-in dataset's file is)."""
    from ..annotations import sources_dataset

    return sources_dataset(
        getattr(args, "sources", None) or [], getattr(args, "dataset", None),
        data=getattr(args, "data", None),
    )  # fmt: skip


def add_naming(parser: argparse.ArgumentParser) -> None:
    """``--participant MODEL=NAME`` and ``--num-params PARTICIPANT=BILLIONS`` (repeatable)."""
    parser.add_argument(
        "--participant", action="append", default=[], metavar="MODEL=NAME",
        help="name the participant of a model's log rows (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--num-params", action="append", default=[], metavar="PARTICIPANT=BILLIONS",
        help="model size in billions for a participant or model id (repeatable; --setting size "
        "needs sizes for logs that `partynli run` did not write)",
    )  # fmt: skip


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device auto|cpu|cuda|mps``: where the sentence encoders run."""
    from ..explanations.encoders import DEVICES  # numpy only; torch loads with a model

    parser.add_argument(
        "--device", choices=DEVICES, default="auto",
        help="where sentence encoders run: auto (CUDA or MPS when torch sees one, else CPU; "
        "the choice is logged), cpu, cuda or mps (default: auto)",
    )  # fmt: skip


def checked_device(args: argparse.Namespace) -> str:
    """``args.device``, refused at once (one line) when it names an accelerator torch does not
    see; ``auto`` is resolved only when a model loads (a fully cached run never needs torch)."""
    if args.device in ("cuda", "mps"):
        from ..explanations.encoders import choose_device

        choose_device(args.device)
    return args.device


def add_formula_guard(parser: argparse.ArgumentParser) -> None:
    """``--formula-guard/--no-formula-guard``: CSV text cells that start like a spreadsheet
    formula get a leading ``'`` (default; see :func:`inspect_partynli.outputs.guard_formulas`)."""
    parser.add_argument(
        "--formula-guard", action=argparse.BooleanOptionalAction, default=True,
        help="in CSV, prefix ' to text starting with = + - @ so spreadsheets do not run it "
        "as a formula (default: on; Parquet is always raw)",
    )  # fmt: skip


def add_progress(parser: argparse.ArgumentParser) -> None:
    """``--progress/--no-progress``: progress bars on stderr (default: when it is a terminal)."""
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )  # fmt: skip


def whole_number(minimum: int = 0) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``minimum`` (``--seed -1`` is a
    one-line usage error, not a numpy traceback after the sources were read)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    convert.__name__ = "whole number"  # argparse names the type in its messages
    return convert


# ------------------------------------------------------------------------------ reading back
def parse_mapping(items: Sequence[str], option: str, convert: Callable[[str], object]) -> dict:
    """``["a=1", "b=2"]`` -> ``{"a": convert("1"), ...}``; a UsageError names a bad item."""
    mapping = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            mapping[key.strip()] = convert(value.strip())
        except ValueError:
            raise UsageError(f"{option} {item!r}: expected KEY=VALUE") from None
    return mapping


def naming(args: argparse.Namespace) -> dict[str, dict]:
    """``participants`` and ``num_params`` keyword arguments of ``load_annotations`` from the
    options of :func:`add_naming`."""
    return {
        "participants": parse_mapping(args.participant, "--participant", str),
        "num_params": parse_mapping(args.num_params, "--num-params", float),
    }


def progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars: ``--progress``/``--no-progress``, else stderr is a tty."""
    chosen = getattr(args, "progress", None)
    return sys.stderr.isatty() if chosen is None else bool(chosen)


# ------------------------------------------------------------------------------ reading
@contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """Collect the messages of :class:`AnnotationWarning` s raised inside the block.

    The list is filled when the block ends; other warnings are shown as usual.
    """
    from ..annotations import AnnotationWarning

    messages: list[str] = []
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AnnotationWarning)
            yield messages
    finally:
        # outside the recording block: inside it, showing a warning would record it again
        # (appending to the list being read -- an endless loop)
        for warning in caught:
            if issubclass(warning.category, AnnotationWarning):
                messages.append(str(warning.message))
            else:
                warnings.showwarning(warning.message, warning.category,
                                     warning.filename, warning.lineno)  # fmt: skip


def print_warnings(command: str, messages: Sequence[str]) -> None:
    """One line per message on stderr: ``partynli CMD: warning: ...``."""
    for message in messages:
        print(f"partynli {command}: warning: {message}", file=sys.stderr)


def read_sources(args: argparse.Namespace, command: str, **options: object) -> pd.DataFrame:
    """The annotation table of ``args.sources`` for a command.

    Uses ``args.participant``/``args.num_params`` (:func:`add_naming`) and ``args.progress``
    (:func:`add_progress`) where the command has them; ``options`` go to
    :func:`~inspect_partynli.annotations.load_annotations` (``explanations``,
    ``include_humans``, ``data``, ``experiment``).  The loader's warnings go to stderr, one
    line each.  Raises :class:`UsageError` -- one line that also says what was skipped --
    when the sources hold no annotation (e.g. only logs of other tasks).
    """
    from ..annotations import load_annotations

    if hasattr(args, "participant"):
        options = {**naming(args), **options}
    if getattr(args, "exclude", None):
        options = {"exclude": tuple(args.exclude), **options}
    with collected_warnings() as messages:
        table = load_annotations(args.sources, progress=progress(args), **options)
    if (table["participant_type"] != "human").sum() == 0:
        skipped = f": skipped {'; '.join(messages)}" if messages else ""
        raise UsageError(f"no annotations found in {', '.join(map(str, args.sources))}{skipped}")
    print_warnings(command, messages)
    return table
