"""The offline participants ``partynli/livenli-annotators`` and ``partynli/replay``."""

from __future__ import annotations

import asyncio
import json

import pandas as pd
import pytest
from inspect_ai.model import ChatMessageUser, get_model

from inspect_partynli.datasets import load_dataset
from inspect_partynli.errors import SourceError, UsageError
from inspect_partynli.prompts import SYSTEM_PROMPT, user_prompt
from inspect_partynli.providers import (
    Annotators,
    PartyNLIModelAPI,
    annotation_json,
    mark_spans,
    prompt_pair,
    read_annotations_file,
)
from inspect_partynli.task import livenli_messages


@pytest.fixture(scope="module")
def annotators(livenli):
    return PartyNLIModelAPI("livenli-annotators")


@pytest.fixture(scope="module")
def items(livenli):
    return livenli.groupby("uid").first()


def messages(items, uid):
    return livenli_messages(items.loc[uid, "premise"], items.loc[uid, "hypothesis"])


# --- building blocks -------------------------------------------------------------------------


def test_mark_spans():
    text = "need not be prepared"
    assert mark_spans(text, [(0, 4), (12, 20)]) == "<<need>> not be <<prepared>>"
    assert mark_spans(text, []) == text
    assert mark_spans(text, [(12, 20), (0, 4)]) == "<<need>> not be <<prepared>>"  # any order
    assert mark_spans(text, [(0, 6), (5, 8)]) == "<<need not>> be prepared"  # overlap merged
    assert mark_spans(text, [(15, 99), (3, 3)]) == "need not be pre<<pared>>"  # clipped, empty
    assert mark_spans(text, [(0, 4), (4, 8)]) == "<<need>><< not>> be prepared"  # touching


def test_annotation_json_is_the_system_prompt_format():
    reply = annotation_json("either-true", 'says "x"', "<<a>> b", "c")
    assert json.loads(reply) == {
        "classification": {"label": "either-true", "explanation": 'says "x"'},
        "highlights": {"context": "<<a>> b", "statement": "c"},
    }
    assert reply.startswith('{\n  "classification": {\n    "label": "either-true",')


def test_prompt_pair():
    pair = ("A premise.", "A hypothesis.")
    assert prompt_pair(user_prompt(*pair)) == [pair]
    assert prompt_pair("What is 1 + 1?") == []
    assert prompt_pair(SYSTEM_PROMPT) == []
    # a premise containing the separator yields every split; the caller picks the known item
    tricky = user_prompt("p\n[STATEMENT] q", "h")
    assert ("p\n[STATEMENT] q", "h") in prompt_pair(tricky)


# --- livenli-annotators ------------------------------------------------------------------------


def _label(reply: str) -> str:
    return json.loads(reply)["classification"]["label"]


def test_epoch_e_is_the_items_eth_worker(annotators, items, livenli):
    rows = livenli[livenli["uid"] == "78105n"].reset_index(drop=True)
    asked = messages(items, "78105n")
    for epoch in range(1, 11):
        reply = json.loads(annotators.reply(asked, epoch))
        row = rows.iloc[epoch - 1]
        assert reply["classification"] == {
            "label": row["class_multi"],
            "explanation": row["explanation"],
        }
        assert reply["highlights"] == {
            "context": mark_spans(row["premise"], row["highlight_p"]),
            "statement": mark_spans(row["hypothesis"], row["highlight_h"]),
        }
    labels = [_label(annotators.reply(asked, epoch)) for epoch in range(1, 11)]
    assert labels[:3] == ["either", "either-false", "false"]  # workers w1, w2, w4
    assert annotators.reply(asked, 11) == annotators.reply(asked, 1)  # wraps after 10 workers


def test_first_reply_of_the_first_item(annotators, items):
    reply = json.loads(annotators.reply(messages(items, "10164e"), 1))  # worker w0
    assert reply["classification"]["label"] == "either-true"
    assert reply["highlights"] == {
        "context": "findings, the Administrator has determined that an environmental impact "
        "statement <<need not>> be prepared.",
        "statement": "The Administrator believes a environmental impact statement "
        "<<should not>> be prepared.",
    }


def test_wraps_at_the_items_own_number_of_workers(annotators, items, livenli):
    counts = livenli.groupby("uid").size()
    uid = counts.idxmax()
    n = int(counts.max())
    assert n == 38
    asked = messages(items, uid)
    assert annotators.reply(asked, n + 1) == annotators.reply(asked, 1)
    assert annotators.reply(asked, n) != annotators.reply(asked, 1) or n == 1


def test_every_worker_reply_reproduces_the_recorded_labels(livenli):
    replies = Annotators(load_dataset("livenli"))
    for uid, rows in livenli.groupby("uid"):
        got = [_label(replies.reply(uid, e)) for e in range(1, len(rows) + 1)]
        assert got == rows["class_multi"].tolist()


