"""A study on shared object storage: two shards (two "machines") write one S3 bucket, and the
report, metrics and export read it; against moto's S3 server on 127.0.0.1 with dummy
credentials set in this test's environment only."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd
import pytest
import yaml

from inspect_partynli.cli import main
from inspect_partynli.log_store import is_dir, join, location, log_files

BUCKET = "partynli-study"


@pytest.fixture
def s3(monkeypatch):
    """A moto S3 server on 127.0.0.1 (free port) and an empty bucket; yields its URL root."""
    s3fs = pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    import urllib.request

    # moto keeps its buckets per process: start from an empty store
    reset = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 (127.0.0.1 only)
    s3fs.S3FileSystem.clear_instance_cache()
    s3fs.S3FileSystem().mkdir(BUCKET)
    try:
        yield f"s3://{BUCKET}"
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


@pytest.fixture
def study_file(tmp_path):
    study = {
        "name": "sharded",
        "task": {"subset": "chaosnli"},
        "epochs": 2,
        "models": [{"id": "partynli/livenli-annotators", "name": "workers"}],
        "sweeps": [
            {"model": "workers", "temperature": {"max": 1.0, "epochs": 3}},
            {"model": "workers", "top_p": {"max": 1.0, "epochs": 2}},
        ],
    }
    path = tmp_path / "sharded.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def test_log_store_paths(tmp_path):
    assert location("s3://b/p/") == "s3://b/p" and join("s3://b/p", "x") == "s3://b/p/x"
    assert join(tmp_path, "x") == tmp_path / "x" and isinstance(location(str(tmp_path)), Path)
    assert not is_dir(tmp_path / "nothing")


def run(study_file, log_dir, *extra):
    return main(["run", str(study_file), "--yes", "--display", "none", "--log-dir", str(log_dir),
                 *extra])  # fmt: skip


def report(study_file, log_dir, out):
    args = ["report", str(study_file), "--log-dir", str(log_dir), "-o", str(out)]
    return main([*args, "--no-explanations", "--no-progress", "--draws", "5"])


def test_two_shards_on_one_bucket_report_like_one_machine(s3, study_file, tmp_path, capsys):
    remote = f"{s3}/study"
    # two machines, one bucket: each runs its shard
    assert run(study_file, remote, "--shard", "1/2") == 0
    assert run(study_file, remote, "--shard", "2/2") == 0
    folders = {f.rsplit("/", 2)[-2] for f in log_files(remote)}
    assert folders == {"single-workers", "sweep-workers-temperature", "sweep-workers-top_p"}
    assert all(len(log_files(join(remote, folder), recursive=False)) == 1 for folder in folders)
    # a re-run of a shard resumes: everything is finished, no new log
    capsys.readouterr()
    assert run(study_file, remote, "--shard", "1/2") == 0
    assert "already finished" in capsys.readouterr().out
    assert len(log_files(remote)) == 3
    # one machine, the whole study, locally
    local = tmp_path / "local"
    assert run(study_file, local) == 0
    # the report of the bucket equals the single machine's
    assert report(study_file, remote, tmp_path / "remote-report") == 0
    assert report(study_file, local, tmp_path / "local-report") == 0
    csvs = sorted(p.name for p in (tmp_path / "local-report").glob("*.csv"))
    assert "table2.csv" in csvs and "table5.csv" in csvs
    match, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "local-report", tmp_path / "remote-report", csvs, shallow=False
    )
    assert mismatch == [] and errors == [] and match == csvs
    # metrics and export read the bucket too
    out = tmp_path / "export.csv"
    assert main(["export", remote, "-o", str(out), "--no-explanations", "--no-progress"]) == 0
    local_out = tmp_path / "export-local.csv"
    assert main(["export", str(local), "-o", str(local_out), "--no-explanations",
                 "--no-progress"]) == 0  # fmt: skip
    exported, expected = pd.read_csv(out), pd.read_csv(local_out)
    assert len(exported) == 50 * 2 + 50 * 3 + 50 * 2
    columns = [c for c in expected.columns if c not in ("source", "id")]
    pd.testing.assert_frame_equal(exported[columns], expected[columns])
    assert main(["metrics", remote, "--no-progress", "--draws", "5"]) == 0


def test_report_of_a_bucket_needs_a_local_output_folder(s3, study_file, capsys):
    assert main(["report", str(study_file), "--log-dir", f"{s3}/study"]) == 2
    assert "give a local output folder with -o" in capsys.readouterr().err
