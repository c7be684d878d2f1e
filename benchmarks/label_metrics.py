"""Speed and memory of the label metrics (issue 3's performance goals).

Generates seeded synthetic annotation tables over the 122 LiveNLI items and times every label
metric of the default settings (each participant alone + all participants as one mix) plus a
RANDOM MIX of 1,000 draws of 10:

* paper scale: 122 items x 54 participants x 5 trials (~33k annotations); goal < 5 s;
* 1M annotations: 122 items x 1,000 participants x 8 trials; goal < 60 s and < 4 GB;
* 2M annotations (2,000 participants): doubling the data should cost at most 2.2x the time.

Each scale runs in a fresh subprocess so its peak RSS (``resource.getrusage``) is its own.
``--baseline COMMIT`` also runs every scale with the package as it was at ``COMMIT`` (in the
same run, same data) and prints the time ratio now / baseline per scale.  Needs LiveNLI
(``INSPECT_PARTYNLI_DATA``) for the human reference.  Run:

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/label_metrics.py --baseline 5cd4082

``--rows N`` instead measures the whole command at scale (issue 13): it writes a seeded
PartyNLI Parquet file of about N annotations (122 items x N/976 participants x 8 trials, every
PartyNLI column including explanations), then times ``partynli metrics FILE`` against
``pyarrow.parquet.read_table(FILE).to_pandas()`` on the same file, in interleaved pairs of
fresh processes (``--pairs``, default 3).  Goals at 10M rows: ratio <= 3, peak RSS <= 2.5 GiB.

    python benchmarks/label_metrics.py --rows 10000000
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
from _baseline import baseline_source, environment
from paired import Side, load_note, paired, report, spread

SCALES = {  # name: (participants, trials)
    "paper": (54, 5),
    "1M": (1000, 8),
    "2M": (2000, 8),
}


def synthetic_labels(
    n_items: int, participants: int, trials: int, rng: np.random.Generator
) -> np.ndarray:
    """Label codes (0..2 = LABELS, 3 = parse failure) of shape (participants, trials, items).

    Each participant has its own label bias, each item its own difficulty; 1% of the answers
    are parse failures.  Vectorised, drawn one participant block at a time (bounded memory).
    """
    from inspect_partynli.labels import LABELS

    item_logits = rng.normal(0, 1.5, size=(n_items, len(LABELS)))
    bias = rng.normal(0, 1.0, size=(participants, len(LABELS)))
    labels = np.empty((participants, trials, n_items), dtype=np.int8)
    block = 500
    for first in range(0, participants, block):
        logits = item_logits[None, :, :] + bias[first : first + block, None, :]
        probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        cumulative = probs.cumsum(axis=-1)  # (block, items, labels)
        draws = rng.random((len(cumulative), trials, n_items))
        chosen = (draws[..., None] > cumulative[:, None, :, :]).sum(axis=-1)
        labels[first : first + block] = np.minimum(chosen, len(LABELS) - 1)
    labels[rng.random(labels.shape) < 0.01] = len(LABELS)
    return labels


def synthetic_table(uids: list[str], participants: int, trials: int, seed: int = 0) -> pd.DataFrame:
    """A conformed annotation table: every participant answers every item in every trial
    (labels from :func:`synthetic_labels`).  Fully vectorised and seeded."""
    from inspect_partynli.annotation_schema import conform
    from inspect_partynli.labels import ERROR_LABEL, LABELS

    rng = np.random.default_rng(seed)
    labels = synthetic_labels(len(uids), participants, trials, rng)
    failed = labels == len(LABELS)
    shape = (participants, trials, len(uids))
    p_index, t_index, i_index = (a.reshape(-1) for a in np.indices(shape))
    names = np.array([f"model-{p:04d}" for p in range(participants)], dtype=object)
    label_names = np.array([*LABELS, ERROR_LABEL], dtype=object)[labels.reshape(-1)]
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


def _livenli_frame():
    """LiveNLI, one row per (item, worker), from the package on ``PYTHONPATH`` (a baseline
    commit from before the dataset layer had it in ``livenli_data``)."""
    try:
        from inspect_partynli.datasets.livenli import load_livenli_frame
    except ImportError:
        from inspect_partynli.livenli_data import load_livenli as load_livenli_frame
    return load_livenli_frame()


def _engine():
    """``(prepare, default_settings, Setting, evaluate_many, random_mix, human, uids)`` of the
    package on ``PYTHONPATH``: the analysis package, or (a baseline before it) settings.py."""
    livenli = _livenli_frame()
    uids = sorted(livenli["uid"].unique())
    try:
        from inspect_partynli import analysis
    except ImportError:  # the package before the analysis/ split
        from inspect_partynli import settings

        def evaluate(coded, settings_, human):
            return settings.evaluate_many(coded, settings_, "livenli", "all", livenli)

        def mix(coded, group, human, **kwargs):
            return settings.random_mix(coded, group, "livenli", "all", livenli, **kwargs)

        return (settings.prepare, settings.default_settings, settings.Setting, evaluate, mix,
                None, uids)  # fmt: skip
    from inspect_partynli.datasets import load_dataset

    dataset = load_dataset("livenli")
    human = analysis.reference(dataset)
    return (
        lambda table: analysis.prepare(table, dataset.labels), analysis.default_settings,
        analysis.Setting, analysis.evaluate_many, analysis.random_mix, human, uids,
    )  # fmt: skip


def run_scale(name: str, draws: int, k: int) -> dict:
    prepare, default_settings, Setting, evaluate_many, random_mix, human, uids = _engine()
    participants, trials = SCALES[name]
    table = synthetic_table(uids, participants, trials)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timings = {}
    cpu_start = time.process_time()
    start = time.perf_counter()
    coded = prepare(table)
    timings["prepare"] = time.perf_counter() - start
    step = time.perf_counter()
    settings = default_settings(coded)
    rows = evaluate_many(coded, settings, human)
    timings["single+mix"] = time.perf_counter() - step
    step = time.perf_counter()
    group = Setting("all", "random_mix", tuple(coded.units["unit"]))
    mixes = random_mix(coded, group, human, draws=draws, k=k, seed=0)
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


def write_partynli_parquet(path: str, uids: list[str], participants: int, trials: int) -> int:
    """A seeded PartyNLI file with every PartyNLI column, built in Arrow (no per-row Python).

    Explanations are drawn from 2,000 sentences; half the participants have a known size;
    rows are ordered participant, trial, item, as an export of many runs would be.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from inspect_partynli.labels import ERROR_LABEL, LABELS

    rng = np.random.default_rng(0)
    labels = synthetic_labels(len(uids), participants, trials, rng).reshape(-1)
    rows = labels.size
    per_participant = trials * len(uids)
    participant = np.repeat(np.arange(participants, dtype=np.int32), per_participant)
    trial = np.tile(np.repeat(np.arange(1, trials + 1), len(uids)), participants)
    item = np.tile(np.arange(len(uids), dtype=np.int32), participants * trials)
    names = pa.array([f"model-{p:05d}" for p in range(participants)])
    ids = pa.array([f"model-{p:05d}-1-0.7" for p in range(participants)])
    words = "the context and the statement agree on one reading but not the other ".split()
    sentences = pa.array(
        [f"Explanation {k}: " + " ".join(words[: 4 + k % len(words)]) for k in range(2000)]
    )
    constant = np.zeros(rows, dtype=np.int32)
    label_text = pa.array([*LABELS, ERROR_LABEL]).take(pa.array(labels.astype(np.int32)))
    table = pa.table(
        {
            "sent_id": pa.array(uids).take(pa.array(item)),
            "id": ids.take(pa.array(participant)),
            "participant": names.take(pa.array(participant)),
            "participant_type": pa.array(["model"]).take(pa.array(constant)),
            "experiment": pa.array(["synthetic"]).take(pa.array(constant)),
            "trial": pa.array(trial),
            "class_simple": label_text,
            "class_multi": label_text,
            "explanation": sentences.take(pa.array(rng.integers(0, 2000, rows))),
            "num_params": pa.array(np.where(participant % 2 == 0, 8.0, np.nan)),
            "temperature": pa.array(np.full(rows, 1.0)),
            "top_p": pa.array(np.full(rows, 0.7)),
        }
    )
    pq.write_table(table, path)
    return rows


