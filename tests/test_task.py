"""The livenli task: samples, messages, sweep schedule, solver settings and validation."""

from __future__ import annotations

import asyncio

import pytest
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, ModelName
from inspect_ai.solver import TaskState

from inspect_partynli.datasets import DataNotFoundError, load_dataset
from inspect_partynli.datasets.livenli import UPSTREAM, resolve_livenli
from inspect_partynli.prompts import PROMPT_VERSION, SYSTEM_PROMPT, user_prompt
from inspect_partynli.task import (
    annotate,
    livenli,
    livenli_messages,
    livenli_samples,
    sweep_schedule,
    sweep_value,
    sweep_values,
)

TEMPERATURES_TMAX_1_5 = [0.075, 0.225, 0.375, 0.525, 0.675, 0.825, 0.975, 1.125, 1.275, 1.425]

# --- sweep schedule ---------------------------------------------------------------------------


def test_sweep_values_paper_range():
    # 10 values equally spaced over [0.05 * 1.5, 0.95 * 1.5]: step 0.15
    assert sweep_values(1.5) == TEMPERATURES_TMAX_1_5
    assert sweep_values(1.0) == [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95]
    assert sweep_values(2.0, steps=3) == [0.1, 1.0, 1.9]
    assert sweep_values(1.0, steps=1) == [0.05]


@pytest.mark.parametrize("maximum", [0, -1.0, float("nan")])
def test_sweep_values_rejects_non_positive_max(maximum):
    with pytest.raises(ValueError, match="maximum must be > 0"):
        sweep_values(maximum)


def test_sweep_value_is_one_based_and_wraps():
    values = sweep_values(1.5)
    assert [sweep_value(values, epoch) for epoch in (1, 2, 10)] == [0.075, 0.225, 1.425]
    assert sweep_value(values, 11) == 0.075
    assert sweep_value(values, 23) == 0.375
    with pytest.raises(ValueError, match="1-based"):
        sweep_value(values, 0)


def test_sweep_schedule_defaults_and_bounds():
    assert sweep_schedule(None) is None
    assert sweep_schedule("none") is None
    assert sweep_schedule("temperature") == sweep_values(1.0)
    assert sweep_schedule("temperature", 1.5) == TEMPERATURES_TMAX_1_5
    assert sweep_schedule("temperature", 2) == sweep_values(2.0)
    assert sweep_schedule("top_p") == sweep_values(1.0)
    assert sweep_schedule("top_p", 0.5)[0] == 0.025


@pytest.mark.parametrize(
    ("sweep", "tmax", "message"),
    [
        ("min_p", None, "unknown sweep 'min_p'; choose one of temperature, top_p"),
        ("top_p", 1.5, r"tmax=1.5 is too large for sweep=top_p: at most 1.0"),
        ("temperature", 0, "tmax must be a number > 0, got 0"),
        ("temperature", -0.5, "tmax must be a number > 0"),
        ("temperature", "hot", "tmax must be a number > 0"),
        ("temperature", True, "tmax must be a number > 0"),
        (None, 1.5, "tmax=1.5 was given without a sweep"),
    ],
)
def test_sweep_schedule_rejects(sweep, tmax, message):
    with pytest.raises(ValueError, match=message):
        sweep_schedule(sweep, tmax)


# --- samples and messages ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples():
    return livenli_samples()


def test_one_sample_per_item(samples, livenli):
    assert len(samples) == 122
    assert [sample.id for sample in samples] == sorted(livenli["uid"].unique())
    chaos = livenli_samples(subset="chaosnli")
    assert [sample.id for sample in chaos] == sorted(
        livenli.loc[livenli["chaos_counts"].notna(), "uid"].unique()
    )
    assert len(chaos) == 50
    assert all(sample.metadata["chaosnli_counts"] is not None for sample in chaos)


def test_sample_input_is_the_items_text(samples):
    sample = next(s for s in samples if s.id == "78105n")
    meta = sample.metadata
    # what `inspect view` lists: the item, not the system prompt shared by every sample
    assert sample.input == f"premise: {meta['premise']}\nhypothesis: {meta['hypothesis']}"


