"""Study files: one YAML file describes a whole PartyNLI study; run it, resume it, report it.

A study file names the task parameters, the participants (Inspect model ids) and the
experiments of the paper (Section 3): every model annotates every item ``epochs`` times
(SINGLE / MODEL MIX), some models are swept over temperature or top-p (``sweeps``), and size
families are run member by member (``sizes``).  :func:`load_study` validates the whole file
into frozen dataclasses *before anything runs* and reports every problem at once, each with
its key path (``models[3].id: ...``).  :func:`configurations` expands a study into the
runs it needs, each with its own log folder so that sweeps and sizes never collide;
:func:`run_study` feeds them to Inspect's ``eval_set`` (retries; re-running skips finished
work); :func:`report_inputs` gives the report the study's logs and groups.

Schema (every key but ``models`` optional)::

    name: paper                    # default: the file's stem
    task: {data: null, subset: all}
    epochs: 5                      # annotations per item and model (the paper's 5 trials)
    log_dir: logs/paper            # relative to the working directory; default logs/<name>
    max_connections: 10            # per run; a model's own max_connections overrides it
    models:
      - id: openai/gpt-4.1         # Inspect model id: provider/model
        name: gpt-4.1              # short name used by groups, sweeps, single (default: id)
        participant: gpt-4.1       # name in the annotation table (default: name)
        num_params: 1800           # billions, if known
        args: {}                   # Inspect model args (-M)
        base_url: null
        max_connections: 20
    groups:                        # named sets of models; ``all`` (every model) is implied
      model_mix_hi: [gpt-4.1]
    single: gpt-4.1                # the SINGLE row of Table 2 (default: the first model)
    sweeps:
      - model: gpt-4.1
        temperature: 2.0           # the maximum; or {max: 2.0, epochs: 10}
        top_p: 1.0
    sizes:
      gemma3:
        - {id: ollama/gemma3:1b, num_params: 1}

Strings may use ``${VAR}`` or ``${VAR:-default}`` (environment variables).  Input paths
(``task.data`` and the model args ``path`` / ``data`` / ``*_path`` / ``*_file`` / ``*_dir``)
are resolved relative to the study file, so a study and its inputs travel together.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .annotation_schema import STUDY_METADATA_KEY
from .errors import SourceError, UsageError

#: Keys a study file may hold at its top level.
STUDY_KEYS = (
    "name",
    "task",
    "epochs",
    "log_dir",
    "max_connections",
    "models",
    "groups",
    "single",
    "sweeps",
    "sizes",
)
TASK_KEYS = ("data", "subset")
MODEL_KEYS = ("id", "name", "participant", "num_params", "args", "base_url", "max_connections")
SIZE_MEMBER_KEYS = ("id", "name", "num_params", "args", "base_url", "max_connections")
SWEEP_SPEC_KEYS = ("max", "epochs")
#: The parameters a sweep may vary and the largest maximum each accepts (None: unbounded).
SWEEP_PARAMETERS: dict[str, float | None] = {"temperature": None, "top_p": 1.0}
#: Distinct values in a sweep, hence its epochs by default (the paper: 10, like the humans).
SWEEP_EPOCHS = 10
SUBSETS = ("all", "chaosnli")
#: The group that every study has: all of its models.
ALL_GROUP = "all"
#: ``experiment`` values of the annotation table: a sweep is ``<parameter>_sweep`` (as the log
#: reader names sweeps), sizes ``size_ablation`` (as in the PartyNLI files).  A single run's
#: experiment is the first group that lists its model (e.g. ``model_mix_lo``), else this:
SWEEP_EXPERIMENT = "{parameter}_sweep"
SIZE_EXPERIMENT = "size_ablation"
DEFAULT_EXPERIMENT = "model_mix"
DEFAULT_EPOCHS = 5
#: The key under which a run's study information is stored in the eval log's metadata.
METADATA_KEY = STUDY_METADATA_KEY

_GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PATH_ARG = re.compile(r"^(path|data|.+_path|.+_file|.+_dir)$")


class StudyError(UsageError):
    """A study file is invalid; the message lists every problem with its key path."""


# --------------------------------------------------------------------------------------------
# The validated study
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """One participant: an Inspect model id with its arguments."""

    id: str
    name: str
    participant: str
    num_params: float | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    max_connections: int | None = None

    @property
    def provider(self) -> str:
        """The model API of the id (``openai`` for ``openai/gpt-4.1``)."""
        return self.id.split("/", 1)[0]


@dataclass(frozen=True)
class SweepSpec:
    """One model swept over one generation parameter, ``epochs`` values up to ``max``."""

    model: str
    parameter: str
    max: float
    epochs: int = SWEEP_EPOCHS


@dataclass(frozen=True)
class SizeFamily:
    """Members of one model family that differ in size (``num_params`` required)."""

    name: str
    members: tuple[ModelSpec, ...]


@dataclass(frozen=True)
class Study:
    """A validated study file (see the module docstring for the schema)."""

    name: str
    models: tuple[ModelSpec, ...]
    path: Path | None = None
    data: str | None = None
    subset: str = "all"
    epochs: int = DEFAULT_EPOCHS
    log_dir: str | None = None
    max_connections: int | None = None
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    single: str | None = None
    sweeps: tuple[SweepSpec, ...] = ()
    sizes: tuple[SizeFamily, ...] = ()

    def model(self, name: str) -> ModelSpec:
        """The declared model called ``name``."""
        for spec in self.models:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def all_groups(self) -> dict[str, tuple[str, ...]]:
        """The declared groups plus ``all`` (every model, in file order)."""
        return {**self.groups, ALL_GROUP: tuple(m.name for m in self.models)}

    @property
    def default_log_dir(self) -> str:
        return self.log_dir or str(Path("logs") / slug(self.name))


# --------------------------------------------------------------------------------------------
# Reading and validating
# --------------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys (PyYAML keeps the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def packaged_studies() -> dict[str, Path]:
    """The studies shipped with the package, by name (``paper``, ``offline``)."""
    folder = resources.files("inspect_partynli") / "studies"
    return {
        Path(str(entry)).stem: Path(str(entry))
        for entry in folder.iterdir()
        if str(entry).endswith(".yaml")
    }


def resolve_study_path(study: str | Path) -> Path:
    """A study file path: an existing file, or the name of a packaged study (``offline``)."""
    path = Path(study).expanduser()
    if path.is_file():
        return path
    shipped = packaged_studies()
    if str(study) in shipped:
        return shipped[str(study)]
    if path.exists():
        raise SourceError(f"{path}: not a file")
    raise SourceError(
        f"{path}: no such study file (packaged studies: {', '.join(sorted(shipped)) or 'none'})"
    )


def load_study(study: str | Path) -> Study:
    """Read and validate a study file (a path or a packaged study's name).

    Raises :class:`StudyError` listing every problem, each as ``key.path: what is wrong``,
    or :class:`~inspect_partynli.errors.SourceError` if the file cannot be read.
    """
    path = resolve_study_path(study)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError(f"{path}: cannot read the study file: {error}") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        raise StudyError(f"{path}: not valid YAML: {error}") from None
    return parse_study(raw, path=path)


def parse_study(raw: Any, path: Path | None = None) -> Study:
    """Validate an already-parsed study (a mapping) into a :class:`Study`.

    ``path`` is the study file: relative input paths are resolved against its folder
    (the working directory when None) and it prefixes the error messages.
    """
    check = _Checker(path)
    study = check.study(raw)
    if check.errors:
        where = f"{path}: " if path else ""
        problems = "\n  ".join(check.errors)
        count = len(check.errors)
        raise StudyError(
            f"{where}invalid study file ({count} problem{'s' if count > 1 else ''}):\n  {problems}"
        )
    assert study is not None
    return study


class _Checker:
    """Validates a parsed study, collecting every error with its key path."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.base = path.resolve().parent if path else Path.cwd()
        self.errors: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    # -- scalar checks ------------------------------------------------------------------------

    def mapping(self, value: Any, where: str, keys: Sequence[str]) -> dict | None:
        if not isinstance(value, dict):
            self.error(where, f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if not isinstance(key, str) or key not in keys:
                self.error(_join(where, key), f"unknown key; expected one of {', '.join(keys)}")
        return value

    def string(self, value: Any, where: str, *, empty: bool = False) -> str | None:
        if not isinstance(value, str):
            self.error(where, f"expected a string, got {_kind(value)}")
            return None
        value = self.expand(value, where)
        if value is not None and not empty and not value.strip():
            self.error(where, "must not be empty")
            return None
        return value

    def positive_int(self, value: Any, where: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(where, f"expected a positive integer, got {_kind(value)}")
            return None
        if value < 1:
            self.error(where, f"must be >= 1, got {value}")
            return None
        return value

    def positive_number(self, value: Any, where: str, *, at_most: float | None = None):
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(where, f"expected a number, got {_kind(value)}")
            return None
        if not math.isfinite(value) or value <= 0:
            self.error(where, f"must be > 0, got {value}")
            return None
        if at_most is not None and value > at_most:
            self.error(where, f"must be at most {at_most}, got {value}")
            return None
        return float(value)

    def expand(self, value: str, where: str) -> str | None:
        """``${VAR}`` and ``${VAR:-default}`` from the environment; unset without default: error."""
        missing: list[str] = []

        def substitute(match: re.Match) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ and os.environ[name] != "":
                return os.environ[name]
            if default is not None:
                return default
            missing.append(name)
            return ""

        expanded = _ENV.sub(substitute, value)
        if missing:
            names = ", ".join(dict.fromkeys(missing))
            self.error(where, f"environment variable {names} is not set (used in {value!r})")
            return None
        return expanded

    def input_path(self, value: str, where: str, raw: str | None = None) -> str:
        """Resolve a relative input path; it must exist.

        Relative to the study file's folder, except when ``raw`` (the text before expansion)
        starts with an environment variable that is set: such a value was typed in the shell,
        so it is relative to the working directory.
        """
        path = Path(value).expanduser()
        if not path.is_absolute():
            base = Path.cwd() if raw is not None and _starts_with_set_variable(raw) else self.base
            path = (base / path).resolve()
        if not path.exists():
            self.error(where, f"no such file or folder: {path}")
        return str(path)

    def args(self, value: Any, where: str) -> dict[str, Any]:
        raw = self.mapping(value, where, keys=_AnyKey())
        if raw is None:
            return {}
        args: dict[str, Any] = {}
        for key, item in raw.items():
            if not isinstance(key, str) or not key:
                self.error(where, f"argument names must be strings, got {key!r}")
                continue
            if isinstance(item, str):
                text = item
                item = self.expand(text, _join(where, key))
                if item is not None and _PATH_ARG.match(key):
                    item = self.input_path(item, _join(where, key), raw=text)
            args[key] = item
        return args

    # -- sections ------------------------------------------------------------------------------

    def study(self, raw: Any) -> Study | None:
        root = self.mapping(raw, "(top level)", STUDY_KEYS) if raw is not None else None
        if raw is None:
            self.error("(top level)", "the study file is empty")
        if root is None:
            return None
        stem = slug(self.path.stem) if self.path else "study"
        name = self.string(root.get("name", stem), "name") or stem
        data, subset = self.task(root.get("task", {}))
        epochs = self.positive_int(root.get("epochs", DEFAULT_EPOCHS), "epochs") or DEFAULT_EPOCHS
        log_dir = None
        if root.get("log_dir") is not None:
            log_dir = self.string(root["log_dir"], "log_dir")
        max_connections = None
        if root.get("max_connections") is not None:
            max_connections = self.positive_int(root["max_connections"], "max_connections")
        if "models" not in root:
            self.error("models", "missing: a study needs at least one model")
        models = self.models(root.get("models", []))
        names = {m.name for m in models}
        groups = self.groups(root.get("groups", {}) or {}, names)
        single = None
        if root.get("single") is not None:
            single = self.string(root["single"], "single")
            if single is not None and single not in names:
                self.error("single", f"{single!r} is not a declared model ({_names(names)})")
        elif models:
            single = models[0].name
        sweeps = self.sweeps(root.get("sweeps", []) or [], names)
        sizes = self.sizes(root.get("sizes", {}) or {})
        study = Study(
            name=name,
            models=tuple(models),
            path=self.path,
            data=data,
            subset=subset,
            epochs=epochs,
            log_dir=log_dir,
            max_connections=max_connections,
            groups=groups,
            single=single,
            sweeps=tuple(sweeps),
            sizes=tuple(sizes),
        )
        if not self.errors:
            self.unique_slugs(study)
        return study

    def task(self, value: Any) -> tuple[str | None, str]:
        task = self.mapping(value if value is not None else {}, "task", TASK_KEYS)
        if task is None:
            return None, "all"
        data = None
        if task.get("data") is not None:
            data = self.string(task["data"], "task.data")
            if data is not None:
                data = self.input_path(data, "task.data", raw=task["data"])
        subset = self.string(task.get("subset", "all"), "task.subset") or "all"
        if subset not in SUBSETS:
            self.error(
                "task.subset", f"unknown subset {subset!r}; choose one of {', '.join(SUBSETS)}"
            )
        return data, subset

    def model(self, value: Any, where: str, keys: Sequence[str], *, family: str | None = None):
        raw = self.mapping(value, where, keys)
        if raw is None:
            return None
        if "id" not in raw:
            self.error(f"{where}.id", "missing: give an Inspect model id such as openai/gpt-4.1")
            return None
        model_id = self.string(raw["id"], f"{where}.id")
        if model_id is None:
            return None
        provider, _, rest = model_id.partition("/")
        if not provider or not rest:
            self.error(f"{where}.id", f"{model_id!r} is not an Inspect model id (provider/model)")
        num_params = None
        if raw.get("num_params") is not None:
            num_params = self.positive_number(raw["num_params"], f"{where}.num_params")
        elif family is not None:
            self.error(f"{where}.num_params", "missing: size family members need their size")
        if family is not None and num_params is not None:
            default_name = f"{family}-{_number(num_params)}b"
        else:
            default_name = model_id
        name = self.string(raw.get("name", default_name), f"{where}.name") or default_name
        # a family's members are one participant in several sizes (as in the PartyNLI files)
        participant = family if family is not None else name
        if raw.get("participant") is not None:
            participant = self.string(raw["participant"], f"{where}.participant") or name
        args = self.args(raw.get("args", {}) or {}, f"{where}.args")
        base_url = None
        if raw.get("base_url") is not None:
            base_url = self.string(raw["base_url"], f"{where}.base_url")
        max_connections = None
        if raw.get("max_connections") is not None:
            max_connections = self.positive_int(raw["max_connections"], f"{where}.max_connections")
        return ModelSpec(
            id=model_id,
            name=name,
            participant=participant,
            num_params=num_params,
            args=args,
            base_url=base_url,
            max_connections=max_connections,
        )

    def models(self, value: Any) -> list[ModelSpec]:
        if not isinstance(value, list):
            self.error("models", f"expected a list of models, got {_kind(value)}")
            return []
        if not value and isinstance(value, list):
            self.error("models", "empty: a study needs at least one model")
        models: list[ModelSpec] = []
        ids: dict[tuple, str] = {}
        names: dict[str, str] = {}
        participants: dict[str, str] = {}
        for index, item in enumerate(value):
            where = f"models[{index}]"
            spec = self.model(item, where, MODEL_KEYS)
            if spec is None:
                continue
            identity = (spec.id, _frozen(spec.args), spec.base_url)
            if identity in ids:
                self.error(f"{where}.id", f"duplicate model {spec.id!r} (same as {ids[identity]})")
            ids[identity] = where
            if spec.name in names:
                self.error(
                    f"{where}.name", f"duplicate name {spec.name!r} (also {names[spec.name]})"
                )
            names[spec.name] = where
            if spec.participant in participants:
                first = participants[spec.participant]
                self.error(
                    f"{where}.participant", f"duplicate participant {spec.participant!r} ({first})"
                )
            participants[spec.participant] = where
            models.append(spec)
        return models

    def groups(self, value: Any, names: set[str]) -> dict[str, tuple[str, ...]]:
        if not isinstance(value, dict):
            self.error("groups", f"expected a mapping of group name to models, got {_kind(value)}")
            return {}
        groups: dict[str, tuple[str, ...]] = {}
        for group, members in value.items():
            where = _join("groups", group)
            if not isinstance(group, str) or not _GROUP_NAME.match(group):
                self.error(where, "group names start with a letter: letters, digits, _ . -")
                continue
            if group == ALL_GROUP:
                self.error(where, "'all' is implied (every model of the study); do not declare it")
                continue
            if not isinstance(members, list) or not members:
                self.error(where, f"expected a non-empty list of model names, got {_kind(members)}")
                continue
            seen: list[str] = []
            for index, member in enumerate(members):
                member_where = f"{where}[{index}]"
                if not isinstance(member, str):
                    self.error(member_where, f"expected a model name, got {_kind(member)}")
                elif member not in names:
                    self.error(
                        member_where, f"{member!r} is not a declared model ({_names(names)})"
                    )
                elif member in seen:
                    self.error(member_where, f"{member!r} is listed twice")
                else:
                    seen.append(member)
            groups[group] = tuple(seen)
        return groups

    def sweeps(self, value: Any, names: set[str]) -> list[SweepSpec]:
        if not isinstance(value, list):
            self.error("sweeps", f"expected a list of sweeps, got {_kind(value)}")
            return []
        sweeps: list[SweepSpec] = []
        seen: dict[tuple[str, str], str] = {}
        for index, item in enumerate(value):
            where = f"sweeps[{index}]"
            raw = self.mapping(item, where, ("model", *SWEEP_PARAMETERS))
            if raw is None:
                continue
            model = self.string(raw.get("model"), f"{where}.model") if "model" in raw else None
            if "model" not in raw:
                self.error(f"{where}.model", "missing: name the swept model")
            elif model is not None and model not in names:
                self.error(f"{where}.model", f"{model!r} is not a declared model ({_names(names)})")
                model = None
            parameters = [p for p in SWEEP_PARAMETERS if p in raw]
            if not parameters:
                self.error(where, f"sweeps nothing: give {' and/or '.join(SWEEP_PARAMETERS)}")
            for parameter in parameters:
                spec = self.sweep_spec(raw[parameter], f"{where}.{parameter}", parameter)
                if spec is None or model is None:
                    continue
                key = (model, parameter)
                if key in seen:
                    self.error(
                        f"{where}.{parameter}",
                        f"{model} is already swept over {parameter} ({seen[key]})",
                    )
                    continue
                seen[key] = f"{where}.{parameter}"
                sweeps.append(SweepSpec(model, parameter, spec[0], spec[1]))
        return sweeps

    def sweep_spec(self, value: Any, where: str, parameter: str) -> tuple[float, int] | None:
        bound = SWEEP_PARAMETERS[parameter]
        epochs = SWEEP_EPOCHS
        if isinstance(value, dict):
            raw = self.mapping(value, where, SWEEP_SPEC_KEYS)
            if "max" not in raw:
                self.error(f"{where}.max", "missing: the largest value of the sweep")
                return None
            if "epochs" in raw:
                epochs = self.positive_int(raw["epochs"], f"{where}.epochs")
            maximum = self.positive_number(raw["max"], f"{where}.max", at_most=bound)
        else:
            maximum = self.positive_number(value, where, at_most=bound)
        if maximum is None or epochs is None:
            return None
        return maximum, epochs

    def sizes(self, value: Any) -> list[SizeFamily]:
        if not isinstance(value, dict):
            self.error("sizes", f"expected a mapping of family name to members, got {_kind(value)}")
            return []
        families: list[SizeFamily] = []
        for family, members in value.items():
            where = _join("sizes", family)
            if not isinstance(family, str) or not _GROUP_NAME.match(family):
                self.error(where, "family names start with a letter: letters, digits, _ . -")
                continue
            if not isinstance(members, list) or not members:
                self.error(where, f"expected a non-empty list of members, got {_kind(members)}")
                continue
            specs: list[ModelSpec] = []
            sizes: dict[float, str] = {}
            for index, item in enumerate(members):
                member_where = f"{where}[{index}]"
                spec = self.model(item, member_where, SIZE_MEMBER_KEYS, family=family)
                if spec is None:
                    continue
                if spec.num_params in sizes:
                    self.error(
                        f"{member_where}.num_params",
                        f"size {_number(spec.num_params)} "
                        f"appears twice (also {sizes[spec.num_params]})",
                    )
                    continue
                sizes[spec.num_params] = member_where  # type: ignore[index]
                specs.append(spec)
            families.append(SizeFamily(family, tuple(specs)))
        return families

    def unique_slugs(self, study: Study) -> None:
        folders: dict[str, str] = {}
        for config in configurations(study):
            if config.slug in folders:
                self.error(
                    config.where,
                    f"its log folder {config.slug!r} is also that of "
                    f"{folders[config.slug]}; rename one",
                )
            folders[config.slug] = config.where


class _AnyKey(tuple):
    """A key list that accepts every key (model args are the provider's business)."""

    def __contains__(self, key: object) -> bool:
        return True


# --------------------------------------------------------------------------------------------
# Expansion into runs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Configuration:
    """One run of the study: a model on the task with fixed settings, in its own log folder."""

    slug: str
    kind: str  # "single", "sweep" or "size"
    model: ModelSpec
    epochs: int
    experiment: str
    where: str  # the key path that declared it (for messages)
    sweep: str | None = None
    tmax: float | None = None
    family: str | None = None
    groups: tuple[str, ...] = ()

    def task_args(self, study: Study) -> dict[str, Any]:
        """Arguments of ``inspect_partynli/livenli`` for this run."""
        args: dict[str, Any] = {"subset": study.subset, "epochs": self.epochs}
        if study.data is not None:
            args["data"] = study.data
        if self.sweep is not None:
            args.update(sweep=self.sweep, tmax=self.tmax)
        return args

    def metadata(self, study: Study) -> dict[str, Any]:
        """What the annotation table needs to know about this run (kept in the log header)."""
        return {
            "study": study.name,
            "config": self.slug,
            "kind": self.kind,
            "experiment": self.experiment,
            "participant": self.model.participant,
            "model_name": self.model.name,
            "num_params": self.model.num_params,
            "family": self.family,
            "groups": list(self.groups),
            "sweep": self.sweep,
            "tmax": self.tmax,
        }

    def tags(self, study: Study) -> list[str]:
        tags = [f"study:{study.name}", self.kind, self.experiment]
        return tags + [f"group:{group}" for group in self.groups]

    def requests(self, items: int) -> int:
        """Model requests of the run: items x epochs."""
        return items * self.epochs


def configurations(study: Study) -> list[Configuration]:
    """Every run of the study, in order: each model once, then sweeps, then size members.

    Log folders (``slug``) are ``single-<model>``, ``sweep-<model>-<parameter>`` and
    ``size-<family>-<size>b``.
    """
    configs: list[Configuration] = []
    for index, model in enumerate(study.models):
        groups = tuple(g for g, members in study.groups.items() if model.name in members)
        configs.append(
            Configuration(
                slug=f"single-{slug(model.name)}",
                kind="single",
                model=model,
                epochs=study.epochs,
                experiment=groups[0] if groups else DEFAULT_EXPERIMENT,
                where=f"models[{index}]",
                groups=groups,
            )
        )
    for index, sweep in enumerate(study.sweeps):
        model = study.model(sweep.model)
        configs.append(
            Configuration(
                slug=f"sweep-{slug(model.name)}-{slug(sweep.parameter)}",
                kind="sweep",
                model=model,
                epochs=sweep.epochs,
                experiment=SWEEP_EXPERIMENT.format(parameter=sweep.parameter),
                where=f"sweeps[{index}]",
                sweep=sweep.parameter,
                tmax=sweep.max,
            )
        )
    for family in study.sizes:
        for position, member in enumerate(family.members):
            configs.append(
                Configuration(
                    slug=f"size-{slug(member.name)}",
                    kind="size",
                    model=member,
                    epochs=study.epochs,
                    experiment=SIZE_EXPERIMENT,
                    where=f"sizes.{family.name}[{position}]",
                    family=family.name,
                )
            )
    return configs


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """A folder-safe form of ``text``: lower case, runs of other characters become ``-``.

    >>> slug("openai/gpt-4.1"), slug("qwen3:0.6b")
    ('openai-gpt-4.1', 'qwen3-0.6b')
    """
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-.") or "x"


def _starts_with_set_variable(text: str) -> bool:
    """Whether ``text`` begins with ``${VAR...}`` and VAR is set (non-empty)."""
    match = _ENV.match(text)
    return bool(match) and bool(os.environ.get(match.group(1)))


def _number(value: float | None) -> str:
    """``1.0 -> '1'``, ``0.6 -> '0.6'``."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where != "(top level)" else str(key)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return f"{name} ({value!r})" if kind in (str, bool) else name
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return type(value).__name__


def _names(names: Iterable[str]) -> str:
    names = sorted(names)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"declared: {shown}" if names else "no models declared"


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


# --------------------------------------------------------------------------------------------
# Checks before running: providers, keys, packages
# --------------------------------------------------------------------------------------------

#: Environment variables that hold a provider's key (any one suffices).  Providers not listed
#: need none (ollama, vllm, hf, the offline ``partynli`` ones, ...).  ``openai-api/<service>/..``
#: reads ``<SERVICE>_API_KEY``.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY", "AZUREAI_OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY", "AZUREAI_ANTHROPIC_API_KEY", "AZURE_ANTHROPIC_API_KEY"),
    "google": ("GOOGLE_API_KEY", "GEMINI_API_KEY", "VERTEX_API_KEY"),
    "grok": ("XAI_API_KEY", "GROK_API_KEY"),
    "mistral": ("MISTRAL_API_KEY", "AZUREAI_MISTRAL_API_KEY", "AZURE_MISTRAL_API_KEY"),
    "together": ("TOGETHER_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "fireworks": ("FIREWORKS_API_KEY",),
    "moonshot": ("MOONSHOT_API_KEY",),
    "perplexity": ("PERPLEXITY_API_KEY",),
    "sambanova": ("SAMBANOVA_API_KEY",),
    "cloudflare": ("CLOUDFLARE_API_KEY",),
    "azureai": ("AZUREAI_API_KEY", "AZURE_API_KEY"),
}

#: Python modules a provider imports when it is first used, with their pip names.
_OPENAI_CLIENT = ("openai", "openai")
PROVIDER_PACKAGES: dict[str, tuple[str, str]] = {
    **{
        name: _OPENAI_CLIENT
        for name in (
            "openai",
            "openai-api",
            "openai-api-completions",
            "together",
            "openrouter",
            "ollama",
            "deepseek",
            "fireworks",
            "moonshot",
            "perplexity",
            "sambanova",
            "cloudflare",
            "vllm",
            "vllm-completions",
            "meta",
            "litellm-proxy",
        )
    },
    "anthropic": ("anthropic", "anthropic"),
    "google": ("google.genai", "google-genai"),
    "mistral": ("mistralai", "mistralai"),
    "grok": ("xai_sdk", "xai-sdk"),
    "groq": ("groq", "groq"),
}


def registered_providers() -> set[str]:
    """Names of every model API Inspect knows (built in and from installed plugins).

    Read from Inspect's registry without creating any model (creating one would need its
    key and client package).
    """
    import inspect_ai.model  # noqa: F401  (registers the built-in providers)
    from inspect_ai._util.entrypoints import ensure_entry_points
    from inspect_ai._util.registry import registry_find, registry_info, registry_unqualified_name

    from . import providers  # noqa: F401  (this package's offline partynli/... models)

    ensure_entry_points()
    found = registry_find(lambda info: info.type == "modelapi")
    return {registry_unqualified_name(registry_info(api)) for api in found}


def _module_available(module: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def key_variables(model: ModelSpec) -> tuple[str, ...]:
    """The environment variables that can hold ``model``'s key (empty: it needs none)."""
    if model.provider == "openai-api":
        service = model.id.split("/")[1] if model.id.count("/") >= 2 else ""
        return (f"{service.upper().replace('-', '_')}_API_KEY",) if service else ()
    if model.provider == "google" and (
        os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() == "true"
        or model.args.get("vertexai")
    ):
        return ()  # Vertex AI authenticates with application default credentials
    return PROVIDER_KEYS.get(model.provider, ())


def preflight(configs: Sequence[Configuration]) -> list[str]:
    """Every problem that would stop a run later, found now: unknown providers, missing API
    keys (in the environment or a ``.env`` file, as Inspect reads them) and missing client
    packages.

    Returns one message per problem (empty: ready to run): one per unknown provider, one per
    missing key and one per missing package, each naming the models that need it.
    """
    from inspect_ai._util.dotenv import init_dotenv

    init_dotenv()
    providers = registered_providers()
    unknown: list[str] = []
    keys: dict[tuple[str, ...], list[str]] = {}
    packages: dict[str, list[str]] = {}
    seen: set[str] = set()
    for config in configs:
        model = config.model
        if model.id in seen:
            continue
        seen.add(model.id)
        who = f"{config.where} ({model.id})"
        if model.provider not in providers:
            unknown.append(
                f"{who}: unknown model provider {model.provider!r} "
                f"(known: {', '.join(sorted(providers))})"
            )
            continue
        variables = key_variables(model)
        has_key = "api_key" in model.args or any(os.environ.get(v) for v in variables)
        if variables and not has_key:
            keys.setdefault(variables, []).append(who)
        module, package = PROVIDER_PACKAGES.get(model.provider, ("", ""))
        if module and not _module_available(module):
            packages.setdefault(package, []).append(who)
    problems = list(unknown)
    for variables, models in keys.items():
        alternatives = f" (or {', '.join(variables[1:])})" if len(variables) > 1 else ""
        problems.append(f"{variables[0]}{alternatives} is not set; needed by {_few(models)}")
    for package, models in packages.items():
        problems.append(
            f"Python package {package} is not installed (pip install {package}); "
            f"needed by {_few(models)}"
        )
    return problems


def _few(items: Sequence[str], shown: int = 4) -> str:
    """``a, b, c, d and 3 more``."""
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------------------------
# Planning and running
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRun:
    """A configuration with its log folder, its request count and its folder's state
    (:func:`folder_state`)."""

    config: Configuration
    log_dir: Path
    requests: int
    state: str = "new"
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.state == "done"


def study_items(study: Study) -> int:
    """Number of LiveNLI items the study's task annotates.

    Loads LiveNLI exactly as the task will (so a missing file is reported before any run).
    """
    from .livenli import load_livenli, subset_uids

    return len(subset_uids(load_livenli(study.data), study.subset))


def _differences(header: Any, config: Configuration, study: Study) -> list[str]:
    """What differs between a log's run and ``config`` (empty: the log is one of its runs)."""
    wanted = {"model": config.model.id, "epochs": config.epochs, **config.task_args(study)}
    wanted.pop("data", None)  # the same data may be named differently
    found = {
        "model": header.eval.model,
        "epochs": header.eval.config.epochs,
        **{k: header.eval.task_args.get(k) for k in ("subset", "sweep", "tmax")},
    }
    differences = [
        f"{key} {found.get(key)!r} (now {value!r})"
        for key, value in wanted.items()
        if found.get(key) != value and not _same_number(found.get(key), value)
    ]
    if dict(header.eval.model_args or {}) != dict(config.model.args):
        differences.append(f"model args {header.eval.model_args} (now {dict(config.model.args)})")
    return differences


def _same_number(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    try:
        return a is not None and b is not None and math.isclose(float(a), float(b))
    except (TypeError, ValueError):
        return False


def folder_state(log_dir: Path, config: Configuration, study: Study) -> tuple[str, str]:
    """``(state, detail)`` of a run's log folder before running it.

    ``new`` (no logs), ``done`` (a successful log of this very run: nothing to do),
    ``partial`` (logs of this run, none finished: eval_set resumes it) or ``stale`` (a log of
    a different run, e.g. the study's epochs changed: eval_set would refuse the folder;
    ``detail`` says what differs).
    """
    from inspect_ai.log import list_eval_logs, read_eval_log

    if not log_dir.is_dir():
        return "new", ""
    state = "new"
    for info in list_eval_logs(str(log_dir), recursive=False):
        header = read_eval_log(info, header_only=True)
        differences = _differences(header, config, study)
        if differences:
            name = Path(info.name).name
            return "stale", f"{log_dir}/{name} is a different run: {'; '.join(differences)}"
        if header.status == "success":
            state = "done"
        elif state == "new":
            state = "partial"
    return state, ""


def plan(study: Study, log_dir: str | Path | None = None) -> list[PlannedRun]:
    """The study's runs with their log folders (``<log_dir>/<slug>``) and request counts."""
    root = Path(log_dir if log_dir is not None else study.default_log_dir)
    items = study_items(study)
    runs = []
    for config in configurations(study):
        folder = root / config.slug
        state, detail = folder_state(folder, config, study)
        runs.append(PlannedRun(config, folder, config.requests(items), state, detail))
    return runs


def stale_runs(runs: Sequence[PlannedRun]) -> list[str]:
    """One message per run whose folder holds logs of a different run (checked before running)."""
    return [
        f"{run.config.where}: {run.detail}; move the folder away or run into another --log-dir"
        for run in runs
        if run.state == "stale"
    ]


def requests_per_model(runs: Sequence[PlannedRun]) -> list[tuple[str, str, int, int, int]]:
    """``(name, model id, settings, requests, requests still to run)`` per model, in order."""
    table: dict[tuple[str, str], list[int]] = {}
    for run in runs:
        row = table.setdefault((run.config.model.name, run.config.model.id), [0, 0, 0])
        row[0] += 1
        row[1] += run.requests
        row[2] += 0 if run.done else run.requests
    return [(name, model_id, *row) for (name, model_id), row in table.items()]  # type: ignore


def format_plan(study: Study, runs: Sequence[PlannedRun], root: Path) -> str:
    """The text shown before a run: requests per model (items x epochs x settings), total."""
    rows = requests_per_model(runs)
    width = max([len("model")] + [len(r[0]) for r in rows])
    id_width = max([len("inspect id")] + [len(r[1]) for r in rows])
    lines = [
        f"Study {study.name!r}: {len(runs)} runs into {root}/",
        f"  {'model':<{width}}  {'inspect id':<{id_width}}  settings  requests  to run",
    ]
    for name, model_id, settings, requests, todo in rows:
        lines.append(
            f"  {name:<{width}}  {model_id:<{id_width}}  {settings:>8}  {requests:>8}  {todo:>6}"
        )
    total = sum(r[3] for r in rows)
    todo = sum(r[4] for r in rows)
    lines.append(f"  {'total':<{width}}  {'':<{id_width}}  {len(runs):>8}  {total:>8}  {todo:>6}")
    done = sum(run.done for run in runs)
    if done:
        lines.append(f"  ({done} of {len(runs)} runs already finished in their log folders)")
    return "\n".join(lines)


@dataclass(frozen=True)
class RunResult:
    """The outcome of one configuration's ``eval_set``."""

    run: PlannedRun
    success: bool
    logs: tuple[str, ...]
    error: str = ""  # why the run stopped, when eval_set raised


def run_study(
    study: Study,
    log_dir: str | Path | None = None,
    *,
    runs: Sequence[PlannedRun] | None = None,
    retry_attempts: int | None = None,
    display: str | None = None,
    **eval_set_args: Any,
) -> list[RunResult]:
    """Run every configuration of the study through Inspect's ``eval_set``, one log folder each.

    ``eval_set`` retries failed samples and, on a re-run, reuses every finished log, so an
    interrupted study resumes where it stopped and a finished one costs nothing.  Runs go one
    after the other (each one concurrent up to its ``max_connections``); a failed run does
    not stop the others.  No checks here: call :func:`preflight` first.
    """
    from inspect_ai import eval_set

    from .task import livenli

    runs = list(runs) if runs is not None else plan(study, log_dir)
    results: list[RunResult] = []
    for index, run in enumerate(runs, start=1):
        config = run.config
        state = "finished, checking" if run.done else f"{run.requests} requests"
        _progress(f"[{index}/{len(runs)}] {config.slug}: {config.model.id} ({state})")
        run.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            success, logs = eval_set(
                tasks=[livenli(**config.task_args(study))],
                log_dir=str(run.log_dir),
                model=config.model.id,
                model_args=dict(config.model.args),
                model_base_url=config.model.base_url,
                max_connections=config.model.max_connections or study.max_connections,
                metadata={METADATA_KEY: config.metadata(study)},
                tags=config.tags(study),
                retry_attempts=retry_attempts,
                display=display,  # type: ignore[arg-type]
                **eval_set_args,
            )
        except Exception as error:  # one broken run (model gone, server down) spares the rest
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            _progress(
                f"[{index}/{len(runs)}] {config.slug} failed: {type(error).__name__}: {message}"
            )
            results.append(RunResult(run, False, (), f"{type(error).__name__}: {message}"))
            continue
        results.append(RunResult(run, bool(success), tuple(log.location for log in logs)))
    return results


def _progress(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Feeding the report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInputs:
    """What ``partynli report`` needs for a study.

    ``table``: the annotation table of every run that has logs, with the study's participant,
    experiment and ``num_params`` for each; ``groups``: the study's groups (and ``all``)
    as the report's MODEL MIX settings, members named by unit (:func:`settings.prepare`) so
    that a model's sweep runs never join its mixes; ``single``: the unit of the SINGLE row;
    ``missing``: runs without logs yet (left out).
    """

    table: Any
    groups: dict[str, tuple[str, ...]]
    single: str | None
    missing: tuple[str, ...]


def study_annotations(
    study: Study,
    log_dir: str | Path | None = None,
    *,
    explanations: bool = False,
    progress: bool = False,
) -> tuple[Any, list[Configuration], list[Configuration]]:
    """The annotation table of a study's logs: ``(table, runs read, runs without logs)``.

    Each run's folder is read on its own, so its rows get the run's participant (the study's
    name for the model; a size family's name for its members), experiment (its group,
    ``<parameter>_sweep`` or ``size_ablation``) and ``num_params``, whatever the model id.
    """
    import pandas as pd

    from .annotations import load_annotations

    root = Path(log_dir if log_dir is not None else study.default_log_dir)
    frames, read, missing = [], [], []
    for config in configurations(study):
        folder = root / config.slug
        if not folder.is_dir() or not any(folder.glob("*.eval")) and not any(folder.glob("*.json")):
            missing.append(config)
            continue
        model = config.model
        numbers = {model.id: model.num_params} if model.num_params is not None else None
        table = load_annotations(
            [folder], explanations=explanations, progress=progress,
            participants={model.id: model.participant}, num_params=numbers,
            experiment=config.experiment,
        )  # fmt: skip
        if table.empty:
            missing.append(config)
            continue
        frames.append(table)
        read.append(config)
    if not frames:
        raise SourceError(
            f"no logs of study {study.name!r} in {root}/: run `partynli run "
            f"{study.path or study.name}` first (or give --log-dir)"
        )
    return pd.concat(frames, ignore_index=True), read, missing


def report_inputs(
    study: Study,
    log_dir: str | Path | None = None,
    *,
    explanations: bool = False,
    progress: bool = False,
) -> ReportInputs:
    """The study's table, its groups as MODEL MIX settings (``all`` included) and its SINGLE.

    A group member whose run has no logs yet is left out (and listed in ``missing``); a
    group left empty is dropped.
    """
    from .settings import prepare

    table, read, missing = study_annotations(
        study, log_dir, explanations=explanations, progress=progress
    )
    units = prepare(table).units
    single_units: dict[str, str] = {}
    for config in read:
        if config.kind != "single":
            continue
        match = units[
            (units["participant"] == config.model.participant)
            & (units["experiment"] == config.experiment)
        ]
        if len(match):
            single_units[config.model.name] = str(match["unit"].iloc[0])
    groups: dict[str, tuple[str, ...]] = {}
    for group, members in study.all_groups().items():
        found = tuple(single_units[m] for m in members if m in single_units)
        if found:
            groups[group] = found
    single = single_units.get(study.single) if study.single else None
    return ReportInputs(table, groups, single, tuple(c.slug for c in missing))


def write_report_table(inputs: ReportInputs, folder: str | Path) -> Path:
    """Write the study's annotation table as a PartyNLI parquet file that the report reads."""
    from .annotations import write_partynli_file

    return write_partynli_file(inputs.table, Path(folder) / "study-annotations.parquet")
