"""A warm ``partynli report`` (every cache filled by an earlier run) equals the cold one.

Every CSV, the Markdown and HTML documents and every PNG are byte-identical, the figure
captions name the same device, and nothing is computed again: no t-SNE fit, no TF-IDF, no
Mann-Whitney test -- in a fresh interpreter, scikit-learn and scipy.stats are not even
imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import scipy.stats
import sklearn.feature_extraction.text as sklearn_text
import sklearn.manifold

from inspect_partynli.report.build import build_report
from report_data import DeviceHashEncoder, write_study_csv

REPO = Path(__file__).resolve().parents[1]


def _refuse(*_, **__):
    raise AssertionError("a warm report computed again what its caches hold")


def report_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def test_a_warm_report_is_byte_identical_and_recomputes_nothing(
    tmp_path, fixture_csv, livenli_dataset, monkeypatch
):
    monkeypatch.setenv("INSPECT_PARTYNLI_CACHE", str(tmp_path / "cache"))
    csv = write_study_csv(tmp_path / "small.csv", fixture_csv, livenli_dataset, items=6)
    options = dict(style_encoder="none", random_mix_draws=20, random_mix_size=2, progress=False)
    cold = build_report([csv], tmp_path / "cold", encoder=DeviceHashEncoder(), **options)
    for module, name in ((sklearn.manifold, "TSNE"), (sklearn_text, "TfidfVectorizer"),
                         (scipy.stats, "mannwhitneyu")):  # fmt: skip
        monkeypatch.setattr(module, name, _refuse)
    encoder = DeviceHashEncoder()
    warm = build_report([csv], tmp_path / "warm", encoder=encoder, **options)
    assert encoder.resolved_device is None  # the model never ran
    assert warm.skipped == cold.skipped  # no part failed on the refused computations
    cold_files, warm_files = report_files(cold.out_dir), report_files(warm.out_dir)
    assert {"explanations.csv", "projection.csv", "figure4_right.png"} <= set(cold_files)
    assert warm_files.keys() == cold_files.keys()
    assert [name for name in cold_files if warm_files[name] != cold_files[name]] == []
    assert "Encoders ran on cpu." in cold_files["report.md"].decode()


WARM_RUN = """
import sys
sys.path.insert(0, {tests!r})
from report_data import DeviceHashEncoder
from inspect_partynli.report.build import build_report
build_report([{csv!r}], {out!r}, encoder=DeviceHashEncoder(), style_encoder="none",
             random_mix_draws=5, random_mix_size=2, progress=False)
heavy = sorted({{"sklearn", "scipy.stats", "torch"}} & set(sys.modules))
print("imported:", ",".join(heavy) or "none")
"""


def test_a_warm_report_imports_neither_scikit_learn_nor_scipy_stats(
    tmp_path, fixture_csv, livenli_dataset
):
    csv = write_study_csv(tmp_path / "tiny.csv", fixture_csv, livenli_dataset, items=3)
    path = os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "INSPECT_PARTYNLI_CACHE": str(tmp_path / "cache"), "PYTHONPATH": path}
    said = []
    for run in ("cold", "warm"):
        code = WARM_RUN.format(tests=str(REPO / "tests"), csv=str(csv), out=str(tmp_path / run))
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        said.append(done.stdout.strip().splitlines()[-1])
    if said[0] == "imported: none":
        pytest.fail("the cold run should have fitted t-SNE and TF-IDF (scikit-learn)")
    assert said[1] == "imported: none"
