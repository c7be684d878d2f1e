"""``partynli metrics``: the label-variation metrics of participants and settings vs humans.

    partynli metrics logs/ partynli.csv --group lo=phi4,olmo2 --format json
    partynli metrics partynli.csv --setting size --reference chaosnli --subset chaosnli

One row per participant (SINGLE; a participant whose runs differ in size or sampling
settings gives one row per run) and per declared group or setting; without groups, MODEL MIX
``all`` leaves out size and sweep runs (:func:`~inspect_partynli.analysis.model_mix_units`,
the report's rule).  Keys of a row (JSON, CSV columns): participant, setting, n_items,
n_trials, H, H_std, JS, JS_std, KL_pq, KL_qp, agree, alpha, cor, consistency, parse_rate;
``--ci`` adds ``<metric>_ci_low/_ci_high`` (seeded bootstrap over items; for random mixes the
spread over draws).  A model run with ``-T estimator=logprobs|verbalized`` is no SINGLE
participant: it gives ESTIMATOR rows (``--setting estimator``; by default too), one per
estimator of the model, which add the keys ``estimator`` and ``spread``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..design import RANDOM_MIX_DRAWS, RANDOM_MIX_SEED, RANDOM_MIX_SIZE, SETTING_KINDS
from ..errors import SourceError, UsageError
from ._arguments import (
    add_conventions,
    add_data,
    add_naming,
    add_progress,
    add_reference,
    add_sources,
    add_subset,
    conventions,
    load_dataset,
    read_sources,
    whole_number,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..analysis import CodedTable, Setting

NAME = "metrics"
HELP = "Label-variation metrics (H, JS, KL, Agree, alpha, Cor., consistency) vs humans."

FORMATS = ("table", "csv", "json")


# ------------------------------------------------------------------------------ output
def _clean(value: object) -> object:
    """JSON-safe scalar: NaN -> None, numpy scalars -> Python."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def render(rows: Sequence[Mapping], keys: Sequence[str], fmt: str) -> str:
    """Rows (dicts) as an aligned table (2 decimals), CSV (full precision) or JSON (a list of
    objects with exactly ``keys``; NaN as null)."""
    import pandas as pd

    records = [{key: _clean(row.get(key)) for key in keys} for row in rows]
    if fmt == "json":
        return json.dumps(records, indent=2)
    frame = pd.DataFrame(records, columns=list(keys))
    if fmt == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if fmt != "table":
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    shown = frame.copy()
    for column in shown.columns:
        shown[column] = [_cell(v) for v in shown[column]]
    return shown.to_string(index=False)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default="table",
        help="output on stdout: an aligned table (2 decimals), CSV or JSON (default: table)",
    )  # fmt: skip
    parser.add_argument(
        "--ci", action="store_true",
        help="add 95%% bootstrap confidence intervals (<metric>_ci_low/_ci_high)",
    )  # fmt: skip


# ------------------------------------------------------------------------------ arguments
def add_arguments(parser: argparse.ArgumentParser) -> None:

    add_sources(parser)
    add_reference(parser)
    add_subset(parser)
    parser.add_argument(
        "--setting", action="append", choices=SETTING_KINDS, metavar="KIND",
        help=f"{', '.join(SETTING_KINDS)} (repeatable; default: single and mix, and estimator "
        "when a model was run with -T estimator=...)",
    )  # fmt: skip
    parser.add_argument(
        "--group", action="append", default=[], metavar="NAME=P1,P2,...",
        help="declare a MODEL MIX group of participants (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--groups", metavar="FILE",
        help="YAML file of groups: NAME: [P1, P2, ...] (or a comma-separated string)",
    )  # fmt: skip
    parser.add_argument(
        "--draws", type=whole_number(1), default=RANDOM_MIX_DRAWS,
        help=f"random mix draws (default {RANDOM_MIX_DRAWS})",
    )  # fmt: skip
    parser.add_argument(
        "--k", type=whole_number(1), default=RANDOM_MIX_SIZE,
        help=f"random mix size (default {RANDOM_MIX_SIZE})",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=whole_number(0), default=RANDOM_MIX_SEED, help="seed for draws and bootstrap"
    )
    add_data(parser)
    add_naming(parser)
    add_progress(parser)
    add_format_argument(parser)
    add_conventions(parser)