def test_unknown_prompt_is_a_clear_error(annotators):
    with pytest.raises(ValueError, match=r"answers only the prompts of its dataset \(livenli\)"):
        annotators.reply([ChatMessageUser(content="What is 1 + 1?")], 1)
    with pytest.raises(ValueError, match="names no livenli item"):
        annotators.reply(livenli_messages("Not a LiveNLI premise.", "Nor this."), 1)


def test_generate_outside_an_eval_is_epoch_one_with_usage(items, annotators):
    model = get_model("partynli/livenli-annotators")
    asked = messages(items, "78105n")
    output = asyncio.run(model.generate(asked))
    assert output.completion == annotators.reply(asked, 1)
    assert output.usage is not None and output.usage.output_tokens > 0
    assert output.usage.total_tokens == output.usage.input_tokens + output.usage.output_tokens


# --- replay ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ministral(fixture_csv):
    return pd.read_csv(fixture_csv, dtype={"sent_id": str}, keep_default_na=False)


def test_replay_epoch_is_trial(fixture_csv, ministral, items):
    model = PartyNLIModelAPI("replay", path=str(fixture_csv))
    for trial in (1, 5):
        for row in ministral[ministral["trial"] == trial].head(5).itertuples():
            reply = json.loads(model.reply(messages(items, row.sent_id), trial))
            assert reply["classification"] == {
                "label": row.class_multi,
                "explanation": row.explanation,
            }
            # PartyNLI files have no highlights: the texts come back unmarked
            assert reply["highlights"]["context"] == items.loc[row.sent_id, "premise"]


def test_replay_missing_trial_is_no_annotation(fixture_csv, ministral, items):
    trial4 = set(ministral.loc[ministral["trial"] == 4, "sent_id"])
    (missing,) = set(items.index) - trial4
    model = PartyNLIModelAPI("replay", path=str(fixture_csv), participant="ministral-8b")
    assert model.reply(messages(items, missing), 4) is None
    assert model.reply(messages(items, missing), 3)
    assert model.reply(messages(items, missing), 6) is None  # no trial 6 at all


def _write(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def test_replay_error_rows_become_unparseable_replies(ministral, items, tmp_path):
    frame = ministral.head(3).copy()
    frame.loc[frame.index[0], ["class_simple", "class_multi", "explanation"]] = [
        "error", "error", "Expecting ',' delimiter: line 3 column 5 (char 40)",
    ]  # fmt: skip
    model = PartyNLIModelAPI("replay", path=_write(frame, tmp_path / "errors.csv"))
    row = frame.iloc[0]
    reply = model.reply(messages(items, row["sent_id"]), int(row["trial"]))
    assert reply == "Expecting ',' delimiter: line 3 column 5 (char 40)"


def test_replay_parquet(ministral, items, tmp_path):
    path = tmp_path / "ministral.parquet"
    ministral.to_parquet(path)
    model = PartyNLIModelAPI("replay", path=str(path))
    row = ministral.iloc[0]
    reply = json.loads(model.reply(messages(items, row["sent_id"]), int(row["trial"])))
    assert reply["classification"]["label"] == row["class_multi"]


def test_replay_several_participants(ministral, items, tmp_path):
    other = ministral.assign(participant="qwen3", class_multi="false", class_simple="false")
    path = _write(pd.concat([ministral, other]), tmp_path / "two.csv")
    with pytest.raises(UsageError, match="several participants.*ministral-8b, qwen3"):
        PartyNLIModelAPI("replay", path=path)
    with pytest.raises(UsageError, match="'gpt' is not in the replay file.*ministral-8b, qwen3"):
        PartyNLIModelAPI("replay", path=path, participant="gpt")
    row = ministral.iloc[0]
    asked = messages(items, row["sent_id"])
    qwen = PartyNLIModelAPI("replay", path=path, participant="qwen3")
    assert _label(qwen.reply(asked, int(row["trial"]))) == "false"
    # partynli/replay/NAME is short for -M participant=NAME
    short = PartyNLIModelAPI("replay/qwen3", path=path)
    assert short.reply(asked, int(row["trial"])) == qwen.reply(asked, int(row["trial"]))


def test_replay_duplicate_trials_need_an_experiment(ministral, items, tmp_path):
    hi = ministral.assign(experiment="model_mix_hi", class_multi="true", class_simple="true")
    path = _write(pd.concat([ministral, hi]), tmp_path / "mixes.csv")
    with pytest.raises(UsageError, match="-M experiment=NAME.*model_mix_hi, model_mix_lo"):
        PartyNLIModelAPI("replay", path=path)
    model = PartyNLIModelAPI("replay", path=path, experiment="model_mix_hi")
    row = ministral.iloc[0]
    assert _label(model.reply(messages(items, row["sent_id"]), int(row["trial"]))) == "true"
    with pytest.raises(UsageError, match="experiment 'size_ablation' not found"):
        PartyNLIModelAPI("replay", path=path, experiment="size_ablation")


def test_replay_bad_files(tmp_path, ministral):
    with pytest.raises(SourceError, match="replay file not found"):
        read_annotations_file(tmp_path / "none.csv")
    path = _write(ministral.drop(columns=["trial", "class_multi"]), tmp_path / "short.csv")
    with pytest.raises(SourceError, match=r"missing column\(s\) trial \(needs sent_id, "):
        read_annotations_file(path)


def test_replay_reads_what_the_analysis_reads(tmp_path, ministral):
    """One PartyNLI reader: a file with only the required columns replays (its class_multi is
    its class_simple, its explanations empty), exactly as `partynli metrics` reads it."""
    from inspect_partynli.annotations import read_partynli_file

    slim = ministral[["sent_id", "participant", "trial", "class_simple"]]
    path = _write(slim, tmp_path / "slim.csv")
    frame = read_annotations_file(path)
    pd.testing.assert_frame_equal(frame, read_partynli_file(path))
    assert (frame["class_multi"] == frame["class_simple"]).all()
    assert (frame["explanation"] == "").all() and frame["sent_id"].map(type).eq(str).all()


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("gpt-4", {}, "unknown model partynli/gpt-4; choose partynli/annotators"),
        ("livenli-annotators/x", {}, "unknown model"),
        ("replay", {}, "needs the file to replay: -M path=FILE"),
        ("livenli-annotators", {"path": "x.csv"}, "takes only -M dataset=NAME, -M data=PATH and"),
        ("annotators", {"participant": "x"}, "takes only -M dataset=NAME"),
        ("livenli-annotators", {"seed": 1}, "does not take -M seed"),
        ("annotators", {"temperature": -1}, "-M temperature must be a number >= 0, got -1"),
        ("annotators", {"temperature": "hot"}, "-M temperature must be a number >= 0, got 'hot'"),
        ("replay/a", {"path": "x.csv", "participant": "b"}, "participant given twice"),
    ],
)
def test_model_argument_errors(name, args, message):
    with pytest.raises(UsageError, match=message):
        PartyNLIModelAPI(name, **args)


