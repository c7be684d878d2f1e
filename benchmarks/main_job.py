"""The README's main job, timed against a bare Inspect task on the same model (paired runs).

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/main_job.py [--epochs 10] [--pairs 3]

Each pair runs, interleaved and in-process (logs in a temporary folder):

* **ours**: ``inspect_partynli/livenli`` on ``partynli/annotators`` (the full task: lean
  sample metadata, the solver building the prompts, the study's scorer and metrics);
* **bare**: the same 122 items x epochs as plain Inspect -- the two prompts as the sample
  input, ``generate()``, ``includes()`` -- on the same model, so both runs get the same
  instant replies and the difference is the package's own per-sample overhead.

It prints min / median / max of each side and of the ratio ours/bare (goal: <= 1.05), then
checks the last "ours" run: the parse rate, how many of the 110 items with 10 workers got
exactly LiveNLI's label distribution (all of them when ``--epochs`` is 10), how many of the
12 items with 20-38 workers got exactly the labels of their first ``--epochs`` workers, and
the run's Agree and mean JS.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter

from inspect_ai import Epochs, Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import includes
from inspect_ai.solver import generate

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


def timed(task: Task, max_connections: int | None) -> tuple[float, object]:
    with tempfile.TemporaryDirectory() as log_dir:
        start = time.perf_counter()
        (log,) = inspect_eval(
            task, model=MODEL, log_dir=log_dir, display="none", max_connections=max_connections
        )
        seconds = time.perf_counter() - start
        log.samples = list(log.samples or [])  # read before the folder goes
    return seconds, log


def spread(values: list[float]) -> str:
    return f"min {min(values):.3f}  median {statistics.median(values):.3f}  max {max(values):.3f}"


def check(log, epochs: int) -> None:  # noqa: ANN001 - an EvalLog
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
    ours, bare, log = [], [], None
    for pair in range(args.pairs):
        first, second = ("ours", "bare") if pair % 2 == 0 else ("bare", "ours")
        for side in (first, second):
            if side == "ours":
                seconds, log = timed(livenli(epochs=args.epochs), args.max_connections)
                ours.append(seconds)
            else:
                seconds, _ = timed(bare_task(args.epochs), args.max_connections)
                bare.append(seconds)
        print(f"pair {pair + 1}: ours {ours[-1]:.2f} s, bare {bare[-1]:.2f} s, "
              f"ratio {ours[-1] / bare[-1]:.3f}")  # fmt: skip
    samples = len(log.samples)
    print(f"ours (s):  {spread(ours)}  ({samples / statistics.median(ours):.0f} samples/s)")
    print(f"bare (s):  {spread(bare)}")
    print(f"ours/bare: {spread([o / b for o, b in zip(ours, bare, strict=True)])}  (goal <= 1.05)")
    check(log, args.epochs)


if __name__ == "__main__":
    main()
