"""Probe suite (issue 10): every command against generated hostile inputs.

Each probe runs one command and asserts one of two outcomes:

* **refused**: exit code 2 and exactly one line on stderr, ``partynli CMD: error: ...``
  (or ``partynli CMD: error: ... (see partynli CMD --help)`` for a usage error), no traceback;
* **clean**: exit code 0, no traceback, and every stderr line is one of the command's own
  ``partynli CMD: warning/note/skipped ...`` lines.

Around every probe, the SHA-256 of every file under the probe's inputs and of a bystander
folder (the target of the symlinks planted in output folders) is taken: nothing outside the
probe's output may change.

The ``partynli`` commands run in-process (``cli.main``), which is what the console script
calls; ``inspect eval -T/-M`` runs as a subprocess (Inspect's own CLI: there the promise is a
non-zero exit with the problem named and no Python traceback).

Unwritable folders: the tests run as root, for whom ``chmod 0o500`` does not make a folder
unwritable and ``os.access`` answers "writable" even where writes fail.  Two honest stand-ins
are used: a path *below a regular file* (ENOTDIR for every user), and ``/sys`` when creating
a file there really fails (EPERM on sysfs); the latter probes are skipped, and say so, on a
machine where ``/sys`` accepts writes.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import DATA_DIR, FIXTURE_CSV
from inspect_partynli import cli

#: Results of every probe: (case, outcome) -- printed at the end of the session (the count
#: goes into the issue's closing note).
RESULTS: Counter = Counter()


def _unwritable_system_folder() -> Path | None:
    """``/sys`` when writing there really fails (as on Linux), else None."""
    folder = Path("/sys")
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError:
        return folder if folder.is_dir() else None


SYS = _unwritable_system_folder()


# ----------------------------------------------------------------------------- inputs
def _flip_member(source: Path, target: Path, member: str) -> None:
    """Copy an .eval log, flipping 16 bytes in the middle of one member's compressed data."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo(member)
    offset = info.header_offset
    name_length, extra_length = struct.unpack("<HH", data[offset + 26 : offset + 30])
    start = offset + 30 + name_length + extra_length + info.compress_size // 2
    for i in range(16):
        data[start + i] ^= 0xFF
    target.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory) -> Path:
    """A real livenli log plus every hostile input, generated once."""
    from inspect_ai import eval as inspect_eval

    from inspect_partynli import livenli

    root = tmp_path_factory.mktemp("probes")
    inputs = root / "inputs"
    logs = inputs / "logs"
    logs.mkdir(parents=True)
    (log,) = inspect_eval(
        livenli(subset="chaosnli"), model="partynli/livenli-annotators", epochs=2, limit=4,
        log_dir=str(logs), display="none",
    )  # fmt: skip
    good = Path(log.location)
    good.rename(logs / "good.eval")
    good = logs / "good.eval"
    with zipfile.ZipFile(good) as archive:
        sample = next(n for n in archive.namelist() if n.startswith("samples/"))
    bad = inputs / "bad"
    bad.mkdir()
    _flip_member(good, bad / "corrupt-sample.eval", sample)
    _flip_member(good, bad / "corrupt-header.eval", "header.json")
    _flip_member(good, bad / "corrupt-summaries.eval", "summaries.json")
    (bad / "truncated.eval").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (bad / "binary.eval").write_bytes(os.urandom(4096))
    (bad / "empty.eval").write_bytes(b"")
    (bad / "foreign.json").write_text('{"version": 2, "status": "success", "eval": {}}')
    (bad / "binary.csv").write_bytes(os.urandom(2048))
    (bad / "empty.csv").write_bytes(b"")
    (bad / "latin1.csv").write_bytes(
        "sent_id,participant,trial,class_simple,explanation\n"
        "10164e,caf\xe9,1,true,d\xe9j\xe0 vu\n".encode("latin-1")
    )
    (bad / "wrong-columns.csv").write_text("a,b,c\n1,2,3\n")
    (bad / "bad-labels.csv").write_text(
        "sent_id,participant,trial,class_simple\n10164e,p,1,maybe\n"
    )
    (bad / "bad-trial.csv").write_text("sent_id,participant,trial,class_simple\n10164e,p,x,true\n")
    (bad / "truncated.parquet").write_bytes(b"PAR1" + os.urandom(64))
    (bad / "groups-latin1.yaml").write_bytes("lo: [caf\xe9]\n".encode("latin-1"))
    (bad / "groups-list.yaml").write_text("- a\n- b\n")
    hostile = inputs / "hostile.csv"
    hostile.write_text(
        "sent_id,participant,trial,class_simple,explanation\n"
        '10164e,"<img src=x onerror=alert(1)>",1,true,"=HYPERLINK(""http://x"")"\n'
        "10164e,p2,1,false,+1 plain\n"
        "<script>,p2,1,false,-@x\n"
    )
    studies = inputs / "studies"
    studies.mkdir()
    model = "  - id: partynli/livenli-annotators\n    name: annotators\n"
    (studies / "ok.yaml").write_text(f"name: ok\ntask:\n  subset: chaosnli\nmodels:\n{model}")
    (studies / "binary.yaml").write_bytes(os.urandom(512))
    (studies / "empty.yaml").write_text("")
    (studies / "latin1.yaml").write_bytes(f"name: caf\xe9\nmodels:\n{model}".encode("latin-1"))
    (studies / "secret.yaml").write_text(
        "name: s\nmodels:\n  - id: openai/gpt-4.1\n    args:\n      api_key: ${OPENAI_API_KEY}\n"
    )
    (studies / "bad-keys.yaml").write_text(f"name: s\nepochs: -3\nwhat: 1\nmodels:\n{model}")
    (root / "bystander").mkdir()
    (root / "bystander" / "precious.txt").write_text("the user's file\n")
    (root / "a-file").write_text("a regular file\n")
    return root


