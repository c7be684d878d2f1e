"""The README's main job, timed against a bare Inspect task on the same model (paired runs).

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/main_job.py [--epochs 10] [--pairs 3]

Each measured run is a fresh process (``--side``), which first runs its side once with one
epoch (not counted: the first eval of a process pays Inspect's imports and registry loading)
and then the timed run, after a garbage collection; so no run inherits another's heap (in one
long process every later run is slower, by up to 10%, as the heap grows, which buried a 5%
goal in noise).  The pairs are interleaved (alternating which side goes first), with the same
model, epochs, connections, display (none) and log settings (a fresh temporary folder):

* **ours**: ``inspect_partynli/livenli`` on ``partynli/annotators`` (the full task: lean
  sample metadata, the solver building the prompts, the study's scorer and metrics);
* **bare**: the same 122 items x epochs as plain Inspect -- the two prompts as the sample
  input, ``generate()``, ``includes()`` -- on the same model, so both runs get the same
  instant replies and the difference is the package's own per-sample overhead.

It prints min / median / max of each side and of the ratio ours/bare of wall times (goal:
<= 1.05), the same for CPU time (this process's, less sensitive to other jobs on a shared
machine), and the load average; then checks one more "ours" run: the parse rate, how many of
the 110 items with 10 workers got exactly LiveNLI's label distribution (all of them when
``--epochs`` is 10), how many of the 12 items with 20-38 workers got exactly the labels of
their first ``--epochs`` workers, and the run's Agree and mean JS.

Run it from an installed checkout (``pip install -e .``, as the README does): with
``PYTHONPATH`` pointing at another checkout's ``src``, Inspect cannot match the task's module
to the installed distribution and scans every installed package on each eval (about 0.3-0.5 s
per run, on "ours" only; ``_eval/task/log.py: resolve_task_distribution``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

from inspect_ai import Epochs, Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog
from inspect_ai.scorer import includes
from inspect_ai.solver import generate
from paired import load_note, spread

from inspect_partynli.datasets import load_dataset
from inspect_partynli.task import livenli, prompt_messages

MODEL = "partynli/annotators"


def bare_task(epochs: int) -> Task:
    """The same items and prompts as plain Inspect: generate() and includes()."""
    dataset = load_dataset("livenli")
    samples = [
        Sample(id=item, input=prompt_messages(dataset.prompt, row), target="either")
        for item, row in dataset.items.iterrows()
    ]
    return Task(
        dataset=MemoryDataset(samples), solver=generate(), scorer=includes(),
        epochs=Epochs(epochs),
    )  # fmt: skip


def timed(task: Task, max_connections: int | None) -> tuple[float, float, EvalLog]:
    """(wall seconds, CPU seconds, log) of one eval of ``task`` (samples read into memory)."""
    gc.collect()
    with tempfile.TemporaryDirectory() as log_dir:
        wall, cpu = time.perf_counter(), time.process_time()
        (log,) = inspect_eval(
            task, model=MODEL, log_dir=log_dir, display="none", max_connections=max_connections
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        log.samples = list(log.samples or [])  # read before the folder goes
    return wall, cpu, log


def check(log: EvalLog, epochs: int) -> None:
    dataset = load_dataset("livenli")
    labels = dataset.labels
    values = [sample.scores["livenli_scorer"].value for sample in log.samples]
    counts = Counter((s.id, v["label"]) for s, v in zip(log.samples, values, strict=True))
    human = dataset.population().counts
    sizes = dataset.items["n_annotators"]
    ten = sizes.index[sizes == 10]
    same = sum(all(counts[(uid, label)] == human.at[uid, label] for label in labels) for uid in ten)
    larger = sizes.index[sizes != 10]
    firsts = {uid: dataset.annotators_by_item[uid]["label"].head(epochs) for uid in larger}
    prefix = sum(
        all(counts[(uid, label)] == (firsts[uid] == label).sum() for label in labels)
        for uid in larger
    )
    metrics = log.results.scores[0].metrics
    print(f"status {log.status}: {len(values)} samples, parsed {sum(v['parsed'] for v in values)}")
    print(f"items with 10 workers whose distribution equals LiveNLI's: {same}/{len(ten)}")
    print(f"items with more workers that got their first {epochs}: {prefix}/{len(larger)}")
    print(f"agree {metrics['agree'].value:.4f}, mean JS {metrics['js'].value:.4f}")


SIDES = {"ours": lambda epochs: livenli(epochs=epochs), "bare": bare_task}


def run_side(side: str, epochs: int, max_connections: int | None, show_check: bool) -> None:
    """One measured run in this process (after a one-epoch warm-up); prints its JSON figures."""
    timed(SIDES[side](1), max_connections)  # warm-up, not counted
    seconds, cpu_seconds, log = timed(SIDES[side](epochs), max_connections)
    if show_check:
        check(log, epochs)
    print(json.dumps({"wall": seconds, "cpu": cpu_seconds, "samples": len(log.samples)}))


def run_in_fresh_process(side: str, args: argparse.Namespace, show_check: bool) -> dict[str, float]:
    """Run ``side`` in a fresh Python process; its figures (and check lines, printed)."""
    command = [sys.executable, __file__, "--side", side, "--epochs", str(args.epochs)]
    if args.max_connections is not None:
        command += ["--max-connections", str(args.max_connections)]
    if show_check:
        command.append("--check")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {side} run failed ({done.returncode}):\n{done.stderr}")
    *lines, figures = done.stdout.strip().splitlines()
    for line in lines:
        print(line)
    return json.loads(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=3, help="paired runs (default 3)")
    parser.add_argument("--max-connections", type=int, default=None)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # one measured run
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        return run_side(args.side, args.epochs, args.max_connections, args.check)
    wall: dict[str, list[float]] = {"ours": [], "bare": []}
    cpu: dict[str, list[float]] = {"ours": [], "bare": []}
    samples = 0
    for pair in range(args.pairs):
        for side in ("ours", "bare") if pair % 2 == 0 else ("bare", "ours"):
            figures = run_in_fresh_process(side, args, show_check=False)
            wall[side].append(figures["wall"])
            cpu[side].append(figures["cpu"])
            if side == "ours":
                samples = int(figures["samples"])
        print(f"pair {pair + 1}: ours {wall['ours'][-1]:.2f} s, bare {wall['bare'][-1]:.2f} s, "
              f"ratio {wall['ours'][-1] / wall['bare'][-1]:.3f} (load {os.getloadavg()[0]:.1f})",
              flush=True)  # fmt: skip
    rate = samples / statistics.median(wall["ours"])
    print(f"ours wall (s): {spread(wall['ours'], 3)}  ({rate:.0f} samples/s)")
    print(f"bare wall (s): {spread(wall['bare'], 3)}")
    print(f"ours/bare wall: {spread(ratios(wall), 3)}  (goal <= 1.05)")
    print(f"ours/bare CPU:  {spread(ratios(cpu), 3)}  (ours {spread(cpu['ours'], 2)} s, "
          f"bare {spread(cpu['bare'], 2)} s)")  # fmt: skip
    print(load_note())
    print("check of one more ours run:")
    run_in_fresh_process("ours", args, show_check=True)


def ratios(times: dict[str, list[float]]) -> list[float]:
    """ours/bare within each pair."""
    return [o / b for o, b in zip(times["ours"], times["bare"], strict=True)]


if __name__ == "__main__":
    main()