def test_solver_sends_the_two_prompts(samples):
    sample = next(s for s in samples if s.id == "78105n")
    _, _, messages = _solve(annotate(), sample, 1)
    system, user = messages
    assert isinstance(system, ChatMessageSystem) and isinstance(user, ChatMessageUser)
    assert system.text == SYSTEM_PROMPT
    meta = sample.metadata
    assert user.text == user_prompt(meta["premise"], meta["hypothesis"])
    assert f"[CONTEXT] {meta['premise']}\n[STATEMENT] {meta['hypothesis']}\n" in user.text
    assert '"label": "..."' in system.text  # the literal JSON braces survive


def test_braces_in_items_are_not_format_fields():
    system, user = livenli_messages("a {0} b {}", "c {name}")
    assert "[CONTEXT] a {0} b {}\n[STATEMENT] c {name}\n" in user.text
    assert system.text == SYSTEM_PROMPT


def test_sample_metadata_contract(samples):
    """Lean samples: the texts, one number per label, the other populations' counts."""
    dataset = load_dataset("livenli")
    for sample in samples:
        assert sample.metadata == dataset.sample_metadata(sample.id)
    meta = next(s for s in samples if s.id == "78105n").metadata
    assert set(meta) == {
        "premise", "hypothesis", "gold", "prompt_label", "human_distribution",
        "chaosnli_counts", "mnli_counts",
    }  # fmt: skip  (the prompts' version is in the header only)
    assert meta["human_distribution"] == pytest.approx({"either": 0.4, "false": 0.6, "true": 0})
    assert meta["chaosnli_counts"] == {"either": 52, "false": 47, "true": 1}
    assert meta["mnli_counts"] == {"either": 3, "false": 2, "true": 0}
    assert (meta["gold"], meta["prompt_label"]) == ("either", "either")
    assert next(s for s in samples if s.id == "10164e").metadata["chaosnli_counts"] is None


def test_unknown_subset(samples):
    with pytest.raises(ValueError, match="unknown subset 'mnli'; choose one of all, chaosnli"):
        livenli_samples(subset="mnli")


def test_explicit_data_path(livenli, tmp_path):
    csv = resolve_livenli()
    assert len(livenli_samples(str(csv.parent), "chaosnli")) == 50
    with pytest.raises(DataNotFoundError, match="LiveNLI not found"):
        livenli_samples(str(tmp_path / "missing.csv"))


# --- the solver ------------------------------------------------------------------------------


def _solve(solver, sample, epoch):
    """Run ``solver`` on ``sample`` at ``epoch`` with a generate that records its settings."""
    sent: dict = {}

    async def generate(state, **settings):
        sent.update(settings)
        return state

    state = TaskState(
        model=ModelName("mockllm/model"),
        sample_id=sample.id,
        epoch=epoch,
        input=sample.input,
        messages=[ChatMessageUser(content=sample.input)],
        metadata=dict(sample.metadata),
    )
    state = asyncio.run(solver(state, generate))
    return sent, state.metadata, state.messages


def test_solver_sends_nothing_by_default(samples):
    sent, metadata, _ = _solve(annotate(), samples[0], 3)
    assert sent == {}
    assert (metadata["sweep"], metadata["temperature"], metadata["top_p"]) == (None, None, None)


@pytest.mark.parametrize(("epoch", "expected"), [(1, 0.075), (3, 0.375), (10, 1.425), (12, 0.225)])
def test_solver_temperature_sweep(samples, epoch, expected):
    sent, metadata, _ = _solve(annotate("temperature", sweep_values(1.5)), samples[0], epoch)
    assert sent == {"temperature": expected}
    assert metadata["sweep"] == "temperature"
    assert metadata["temperature"] == expected
    assert metadata["top_p"] is None


