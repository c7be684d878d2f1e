"""``partynli run`` in parallel: a study of 6 models against a local OpenAI-compatible server
with 100 ms latency per reply and 8 connections per model, vs its slowest model alone.

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/study_parallel.py \\
        [--models 6] [--epochs 5] [--latency 0.1] [--connections 8] [--subset all]

The server (:mod:`inspect_partynli.testing.openai_server`) runs in its own process on
127.0.0.1; every model is ``openai-api/m<k>/scripted`` on it (six equal participants, so
"the slowest alone" is measured as each of two models alone, the slower counting), after
a warm-up run that is not counted (imports, loading LiveNLI).  Both
the study and the single models run through ``partynli run`` itself (plan, preflight,
eval_set per configuration, one worker per configuration with ``max_tasks`` = models), each
into a fresh log folder.  Prints both wall times and the ratio (goal: <= 1.3; run one after
the other, the study would take ~models x).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

GOAL = 1.3


def study_yaml(path: Path, base_url: str, names: list[str], args: argparse.Namespace) -> Path:
    study = {
        "name": path.stem,
        "task": {"subset": args.subset},
        "epochs": args.epochs,
        "max_tasks": len(names),
        "models": [
            {"id": f"openai-api/{name}/scripted", "name": name, "base_url": base_url,
             "max_connections": args.connections}  # fmt: skip
            for name in names
        ],
    }
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def cpu_seconds(server_pid: int) -> float:
    """CPU seconds used so far by this process, its finished workers and the server."""
    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # includes only reaped children
    server = psutil.Process(server_pid).cpu_times()
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime + server.user \
        + server.system  # fmt: skip


def timed_run(study: Path, log_dir: Path, server_pid: int) -> tuple[float, float]:
    """(wall, CPU) seconds of ``partynli run STUDY --yes`` (in this process, output
    captured); CPU counts this process, the run's worker processes and the server."""
    from inspect_partynli.cli import main

    start, cpu = time.perf_counter(), cpu_seconds(server_pid)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(["run", str(study), "--yes", "--log-dir", str(log_dir), "--display", "none"])
    seconds, cpu = time.perf_counter() - start, cpu_seconds(server_pid) - cpu
    if code != 0:
        raise SystemExit(f"partynli run failed ({code}):\n{out.getvalue()}")
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--subset", default="all", choices=("all", "chaosnli"))
    args = parser.parse_args()
    names = [f"m{k}" for k in range(1, args.models + 1)]
    for name in names:
        os.environ[f"{name.upper()}_API_KEY"] = "benchmark"
    server = subprocess.Popen(
        [sys.executable, "-m", "inspect_partynli.testing",
         "--latency", str(args.latency), "--seconds", "1800"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base_url = server.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the server did not start (said {base_url!r})")
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            # warm-up (imports, LiveNLI, the server's first connections): not counted
            warm = study_yaml(root / "warm-up.yaml", base_url, names[:1], args)
            timed_run(warm, root / "logs-warm-up", server.pid)
            alone = []
            for name in names[:2]:
                single = study_yaml(root / f"alone-{name}.yaml", base_url, [name], args)
                alone.append(timed_run(single, root / f"logs-alone-{name}", server.pid)[0])
            study = study_yaml(root / "study.yaml", base_url, names, args)
            together, cpu = timed_run(study, root / "logs-study", server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    items = 122 if args.subset == "all" else 50
    requests = items * args.epochs
    slowest = max(alone)
    ratio = together / slowest
    print(
        f"{args.models} models x {items} items x {args.epochs} epochs, {args.latency * 1000:.0f} "
        f"ms latency, {args.connections} connections per model ({requests} requests per model)"
    )
    each = ", ".join(f"{a:.1f}" for a in alone)
    print(f"  slowest model alone: {slowest:6.1f} s  (alone: {each})")
    print(f"  whole study:         {together:6.1f} s  (in turn: ~{args.models * slowest:.0f} s)")
    print(f"  ratio: {ratio:.2f}  (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})")
    floor = requests / args.connections * args.latency
    print(f"  (a model alone cannot beat {floor:.1f} s: its requests x latency / connections)")
    cores = os.cpu_count() or 1
    print(
        f"  CPU of the study (client, workers, server): {cpu:.1f} s on {cores} cores, so it "
        f"cannot beat {cpu / cores:.1f} s here ({1000 * cpu / (requests * args.models):.1f} ms "
        f"CPU per request); with that floor the ratio is at least {cpu / cores / slowest:.2f}"
    )


if __name__ == "__main__":
    main()
