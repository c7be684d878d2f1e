"""End-to-end tests of ``partynli export`` (through the CLI dispatcher)."""

from __future__ import annotations

import pandas as pd
import pytest

from inspect_partynli.annotation_schema import PARTYNLI_COLUMNS
from inspect_partynli.cli import main


def test_export_csv_puts_partynli_columns_first(tmp_path, fixture_csv, capsys):
    out = tmp_path / "out.csv"
    assert main(["export", str(fixture_csv), "-o", str(out)]) == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table.columns[: len(PARTYNLI_COLUMNS)]) == list(PARTYNLI_COLUMNS)
    assert list(table.columns[len(PARTYNLI_COLUMNS) :][:4]) == [
        "model", "source", "parsed", "failure_reason"
    ]  # fmt: skip
    assert len(table) == 609
    original = pd.read_csv(fixture_csv, dtype=str, keep_default_na=False)
    for column in ("sent_id", "class_simple", "class_multi", "explanation", "trial"):
        assert table[column].tolist() == original[column].tolist(), column
    assert "wrote 609 annotations (1 participant(s))" in capsys.readouterr().err


def test_export_parquet_with_sizes_and_humans(tmp_path, fixture_csv):
    out = tmp_path / "out.parquet"
    code = main(["export", str(fixture_csv), "-o", str(out), "--humans", "--no-explanations"])
    assert code == 0
    table = pd.read_parquet(out)
    assert len(table) == 609 + 1405
    assert (table["participant_type"] == "human").sum() == 1405


def test_export_refuses_to_overwrite(tmp_path, fixture_csv, capsys):
    out = tmp_path / "out.csv"
    out.write_text("mine")
    assert main(["export", str(fixture_csv), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"partynli export: error: {out} exists; pass --force to overwrite it"
    assert out.read_text() == "mine"
    assert main(["export", str(fixture_csv), "-o", str(out), "--force"]) == 0
    assert len(pd.read_csv(out)) == 609


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-o", "{tmp}/out.xlsx"], "unknown output format '.xlsx'"),
        (["-o", "{tmp}/out"], "unknown output format '(no extension)'"),
        (["-o", "{tmp}/nope/out.csv"], "output folder does not exist"),
        (["{tmp}/missing.eval", "-o", "{tmp}/out.csv"], "no such file"),
        (["-o", "{tmp}/out.csv", "--num-params", "x"], "--num-params 'x': expected KEY=VALUE"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, fixture_csv, capsys, argv, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(["export", str(fixture_csv), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("partynli export: error: ")
    assert message in err
    assert not (tmp_path / "out.csv").exists()


def test_warnings_are_one_line_on_stderr(tmp_path, fixture_csv, capsys):
    from inspect_ai.log import read_eval_log, write_eval_log

    from test_annotations import run

    log = run(tmp_path / "logs")
    header = read_eval_log(str(log))
    header.status = "cancelled"
    write_eval_log(header, str(log))
    out = tmp_path / "out.csv"
    assert main(["export", str(tmp_path / "logs"), "-o", str(out)]) == 0
    lines = capsys.readouterr().err.splitlines()
    warning = [line for line in lines if line.startswith("partynli export: warning: ")]
    assert len(warning) == 1 and "status cancelled" in warning[0]
    table = pd.read_csv(out)
    assert len(table) == 9 and table["explanation"].str.len().gt(1500).all()


def test_only_logs_of_another_task_is_one_error_line_and_no_file(tmp_path, capsys):
    from test_annotations import other_task, run

    log = run(tmp_path / "logs", other_task())
    out = tmp_path / "out.csv"
    for argv in (["export", str(log), "-o", str(out)], ["metrics", str(tmp_path / "logs")]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1, captured.err
        assert captured.err.startswith(f"partynli {argv[0]}: error: no annotations found in ")
        assert "logs of other tasks (other_task): 1 file(s)" in captured.err
        assert log.name in captured.err
    assert not out.exists()
