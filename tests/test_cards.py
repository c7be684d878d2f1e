"""Dataset cards: a user's own dataset (not NLI) through the dataset layer, the task, the
offline participants and the scorer; and one test per card error (one line naming the key,
exit 2)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from inspect_ai import eval as inspect_eval

from inspect_partynli.cli import main
from inspect_partynli.datasets import CardError, load_dataset
from inspect_partynli.errors import UsageError
from inspect_partynli.scorer import reply_score
from inspect_partynli.task import annotate_dataset

ITEMS = [
    ("m1", "WIN A FREE PHONE NOW", "sms"),
    ("m2", "Are we still on for lunch?", "sms"),
    ("m3", "Your parcel {id} is waiting: click here", "email"),
]
ANNOTATIONS = [  # item, annotator, label(s), explanation
    ("m1", "ann1", "spam", "prize bait"),
    ("m1", "ann2", "spam", "all caps"),
    ("m1", "ann3", "spam|ham", "could be a real contest"),
    ("m2", "ann1", "ham", "a friend"),
    ("m2", "ann2", "ham", ""),
    ("m2", "ann3", "spam", "unknown sender"),
    ("m3", "ann1", "spam", "phishing"),
    ("m3", "ann2", "ham", "I did order something"),
]


def write_card(folder: Path, **changes) -> Path:
    """A two-label spam card (no 'either'); ``changes`` edit the card's keys (None drops)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,text,channel"] + [f'{i},"{t}",{c}' for i, t, c in ITEMS]
    (folder / "items.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["item_id,annotator,label,explanation"] + [",".join(a) for a in ANNOTATIONS]
    (folder / "annotations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    card = {
        "name": "toy-spam",
        "labels": ["spam", "ham"],
        "items": "items.csv",
        "annotations": "annotations.csv",
        "multi_label": "spam",
        "synonyms": {"spam": ["junk"], "ham": ["legitimate", "not spam"]},
        "prompt": {
            "system": "You sort messages.",
            "user": 'Message ({channel}): {text}\nAnswer with JSON: {{"label": "spam or ham", '
            '"explanation": "..."}}',
        },
    }
    for key, value in changes.items():
        if value is None:
            card.pop(key, None)
        else:
            card[key] = value
    path = folder / "card.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def card(tmp_path) -> Path:
    return write_card(tmp_path / "spam")


def test_card_dataset(card):
    dataset = load_dataset(card)
    assert dataset.labels == ("spam", "ham")  # the card's order, not alphabetical
    assert dataset.ref.kind == "card" and dataset.ref.name == "toy-spam"
    assert list(dataset.populations) == ["toy-spam"] and dataset.primary == "toy-spam"
    assert dataset.text_fields == ("channel", "text")
    counts = dataset.population().counts
    # m1: spam, spam, spam|ham -> spam (multi_label: spam) => 3 spam
    assert counts.loc["m1"].to_dict() == {"spam": 3, "ham": 0}
    assert counts.loc["m2"].to_dict() == {"spam": 1, "ham": 2}
    assert counts.loc["m3"].to_dict() == {"spam": 1, "ham": 1}
    assert dataset.annotators_by_item["m1"]["labels"].iloc[2] == ("spam", "ham")
    user = dataset.prompt.user_text(dataset.items.loc["m3"])
    # braces inside an item stay; doubled braces in the template are literal ones
    assert user.startswith("Message (email): Your parcel {id} is waiting: click here\n")
    assert user.endswith('{"label": "spam or ham", "explanation": "..."}')
    meta = dataset.sample_metadata("m2")
    assert meta == {
        "channel": "sms", "text": "Are we still on for lunch?",
        "human_distribution": {"spam": 1 / 3, "ham": 2 / 3},
    }  # fmt: skip


def test_card_without_multi_label_drops_several(tmp_path):
    dataset = load_dataset(write_card(tmp_path / "drop", multi_label=None))
    assert dataset.multi_label is None
    assert dataset.population().counts.loc["m1"].to_dict() == {"spam": 2, "ham": 0}
    score = reply_score('{"label": "spam, ham", "explanation": "x"}', {}, space=dataset.space)
    assert (score.value["parsed"], score.value["failure"]) == (0, "unknown_label")


def test_scorer_parses_against_the_cards_labels(card):
    space = load_dataset(card).space
    cases = {
        '```json\n{"label": "Junk", "explanation": "bait"}\n```': ("spam", "spam"),
        '<think>hmm</think>{"label": "NOT SPAM"}': ("ham", "ham"),
        '{"label": ["ham", "spam"], "explanation": "both"}': ("spam", "spam-ham"),
        "Legitimate": ("ham", "ham"),
    }
    for reply, (label, multi) in cases.items():
        value = reply_score(reply, {}, space=space).value
        assert (value["label"], value["multi_label"], value["parsed"]) == (label, multi, 1), reply
    for reply, failure in {
        '{"label": "either"}': "unknown_label",  # an NLI label is not one of this card's
        '{"label": true}': "unknown_label",
        '{"explanation": "no label"}': "no_label",
        '{"label": "spam"': "truncated",
        "": "empty",
    }.items():
        assert reply_score(reply, {}, space=space).value["failure"] == failure, reply


def test_four_labels_no_either_through_the_task(tmp_path):
    """A 4-label card runs through the task and the offline annotators with no code change:
    every item's distribution over 3 epochs equals its 3 annotators'."""
    labels = ["joy", "anger", "fear", "sadness"]
    folder = tmp_path / "emotions"
    folder.mkdir()
    texts = ["I won!", "They lied to me", "Footsteps behind me", "The dog died", "Fine."]
    (folder / "items.csv").write_text(
        "id,sentence\n" + "".join(f"s{i},{t}\n" for i, t in enumerate(texts)), encoding="utf-8"
    )
    rows = ["item_id,annotator,label,explanation"]
    for i in range(len(texts)):
        for a in range(3):
            rows.append(f"s{i},a{a},{labels[(i + a * (i % 2)) % 4]},reason {i}{a}")
    (folder / "annotations.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "system.txt").write_text("You name the emotion of a sentence.", encoding="utf-8")
    (folder / "card.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "emotions",
                "labels": labels,
                "items": "items.csv",
                "annotations": "annotations.csv",
                "prompt": {
                    "system": "system.txt",
                    "user": 'Sentence: {sentence}\nReply {{"label": ..., "explanation": ...}}',
                },
            }
        ),  # fmt: skip
        encoding="utf-8",
    )
    task = annotate_dataset(dataset=str(folder / "card.yaml"), epochs=3)
    assert task.version == 3 and task.metadata["labels"] == labels
    assert task.metadata["dataset"]["kind"] == "card"
    (log,) = inspect_eval(
        task, model="partynli/annotators", log_dir=str(tmp_path / "logs"), display="none"
    )
    assert log.status == "success" and len(log.samples) == 15
    values = {(s.id, s.epoch): s.scores["annotation_scorer"].value for s in log.samples}
    assert all(v["parsed"] == 1 for v in values.values())
    got = Counter((item, v["label"]) for (item, _), v in values.items())
    human = load_dataset(folder / "card.yaml").population().counts
    for item in human.index:
        assert {label: got[(item, label)] for label in labels} == human.loc[item].to_dict()
    assert log.samples[0].messages[0].text == "You name the emotion of a sentence."
    metrics = log.results.scores[0].metrics
    assert metrics["agree"].value == 1.0 and metrics["js"].value == 0.0
    assert set(metrics) == {"parse_rate", "agree", "js", *(f"share_{x}" for x in labels)}