def test_data_argument(tmp_path, items, livenli):
    from inspect_ai._util.error import PrerequisiteError

    from inspect_partynli.datasets import DataFormatError, DataNotFoundError
    from inspect_partynli.datasets.livenli import resolve_livenli

    explicit = PartyNLIModelAPI("livenli-annotators", data=str(resolve_livenli().parent))
    assert _label(explicit.reply(messages(items, "78105n"), 2)) == "either-false"
    # a wrong -M data=PATH fails when the model is made, as one message in Inspect's CLI
    with pytest.raises(DataNotFoundError, match=f"LiveNLI not found at {tmp_path}") as error:
        PartyNLIModelAPI("livenli-annotators", data=str(tmp_path))
    assert isinstance(error.value, PrerequisiteError)
    (tmp_path / "livenli.csv").write_text("uid,premise\n1,x\n")
    with pytest.raises(DataFormatError, match="is not LiveNLI: missing column"):
        PartyNLIModelAPI("livenli-annotators", data=str(tmp_path))


def test_argument_errors_print_without_traceback_in_inspect():
    from inspect_ai._util.error import PrerequisiteError

    with pytest.raises(UsageError) as error:
        get_model("partynli/replay")
    assert isinstance(error.value, PrerequisiteError)
    assert error.value.message == "partynli/replay needs the file to replay: -M path=FILE"


def test_the_model_answers_from_the_tasks_dataset(tmp_path, items, monkeypatch):
    """Without -M data: the dataset the task's solver announced for this sample (its
    DatasetRef), not whatever this process loaded last, and no download."""
    import shutil
    import urllib.request

    from inspect_partynli.datasets import locate
    from inspect_partynli.datasets.livenli import resolve_livenli
    from inspect_partynli.task import ACTIVE_DATASET

    copy = tmp_path / "task-data" / "livenli.csv"
    copy.parent.mkdir()
    shutil.copy(resolve_livenli(), copy)
    ref = load_dataset("livenli", data=copy.parent).ref
    assert ref.path == str(copy.resolve())
    monkeypatch.delenv(locate.DATA_ENV)
    monkeypatch.setenv(locate.CACHE_ENV, str(tmp_path / "empty-cache"))

    def offline(*args, **kwargs):
        raise AssertionError("no download when the task's file is there")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    model = PartyNLIModelAPI("annotators")
    token = ACTIVE_DATASET.set(ref)
    try:
        assert _label(model.reply(messages(items, "78105n"), 2)) == "either-false"
    finally:
        ACTIVE_DATASET.reset(token)