def _hashes(*folders: Path) -> dict[str, str]:
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


# ----------------------------------------------------------------------------- probes
@dataclass(frozen=True)
class Probe:
    name: str
    argv: tuple[str, ...]  # with {in}, {root}, {out}, {sys} placeholders
    outcome: str  # "refused", "clean", or "either" (both are kept promises)
    needs_sys: bool = False
    prepare: str = ""  # "symlinked-report" / "stale-report": plant something in {out}


L = "{in}/logs/good.eval"
F = str(FIXTURE_CSV)
NO_VECTORS = ("--encoder", "none", "--style-encoder", "none", "--no-tfidf")
BAD_SOURCES = [
    "bad/corrupt-header.eval", "bad/corrupt-summaries.eval", "bad/truncated.eval",
    "bad/binary.eval", "bad/empty.eval", "bad/foreign.json", "bad/binary.csv", "bad/empty.csv",
    "bad/wrong-columns.csv", "bad/bad-labels.csv", "bad/bad-trial.csv", "bad/truncated.parquet",
    "bad/nothing-here.csv", "bad/unknown.txt",
]  # fmt: skip

PROBES: list[Probe] = []
for source in BAD_SOURCES:
    stem = source.split("/")[-1]
    # a damaged summaries member: the fast path (metrics) refuses the log; commands that read
    # the full samples do not need the summaries and read it
    outcome = "either" if "summaries" in stem else "refused"
    PROBES += [
        Probe(f"metrics {stem}", ("metrics", f"{{in}}/{source}"), outcome),
        # (export passes labels through: a PartyNLI file may be of any dataset's labels)
        Probe(f"export {stem}", ("export", f"{{in}}/{source}", "-o", "{out}/x.csv"),
              "either" if "labels" in stem else outcome),
        Probe(f"explanations {stem}", ("explanations", f"{{in}}/{source}", *NO_VECTORS),
              outcome),
        Probe(f"report {stem}", ("report", f"{{in}}/{source}", "-o", "{out}/r",
                                 "--encoder", "none", "--style-encoder", "none"), outcome),
    ]  # fmt: skip