def test_the_dataset_command_summarises_a_card(card, capsys):
    assert main(["dataset", str(card), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["population"], row["n_items"], row["per_item"]) == ("toy-spam", 3, 8 / 3)


# --- every card error: one line naming the key, exit 2 ------------------------------------


def _break(path: Path, how: str) -> None:
    folder = path.parent
    items, annotations = folder / "items.csv", folder / "annotations.csv"
    if how == "no items file":
        items.unlink()
    elif how == "no annotations file":
        annotations.unlink()
    elif how == "duplicate ids":
        items.write_text(items.read_text() + 'm2,"again",sms\n')
    elif how == "no items":
        items.write_text("id,text,channel\n")
    elif how == "unknown label":
        annotations.write_text(annotations.read_text() + "m1,ann4,eggs,?\n")
    elif how == "unknown item":
        annotations.write_text(annotations.read_text() + "m9,ann1,spam,?\n")
    elif how == "binary items":
        items.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")


CARD_ERRORS = [
    # (card changes, file damage, key named, message part)
    ({}, "no items file", "items", "file not found"),
    ({}, "no annotations file", "annotations", "file not found"),
    ({"prompt": {"user": "Message: {body}"}}, None, "prompt.user", "{body} names no column"),
    ({}, "unknown label", "annotations", "label 'eggs' is not in labels (spam, ham)"),
    ({}, "unknown item", "annotations", "unknown item 'm9'"),
    ({}, "duplicate ids", "items", "duplicate item id 'm2'"),
    ({}, "no items", "items", "has no items"),
    ({"labels": None}, None, "labels", "missing (required)"),
    ({"label": ["a", "b"]}, None, "label", "unknown key"),
    ({"labels": ["spam", "spam"]}, None, "labels", "listed twice"),
    ({"multi_label": "maybe"}, None, "multi_label", "'maybe' is not one of the labels"),
    ({"synonyms": {"eggs": ["x"]}}, None, "synonyms.eggs", "not one of the labels"),
    ({"prompt": {"user": "{text} {"}}, None, "prompt.user", "literal brace"),
    (
        {"prompt": {"user": "{text}", "system": "missing.txt"}},
        None,
        "prompt.system",
        "file not found",
    ),  # fmt: skip
    ({}, "binary items", "items", "not a UTF-8 text file"),
]


@pytest.mark.parametrize(("changes", "damage", "key", "part"), CARD_ERRORS)
def test_card_errors_name_the_key(tmp_path, capsys, changes, damage, key, part):
    path = write_card(tmp_path / "bad", **changes)
    if damage:
        _break(path, damage)
    with pytest.raises(CardError) as error:
        load_dataset(path)
    message = str(error.value)
    assert message.startswith(f"{path}: {key}: ") and part in message
    assert "\n" not in message
    assert main(["dataset", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"partynli dataset: error: {message}\n"


def test_bad_yaml_and_not_a_mapping(tmp_path, capsys):
    path = tmp_path / "card.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    assert main(["dataset", str(path)]) == 2
    assert "not valid YAML at line" in capsys.readouterr().err
    path.write_text("- just\n- a list\n", encoding="utf-8")
    assert main(["dataset", str(path)]) == 2
    assert "a dataset card is a YAML mapping" in capsys.readouterr().err


def test_card_error_in_inspect_is_one_message(tmp_path):
    from inspect_ai._util.error import PrerequisiteError

    path = write_card(tmp_path / "bad", prompt={"user": "{body}"})
    with pytest.raises(CardError) as error:
        annotate_dataset(dataset=str(path))
    assert isinstance(error.value, PrerequisiteError)
    assert "prompt.user: placeholder {body} names no column" in error.value.message
    with pytest.raises(UsageError, match="needs -T dataset=CARD.yaml"):
        annotate_dataset()


# --- studies name their dataset ------------------------------------------------------------


def test_varierr_offline_study_and_the_dataset_key(tmp_path, card):
    from inspect_partynli.study import StudyError, configurations, load_study, resolve_study_path
    from inspect_partynli.study.running import study_items, study_task

    study = load_study(resolve_study_path("varierr-offline"))
    assert (study.dataset, study.subset, study.epochs) == ("varierr", "all", 4)
    assert study_items(study) == 500
    (config,) = configurations(study)
    args = config.task_args(study)
    assert args["dataset"] == "varierr"
    task = study_task(args)
    assert task.metadata["dataset"]["name"] == "varierr" and len(task.dataset) == 500
    # a card, relative to the study file; and subsets checked against the dataset
    (tmp_path / "study.yaml").write_text(
        f"task: {{dataset: {card.relative_to(tmp_path)}}}\nmodels: [{{id: partynli/annotators}}]\n"
    )
    carded = load_study(tmp_path / "study.yaml")
    assert carded.dataset == str(card) and study_items(carded) == 3
    (tmp_path / "bad.yaml").write_text(
        "task: {dataset: varierr, subset: chaosnli}\nmodels: [{id: partynli/annotators}]\n"
    )
    with pytest.raises(StudyError, match="task.subset: unknown subset 'chaosnli'; choose one of "
                       "all, ambiguous, errors"):  # fmt: skip
        load_study(tmp_path / "bad.yaml")
