"""Benchmark: Inspect logs -> annotation table at paper scale.

Generates (once, cached) 54 participants x 122 items x 5 epochs = 32,940 annotations as
``.eval`` logs: one real run of ``inspect_partynli/livenli`` with the offline
``partynli/livenli-annotators`` model, copied per participant with ``write_eval_log``
(new model id, eval id and labels, so the logs look like 54 separate runs).  Then times

(a) Inspect's ``read_eval_log_sample_summaries`` alone over every log, and
(b) ``load_annotations`` on the same logs (headers + summaries + table building),

best of ``--repeat`` runs each, interleaved in alternating order.  Target: (b) <= 1.5 x (a).
Also times ``load_annotations(explanations=True)`` (full samples) for information.
``--baseline COMMIT`` also times (b) with the package as it was at ``COMMIT`` (fresh processes,
interleaved with this checkout's, same logs) and prints the ratio now / baseline.

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/logs_to_table.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

MODELS = 54
EPOCHS = 5
TARGET = 1.5


def generate(log_dir: Path, models: int, epochs: int) -> list[Path]:
    """Write ``models`` logs of the livenli task into ``log_dir`` (reused when present)."""
    existing = sorted(log_dir.glob("*.eval"))
    if len(existing) == models:
        return existing
    for path in existing:
        path.unlink()
    from inspect_ai import eval as inspect_eval
    from inspect_ai.log import write_eval_log

    from inspect_partynli.labels import LABELS
    from inspect_partynli.task import livenli

    start = time.perf_counter()
    rng = random.Random(0)
    paths = []
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [base] = inspect_eval(
            livenli(epochs=epochs),
            model="partynli/livenli-annotators",
            log_dir=scratch,
            display="none",
        )
        samples = list(base.samples)  # read while the run's log still exists
        print(f"base run: {len(samples)} samples in {time.perf_counter() - start:.1f}s",
              file=sys.stderr)  # fmt: skip
        for index in range(models):
            log = base.model_copy(deep=False)
            log.samples = samples
            log.eval = base.eval.model_copy(
                update={"model": f"bench/model-{index:02d}", "eval_id": f"bench{index:02d}"}
            )
            for sample in samples:
                label = rng.choice(LABELS)
                sample.scores["livenli_scorer"].value.update(label=label, multi_label=label)
            path = log_dir / f"2026-01-01T00-00-{index:02d}+00-00_livenli_bench{index:02d}.eval"
            write_eval_log(log, str(path))
            paths.append(path)
    print(f"wrote {models} logs in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return paths


def time_summaries(paths: list[Path]) -> tuple[float, int]:
    from inspect_ai.log import read_eval_log_sample_summaries

    start = time.perf_counter()
    count = sum(len(read_eval_log_sample_summaries(str(path))) for path in paths)
    return time.perf_counter() - start, count


def time_load(log_dir: Path, explanations: bool = False) -> tuple[float, int]:
    from inspect_partynli.annotations import load_annotations

    start = time.perf_counter()
    table = load_annotations(log_dir, explanations=explanations)
    return time.perf_counter() - start, len(table)


_TIME_LOAD = (
    "import sys, time; from inspect_partynli.annotations import load_annotations; "
    "start = time.perf_counter(); table = load_annotations(sys.argv[1]); "
    "print(time.perf_counter() - start, len(table))"
)


def time_load_in(source, log_dir: Path) -> tuple[float, int]:
    """:func:`time_load` in a fresh process importing the package from ``source``."""
    import subprocess

    from _baseline import environment

    done = subprocess.run([sys.executable, "-c", _TIME_LOAD, str(log_dir)], capture_output=True,
                          text=True, env=environment(source), check=True)  # fmt: skip
    seconds, rows = done.stdout.split()[-2:]
    return float(seconds), int(rows)


def compare_baseline(commit: str, log_dir: Path, repeat: int) -> None:
    """(b) now vs (b) at ``commit``: best of ``repeat`` interleaved fresh-process runs each."""
    from _baseline import baseline_source

    source = baseline_source(commit)
    runs: dict[str, list[tuple[float, int]]] = {"now": [], "baseline": []}
    for index in range(repeat):
        for which in ("now", "baseline") if index % 2 == 0 else ("baseline", "now"):
            runs[which].append(time_load_in(None if which == "now" else source, log_dir))
    now, old = min(s for s, _ in runs["now"]), min(s for s, _ in runs["baseline"])
    rows = {which: {r for _, r in found} for which, found in runs.items()}
    print(f"(b) now {now:.2f} s vs baseline {commit} {old:.2f} s: now/baseline = "
          f"{now / old:.2f} (<= 1.0: no slower); rows now {sorted(rows['now'])}, "
          f"baseline {sorted(rows['baseline'])}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "inspect_partynli-bench-logs",
        help="where the generated logs are cached (default: a folder in the temp dir)",
    )
    parser.add_argument("--models", type=int, default=MODELS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explanations", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also time load_annotations at COMMIT and print the ratio")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.log_dir.mkdir(parents=True, exist_ok=True)
    paths = generate(args.log_dir, args.models, args.epochs)

    summaries, load = [], []
    for repeat in range(args.repeat):  # alternating order, best of n: fair under shared CPUs
        for which in "ab" if repeat % 2 == 0 else "ba":
            if which == "a":
                seconds, samples = time_summaries(paths)
                summaries.append(seconds)
            else:
                seconds, rows = time_load(args.log_dir)
                load.append(seconds)
    a, b = min(summaries), min(load)
    print(f"logs: {len(paths)} ({samples} samples, {rows} annotation rows) in {args.log_dir}")
    print(f"(a) read_eval_log_sample_summaries alone: {a:.2f} s (runs: "
          f"{', '.join(f'{s:.2f}' for s in summaries)})")  # fmt: skip
    print(f"(b) load_annotations:                     {b:.2f} s (runs: "
          f"{', '.join(f'{s:.2f}' for s in load)})")  # fmt: skip
    verdict = "met" if b / a <= TARGET else "NOT met"
    print(f"ratio (b)/(a): {b / a:.2f}  (target <= {TARGET}: {verdict})")
    if args.explanations:
        seconds, rows = time_load(args.log_dir, explanations=True)
        print(f"(c) load_annotations(explanations=True):  {seconds:.2f} s ({rows} rows)")
    if args.baseline:
        compare_baseline(args.baseline, args.log_dir, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
