"""A card dataset that is not NLI (two labels, no ``either``) through metrics and the report,
with no code change: the dataset comes from the logs' headers."""

from __future__ import annotations

import json

import pytest
from inspect_ai import eval as inspect_eval

from inspect_partynli import metrics as M
from inspect_partynli.cli import main
from inspect_partynli.task import annotate_dataset
from test_cards import write_card


@pytest.fixture(scope="module")
def card_logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("card")
    card = write_card(folder / "spam")
    inspect_eval(annotate_dataset(dataset=str(card), epochs=3), model="partynli/annotators",
                 log_dir=str(folder / "logs"), display="none")  # fmt: skip
    return folder / "logs"


def test_metrics_of_a_two_label_card(card_logs, capsys):
    assert main(["metrics", str(card_logs), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    # replayed annotators (spam, ham order): m1 spam x3 vs humans (3, 0); m2 ham, ham, spam vs
    # (1, 2); m3 spam, ham, spam (wrapping after its 2 annotators) vs (1, 1)
    assert row["n_items"] == 3 and row["parse_rate"] == 1.0
    assert row["JS"] == pytest.approx(float(M.js_distance([2, 1], [1, 1])) / 3)
    assert row["agree"] == pytest.approx(1.0)  # m3: a tie goes to the first label, spam
    assert main(["humans", "--dataset", str(card_logs.parent / "spam" / "card.yaml"),
                 "--format", "json"]) == 0  # fmt: skip
    (human,) = json.loads(capsys.readouterr().out)
    assert human["population"] == "toy-spam" and human["n_items"] == 3


def test_report_of_a_two_label_card(card_logs, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["report", str(card_logs), "-o", str(out), "--encoder", "none",
                 "--style-encoder", "none", "--no-progress"])  # fmt: skip
    assert code == 0
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "Dataset toy-spam: 3 items, labels spam, ham" in markdown
    assert "toy-spam H" in (out / "report.md").read_text() or "toy-spam_H" in (
        out / "table2.csv"
    ).read_text()
    assert "either" not in (out / "per_item.csv").read_text()
    for name in ("table2.csv", "table5.csv", "figure2.png", "figure3_left.png",
                 "explanations.csv"):  # fmt: skip
        assert (out / name).is_file(), name
