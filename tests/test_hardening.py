"""Unit tests of the hardening helpers (issue 10); tests/test_probes.py runs the commands."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from inspect_partynli.cli import _one_line
from inspect_partynli.errors import UsageError
from inspect_partynli.outputs import (
    MANIFEST,
    check_output_file,
    check_output_folder,
    guard_formulas,
    install_folder,
    unguard_formulas,
)
from inspect_partynli.report.document import escape_markdown
from inspect_partynli.study.schema import StudyError
from inspect_partynli.study.validation import parse_study


def test_markdown_escaping_keeps_input_strings_inert():
    assert escape_markdown("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    # no link, emphasis or table cell break; a line break cannot start a heading
    assert escape_markdown("[x](javascript:y) *b* a|b\n# h") == (
        "\\[x\\](javascript:y) \\*b\\* a\\|b # h"
    )


def test_formula_guard_round_trip():
    frame = pd.DataFrame({"explanation": ["=1+1", "+x", "-y", "@z", "plain", None],
                          "trial": [-1, 2, 3, 4, 5, 6]})  # fmt: skip
    guarded = guard_formulas(frame)
    assert guarded["explanation"].tolist()[:5] == ["'=1+1", "'+x", "'-y", "'@z", "plain"]
    assert guarded["trial"].tolist() == [-1, 2, 3, 4, 5, 6]  # numbers are not text
    back = unguard_formulas(guarded.astype({"explanation": object}))
    assert back["explanation"].tolist()[:5] == ["=1+1", "+x", "-y", "@z", "plain"]


def test_secret_variables_are_refused_and_values_never_shown(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-show")
    monkeypatch.setenv("MODEL_NAME", "not-a-model-id-value")
    raw = {"models": [{"id": "openai/gpt-4.1", "args": {"api_key": "${OPENAI_API_KEY}"}}]}
    with pytest.raises(StudyError) as caught:
        parse_study(raw)
    assert "${OPENAI_API_KEY}" in str(caught.value) and "sk-do-not-show" not in str(caught.value)
    with pytest.raises(StudyError) as caught:
        parse_study({"models": [{"id": "${MODEL_NAME}"}]})
    assert "not-a-model-id-value" not in str(caught.value)
    assert "${MODEL_NAME}" in str(caught.value)


def test_output_paths_are_checked_for_kind(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        check_output_file(a_file / "x.csv")
    with pytest.raises(UsageError, match="is a folder"):
        check_output_file(tmp_path)
    with pytest.raises(UsageError, match="is a file"):
        check_output_folder(a_file)
    with pytest.raises(UsageError, match="cannot be made"):
        check_output_folder(a_file / "sub")
    assert check_output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_install_folder_replaces_links_and_removes_only_manifest_files(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").symlink_to(outside)
    (out / "old.png").write_text("stale")
    (out / "mine.txt").write_text("user")
    (out / MANIFEST).write_text(json.dumps({"files": ["old.png", "../outside.txt"]}))
    staging = out / ".staging"
    staging.mkdir()
    (staging / "report.md").write_text("new report")
    files = install_folder(staging, out, force=True)
    assert [f.name for f in files] == ["report.md"]
    assert not (out / "report.md").is_symlink() and (out / "report.md").read_text() == "new report"
    assert outside.read_text() == "precious"
    assert not (out / "old.png").exists() and (out / "mine.txt").exists()
    assert json.loads((out / MANIFEST).read_text()) == {"files": ["report.md"]}


def test_error_messages_become_one_line():
    assert _one_line(ValueError("3 problems found:\n  a\n  b")) == "3 problems found: a; b"
    assert _one_line(ValueError("")) == "ValueError"


def test_partial_run_is_said_first_in_the_report():
    from inspect_partynli.report.build import _input_notes

    lines = _input_notes(
        ["logs with status cancelled (kept their completed samples): 1 file(s) (a.eval)",
         "logs of other tasks (x): 1 file(s) (b.eval)"],
        ["runs with missing (item, epoch) annotations: 2 run(s) of the study have no logs"],
        ["<script>"],
    )  # fmt: skip
    assert lines[0].startswith("PARTIAL RUN:") and "cancelled" in lines[0]
    assert "have no logs" in lines[0]
    assert any("other tasks" in line for line in lines[1:])
    assert "<script>" in lines[-1]  # escaped when rendered (render_markdown)
