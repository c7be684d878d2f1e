"""The README's main job, timed against a bare Inspect task on the same model (paired runs).

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/main_job.py [--epochs 10] [--pairs 3]

One warm-up run of each side comes first and is not counted (the first eval of a process pays
Inspect's imports and registry loading).  Then each pair runs, interleaved (alternating which
side goes first) and in-process, after a garbage collection so that neither side pays for the
other's leftovers, with the same model, epochs, connections, display (none) and log settings
(a fresh temporary folder):

* **ours**: ``inspect_partynli/livenli`` on ``partynli/annotators`` (the full task: lean
  sample metadata, the solver building the prompts, the study's scorer and metrics);
* **bare**: the same 122 items x epochs as plain Inspect -- the two prompts as the sample
  input, ``generate()``, ``includes()`` -- on the same model, so both runs get the same
  instant replies and the difference is the package's own per-sample overhead.

It prints min / median / max of each side and of the ratio ours/bare of wall times (goal:
<= 1.05), the same for CPU time (this process's, less sensitive to other jobs on a shared
machine), and the load average; then checks the last "ours" run: the parse rate, how many of
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
import os
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=3, help="paired runs (default 3)")
    parser.add_argument("--max-connections", type=int, default=None)
    args = parser.parse_args()
    sides = {"ours": lambda: livenli(epochs=args.epochs), "bare": lambda: bare_task(args.epochs)}
    for build in sides.values():  # warm-up, not counted
        timed(build(), args.max_connections)
    wall: dict[str, list[float]] = {"ours": [], "bare": []}
    cpu: dict[str, list[float]] = {"ours": [], "bare": []}
    log = None
    for pair in range(args.pairs):
        for side in ("ours", "bare") if pair % 2 == 0 else ("bare", "ours"):
            seconds, cpu_seconds, run_log = timed(sides[side](), args.max_connections)
            wall[side].append(seconds)
            cpu[side].append(cpu_seconds)
            log = run_log if side == "ours" else log
            del run_log
        print(f"pair {pair + 1}: ours {wall['ours'][-1]:.2f} s, bare {wall['bare'][-1]:.2f} s, "
              f"ratio {wall['ours'][-1] / wall['bare'][-1]:.3f} (load {os.getloadavg()[0]:.1f})",
              flush=True)  # fmt: skip
    samples = len(log.samples)
    print(f"ours wall (s): {spread(wall['ours'], 3)}  ({samples / statistics.median(wall['ours']):.0f} samples/s)")  # noqa: E501
    print(f"bare wall (s): {spread(wall['bare'], 3)}")
    print(f"ours/bare wall: {spread(ratios(wall), 3)}  (goal <= 1.05)")
    print(f"ours/bare CPU:  {spread(ratios(cpu), 3)}  (ours {spread(cpu['ours'], 2)} s, "
          f"bare {spread(cpu['bare'], 2)} s)")  # fmt: skip
    print(load_note())
    check(log, args.epochs)


def ratios(times: dict[str, list[float]]) -> list[float]:
    """ours/bare within each pair."""
    return [o / b for o, b in zip(times["ours"], times["bare"], strict=True)]


if __name__ == "__main__":
    main()
