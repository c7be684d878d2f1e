"""The README's main job, timed: LiveNLI annotators replayed at 10 epochs (1,220 samples).

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/main_job.py [--epochs 10]

Runs ``inspect_partynli/livenli`` on ``partynli/livenli-annotators`` in-process (logs in a
temporary folder), then prints the wall time, samples per second, the parse rate, how many
of the 110 items with 10 workers got exactly LiveNLI's label distribution (all of them when
``--epochs`` is 10), how many of the 12 items with 20-38 workers got exactly the labels of
their first ``--epochs`` workers, and the run's Agree and mean JS.  The work is Inspect's
per-sample overhead; the replies are instant.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter

from inspect_ai import eval as inspect_eval

from inspect_partynli import livenli_data as lv
from inspect_partynli.labels import LABELS
from inspect_partynli.task import livenli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-connections", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as log_dir:
        start = time.perf_counter()
        (log,) = inspect_eval(
            livenli(epochs=args.epochs),
            model="partynli/livenli-annotators",
            log_dir=log_dir,
            display="none",
            max_connections=args.max_connections,
        )
        seconds = time.perf_counter() - start
        samples = list(log.samples)  # read before the folder goes
    values = [sample.scores["livenli_scorer"].value for sample in samples]
    counts = Counter((s.id, v["label"]) for s, v in zip(samples, values, strict=True))
    frame = lv.load_livenli()
    human = lv.human_counts(frame, "livenli")
    ten = lv.items(frame).query("n_annotators == 10").index
    same = sum(all(counts[(uid, label)] == human.at[uid, label] for label in LABELS) for uid in ten)
    larger = human.index.difference(ten)
    firsts = frame.groupby("uid").head(args.epochs).groupby("uid")["class_simple"]
    prefix = sum(
        all(counts[(uid, label)] == (firsts.get_group(uid) == label).sum() for label in LABELS)
        for uid in larger
    )
    metrics = log.results.scores[0].metrics
    print(f"status {log.status}: {len(samples)} samples in {seconds:.1f} s "
          f"({len(samples) / seconds:.0f} samples/s)")
    print(f"parsed {sum(v['parsed'] for v in values)}/{len(values)}")
    print(f"items with 10 workers whose distribution equals LiveNLI's: {same}/{len(ten)}")
    print(f"items with more workers that got their first {args.epochs}: {prefix}/{len(larger)}")
    print(f"agree {metrics['agree'].value:.4f}, mean JS {metrics['js'].value:.4f}")


if __name__ == "__main__":
    main()
