"""Bad data files: one line and exit 2 (or one Inspect message), never a traceback.

Generated hostile versions of LiveNLI and VariErr-NLI (empty, binary, latin-1, truncated,
malformed cells) through ``partynli humans --data`` / ``partynli dataset --data``, the tasks'
``-T data=`` and the offline participants' ``-M data=`` and ``-M path=``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspect_partynli.cli import main
from inspect_partynli.datasets import DataFormatError, load_dataset
from inspect_partynli.errors import SourceError
from inspect_partynli.providers import PartyNLIModelAPI
from inspect_partynli.task import livenli, varierr

SHARED_DATA = Path(os.environ["INSPECT_PARTYNLI_DATA"])


def _livenli_text() -> str:
    return (SHARED_DATA / "livenli.csv").read_text(encoding="utf-8")


def _varierr_text() -> str:
    return (SHARED_DATA / "varierr.json").read_text(encoding="utf-8")


def hostile_livenli(folder: Path, kind: str) -> Path:
    """A ``livenli.csv`` damaged in one way; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "livenli.csv"
    text = _livenli_text()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 8)
    elif kind == "latin-1":
        path.write_bytes(text.replace("amphitheatre", "amphithéâtre").encode("latin-1", "replace"))
    elif kind == "truncated":
        path.write_text(text[: len(text) // 3] + '"unclosed quote\n', encoding="utf-8")
    elif kind == "chaos_dist":
        path.write_text(text.replace("{'c': 11, 'e': 14, 'n': 75}", "{'c': 11, 'e': "), "utf-8")
    elif kind == "chaos_letter":
        path.write_text(text.replace("{'c': 11, 'e': 14, 'n': 75}", "{'x': 11}"), "utf-8")
    elif kind == "mnli_labels":
        old = "['neutral', 'entailment', 'neutral', 'neutral', 'entailment']"
        path.write_text(text.replace(old, "['neutral', 'maybe']", 1), encoding="utf-8")
    elif kind == "header only":
        path.write_text(text.splitlines()[0] + "\n", encoding="utf-8")
    return path


LIVENLI_CASES = {
    "empty": "is empty, not LiveNLI",
    "binary": "is not a UTF-8 text file",
    "latin-1": "is not a UTF-8 text file",
    "truncated": "cannot be read as LiveNLI CSV",
    "chaos_dist": "column chaos_dist: malformed value",
    "chaos_letter": "column chaos_dist: malformed value",
    "mnli_labels": "column mnli_labels: malformed value",
    "header only": "has the LiveNLI columns but no rows",
}


@pytest.mark.parametrize(("kind", "part"), LIVENLI_CASES.items())
def test_bad_livenli_is_one_line(tmp_path, capsys, kind, part):
    path = hostile_livenli(tmp_path / kind.replace(" ", "-"), kind)
    with pytest.raises(DataFormatError, match=part):
        load_dataset("livenli", data=path)
    assert main(["humans", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and part in err and "Traceback" not in err
    # the task (-T data=) and the offline participant (-M data=): one Inspect message
    from inspect_ai._util.error import PrerequisiteError

    for make in (lambda: livenli(data=str(path)),
                 lambda: PartyNLIModelAPI("annotators", data=str(path))):  # fmt: skip
        with pytest.raises(SourceError) as error:
            make()
        assert isinstance(error.value, PrerequisiteError) and part in error.value.message


def test_malformed_cell_names_row_and_column(tmp_path):
    path = hostile_livenli(tmp_path, "chaos_dist")
    with pytest.raises(DataFormatError) as error:
        load_dataset("livenli", data=path)
    assert str(error.value).startswith(f"{path.resolve()}: row 2, column chaos_dist: ")


def hostile_varierr(folder: Path, kind: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "varierr.json"
    text = _varierr_text()
    first = text.splitlines()[0]
    payloads = {
        "empty": b"",
        "binary": bytes(range(256)) * 8,
        "latin-1": text.replace("diffenrence", "différence").encode("latin-1", "replace"),
        "truncated": text[: len(text) // 2].encode(),
        "not json lines": b"[1, 2, 3]\n",
        "missing key": first.replace('"statement"', '"statment"').encode(),
        "chaos counts": first.replace('"e": 85', '"e": "many"').encode(),
        "duplicate": (first + "\n" + first + "\n").encode(),
    }
    path.write_bytes(payloads[kind])
    return path


VARIERR_CASES = {
    "empty": "is empty, not VariErr-NLI",
    "binary": "is not a UTF-8 text file",
    "latin-1": "is not a UTF-8 text file",
    "truncated": "line 245 is not a JSON object (Unterminated string",
    "not json lines": "line 1 is not a JSON object",
    "missing key": "missing key(s) statement",
    "chaos counts": "chaosnli_labels holds a count that is not a number",
    "duplicate": "item id '23751e' appears more than once",
}


@pytest.mark.parametrize(("kind", "part"), VARIERR_CASES.items())
def test_bad_varierr_is_one_line(tmp_path, capsys, kind, part):
    path = hostile_varierr(tmp_path / kind.replace(" ", "-"), kind)
    with pytest.raises(DataFormatError) as error:
        load_dataset("varierr", data=path)
    assert part in str(error.value)
    assert main(["dataset", "varierr", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and part in err
    from inspect_ai._util.error import PrerequisiteError

    with pytest.raises(SourceError) as raised:
        varierr(data=str(path))
    assert isinstance(raised.value, PrerequisiteError) and part in raised.value.message


def test_replay_with_a_non_integer_trial(tmp_path, fixture_csv):
    import pandas as pd

    frame = pd.read_csv(fixture_csv, dtype=str, keep_default_na=False)
    frame.loc[3, "trial"] = "two"
    path = tmp_path / "bad-trial.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SourceError, match=r"row 5: trial 'two' is not a positive integer"):
        PartyNLIModelAPI("replay", path=str(path), participant="ministral-8b")


def _inspect_eval(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    inspect = Path(sys.executable).with_name("inspect")
    command = [str(inspect), "eval", *args,
               "--log-dir", str(cwd / "logs")]  # fmt: skip
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_inspect_eval_bad_files_without_traceback(tmp_path):
    """`inspect eval -T data=` with a binary file (UnicodeDecodeError before), and
    `-M path=` with a non-integer trial: Inspect prints our one message, no traceback."""
    binary = hostile_livenli(tmp_path / "bin", "binary")
    done = _inspect_eval("inspect_partynli/livenli", "--model", "partynli/annotators",
                         "-T", f"data={binary}", cwd=tmp_path)  # fmt: skip
    assert done.returncode != 0
    assert "is not a UTF-8 text file" in " ".join((done.stdout + done.stderr).split())
    assert "Traceback" not in done.stdout + done.stderr
    assert "takes exactly 5 arguments" not in done.stdout + done.stderr
    replay = tmp_path / "replay.csv"
    replay.write_text("sent_id,participant,trial,class_simple,class_multi,explanation\n"
                      "78105n,p,1.5,true,true,x\n")  # fmt: skip
    done = _inspect_eval("inspect_partynli/livenli", "--model", "partynli/replay",
                         "-M", f"path={replay}", cwd=tmp_path)  # fmt: skip
    assert done.returncode != 0
    assert "trial '1.5' is not a positive integer" in " ".join((done.stdout + done.stderr).split())
    assert "Traceback" not in done.stdout + done.stderr