def read_groups(path: str | None, specs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Groups from ``--groups FILE`` (YAML) and ``--group NAME=P1,P2`` options, in order."""
    from ..analysis import parse_group

    groups: dict[str, tuple[str, ...]] = {}
    if path:
        import yaml

        file = Path(path)
        if not file.is_file():
            raise SourceError(f"groups file not found: {path}")
        try:
            content = yaml.safe_load(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError as error:
            raise SourceError(
                f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
                f"{error.start}); save the groups file as UTF-8"
            ) from None
        except yaml.YAMLError as error:
            raise SourceError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
        if not isinstance(content, dict):
            raise UsageError(f"{path}: expected a mapping NAME: [P1, P2, ...]")
        for name, members in content.items():
            if isinstance(members, str):
                members = members.split(",")
            if not isinstance(members, list) or not members:
                raise UsageError(f"{path}: group {name!r} needs a list of participants")
            groups[str(name)] = tuple(str(m).strip() for m in members)
    for spec in specs:
        name, members = parse_group(spec)
        if name in groups:
            raise UsageError(f"group {name!r} is declared twice")
        groups[name] = members
    return groups


def load_table(args: argparse.Namespace, labels=None) -> pd.DataFrame:
    """The annotation table of ``args.sources`` (via :func:`annotations.load_annotations`),
    with only the columns the metrics read (no explanations, ids or sources); PartyNLI files
    with a label outside ``labels`` (the dataset's) are refused."""
    from ..analysis import VARIANT_COLUMNS

    return read_sources(args, NAME, columns=VARIANT_COLUMNS, labels=labels)


def build_settings(
    coded: CodedTable,
    kinds: Sequence[str] | None,
    groups: Mapping[str, Sequence[str]],
    args: argparse.Namespace,
) -> list[Setting]:
    """The settings to evaluate: by default each unit alone plus the declared groups as
    mixes (or, without groups, all units as the mix ``all``); else those of the given kinds."""
    from ..analysis import default_settings, group_settings, settings_of_kind

    if not kinds:
        settings = default_settings(coded)
        if groups:
            settings = [s for s in settings if s.kind == "single"]
            settings += group_settings(coded, groups)
        return settings
    settings = []
    for kind in dict.fromkeys(kinds):
        settings += settings_of_kind(
            coded, kind, groups, draws=args.draws, k=args.k, seed=args.seed
        )
    return settings


def run(args: argparse.Namespace) -> int:
    from ..analysis import CI_KEYS, METRIC_KEYS, evaluate_many, prepare, reference

    groups = read_groups(args.groups, args.group)
    chosen = conventions(args)
    dataset = load_dataset(args)
    human = reference(dataset, args.reference, args.subset)  # a bad name fails before reading
    table = load_table(args, dataset.labels)
    coded = prepare(table, dataset.labels)
    settings = build_settings(coded, args.setting, groups, args)
    if not args.ci:  # no confidence intervals asked for: no time spent on the bootstrap
        chosen = chosen.replace(n_boot=0)
    rows = evaluate_many(coded, settings, human, conventions=chosen)
    keys = list(METRIC_KEYS)
    if any(row["setting"] == "estimator" for row in rows):
        keys[keys.index("setting") + 1 : keys.index("setting") + 1] = ["estimator"]
        keys.append("spread")
    if args.ci:
        keys += [f"{key}_ci_{end}" for key in CI_KEYS for end in ("low", "high")]
    print(render(rows, keys, args.format))
    return 0
