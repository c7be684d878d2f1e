"""A study run killed mid-way, then resumed: the missing-annotation count is 0 and nothing is
counted twice (issue 10).

The run talks to the OpenAI-compatible test server on 127.0.0.1 (a little latency per reply,
so that it is still running when it is killed); ``partynli run`` goes in a subprocess that is
killed with SIGKILL -- no clean-up, as when a machine goes down -- after part of the requests,
leaving a log whose status is ``started`` and that holds the samples flushed so far.  The
second ``partynli run`` resumes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pytest
import yaml
from inspect_ai.log import list_eval_logs, read_eval_log

from inspect_partynli.cli import main
from inspect_partynli.testing import AnnotatorsParticipant, WireServer

ITEMS, EPOCHS = 50, 2  # the chaosnli subset, two annotations each
KILL_AFTER = 45  # requests the server has answered when the first run is killed


@pytest.fixture
def server(livenli, monkeypatch):
    monkeypatch.setenv("WK_API_KEY", "test-key")
    with WireServer(AnnotatorsParticipant(livenli), latency=0.05) as s:
        yield s


def write_study(path, server):
    study = {
        "name": "killed", "task": {"subset": "chaosnli"}, "epochs": EPOCHS,
        "models": [{"id": "openai-api/wk/scripted", "name": "wk", "base_url": server.base_url,
                    "max_connections": 2}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def kill_mid_way(study, logs, server) -> None:
    """`partynli run` in its own process group, SIGKILLed once KILL_AFTER replies went out."""
    command = [sys.executable, "-m", "inspect_partynli.cli", "run", str(study), "--yes",
               "--display", "none", "--log-dir", str(logs)]  # fmt: skip
    process = subprocess.Popen(command, env=dict(os.environ), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120  # bounded: the test server stops with the fixture
    try:
        while len(server.bodies()) < KILL_AFTER:
            if process.poll() is not None:
                pytest.fail(f"the run ended before it was killed: {process.stderr.read()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the run sent too few requests in 120 s")
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.stderr.close()


def test_a_killed_study_resumes_with_nothing_missing_and_nothing_counted_twice(
    tmp_path, server, capsys
):
    study = write_study(tmp_path / "killed.yaml", server)
    logs = tmp_path / "logs"
    kill_mid_way(study, logs, server)
    folder = logs / "single-wk"
    (killed,) = [read_eval_log(info, header_only=True) for info in list_eval_logs(str(folder))]
    assert killed.status == "started"  # what a killed run leaves
    sent_before = len(server.bodies())
    assert KILL_AFTER <= sent_before < ITEMS * EPOCHS

    # the partial log alone: a partial run, with its missing annotations counted
    from inspect_partynli.annotations import load_annotations

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        partial = load_annotations(logs)
    said = " ".join(str(w.message) for w in caught)
    assert 0 < len(partial) < ITEMS * EPOCHS
    assert f"{ITEMS * EPOCHS - len(partial)} annotation(s)" in said and "missing" in said

    # the re-run resumes: only what the killed run had not logged is asked again
    assert main(["run", str(study), "--yes", "--display", "none", "--log-dir", str(logs)]) == 0
    sent_again = len(server.bodies()) - sent_before
    assert sent_again <= ITEMS * EPOCHS - len(partial)

    # every (item, epoch) once, and no note of a missing annotation or of a partial run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = load_annotations(logs)
    said = " ".join(str(w.message) for w in caught)
    assert "missing" not in said
    assert len(table) == ITEMS * EPOCHS
    assert not table.duplicated(["participant", "sent_id", "trial"]).any()
    assert table.groupby("sent_id").size().eq(EPOCHS).all()
    assert set(table["parsed"]) == {True}

    capsys.readouterr()
    out = tmp_path / "report"
    assert main(["report", str(study), "--log-dir", str(logs), "--out", str(out),
                 "--no-explanations"]) == 0  # fmt: skip
    report = (out / "report.md").read_text()
    assert "PARTIAL RUN" not in report and "missing" not in report.lower()
    table5 = (out / "table5.csv").read_text().splitlines()
    wk = [line for line in table5 if line.startswith("wk,")]
    assert len(wk) == 1
    # `partynli metrics` on the folder: one SINGLE row of 50 items x 2 trials, nothing skipped
    capsys.readouterr()
    assert main(["metrics", str(logs), "--subset", "chaosnli", "--format", "json"]) == 0
    captured = capsys.readouterr()
    (row,) = json.loads(captured.out)
    assert (row["participant"], row["n_items"], row["n_trials"], row["parse_rate"]) == (
        "wk", ITEMS, EPOCHS, 1.0,
    )  # fmt: skip
    assert "missing" not in captured.err
