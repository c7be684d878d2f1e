"""The package's own overhead per request, on the wire: ``inspect_partynli/livenli`` against a
local OpenAI-compatible server with 0 latency, vs a bare Inspect task sending the very same
two messages per sample (plain ``generate()``, no scorer, no sample metadata).

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/wire_overhead.py [--epochs 5]

Both run in this process through Inspect's ``openai-api`` client, after a warm-up, with the
same settings (8 connections); the server (:mod:`inspect_partynli.testing.openai_server`)
runs in its own process on 127.0.0.1.  Prints the wall and CPU time per request of each and
their difference: what the package adds per request (building the prompts, recording the
settings, parsing and scoring the reply, the task's metrics).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import generate

from inspect_partynli import livenli
from inspect_partynli.datasets import load_dataset
from inspect_partynli.task import livenli_messages


def bare_task(epochs: int) -> Task:
    """The same requests with nothing of the package around them."""
    items = load_dataset("livenli").items
    samples = [
        Sample(id=uid, input=livenli_messages(premise, hypothesis))
        for uid, premise, hypothesis in items[["premise", "hypothesis"]].itertuples()
    ]
    return Task(dataset=MemoryDataset(samples), solver=generate(), epochs=epochs)


def timed(task: Task, base_url: str, connections: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, samples) of one eval of ``task``."""
    with tempfile.TemporaryDirectory() as log_dir:
        wall, cpu = time.perf_counter(), time.process_time()
        (log,) = inspect_eval(
            task, model="openai-api/wire/scripted", model_base_url=base_url,
            log_dir=log_dir, display="none", max_connections=connections,
        )  # fmt: skip
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if log.status != "success":
            raise SystemExit(f"the run ended {log.status}")
        samples = log.results.total_samples if log.results else 0
    return wall, cpu, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    os.environ["WIRE_API_KEY"] = "benchmark"
    server = subprocess.Popen(
        [sys.executable, "-m", "inspect_partynli.testing", "--seconds", "900"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base_url = server.stdout.readline().strip()
        timed(livenli(subset="chaosnli", epochs=1), base_url, args.connections)  # warm-up
        timed(bare_task(1), base_url, args.connections)
        ours = timed(livenli(epochs=args.epochs), base_url, args.connections)
        bare = timed(bare_task(args.epochs), base_url, args.connections)
    finally:
        server.terminate()
        server.wait(timeout=30)
    requests = ours[2]
    print(f"{requests} requests at 0 latency, {args.connections} connections, 122 items x "
          f"{args.epochs} epochs")  # fmt: skip
    for name, (wall, cpu, _) in (("inspect_partynli/livenli", ours), ("bare Inspect task", bare)):
        print(f"  {name:26} {wall:6.2f} s wall ({1000 * wall / requests:5.2f} ms/request), "
              f"{1000 * cpu / requests:5.2f} ms CPU/request")  # fmt: skip
    extra_wall = 1000 * (ours[0] - bare[0]) / requests
    extra_cpu = 1000 * (ours[1] - bare[1]) / requests
    print(f"  the package's own overhead: {extra_wall:+.2f} ms wall, {extra_cpu:+.2f} ms CPU per "
          f"request ({ours[0] / bare[0]:.2f}x the bare task's time)")


if __name__ == "__main__":
    main()
