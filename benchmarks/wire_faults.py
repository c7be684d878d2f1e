"""A study through faults: ``partynli run`` against a local OpenAI-compatible server failing
10% of requests across every transient kind (429 + Retry-After, 500, 503, connection reset,
a reply slower than the timeout, a truncated JSON body, empty ``choices``), vs the same
study without faults.

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/wire_faults.py \\
        [--models 2] [--epochs 2] [--rate 0.1] [--seed 0]

Prints the requests the server received (by fault), what the logs record (annotations,
requests sent, retried, failed), the annotations lost (expected (item, epoch) pairs per
model minus those in the annotation table: must be 0) and whether the annotation table
equals the fault-free run's.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import warnings
from pathlib import Path

import yaml

from inspect_partynli.cli import main as partynli
from inspect_partynli.study import load_study, study_annotations
from inspect_partynli.testing import TRANSIENT_FAULTS, AnnotatorsParticipant, Faults, WireServer


def run(study: Path, log_dir: Path) -> str:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = partynli(["run", str(study), "--yes", "--log-dir", str(log_dir), "--display",
                         "none", "--timeout", "2", "--max-retries", "8"])  # fmt: skip
    if code != 0:
        raise SystemExit(f"partynli run failed ({code}):\n{out.getvalue()}")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = [f"f{k}" for k in range(1, args.models + 1)]
    for name in names:
        os.environ[f"{name.upper()}_API_KEY"] = "benchmark"
    with WireServer(AnnotatorsParticipant.from_livenli(), slow_seconds=4) as server, \
            tempfile.TemporaryDirectory() as folder:  # fmt: skip
        root = Path(folder)
        models = [{"id": f"openai-api/{n}/scripted", "name": n, "base_url": server.base_url,
                   "max_connections": 16} for n in names]  # fmt: skip
        study = root / "faults.yaml"
        study.write_text(yaml.safe_dump({"name": "faults", "epochs": args.epochs,
                                         "max_tasks": args.models, "models": models}))
        run(study, root / "clean")
        server.reset()
        server.faults = Faults.spread(args.rate, TRANSIENT_FAULTS, seed=args.seed)
        out = run(study, root / "faulty")
        faults = server.fault_counts()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clean = study_annotations(load_study(study), root / "clean")[0]
            faulty = study_annotations(load_study(study), root / "faulty")[0]
    expected = args.models * 122 * args.epochs
    keys = faulty[["participant", "sent_id", "trial"]]
    received = sum(faults.values())
    print(f"{args.models} models x 122 items x {args.epochs} epochs = {expected} annotations, "
          f"{args.rate:.0%} transient faults (seed {args.seed})")  # fmt: skip
    print(f"  server: {received} requests received, {received - faults['ok']} faulted: "
          + ", ".join(f"{kind} {faults[kind]}" for kind in TRANSIENT_FAULTS))
    print("  logs:  " + next(line for line in out.splitlines() if line.startswith("Requests:")))
    lost = expected - len(keys.drop_duplicates())
    print(f"  annotations lost: {lost}; duplicated: {int(keys.duplicated().sum())}; reader "
          f"warnings: {len(caught)}")  # fmt: skip
    same = clean.drop(columns=["source"]).reset_index(drop=True).equals(
        faulty.drop(columns=["source"]).reset_index(drop=True)
    )
    print(f"  annotation table equals the fault-free run's: {same}")


if __name__ == "__main__":
    main()
