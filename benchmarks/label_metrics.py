"""Speed and memory of the label metrics (issue 3's performance goals).

Generates seeded synthetic annotation tables over the 122 LiveNLI items and times every label
metric of the default settings (each participant alone + all participants as one mix) plus a
RANDOM MIX of 1,000 draws of 10:

* paper scale: 122 items x 54 participants x 5 trials (~33k annotations); goal < 5 s;
* 1M annotations: 122 items x 1,000 participants x 8 trials; goal < 60 s and < 4 GB;
* 2M annotations (2,000 participants): doubling the data should cost at most 2.2x the time.

Each scale runs in a fresh subprocess so its peak RSS (``resource.getrusage``) is its own.
Needs LiveNLI (``INSPECT_PARTYNLI_DATA``) for the human reference.  Run:

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/label_metrics.py
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

SCALES = {  # name: (participants, trials)
    "paper": (54, 5),
    "1M": (1000, 8),
    "2M": (2000, 8),
}


def synthetic_table(uids: list[str], participants: int, trials: int, seed: int = 0) -> pd.DataFrame:
    """A conformed annotation table: every participant answers every item in every trial.

    Each participant has its own label bias, each item its own difficulty; 1% of the answers
    are parse failures.  Fully vectorised and seeded.
    """
    from inspect_partynli.annotation_schema import conform
    from inspect_partynli.labels import ERROR_LABEL, LABELS

    rng = np.random.default_rng(seed)
    n_items = len(uids)
    item_logits = rng.normal(0, 1.5, size=(n_items, len(LABELS)))
    bias = rng.normal(0, 1.0, size=(participants, len(LABELS)))
    logits = item_logits[None, :, :] + bias[:, None, :]  # (participants, items, labels)
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    cumulative = probs.cumsum(axis=-1)
    draws = rng.random((participants, trials, n_items))
    labels = (draws[..., None] > cumulative[:, None, :, :]).sum(axis=-1)
    labels = np.minimum(labels, len(LABELS) - 1)
    failed = rng.random(labels.shape) < 0.01
    shape = (participants, trials, n_items)
    p_index, t_index, i_index = (a.reshape(-1) for a in np.indices(shape))
    names = np.array([f"model-{p:04d}" for p in range(participants)], dtype=object)
    label_names = np.array(LABELS, dtype=object)[labels.reshape(-1)]
    label_names[failed.reshape(-1)] = ERROR_LABEL
    frame = pd.DataFrame(
        {
            "sent_id": np.array(uids, dtype=object)[i_index],
            "participant": names[p_index],
            "participant_type": "model",
            "experiment": "synthetic",
            "trial": t_index + 1,
            "class_simple": label_names,
            "class_multi": label_names,
            "parsed": ~failed.reshape(-1),
        }
    )
    return conform(frame)


def run_scale(name: str, draws: int, k: int) -> dict:
    from inspect_partynli.livenli_data import load_livenli
    from inspect_partynli.settings import (
        Setting,
        default_settings,
        evaluate_many,
        prepare,
        random_mix,
    )

    participants, trials = SCALES[name]
    livenli = load_livenli()
    uids = sorted(livenli["uid"].unique())
    table = synthetic_table(uids, participants, trials)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timings = {}
    cpu_start = time.process_time()
    start = time.perf_counter()
    coded = prepare(table)
    timings["prepare"] = time.perf_counter() - start
    step = time.perf_counter()
    settings = default_settings(coded)
    rows = evaluate_many(coded, settings, "livenli", "all", livenli)
    timings["single+mix"] = time.perf_counter() - step
    step = time.perf_counter()
    group = Setting("all", "random_mix", tuple(coded.units["unit"]))
    mixes = random_mix(coded, group, "livenli", "all", livenli, draws=draws, k=k, seed=0)
    timings["random_mix"] = time.perf_counter() - step
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return {
        "scale": name,
        "annotations": len(table),
        "settings": len(rows),
        "draws": len(mixes),
        "seconds": total,
        "cpu_seconds": cpu,
        "timings": timings,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_data_mb": rss_data,
        "mix_all_H": rows[-1]["H"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), help="run one scale (internal)")
    parser.add_argument("--scales", nargs="+", default=list(SCALES), choices=sorted(SCALES))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    if args.scale:
        print(json.dumps(run_scale(args.scale, args.draws, args.k)))
        return 0
    results = {}
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} (wall times grow with other load)")
    for name in args.scales:
        command = [sys.executable, __file__, "--scale", name, "--draws", str(args.draws)]
        output = subprocess.run(command + ["--k", str(args.k)], capture_output=True, text=True)
        if output.returncode != 0:
            print(output.stderr, file=sys.stderr)
            return output.returncode
        result = json.loads(output.stdout.strip().splitlines()[-1])
        results[name] = result
        steps = ", ".join(f"{step} {secs:.2f}s" for step, secs in result["timings"].items())
        print(
            f"{name:>5}: {result['annotations']:>9,} annotations, {result['settings']} settings "
            f"+ RANDOM MIX {result['draws']} draws of {args.k}: {result['seconds']:.2f} s wall, "
            f"{result['cpu_seconds']:.2f} s CPU ({steps}); peak RSS {result['peak_rss_mb']:.0f} MB "
            f"({result['rss_after_data_mb']:.0f} MB after building the table)"
        )
    if "1M" in results and "2M" in results:
        ratio = results["2M"]["seconds"] / results["1M"]["seconds"]
        print(f"doubling 1M -> 2M annotations costs {ratio:.2f}x the time (goal <= 2.2x)")
        scaled = [
            sum(results[n]["timings"][s] for s in ("prepare", "single+mix")) for n in ("1M", "2M")
        ]
        print(
            f"  of which the per-row/per-participant steps (prepare, single+mix): "
            f"{scaled[1] / scaled[0]:.2f}x (random mix of 1000 x 10 does not grow with rows)"
        )
    goals = {"paper": 5.0, "1M": 60.0}
    for name, limit in goals.items():
        if name in results:
            verdict = "ok" if results[name]["seconds"] < limit else "SLOW"
            print(f"goal {name} < {limit:g} s: {verdict}")
    if "1M" in results:
        verdict = "ok" if results["1M"]["peak_rss_mb"] < 4096 else "TOO MUCH"
        print(f"goal 1M peak RSS < 4096 MB: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