def run_rows(rows: int, pairs: int, folder: str | None) -> int:
    """``partynli metrics`` vs ``read_table().to_pandas()`` on one file of ~``rows`` rows."""
    import tempfile

    uids = sorted(_livenli_frame()["uid"].unique())
    trials = 8
    participants = max(1, round(rows / (trials * len(uids))))
    folder = folder or tempfile.gettempdir()
    path = os.path.join(folder, f"partynli-bench-{participants}x{trials}.parquet")
    if not os.path.exists(path):
        start = time.perf_counter()
        written = write_partynli_parquet(path, uids, participants, trials)
        print(f"wrote {written:,} annotations to {path} in {time.perf_counter() - start:.1f} s")
    size = os.path.getsize(path) / 2**20
    print(
        f"{len(uids)} items x {participants:,} participants x {trials} trials = "
        f"{len(uids) * participants * trials:,} annotations ({size:.0f} MiB Parquet)"
    )
    print(load_note())
    ours = Side("partynli metrics FILE", [sys.executable, "-m", "inspect_partynli.cli",
                                          "metrics", path, "--format", "json"])  # fmt: skip
    baseline = Side(
        "read_table(FILE).to_pandas()",
        [sys.executable, "-c",
         "import sys, pyarrow.parquet as pq; pq.read_table(sys.argv[1]).to_pandas()", path],
    )  # fmt: skip
    ratios = paired(ours, baseline, pairs)
    met = report(ours, baseline, ratios, goal=3.0)
    peak_goal = 2.5 * 1024
    peak = max(ours.peaks())
    print(f"  peak RSS MiB (min/median/max): ours {spread(ours.peaks(), 0)}, "
          f"baseline {spread(baseline.peaks(), 0)}")  # fmt: skip
    verdict = "ok" if peak <= peak_goal else "MISSED"
    print(f"  goal peak RSS <= {peak_goal:.0f} MiB (2.5 GiB): {verdict} (max {peak:.0f} MiB)")
    return 0 if met and verdict == "ok" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="time `partynli metrics` on ~ROWS annotations")
    parser.add_argument("--pairs", type=int, default=3, help="paired runs for --rows")
    parser.add_argument("--folder", help="where --rows keeps its Parquet file (default: tmp)")
    parser.add_argument("--scale", choices=sorted(SCALES), help="run one scale (internal)")
    parser.add_argument("--scales", nargs="+", default=list(SCALES), choices=sorted(SCALES))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--baseline", metavar="COMMIT",
        help="also run every scale with the package at COMMIT and print the ratios",
    )  # fmt: skip
    args = parser.parse_args()
    if args.rows:
        return run_rows(args.rows, args.pairs, args.folder)
    if args.scale:
        print(json.dumps(run_scale(args.scale, args.draws, args.k)))
        return 0
    results = {}
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} (wall times grow with other load)")
    baseline = baseline_source(args.baseline) if args.baseline else None

    def measure(name: str, source) -> dict:
        command = [sys.executable, __file__, "--scale", name, "--draws", str(args.draws)]
        output = subprocess.run(command + ["--k", str(args.k)], capture_output=True, text=True,
                                env=environment(source))  # fmt: skip
        if output.returncode != 0:
            print(output.stderr, file=sys.stderr)
            raise SystemExit(output.returncode)
        return json.loads(output.stdout.strip().splitlines()[-1])

    for name in args.scales:
        result = measure(name, None)
        results[name] = result
        steps = ", ".join(f"{step} {secs:.2f}s" for step, secs in result["timings"].items())
        print(
            f"{name:>5}: {result['annotations']:>9,} annotations, {result['settings']} settings "
            f"+ RANDOM MIX {result['draws']} draws of {args.k}: {result['seconds']:.2f} s wall, "
            f"{result['cpu_seconds']:.2f} s CPU ({steps}); peak RSS {result['peak_rss_mb']:.0f} MB "
            f"({result['rss_after_data_mb']:.0f} MB after building the table)"
        )
        if baseline is not None:  # interleaved, best of three each: fair under shared CPUs
            runs = {"now": [result], "baseline": []}
            for which in ("baseline", "now", "baseline", "now", "baseline"):
                runs[which].append(measure(name, baseline if which == "baseline" else None))
            best = {w: {k: min(r[k] for r in rs) for k in ("seconds", "cpu_seconds")}
                    for w, rs in runs.items()}  # fmt: skip
            same = abs(runs["baseline"][0]["mix_all_H"] - result["mix_all_H"]) < 1e-12
            print(
                f"{'':>5}  baseline {args.baseline}: {best['baseline']['seconds']:.2f} s wall, "
                f"{best['baseline']['cpu_seconds']:.2f} s CPU; now/baseline = "
                f"{best['now']['seconds'] / best['baseline']['seconds']:.2f} wall, "
                f"{best['now']['cpu_seconds'] / best['baseline']['cpu_seconds']:.2f} CPU "
                f"(<= 1.0: no slower); same MIX all H: {same}"
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