def test_solver_top_p_sweep(samples):
    sent, metadata, _ = _solve(annotate("top_p", sweep_values(1.0)), samples[0], 2)
    assert sent == {"top_p": 0.15}
    assert (metadata["sweep"], metadata["top_p"], metadata["temperature"]) == ("top_p", 0.15, None)


def test_solver_rejects_half_a_sweep():
    with pytest.raises(ValueError, match="both sweep and values"):
        annotate("temperature")
    with pytest.raises(ValueError, match="unknown sweep"):
        annotate("min_p", [0.1])


# --- the task -------------------------------------------------------------------------------


def test_task_defaults():
    task = livenli()
    assert len(task.dataset) == 122
    assert task.epochs == 5
    assert task.epochs_reducer == []  # every epoch kept, no reduction into numbers
    assert task.metadata["prompt_version"] == PROMPT_VERSION
    assert task.metadata["subset"] == "all"
    assert task.metadata["sweep"] is None and task.metadata["tmax"] is None
    assert task.metadata["data_sha256"] == UPSTREAM.sha256
    assert task.metadata["data_path"].endswith("livenli.csv")
    assert task.version == 4
    assert task.metadata["dataset"] == {
        "name": "livenli", "path": task.metadata["data_path"], "sha256": UPSTREAM.sha256,
        "kind": "livenli",
    }  # fmt: skip
    assert task.metadata["labels"] == ["either", "false", "true"]
    assert task.metadata["populations"] == ["livenli", "chaosnli", "mnli"]


def test_task_sweep_metadata():
    task = livenli(subset="chaosnli", sweep="temperature", tmax=1.5, epochs=10)
    assert len(task.dataset) == 50 and task.epochs == 10
    assert task.metadata["sweep"] == "temperature"
    assert task.metadata["tmax"] == 1.5
    assert task.metadata["sweep_values"] == TEMPERATURES_TMAX_1_5
    top_p = livenli(sweep="top_p")
    assert top_p.metadata["tmax"] == 1.0 and top_p.metadata["sweep_values"][0] == 0.05


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"subset": "mnli"}, "unknown subset 'mnli'"),
        ({"sweep": "min_p"}, "unknown sweep 'min_p'"),
        ({"sweep": "temperature", "tmax": 0}, "tmax must be a number > 0"),
        ({"sweep": "top_p", "tmax": 2.0}, "at most 1.0"),
        ({"epochs": 0}, "epochs must be a positive integer"),
    ],
)
def test_task_rejects_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        livenli(**params)


# --- registration ---------------------------------------------------------------------------


def test_registry_names_the_task_provider_and_scorer():
    from inspect_ai._util.registry import registry_lookup
    from inspect_ai.model import get_model

    import inspect_partynli._registry  # noqa: F401  (what the entry point loads)

    assert registry_lookup("task", "inspect_partynli/livenli") is not None
    assert registry_lookup("scorer", "inspect_partynli/livenli_scorer") is not None
    assert registry_lookup("modelapi", "inspect_partynli/partynli") is not None
    assert str(get_model("partynli/livenli-annotators")) == "partynli/livenli-annotators"


def test_entry_point_points_at_the_registry():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="inspect_ai") if e.name == "inspect_partynli"]
    assert entry.value == "inspect_partynli._registry"


def test_parameter_errors_print_without_traceback_in_inspect():
    """Inspect's CLI prints a PrerequisiteError's message alone; the error stays a ValueError."""
    from inspect_ai._util.error import PrerequisiteError

    with pytest.raises(ValueError) as error:
        livenli(sweep="top_p", tmax=1.5)
    assert isinstance(error.value, PrerequisiteError)
    assert error.value.message == "tmax=1.5 is too large for sweep=top_p: at most 1.0"


def test_missing_data_is_one_message(tmp_path):
    from inspect_ai._util.error import PrerequisiteError

    with pytest.raises(DataNotFoundError) as error:
        livenli(data=str(tmp_path))
    assert isinstance(error.value, PrerequisiteError)
    assert "LiveNLI not found" in error.value.message
