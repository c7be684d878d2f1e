"""Lean samples (issue 13): what a log sample holds, work done once per run, old logs still read."""

from __future__ import annotations

from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log, write_eval_log
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import SampleScore, Score

from inspect_partynli.annotations import load_annotations
from inspect_partynli.prompts import NLI_PROMPT, PROMPT_VERSION
from inspect_partynli.scorer import agree, js, label_shares
from inspect_partynli.solver import ItemMessages, RunConfig
from inspect_partynli.task import livenli

ITEM = {"premise": "A {cat} sat.", "hypothesis": "A dog sat."}


def test_item_messages_are_built_once_and_copied_with_their_ids():
    messages = ItemMessages(NLI_PROMPT)
    first, again = messages(ITEM), messages(dict(ITEM))
    assert [m.id for m in first] == [m.id for m in again]  # as Inspect copies a sample's input
    assert [m.text for m in first] == [m.text for m in again]
    assert "[CONTEXT] A {cat} sat.\n[STATEMENT] A dog sat.\n" in first[1].text
    assert all(a is not b for a, b in zip(first, again, strict=True))
    first[1].content = "edited"  # one sample's edit never reaches another's
    assert messages(ITEM)[1].text != "edited"
    other = messages({"premise": "B.", "hypothesis": "C."})
    assert other[1].id != first[1].id and other[0].id != first[0].id


def test_run_config_merges_once_per_pair_of_configs(monkeypatch):
    import inspect_ai.model._generate_config as generate_config
    import inspect_ai.model._model as model_module

    active = GenerateConfig(temperature=0.3)
    monkeypatch.setattr(generate_config, "active_generate_config", lambda: active)
    monkeypatch.setattr(model_module, "active_model", lambda: None)
    run_config = RunConfig()
    merged = run_config()
    assert merged.temperature == 0.3 and run_config() is merged  # not merged again
    active = GenerateConfig(top_p=0.9)  # a config changed while the run goes on
    assert (run_config().temperature, run_config().top_p) == (None, 0.9)


def _scores(labels_by_item: dict[str, list[str]]) -> list[SampleScore]:
    human = {"either": 0.0, "false": 0.5, "true": 0.5}
    return [
        SampleScore(
            score=Score(value={"label": label, "parsed": 1}),
            sample_id=item,
            sample_metadata={"human_distribution": human},
        )
        for item, labels in labels_by_item.items()
        for label in labels
    ]


def test_label_metrics_share_one_tally_and_never_a_stale_one():
    scores = _scores({"a": ["true", "true", "false"], "b": ["either", "false", "false"]})
    shares = label_shares()(scores)
    assert shares == {"share_either": 1 / 6, "share_false": 3 / 6, "share_true": 2 / 6}
    # human majority: false (the tie with true goes to the first label); a says true, b false
    assert agree()(scores) == {"agree": 0.5}
    # a list with other scores (even of the same length) is counted afresh
    flipped = _scores({"a": ["either", "either", "either"], "b": ["either"] * 3})
    assert label_shares()(flipped)["share_either"] == 1.0
    assert agree()(flipped) == {"agree": 0.0}
    assert js()(scores)["js"] != js()(flipped)["js"]


def test_a_log_of_the_previous_format_reads_into_the_same_table(tmp_path):
    """Task version 2 logs (prompt_version on every sample, a fat Score.metadata) read as before."""
    (log,) = inspect_eval(
        livenli(subset="chaosnli", epochs=2), model="partynli/annotators",
        log_dir=str(tmp_path / "new"), display="none", limit=4,
    )  # fmt: skip
    new = read_eval_log(log.location)
    assert new.eval.task_version == 4
    sample = new.samples[0]
    assert "prompt_version" not in sample.metadata
    assert set(sample.scores["livenli_scorer"].metadata) <= {
        "highlights", "unmatched_highlights", "raw_label", "explanation",
    }  # fmt: skip
    old = new.model_copy(deep=True)
    old.eval.task_version = 2
    for sample in old.samples:
        sample.metadata["prompt_version"] = PROMPT_VERSION
        score = sample.scores["livenli_scorer"]
        score.metadata = {
            "explanation": score.explanation,
            **score.metadata,
            "highlighted": "context: <<x>>",
            "failure_detail": "",
            "stop_reason": "stop",
        }
    (tmp_path / "old").mkdir()
    old_path = tmp_path / "old" / "old.eval"
    write_eval_log(old, str(old_path))
    columns = ["sent_id", "trial", "class_simple", "class_multi", "parsed", "explanation"]
    tables = [
        load_annotations(path, explanations=True)[columns].reset_index(drop=True)
        for path in (log.location, old_path)
    ]
    assert len(tables[0]) == 8
    assert tables[0].equals(tables[1])