PROBES += [
    # a corrupt sample member: skipped with a warning naming log and sample
    Probe(
        "export corrupt sample",
        ("export", "{in}/bad/corrupt-sample.eval", "-o", "{out}/x.csv"),
        "clean",
    ),
    Probe(
        "explanations corrupt sample",
        (
            "explanations",
            "{in}/bad/corrupt-sample.eval",
            "--encoder",
            "none",
            "--style-encoder",
            "none",
        ),
        "clean",
    ),
    Probe("metrics corrupt sample", ("metrics", "{in}/bad/corrupt-sample.eval"), "clean"),
    Probe("latin-1 PartyNLI file", ("metrics", "{in}/bad/latin1.csv"), "refused"),
    # bad option values
    Probe("humans --seed -1", ("humans", "--seed", "-1"), "refused"),
    Probe("humans --seed x", ("humans", "--seed", "x"), "refused"),
    Probe("humans --subset bad choice", ("humans", "--subset", "nope"), "refused"),
    Probe("humans --format bad choice", ("humans", "--format", "xml"), "refused"),
    Probe("humans unknown option", ("humans", "--what"), "refused"),
    Probe("no command", (), "refused"),
    Probe("unknown command", ("frobnicate",), "refused"),
    Probe("metrics no sources", ("metrics",), "refused"),
    Probe("metrics --seed -1", ("metrics", L, "--seed", "-1"), "refused"),
    Probe("metrics --k 0", ("metrics", L, "--setting", "random_mix", "--k", "0"), "refused"),
    Probe("metrics --draws -5", ("metrics", L, "--draws", "-5"), "refused"),
    Probe(
        "metrics --groups latin-1",
        ("metrics", L, "--groups", "{in}/bad/groups-latin1.yaml"),
        "refused",
    ),
    Probe("metrics --groups binary", ("metrics", L, "--groups", "{in}/bad/binary.csv"), "refused"),
    Probe(
        "metrics --groups list", ("metrics", L, "--groups", "{in}/bad/groups-list.yaml"), "refused"
    ),
    Probe("metrics --group unknown member", ("metrics", L, "--group", "g=nobody"), "refused"),
    Probe("metrics --num-params bad", ("metrics", L, "--num-params", "x=big"), "refused"),
    Probe("metrics --data binary", ("metrics", L, "--data", "{in}/bad/binary.csv"), "refused"),
    Probe("explanations --ngram 0", ("explanations", L, "--ngram", "0"), "refused"),
    Probe("report --seed -1", ("report", L, "-o", "{out}/r", "--seed", "-1"), "refused"),
    Probe("report --k 0", ("report", L, "-o", "{out}/r", "--k", "0"), "refused"),
    Probe("report no -o", ("report", L), "refused"),
    Probe(
        "run --retry-attempts -1",
        ("run", "{in}/studies/ok.yaml", "--retry-attempts", "-1"),
        "refused",
    ),
    # bad --encoder
    Probe(
        "explanations --encoder missing", ("explanations", L, "--encoder", "{root}/nope"), "refused"
    ),
    Probe(
        "explanations --encoder file", ("explanations", L, "--encoder", "{root}/a-file"), "refused"
    ),
    Probe(
        "explanations --encoder not a model",
        ("explanations", L, "--encoder", "{in}/studies"),
        "refused",
    ),
    Probe(
        "report --encoder not a model",
        ("report", L, "-o", "{out}/r", "--encoder", "{in}/studies"),
        "refused",
    ),
    # output paths: wrong kind, below a file, unwritable
    Probe("export -o folder", ("export", L, "-o", "{in}/logs"), "refused"),
    Probe(
        "export -o folder.csv",
        ("export", L, "-o", "{out}/dir.csv"),
        "refused",
        prepare="folder-dir.csv",
    ),
    Probe("export -o below a file", ("export", L, "-o", "{root}/a-file/x.csv"), "refused"),
    Probe("export -o missing folder", ("export", L, "-o", "{root}/nowhere/x.csv"), "refused"),
    Probe(
        "export -o existing file",
        ("export", L, "-o", "{root}/a-file.csv"),
        "refused",
        prepare="existing-a-file.csv",
    ),
    Probe("export -o bad suffix", ("export", L, "-o", "{out}/x.txt"), "refused"),
    Probe("export -o unwritable", ("export", L, "-o", "{sys}/x.csv"), "refused", needs_sys=True),
    Probe(
        "explanations -o folder",
        ("explanations", L, *NO_VECTORS, "-o", "{in}/logs", "--force"),
        "refused",
    ),
    Probe(
        "explanations -o below a file",
        ("explanations", L, *NO_VECTORS, "-o", "{root}/a-file/x.csv"),
        "refused",
    ),
    Probe(
        "explanations -o unwritable",
        ("explanations", L, *NO_VECTORS, "-o", "{sys}/x.csv"),
        "refused",
        needs_sys=True,
    ),
    Probe(
        "explanations --cache-dir file",
        ("explanations", L, "--cache-dir", "{root}/a-file"),
        "refused",
    ),
    Probe(
        "explanations --cache-dir below a file",
        ("explanations", L, "--cache-dir", "{root}/a-file/c"),
        "refused",
    ),
    Probe(
        "explanations --cache-dir unwritable",
        ("explanations", L, "--cache-dir", "{sys}/c"),
        "refused",
        needs_sys=True,
    ),
    Probe("report -o file", ("report", L, "-o", "{root}/a-file"), "refused"),
    Probe("report -o below a file", ("report", L, "-o", "{root}/a-file/r"), "refused"),
    Probe("report -o unwritable", ("report", L, "-o", "{sys}/r"), "refused", needs_sys=True),
    Probe("report -o not empty", ("report", L, "-o", "{in}/logs"), "refused"),
    Probe(
        "run --log-dir file",
        ("run", "{in}/studies/ok.yaml", "--dry-run", "--log-dir", "{root}/a-file"),
        "refused",
    ),
    Probe(
        "run --log-dir below a file",
        ("run", "{in}/studies/ok.yaml", "--dry-run", "--log-dir", "{root}/a-file/logs"),
        "refused",
    ),
    Probe(
        "run --log-dir unwritable",
        ("run", "{in}/studies/ok.yaml", "--dry-run", "--log-dir", "{sys}/logs"),
        "refused",
        needs_sys=True,
    ),
    # study files
    Probe("run binary study", ("run", "{in}/studies/binary.yaml", "--dry-run"), "refused"),
    Probe("run empty study", ("run", "{in}/studies/empty.yaml", "--dry-run"), "refused"),
    Probe("run latin-1 study", ("run", "{in}/studies/latin1.yaml", "--dry-run"), "refused"),
    Probe("run secret in study", ("run", "{in}/studies/secret.yaml", "--dry-run"), "refused"),
    Probe("run bad keys", ("run", "{in}/studies/bad-keys.yaml", "--dry-run"), "refused"),
    Probe("run missing study", ("run", "{root}/nope.yaml", "--dry-run"), "refused"),
    Probe(
        "run ok --dry-run",
        ("run", "{in}/studies/ok.yaml", "--dry-run", "--log-dir", "{out}/logs"),
        "clean",
    ),
    Probe(
        "report study never run",
        (
            "report",
            "{in}/studies/ok.yaml",
            "--log-dir",
            "{out}/none",
            "-o",
            "{out}/r",
            "--no-explanations",
        ),
        "refused",
    ),
    # hostile strings, links and stale files in the output folder
    Probe("export hostile strings", ("export", "{in}/hostile.csv", "-o", "{out}/x.csv"), "clean"),
    Probe(
        "report symlinks in -o",
        ("report", L, "-o", "{out}/r", "--force", "--no-explanations", "--draws", "5"),
        "clean",
        prepare="symlinked-report",
    ),
    Probe(
        "report stale files in -o",
        ("report", L, "-o", "{out}/r", "--force", "--no-explanations", "--draws", "5"),
        "clean",
        prepare="stale-report",
    ),
    Probe(
        "export -o symlink",
        ("export", L, "-o", "{out}/link.csv", "--force"),
        "clean",
        prepare="symlinked-export",
    ),
    Probe(
        "explanations -o symlink",
        ("explanations", L, *NO_VECTORS, "-o", "{out}/link.csv", "--force"),
        "clean",
        prepare="symlinked-export",
    ),
    Probe(
        "report log + hostile file",
        ("report", L, "{in}/hostile.csv", "-o", "{out}/r", "--no-explanations", "--draws", "5"),
        "clean",
    ),
    Probe(
        "metrics conflicting sources",
        ("metrics", F, "{in}/copy/fixture.csv"),
        "refused",
        prepare="copied-fixture",
    ),
    Probe(
        "metrics conflicting sources --exclude",
        ("metrics", F, "{in}/copy/fixture.csv", "--exclude", "copy"),
        "clean",
        prepare="copied-fixture",
    ),
]


