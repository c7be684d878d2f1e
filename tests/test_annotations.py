"""Tests for :mod:`inspect_partynli.annotations`: real Inspect logs and PartyNLI files in.

The logs are produced by ``inspect_ai.eval`` on a tiny stand-in task named ``livenli``
whose solver answers from the sample's metadata (one scripted answer per epoch, no model
call) and whose scorer returns the scorer contract's ``Score.value`` dict.  Variants
(cancelled logs, retries) are derived from real logs with ``write_eval_log``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import Task, eval, task
from inspect_ai.dataset import Sample
from inspect_ai.log import read_eval_log, write_eval_log
from inspect_ai.model import ModelOutput
from inspect_ai.scorer import Score, Target, scorer
from inspect_ai.solver import Generate, TaskState, solver

from inspect_partynli.annotation_schema import ANNOTATION_COLUMNS, PARTYNLI_COLUMNS
from inspect_partynli.annotations import (
    AnnotationWarning,
    load_annotations,
    participant_name,
    read_partynli_file,
    write_partynli_file,
)
from inspect_partynli.errors import OutputExistsError, SourceError, UsageError

LONG = "x" * 1500  # longer than Inspect's 1k summary limit: only full samples keep it whole

#: item -> answer per epoch ("error" = a reply that did not parse)
ANSWERS = {
    "a1": ["true", "true", "either-true"],
    "b2": ["false", "error", "false"],
    "c3": ["either", "either-false", "true"],
}


# --------------------------------------------------------------------------------------
# a stand-in for the livenli task (same name, same Score.value contract)


@solver
def scripted(fail_on: tuple[str, ...] = ()):
    """Answer from metadata['answers'][epoch - 1]; raise for items in ``fail_on``."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if str(state.sample_id) in fail_on:
            raise RuntimeError(f"scripted failure on {state.sample_id}")
        answer = state.metadata["answers"][state.epoch - 1]
        state.output = ModelOutput.from_content("mockllm/model", answer)
        return state

    return solve


@scorer(metrics=[])
def livenli_scorer():
    async def score(state: TaskState, target: Target) -> Score:
        answer = state.output.completion
        parsed = answer != "error"
        single = answer if answer in ("true", "false") else "either"
        value = {
            "label": single if parsed else "error",
            "multi_label": answer if parsed else "error",
            "parsed": int(parsed),
            "failure": "" if parsed else "no_json",
            "temperature": state.metadata.get("temperature"),
            "top_p": state.metadata.get("top_p"),
            "n_labels": len(answer.split("-")) if parsed else 0,
        }
        explanation = f"{state.sample_id}/{state.epoch}: {LONG}"
        return Score(value=value, answer=value["multi_label"], explanation=explanation)

    return score


def _samples(answers: dict[str, list[str]], temperature: float | None = None) -> list[Sample]:
    meta = {"temperature": temperature, "top_p": None, "sweep": None}
    return [
        Sample(id=uid, input=f"item {uid}", metadata={"answers": labels, **meta})
        for uid, labels in answers.items()
    ]


@task(name="livenli")
def fake_livenli(answers: dict | None = None, fail_on: tuple = (), temperature=None, sweep=None):
    return Task(
        dataset=_samples(answers or ANSWERS, temperature),
        solver=scripted(tuple(fail_on)),
        scorer=livenli_scorer(),
    )


@task(name="other_task")
def other_task():
    return Task(dataset=_samples(ANSWERS), solver=scripted(), scorer=livenli_scorer())


