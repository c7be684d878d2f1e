"""Warm ``partynli report`` (issue 13): explanations with every cache warm vs --no-explanations.

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/warm_report.py [--pairs 3]

One cold run fills a private cache (``INSPECT_PARTYNLI_CACHE`` in a temporary folder:
embeddings, explanation metric results and t-SNE projections); then interleaved pairs of
fresh processes time the warm report of the ministral fixture (explanations on, offline
encoder) against the same report with ``--no-explanations``.  Goal: ratio <= 1.5 (median).
Figures are PNG only (SVG needs ``--svg``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from paired import Side, load_note, measure, paired, report

SHARED = Path(os.environ.get("PARTYNLI_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FIXTURE = SHARED / "fixtures" / "partynli-ministral-8b.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "INSPECT_PARTYNLI_CACHE": str(Path(scratch) / "cache"),
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MPLBACKEND": "Agg"}  # fmt: skip

        def command(out: str, *extra: str) -> list[str]:
            return [sys.executable, "-m", "inspect_partynli.cli", "report", str(FIXTURE),
                    "-o", str(Path(scratch) / out), "--force", "--no-progress", *extra]  # fmt: skip

        start = time.perf_counter()
        cold = measure(command("cold"), env)
        print(f"cold report (fills the caches): {cold.seconds:.1f} s "
              f"(benchmark set-up {time.perf_counter() - start:.1f} s)")  # fmt: skip
        print(load_note())
        warm = Side("report, warm caches", command("warm"))
        bare = Side("report --no-explanations", command("bare", "--no-explanations"))
        ratios = paired(warm, bare, args.pairs, env)
        return 0 if report(warm, bare, ratios, goal=1.5) else 1


if __name__ == "__main__":
    sys.exit(main())