def _fill(argv: tuple[str, ...], root: Path, out: Path) -> list[str]:
    values = {"{in}": str(root / "inputs"), "{root}": str(root), "{out}": str(out),
              "{sys}": str(SYS or "/sys")}  # fmt: skip
    filled = []
    for word in argv:
        for key, value in values.items():
            word = word.replace(key, value)
        filled.append(word)
    return filled


def _prepare(kind: str, root: Path, out: Path) -> None:
    bystander = root / "bystander" / "precious.txt"
    if kind == "symlinked-report":
        (out / "r").mkdir()
        (out / "r" / "report.md").symlink_to(bystander)
        (out / "r" / "table2.csv").symlink_to(bystander)
        (out / "r" / "notes.txt").write_text("the user's notes\n")
    elif kind == "stale-report":
        report = out / "r"
        report.mkdir()
        (report / "figure9.png").write_bytes(b"stale")
        (report / "explanations.csv").write_text("stale\n")
        (report / "keep-me.txt").write_text("not the report's\n")
        (report / ".partynli-manifest.json").write_text(
            '{"files": ["figure9.png", "explanations.csv", "../bystander/precious.txt"]}'
        )
    elif kind == "symlinked-export":
        (out / "link.csv").symlink_to(bystander)
    elif kind == "folder-dir.csv":
        (out / "dir.csv").mkdir()
    elif kind == "existing-a-file.csv":
        (root / "a-file.csv").write_text("existing\n")
    elif kind == "copied-fixture":
        copy = root / "inputs" / "copy"
        copy.mkdir(exist_ok=True)
        if not (copy / "fixture.csv").exists():
            (copy / "fixture.csv").write_bytes(FIXTURE_CSV.read_bytes())


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_probe(probe: Probe, probe_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    if probe.needs_sys and SYS is None:
        RESULTS["skipped (no unwritable /sys here)"] += 1
        pytest.skip("/sys accepts writes on this machine: no honest unwritable folder as root")
    monkeypatch.setenv("INSPECT_PARTYNLI_DATA", str(DATA_DIR))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-probe-secret-value")
    out = tmp_path / "out"
    out.mkdir()
    _prepare(probe.prepare, probe_dir, out)
    watched = (probe_dir / "inputs", probe_dir / "bystander")
    before = _hashes(*watched)
    capsys.readouterr()
    try:
        code = cli.main(_fill(probe.argv, probe_dir, out))
    except SystemExit as exit_:  # argparse exits; cli.main returns for everything else
        code = exit_.code
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.strip()]
    assert "Traceback" not in captured.err, captured.err
    assert _hashes(*watched) == before, "a file outside the output changed"
    assert "sk-probe-secret-value" not in captured.err + captured.out
    outcome = "refused" if code == 2 else "clean"
    assert probe.outcome in (outcome, "either"), (code, captured.err)
    if outcome == "refused":
        # one error line; informational notes printed before it (an encoder's device) allowed
        failures = [line for line in errors if ": note: " not in line]
        assert len(failures) == 1, errors
        assert failures[0].startswith("partynli") and ": error: " in failures[0], errors
    else:
        assert code == 0, (code, captured.err)
        # the command's own lines only: no raw Python warning (file:line) on stderr
        assert not any(re.search(r"\.py:\d+", line) for line in errors), errors
    _check_output(probe, probe_dir, out)
    RESULTS[outcome] += 1