def run(log_dir: Path, the_task=None, *, model="mockllm/model", epochs=3, **kwargs) -> Path:
    """Run a task into ``log_dir`` and return the log's path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [log] = eval(
            the_task if the_task is not None else fake_livenli(),
            model=model,
            epochs=epochs,
            log_dir=str(log_dir),
            display="none",
            **kwargs,
        )
    return Path(log.location)


def expected_rows(answers=ANSWERS) -> dict[tuple[str, int], tuple[str, str]]:
    """(item, trial) -> (class_simple, class_multi) the scripted answers must give."""
    out = {}
    for uid, labels in answers.items():
        for trial, answer in enumerate(labels, start=1):
            if answer == "error":
                out[uid, trial] = ("error", "error")
            else:
                single = answer if answer in ("true", "false") else "either"
                out[uid, trial] = (single, answer)
    return out


def labels_by_key(table: pd.DataFrame) -> dict[tuple[str, int], tuple[str, str]]:
    return {
        (row.sent_id, row.trial): (row.class_simple, row.class_multi) for row in table.itertuples()
    }


def load_quietly(*args, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error", AnnotationWarning)  # any warning fails the test
        return load_annotations(*args, **kwargs)


def load_warning(*args, **kwargs) -> tuple[pd.DataFrame, str]:
    """Load and return the table and the text of the one AnnotationWarning raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = load_annotations(*args, **kwargs)
    ours = [w for w in caught if issubclass(w.category, AnnotationWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    return table, str(ours[0].message)


@pytest.fixture(scope="module")
def good_log(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("good"))


# --------------------------------------------------------------------------------------
# reading logs


def test_log_rows_follow_the_scores(good_log):
    table = load_quietly(good_log)
    assert list(table.columns) == list(ANNOTATION_COLUMNS)
    assert len(table) == 9
    assert labels_by_key(table) == expected_rows()
    assert set(table["participant"]) == {"model"}
    assert set(table["model"]) == {"mockllm/model"}
    assert set(table["participant_type"]) == {"model"}
    assert set(table["experiment"]) == {"single"}
    assert set(table["source"]) == {str(good_log)}
    assert table["temperature"].isna().all() and table["top_p"].isna().all()
    assert table["num_params"].isna().all()
    assert set(table["id"]) == {"model-na-na"}
    failed = table[table["sent_id"].eq("b2") & table["trial"].eq(2)].iloc[0]
    assert not failed.parsed and failed.failure_reason == "no_json"
    assert table["parsed"].sum() == 8
    assert (table.loc[table["parsed"], "failure_reason"] == "").all()
    # sorted by item then trial within one participant
    assert list(zip(table["sent_id"], table["trial"], strict=True))[:3] == [
        ("a1", 1), ("a1", 2), ("a1", 3)
    ]  # fmt: skip
    assert (table["explanation"] == "").all()  # fast path: no explanations


def test_explanations_come_from_full_samples(good_log):
    table = load_quietly(good_log, explanations=True)
    assert labels_by_key(table) == expected_rows()
    row = table[table["sent_id"].eq("c3") & table["trial"].eq(2)].iloc[0]
    assert row.explanation == f"c3/2: {LONG}"  # not truncated like a summary's


def test_json_logs_read_like_eval_logs(tmp_path):
    log = run(tmp_path, log_format="json")
    assert log.suffix == ".json"
    table = load_quietly(log, explanations=True)
    assert labels_by_key(table) == expected_rows()
    assert table["explanation"].str.endswith(LONG).all()


def test_folders_are_searched_recursively_and_each_file_read_once(tmp_path, good_log):
    nested = tmp_path / "a" / "b"
    log = run(nested)
    (tmp_path / "a" / "logs.json").write_text("{}")  # eval-set's listing: not a log
    table = load_quietly([tmp_path, log, nested])
    assert len(table) == 9 and set(table["source"]) == {str(log)}


def test_participant_names_and_sizes(good_log):
    assert participant_name("openai/gpt-4.1") == "gpt-4.1"
    assert participant_name("openrouter/mistralai/ministral-8b") == "mistralai/ministral-8b"
    assert participant_name("partynli/replay", {"participant": "ministral-8b"}) == "ministral-8b"
    assert participant_name("openai/gpt-4.1", {}, {"gpt-4.1": "GPT"}) == "GPT"
    table = load_quietly(
        good_log, participants={"mockllm/model": "mock"}, num_params={"mock": 8}, experiment="x"
    )
    assert set(table["participant"]) == {"mock"}
    assert set(table["experiment"]) == {"x"}
    assert (table["num_params"] == 8.0).all()
    by_model = load_quietly(good_log, num_params={"mockllm/model": 3.5})  # keyed by model id
    assert (by_model["num_params"] == 3.5).all()


def test_model_args_participant_names_replayed_models(tmp_path):
    log = run(tmp_path)
    header = read_eval_log(str(log))
    header.eval.model_args = {"participant": "ministral-8b"}
    write_eval_log(header, str(log))
    assert set(load_quietly(log)["participant"]) == {"ministral-8b"}


def test_sweeps_record_settings_and_experiment(tmp_path):
    log = run(tmp_path, fake_livenli(temperature=0.5, sweep="temperature"))
    table = load_quietly(log)
    assert (table["temperature"] == 0.5).all()
    assert set(table["experiment"]) == {"temperature_sweep"}
    assert set(table["id"]) == {"model-0.5-na"}


# --------------------------------------------------------------------------------------
# robustness: errors, cancellations, retries, other tasks, missing epochs


def test_errored_log_keeps_completed_samples_and_warns(tmp_path):
    log = run(tmp_path, fake_livenli(fail_on=("b2",)))
    assert read_eval_log(str(log), header_only=True).status == "error"
    table, message = load_warning(log)
    assert set(table["sent_id"]) <= {"a1", "c3"}
    expected = {k: v for k, v in expected_rows().items() if k in labels_by_key(table)}
    assert labels_by_key(table) == expected
    assert "status error" in message and log.name in message
    assert "missing" in message


def test_samples_with_errors_are_skipped(tmp_path):
    log = run(tmp_path, fake_livenli(fail_on=("b2",)), fail_on_error=False)
    assert read_eval_log(str(log), header_only=True).status == "success"
    table, message = load_warning(log)
    assert len(table) == 6 and "b2" not in set(table["sent_id"])
    assert "errored (skipped)" in message and "3 annotation(s)" in message
    assert "missing (item, epoch)" in message


def test_retry_latest_successful_sample_wins(tmp_path):
    """An eval-set style retry: a failed attempt, then a later successful log."""
    failed = run(tmp_path, fake_livenli(fail_on=("b2",)))
    changed = {uid: ["false"] * 3 for uid in ANSWERS}
    retried = run(tmp_path, fake_livenli(answers=changed))
    for sources in ([failed, retried], [retried, failed], [tmp_path]):
        table, message = load_warning(sources)
        assert labels_by_key(table) == expected_rows(changed)
        assert set(table["source"]) == {str(retried)}
        assert "superseded" in message and failed.name in message
        assert "missing" not in message


def test_the_later_log_wins_even_when_an_earlier_one_succeeded(tmp_path, good_log):
    changed = {uid: ["true"] * 3 for uid in ANSWERS}
    later = run(tmp_path, fake_livenli(answers=changed))
    table, message = load_warning([later, good_log])
    assert labels_by_key(table) == expected_rows(changed)
    assert "superseded" in message and "9 annotation(s)" in message


def test_different_models_are_different_participants(tmp_path, good_log):
    other = run(tmp_path, model="mockllm/other")
    table = load_quietly([good_log, other])
    assert len(table) == 18
    assert table.groupby("participant").size().to_dict() == {"model": 9, "other": 9}


def test_cancelled_log_and_missing_epochs(tmp_path, good_log):
    log = read_eval_log(str(good_log))
    log.status = "cancelled"
    log.samples = [s for s in log.samples if not (s.id == "a1" and s.epoch == 3)]
    cancelled = tmp_path / "cancelled.eval"
    write_eval_log(log, str(cancelled))
    table, message = load_warning(cancelled)
    assert len(table) == 8 and ("a1", 3) not in labels_by_key(table)
    assert "status cancelled" in message
    assert "runs with missing (item, epoch) annotations: 1 file(s), 1 annotation(s)" in message


def test_other_tasks_are_ignored_with_one_warning(tmp_path, good_log):
    other = run(tmp_path, other_task())
    table, message = load_warning([good_log, other])
    assert len(table) == 9
    assert "other tasks (other_task)" in message and other.name in message
    only_other, _ = load_warning(other)
    assert only_other.empty and list(only_other.columns) == list(ANNOTATION_COLUMNS)


def test_unscored_samples_are_skipped_not_failures(tmp_path):
    log = run(tmp_path, score=False)
    table, message = load_warning(log)
    assert table.empty
    assert "unscored" in message and "9 annotation(s)" in message


def test_many_problems_make_exactly_one_warning(tmp_path, good_log):
    other = run(tmp_path, other_task())
    failed = run(tmp_path, fake_livenli(fail_on=("a1",)), model="mockllm/other")
    _, message = load_warning([good_log, other, failed])
    assert "other tasks" in message and "status error" in message and "missing" in message


# --------------------------------------------------------------------------------------
# PartyNLI files


def test_partynli_fixture(fixture_csv):
    table = load_quietly(fixture_csv)
    assert len(table) == 609
    assert list(table.columns[: len(ANNOTATION_COLUMNS)]) == list(ANNOTATION_COLUMNS)
    assert {"tsne_1", "umap_2"} <= set(table.columns)
    assert set(table["participant"]) == {"ministral-8b"}
    assert set(table["model"]) == {"ministral-8b"}
    assert table["trial"].value_counts().sort_index().to_dict() == {
        1: 122, 2: 122, 3: 122, 4: 121, 5: 122
    }  # fmt: skip
    errors = table["class_simple"] == "error"
    assert (table["parsed"] == ~errors).all()
    assert (table.loc[errors, "failure_reason"] == "error").all()
    assert (table.loc[~errors, "failure_reason"] == "").all()
    assert table["num_params"].eq(8.0).all() and table["temperature"].eq(1.0).all()
    raw = pd.read_csv(fixture_csv, dtype=str, keep_default_na=False)
    assert table["explanation"].tolist() == raw["explanation"].tolist()
    assert table["sent_id"].tolist() == raw["sent_id"].tolist()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trip(tmp_path, fixture_csv, good_log, suffix):
    table = load_quietly([good_log, fixture_csv], explanations=True)
    out = write_partynli_file(table, tmp_path / f"table{suffix}")
    back = read_partynli_file(out)
    assert list(back.columns[: len(PARTYNLI_COLUMNS)]) == list(PARTYNLI_COLUMNS)
    expected = table.assign(source=str(out))
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


def test_write_refuses_to_overwrite(tmp_path, fixture_csv):
    table = read_partynli_file(fixture_csv)
    out = tmp_path / "t.csv"
    out.write_text("mine")
    with pytest.raises(OutputExistsError):
        write_partynli_file(table, out)
    assert out.read_text() == "mine"
    write_partynli_file(table, out, force=True)
    assert len(read_partynli_file(out)) == 609
    with pytest.raises(UsageError, match="unknown output format"):
        write_partynli_file(table, tmp_path / "t.xlsx")


def test_include_humans(good_log):
    """True: the humans of the dataset the logs record (LiveNLI's 48 workers, 1405 labels)."""
    table = load_quietly(good_log, include_humans=True)
    humans = table[table["participant_type"] == "human"]
    assert len(humans) == 1405 and humans["participant"].nunique() == 48
    assert set(humans["experiment"]) == {"livenli"}
    assert len(table) == 9 + 1405


def test_include_humans_of_any_dataset(good_log, livenli_dataset):
    """A dataset (or its name) gives that dataset's primary annotators, exactly as
    analysis.human_table does: VariErr's 4 annotators, 1856 labels (those the single-label
    rule keeps)."""
    from inspect_partynli.analysis import human_table
    from inspect_partynli.datasets import load_dataset

    varierr = load_dataset("varierr")
    by_name = load_quietly(good_log, include_humans="varierr")
    by_object = load_quietly(good_log, include_humans=varierr)
    humans = by_name[by_name["participant_type"] == "human"].reset_index(drop=True)
    expected = human_table(varierr)
    assert by_name.equals(by_object)
    assert len(humans) == 1856 and humans["participant"].nunique() == 4
    assert set(humans["experiment"]) == {"varierr"}
    pd.testing.assert_frame_equal(humans, expected.reset_index(drop=True), check_dtype=False)
    with_livenli = load_quietly(good_log, include_humans=livenli_dataset)
    assert (with_livenli["participant_type"] == "human").sum() == 1405


def test_progress_bar_does_not_change_the_result(good_log, fixture_csv):
    assert load_quietly([good_log, fixture_csv], progress=True).equals(
        load_quietly([good_log, fixture_csv])
    )


# --------------------------------------------------------------------------------------
# bad sources: one clear SourceError


def test_missing_columns_are_listed(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sent_id,class_simple\na1,true\n")
    with pytest.raises(SourceError, match=r"missing column\(s\) participant, trial"):
        load_annotations(bad)


def test_unknown_labels_and_bad_trials(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sent_id,participant,trial,class_simple\na1,m,1,maybe\n")
    with pytest.raises(SourceError, match="unknown value.*'maybe'.*either, false, true, error"):
        load_annotations(bad, labels=("either", "false", "true"))
    # without a label space (a card dataset's labels are checked by the analysis) it is data
    assert load_annotations(bad)["class_simple"].tolist() == ["maybe"]
    bad.write_text("sent_id,participant,trial,class_simple\na1,m,first,true\n")
    with pytest.raises(SourceError, match="whole numbers"):
        load_annotations(bad)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.eval", None, "no such file"),
        ("notes.txt", "hello", "unknown kind of source"),
        ("broken.eval", "not a zip", "not a readable Inspect log"),
        ("broken.json", "{not json", "not a readable Inspect log"),
        ("broken.parquet", "nope", "cannot read"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(SourceError, match=message) as error:
        load_annotations(path)
    assert "\n" not in str(error.value)


def test_empty_folder_and_no_sources(tmp_path):
    with pytest.raises(SourceError, match="holds no Inspect logs"):
        load_annotations(tmp_path)
    with pytest.raises(SourceError, match="no sources"):
        load_annotations([])


# --------------------------------------------------------------------------------------
# the real task, scorer and replay provider


@pytest.fixture(scope="module")
def replay_log(tmp_path_factory, fixture_csv) -> Path:
    """The ministral-8b fixture replayed through ``inspect_partynli/livenli`` (5 epochs)."""
    from inspect_partynli.task import livenli

    return run(
        tmp_path_factory.mktemp("replay"),
        livenli(),
        model="partynli/replay",
        epochs=5,
        model_args={"path": str(fixture_csv), "participant": "ministral-8b",
                    "experiment": "model_mix_lo"},
    )  # fmt: skip


def test_replay_round_trip_gives_the_fixture_back(replay_log, fixture_csv):
    assert read_eval_log(str(replay_log), header_only=True).eval.task == "inspect_partynli/livenli"
    table = load_quietly(replay_log, explanations=True)
    fixture = read_partynli_file(fixture_csv)
    assert len(table) == len(fixture) == 609  # (140440e, 4) is not in the fixture: left out
    assert set(table["participant"]) == {"ministral-8b"}
    assert set(table["model"]) == {"partynli/replay"}
    assert set(table["experiment"]) == {"model_mix_lo"}
    merged = table.merge(fixture, on=["sent_id", "trial"], how="outer", suffixes=("", "_fixture"))
    assert len(merged) == 609
    for column in ("class_simple", "class_multi", "explanation", "parsed"):
        assert merged[column].tolist() == merged[f"{column}_fixture"].tolist(), column
    # the fast path reads the same labels
    fast = load_quietly(replay_log)
    assert fast.drop(columns="explanation").equals(table.drop(columns="explanation"))


def test_real_sweep_and_replay_model_name(tmp_path, fixture_csv):
    from inspect_partynli.task import livenli, sweep_values

    log = run(
        tmp_path,
        livenli(sweep="temperature", epochs=3),
        model="partynli/replay/ministral-8b",
        model_args={"path": str(fixture_csv)},
        limit=2,
    )
    table = load_quietly(log)  # limit=2: the log's sample ids are those 2, nothing missing
    assert len(table) == 6 and set(table["participant"]) == {"ministral-8b"}
    assert set(table["experiment"]) == {"temperature_sweep"}
    assert table.groupby("trial")["temperature"].first().tolist() == sweep_values()[:3]
    assert table["top_p"].isna().all()
    assert sorted(set(table["id"])) == [f"ministral-8b-{t:g}-na" for t in sweep_values()[:3]]


def test_replayed_logs_give_table5_ministral_8b_row(replay_log, capsys):
    """Table 5's ministral-8b row from the Inspect logs of the replayed fixture, through the
    CLI: the item/trial the fixture lacks is ``no_annotation`` (left out), so alpha is the
    fixture's 0.50 and every answer parsed."""
    import json

    from inspect_partynli.cli import main

    assert main(["metrics", str(replay_log), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["participant"], row["setting"], row["n_items"], row["n_trials"]) == (
        "ministral-8b", "single", 122, 5,
    )  # fmt: skip
    paper = {"H": 0.09, "JS": 0.46, "KL_pq": 10.15, "KL_qp": 1.28, "agree": 0.55, "alpha": 0.50}
    assert {key: round(row[key], 2) for key in paper} == paper
    assert row["alpha"] == pytest.approx(0.5, abs=1e-12) and row["parse_rate"] == 1.0


def test_columns_reads_only_what_a_command_needs_with_the_same_values(fixture_csv, tmp_path):
    """``columns=`` (what ``partynli metrics`` asks for): the key columns plus those asked for,
    equal to the full read's; Parquet text comes back compact, as categoricals."""
    full = load_annotations(fixture_csv, num_params={"ministral-8b": 8.0})
    parquet = write_partynli_file(full, tmp_path / "fixture.parquet")
    asked = ("experiment", "num_params", "temperature", "top_p")
    for source in (fixture_csv, parquet):
        pruned = load_annotations(source, columns=asked, num_params={"ministral-8b": 8.0})
        assert list(pruned.columns) == [
            "sent_id", "participant", "participant_type", "experiment", "trial",
            "class_simple", "num_params", "temperature", "top_p", "parsed",
        ]  # fmt: skip
        for column in pruned.columns:
            assert pruned[column].tolist() == full[column].tolist(), (source, column)
    compact = load_annotations(parquet, columns=asked)
    assert isinstance(compact["participant"].dtype, pd.CategoricalDtype)
    assert isinstance(compact["class_simple"].dtype, pd.CategoricalDtype)
