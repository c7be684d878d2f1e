"""``partynli humans`` and ``partynli metrics`` end to end (PartyNLI files in, JSON/CSV out)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from inspect_partynli.analysis import CI_KEYS, METRIC_KEYS
from inspect_partynli.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys, *argv: str) -> list[dict]:
    code, out, err = _run(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def three_models(fixture_csv, tmp_path):
    """The fixture plus two altered copies (other participants) in one PartyNLI file."""
    base = pd.read_csv(fixture_csv)
    twin = base.assign(participant="twin", id="twin")
    twin.loc[twin["trial"] <= 2, "class_simple"] = "false"
    third = base.assign(participant="third", id="third", class_simple="true")
    third = third[third["trial"] <= 3]
    path = tmp_path / "three.csv"
    pd.concat([base, twin, third]).to_csv(path, index=False)
    return path


def test_humans_json_over_the_overlap_items(capsys):
    rows = _json(capsys, "humans", "--subset", "chaosnli")
    assert [list(row) for row in rows] == [["population", "n_items", "H", "H_std", "alpha"]] * 3
    by = {row["population"]: row for row in rows}
    assert (round(by["livenli"]["H"], 2), round(by["livenli"]["H_std"], 2)) == (0.64, 0.23)
    assert (round(by["chaosnli"]["H"], 2), round(by["chaosnli"]["H_std"], 2)) == (0.72, 0.13)
    assert (round(by["mnli"]["H"], 2), round(by["mnli"]["H_std"], 2)) == (0.72, 0.10)
    assert by["chaosnli"]["alpha"] is None and by["mnli"]["alpha"] is None


def test_humans_table_and_csv(capsys):
    code, out, _ = _run(capsys, "humans")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["population", "n_items", "H", "H_std", "alpha"]
    assert lines[1].split() == ["livenli", "122", "0.71", "0.24", "0.26"]
    code, out, _ = _run(capsys, "humans", "--format", "csv", "--ci")
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert list(frame.columns) == ["population", "n_items", "H", "H_std", "alpha",
                                   "H_ci_low", "H_ci_high"]  # fmt: skip
    assert frame["alpha"].isna().tolist() == [False, True, True]


def test_metrics_json_reproduces_table5(capsys, fixture_csv):
    (row,) = _json(capsys, "metrics", str(fixture_csv))
    assert list(row) == list(METRIC_KEYS)
    assert (row["participant"], row["setting"], row["n_items"], row["n_trials"]) == (
        "ministral-8b", "single", 122, 5,
    )  # fmt: skip
    paper = {"H": 0.09, "JS": 0.46, "KL_pq": 10.15, "KL_qp": 1.28, "agree": 0.55, "alpha": 0.50}
    assert {key: round(row[key], 2) for key in paper} == paper


def test_metrics_csv_with_ci_and_subset(capsys, fixture_csv):
    code, out, _ = _run(capsys, "metrics", str(fixture_csv), "--reference", "chaosnli",
                        "--subset", "chaosnli", "--format", "csv", "--ci")  # fmt: skip
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(out))
    ci = [f"{k}_ci_{end}" for k in CI_KEYS for end in ("low", "high")]
    assert list(frame.columns) == [*METRIC_KEYS, *ci]
    assert frame.loc[0, "n_items"] == 50


def test_metrics_default_groups_and_random_mix(capsys, three_models, tmp_path):
    rows = _json(capsys, "metrics", str(three_models))
    assert [(r["participant"], r["setting"]) for r in rows] == [
        ("ministral-8b", "single"), ("third", "single"), ("twin", "single"), ("all", "mix"),
    ]  # fmt: skip
    assert rows[1]["H"] == 0.0 and rows[1]["n_trials"] == 3
    assert rows[3]["n_trials"] == 5  # "third" has 3 trials; trials 4-5 come from the others
    groups = tmp_path / "groups.yaml"
    groups.write_text("pair: [ministral-8b, twin]\n")
    rows = _json(capsys, "metrics", str(three_models), "--groups", str(groups),
                 "--group", "odd=third,twin", "--setting", "mix")  # fmt: skip
    assert [(r["participant"], r["setting"]) for r in rows] == [("pair", "mix"), ("odd", "mix")]
    rows = _json(capsys, "metrics", str(three_models), "--setting", "random_mix",
                 "--draws", "20", "--k", "2")  # fmt: skip
    assert [(r["participant"], r["setting"]) for r in rows] == [("all", "random_mix")]
    assert rows[0]["n_trials"] == 5 and 0 < rows[0]["H"] < math.log(3)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--group", "g=ministral-8b,nobody"], "unknown participant 'nobody' in group 'g'"),
        (["--group", "broken"], "expected NAME=P1,P2"),
        (["--setting", "sweep"], "no participant has more than one temperature"),
        (["--setting", "random_mix", "--k", "5"], "cannot draw k=5"),
        (["--groups", "missing.yaml"], "groups file not found"),
    ],
)
def test_metrics_bad_options_exit_2_with_one_line(capsys, fixture_csv, extra, message):
    code, out, err = _run(capsys, "metrics", str(fixture_csv), *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("partynli metrics: error: ")
    assert message in err


def test_metrics_missing_source_and_no_matching_items(capsys, tmp_path):
    code, _, err = _run(capsys, "metrics", str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv" in err and "Traceback" not in err
    other = tmp_path / "other.csv"
    pd.DataFrame({"sent_id": ["x1", "x2"], "participant": "m", "trial": 1,
                  "class_simple": "true"}).to_csv(other, index=False)  # fmt: skip
    code, _, err = _run(capsys, "metrics", str(other))
    assert code == 2 and "no matching items" in err and err.count("\n") == 1


def test_humans_of_varierr(capsys):
    """Issue 9: VariErr's annotators (4 per item, idk left out, several labels -> either) have
    mean entropy 0.418 (std 0.338) over the 500 items; plus the validated and ChaosNLI rows."""
    rows = {row["population"]: row for row in _json(capsys, "humans", "--dataset", "varierr")}
    assert list(rows) == ["varierr", "varierr_validated", "chaosnli"]
    assert rows["varierr"]["n_items"] == 500 and rows["chaosnli"]["n_items"] == 500
    assert round(rows["varierr"]["H"], 3) == 0.418 and round(rows["varierr"]["H_std"], 3) == 0.338
    assert rows["varierr"]["alpha"] is not None and rows["chaosnli"]["alpha"] is None
    (only,) = _json(capsys, "humans", "--dataset", "varierr", "--reference", "chaosnli")
    assert only["population"] == "chaosnli"
    code, _, err = _run(capsys, "humans", "--dataset", "varierr", "--reference", "mnli")
    assert code == 2 and "unknown reference 'mnli' for dataset varierr" in err


def test_humans_conventions_from_the_command_line(capsys):
    (paper,) = _json(capsys, "humans", "--reference", "livenli")
    (bits,) = _json(capsys, "humans", "--reference", "livenli", "--log-base", "2")
    assert bits["H"] == pytest.approx(paper["H"] / math.log(2))
    code, _, err = _run(capsys, "humans", "--ddof", "-1")
    assert code == 2 and "ddof must be a whole number >= 0" in err