def _check_output(probe: Probe, root: Path, out: Path) -> None:
    bystander = root / "bystander" / "precious.txt"
    if probe.prepare == "symlinked-report":
        report = out / "r"
        assert not (report / "report.md").is_symlink()  # the link itself was replaced
        assert "PartyNLI report" in (report / "report.md").read_text()
        assert (report / "notes.txt").read_text() == "the user's notes\n"
        assert bystander.read_text() == "the user's file\n"
    elif probe.prepare == "stale-report":
        report = out / "r"
        assert not (report / "figure9.png").exists()  # listed by the old manifest: removed
        assert not (report / "explanations.csv").exists()
        assert (report / "keep-me.txt").exists()  # not listed: the user's, kept
        assert bystander.exists()  # a manifest entry outside the folder is ignored
    elif probe.prepare == "symlinked-export":
        assert not (out / "link.csv").is_symlink()
        assert bystander.read_text() == "the user's file\n"
    elif probe.name == "export hostile strings":
        text = (out / "x.csv").read_text()
        assert "'=HYPERLINK" in text and "'+1 plain" in text and "'-@x" in text
    elif probe.name == "report log + hostile file":
        markdown = (out / "r" / "report.md").read_text()
        assert "<img" not in markdown and "<script>" not in markdown


# -------------------------------------------------------------------- inspect eval -T/-M
INSPECT_PROBES = [
    ("-T subset=nope", ["-T", "subset=nope"]),
    ("-T sweep=nope", ["-T", "sweep=nope"]),
    (
        "-M path=binary (replay)",
        ["--model", "partynli/replay", "-M", "path={in}/bad/binary.csv"],
    ),  # fmt: skip
]


