"""Reading and validating a study file: every problem at once, each with its key path.

A study file is YAML read with a safe loader that refuses duplicate keys; ``${VAR}`` and
``${VAR:-default}`` expand from the environment; input paths resolve relative to the study
file.  Problems are collected (not raised one by one) so that a user fixes a file in one go.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import SourceError
from .expansion import configurations
from .schema import (
    ALL_GROUP,
    DEFAULT_EPOCHS,
    ESTIMATOR_SPEC_KEYS,
    MODEL_KEYS,
    PRICE_KEYS,
    SIZE_MEMBER_KEYS,
    STUDY_ESTIMATORS,
    STUDY_KEYS,
    SUBSETS,
    SWEEP_EPOCHS,
    SWEEP_PARAMETERS,
    SWEEP_SPEC_KEYS,
    TASK_KEYS,
    EstimatorSpec,
    ModelSpec,
    SizeFamily,
    Study,
    StudyError,
    SweepSpec,
    slug,
)

#: The key path of the file's top level in messages.
_TOP = "(top level)"
_GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: Variable names that look like secrets: never expanded (a key would end up in log headers,
#: folder names and reports).  A study refers to keys by provider, never by value.
SECRET_NAME = re.compile(r"(_KEY|_TOKEN|_SECRET)$|PASSWORD", re.IGNORECASE)
_PATH_ARG = re.compile(r"^(path|data|.+_path|.+_file|.+_dir)$")


#: Subsets each built-in dataset's task takes (a card has only ``all``).
DATASET_SUBSETS: dict[str, tuple[str, ...]] = {
    "livenli": SUBSETS,
    "varierr": ("all", "ambiguous", "errors"),
}

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
        stream = io.StringIO(text)
        stream.name = str(path)  # YAML errors then say "in <the file>, line ..."
        raw = yaml.load(stream, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
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
        #: value -> ``${NAME}`` of every environment value expanded so far: messages show the
        #: variable, never its value
        self.expanded: dict[str, str] = {}

    def error(self, where: str, message: str) -> None:
        for value, name in sorted(self.expanded.items(), key=lambda item: -len(item[0])):
            message = message.replace(value, name)
        self.errors.append(f"{where}: {message}")

    # -- scalar checks ------------------------------------------------------------------------

    def optional(self, raw: Mapping, key: str, where: str, check: Callable[[Any, str], Any]):
        """``check`` of an optional key's value (with its key path); None if absent or null."""
        value = raw.get(key)
        return None if value is None else check(value, _join(where, key))

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
        """``${VAR}`` and ``${VAR:-default}`` from the environment; unset without default: error.

        Names that look like secrets (:data:`SECRET_NAME`: ``*_KEY``, ``*_TOKEN``,
        ``*_SECRET``, ``*PASSWORD*``) are refused, never expanded; expanded values are never
        shown in messages (:meth:`error` puts the ``${NAME}`` back).
        """
        missing: list[str] = []
        secret: list[str] = []

        def substitute(match: re.Match) -> str:
            name, default = match.group(1), match.group(2)
            if SECRET_NAME.search(name):
                secret.append(name)
                return ""
            if name in os.environ and os.environ[name] != "":
                if len(os.environ[name]) > 1:
                    self.expanded.setdefault(os.environ[name], f"${{{name}}}")
                return os.environ[name]
            if default is not None:
                return default
            missing.append(name)
            return ""

        expanded = _ENV.sub(substitute, value)
        if secret:
            names = ", ".join(f"${{{name}}}" for name in dict.fromkeys(secret))
            self.error(
                where,
                f"{names} looks like a secret and is never expanded (keys stay in the "
                "environment, where the model's provider reads them; a study file must not "
                "copy them into logs, folder names or reports)",
            )
            return None
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
        root = self.mapping(raw, _TOP, STUDY_KEYS) if raw is not None else None
        if raw is None:
            self.error(_TOP, "the study file is empty")
        if root is None:
            return None
        stem = slug(self.path.stem) if self.path else "study"
        name = self.string(root.get("name", stem), "name") or stem
        data, subset, dataset = self.task(root.get("task", {}))
        epochs = self.positive_int(root.get("epochs", DEFAULT_EPOCHS), "epochs") or DEFAULT_EPOCHS
        log_dir = self.optional(root, "log_dir", _TOP, self.string)
        max_connections = self.optional(root, "max_connections", _TOP, self.positive_int)
        max_tasks = self.optional(root, "max_tasks", _TOP, self.positive_int)
        batch = self.optional(root, "batch", _TOP, self.batch)
        if "models" not in root:
            self.error("models", "missing: a study needs at least one model")
        models = self.models(root.get("models", []))
        names = {m.name for m in models}
        groups = self.groups(root.get("groups", {}) or {}, names)
        single = self.optional(root, "single", _TOP, self.string)
        if single is not None and single not in names:
            self.error("single", f"{single!r} is not a declared model ({_names(names)})")
        if root.get("single") is None and models:
            single = models[0].name
        sweeps = self.sweeps(root.get("sweeps", []) or [], names)
        sizes = self.sizes(root.get("sizes", {}) or {})
        estimators = self.estimators(root.get("estimators", []) or [], names)
        study = Study(
            name=name,
            models=tuple(models),
            path=self.path,
            data=data,
            subset=subset,
            dataset=dataset,
            epochs=epochs,
            log_dir=log_dir,
            max_connections=max_connections,
            max_tasks=max_tasks,
            batch=batch,
            groups=groups,
            single=single,
            sweeps=tuple(sweeps),
            sizes=tuple(sizes),
            estimators=tuple(estimators),
        )
        if not self.errors:
            self.unique_slugs(study)
        return study

    def task(self, value: Any) -> tuple[str | None, str, str | None]:
        task = self.mapping(value if value is not None else {}, "task", TASK_KEYS)
        if task is None:
            return None, "all", None
        data = self.optional(task, "data", "task", self.string)
        if data is not None:
            data = self.input_path(data, "task.data", raw=task["data"])
        dataset = self.optional(task, "dataset", "task", self.string)
        if dataset is not None:
            from ..datasets import BUILTIN, is_card

            if is_card(dataset):
                dataset = self.input_path(dataset, "task.dataset", raw=task["dataset"])
            elif dataset not in BUILTIN:
                self.error(
                    "task.dataset",
                    f"unknown dataset {dataset!r}; choose {', '.join(BUILTIN)} or a card (.yaml)",
                )
        subsets = DATASET_SUBSETS.get(dataset or "livenli", ("all",))
        subset = self.string(task.get("subset", "all"), "task.subset") or "all"
        if subset not in subsets:
            self.error(
                "task.subset", f"unknown subset {subset!r}; choose one of {', '.join(subsets)}"
            )
        return data, subset, dataset

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
        num_params = self.optional(raw, "num_params", where, self.positive_number)
        if family is not None and raw.get("num_params") is None:
            self.error(f"{where}.num_params", "missing: size family members need their size")
        if family is not None and num_params is not None:
            default_name = f"{family}-{_number(num_params)}b"
        else:
            default_name = model_id
        name = self.string(raw.get("name", default_name), f"{where}.name") or default_name
        # a family's members are one participant in several sizes (as in the PartyNLI files)
        participant = self.optional(raw, "participant", where, self.string) or family or name
        return ModelSpec(
            id=model_id,
            name=name,
            participant=participant,
            num_params=num_params,
            args=self.args(raw.get("args", {}) or {}, f"{where}.args"),
            base_url=self.optional(raw, "base_url", where, self.string),
            max_connections=self.optional(raw, "max_connections", where, self.positive_int),
            prices=self.optional(raw, "prices", where, self.prices),
        )

    def batch(self, value: Any, where: str) -> bool | int | None:
        """``batch:``: true/false, or a batch size (a positive integer)."""
        if isinstance(value, bool):
            return value
        return self.positive_int(value, where)

    def prices(self, value: Any, where: str) -> dict[str, float] | None:
        """``prices: {input: USD, output: USD}`` per million tokens (both required)."""
        raw = self.mapping(value, where, PRICE_KEYS)
        if raw is None:
            return None
        prices = {}
        for key in PRICE_KEYS:
            if key not in raw:
                self.error(_join(where, key), "missing: give USD per million tokens")
                continue
            number = raw[key]
            if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
                self.error(_join(where, key), f"expected a number >= 0, got {number!r}")
                continue
            prices[key] = float(number)
        return prices if len(prices) == len(PRICE_KEYS) else None

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

    def named_lists(self, value: Any, section: str, noun: str, items: str):
        """``(name, key path, list)`` for each entry of a mapping of names to non-empty lists
        (``groups``, ``sizes``); an error for every other entry."""
        if not isinstance(value, dict):
            self.error(section, f"expected a mapping of {noun} name to {items}, got {_kind(value)}")
            return
        for name, members in value.items():
            where = _join(section, name)
            if not isinstance(name, str) or not _GROUP_NAME.match(name):
                self.error(where, f"{noun} names start with a letter: letters, digits, _ . -")
            elif not isinstance(members, list) or not members:
                self.error(where, f"expected a non-empty list of {items}, got {_kind(members)}")
            else:
                yield name, where, members

    def groups(self, value: Any, names: set[str]) -> dict[str, tuple[str, ...]]:
        groups: dict[str, tuple[str, ...]] = {}
        for group, where, members in self.named_lists(value, "groups", "group", "model names"):
            if group == ALL_GROUP:
                self.error(where, "'all' is implied (every model of the study); do not declare it")
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

    def estimators(self, value: Any, names: set[str]) -> list[EstimatorSpec]:
        if not isinstance(value, list):
            self.error("estimators", f"expected a list of estimator runs, got {_kind(value)}")
            return []
        specs: list[EstimatorSpec] = []
        seen: dict[tuple[str, str], str] = {}
        for index, item in enumerate(value):
            where = f"estimators[{index}]"
            raw = self.mapping(item, where, ESTIMATOR_SPEC_KEYS)
            if raw is None:
                continue
            model = self.string(raw.get("model"), f"{where}.model") if "model" in raw else None
            if "model" not in raw:
                self.error(f"{where}.model", "missing: name the model to read")
            elif model is not None and model not in names:
                self.error(f"{where}.model", f"{model!r} is not a declared model ({_names(names)})")
                model = None
            chosen = [e for e in STUDY_ESTIMATORS if e in raw]
            if not chosen:
                self.error(where, f"reads nothing: give {' and/or '.join(STUDY_ESTIMATORS)} "
                           "(epochs per item, e.g. logprobs: 1)")  # fmt: skip
            args = self.args(raw.get("args", {}) or {}, f"{where}.args")
            for estimator in chosen:
                epochs = self.positive_int(raw[estimator], f"{where}.{estimator}")
                if epochs is None or model is None:
                    continue
                key = (model, estimator)
                if key in seen:
                    self.error(f"{where}.{estimator}",
                               f"{model} is already read by {estimator} ({seen[key]})")  # fmt: skip
                    continue
                seen[key] = f"{where}.{estimator}"
                specs.append(EstimatorSpec(model, estimator, epochs, args))
        return specs

    def sizes(self, value: Any) -> list[SizeFamily]:
        families: list[SizeFamily] = []
        for family, where, members in self.named_lists(value, "sizes", "family", "members"):
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
    return f"{where}.{key}" if where != _TOP else str(key)


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