@pytest.mark.parametrize("name,extra", INSPECT_PROBES, ids=[n for n, _ in INSPECT_PROBES])
def test_inspect_eval_probe(name, extra, probe_dir, tmp_path):
    """``inspect eval`` with a bad -T/-M: a non-zero exit naming the problem, no traceback,
    nothing outside the log folder changed."""
    watched = (probe_dir / "inputs", probe_dir / "bystander")
    before = _hashes(*watched)
    args = [a.replace("{in}", str(probe_dir / "inputs")) for a in extra]
    if "--model" not in args:
        args = ["--model", "partynli/livenli-annotators", *args]
    env = {**os.environ, "INSPECT_PARTYNLI_DATA": str(DATA_DIR), "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "inspect_ai", "eval", "inspect_partynli/livenli", *args,
         "--limit", "2", "--log-dir", str(tmp_path / "logs"), "--display", "none"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert _hashes(*watched) == before
    assert "Traceback (most recent call last)" not in result.stderr, result.stderr[-2000:]
    assert result.returncode != 0 or "error" in (result.stdout + result.stderr).lower()
    RESULTS["inspect eval refused"] += 1


def test_zz_probe_summary(capsys):
    """Print the probe counts (runs last in this module)."""
    with capsys.disabled():
        total = sum(RESULTS.values())
        parts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(RESULTS.items()))
        print(f"\nprobe suite: {total} probes: {parts}")
