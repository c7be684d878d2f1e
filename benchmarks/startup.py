"""Start-up of the ``partynli`` command (issue 13): ``--help`` and ``metrics`` on the fixture.

    INSPECT_PARTYNLI_DATA=../shared/data python benchmarks/startup.py [--pairs 5]

Each side runs in a fresh process, in interleaved pairs against a bare interpreter
(``python -c pass``: the floor no command can beat), and the ratio is printed with the wall
times (min/median/max).  Goals (absolute, median): ``partynli --help`` <= 0.4 s;
``partynli metrics`` on the ministral fixture <= 1.5 s.  Then ``python -X importtime`` lists
the top importers (cumulative) of each command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from paired import Side, load_note, paired, report

FIXTURE = Path(os.environ.get("PARTYNLI_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FIXTURE = FIXTURE / "fixtures" / "partynli-ministral-8b.csv"
CLI = [sys.executable, "-m", "inspect_partynli.cli"]


def top_importers(arguments: list[str], count: int) -> list[tuple[float, str]]:
    """The ``count`` modules with the largest cumulative import time (seconds, name)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "inspect_partynli.cli", *arguments],
        capture_output=True, text=True,
    )  # fmt: skip
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[12:].split("|"))
            if cumulative.isdigit():
                rows.append((int(cumulative) / 1e6, name))
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--top", type=int, default=10, help="importers listed per command")
    args = parser.parse_args()
    print(load_note())
    floor = [sys.executable, "-c", "pass"]
    met = True
    for title, arguments, goal in (
        ("partynli --help", ["--help"], 0.4),
        ("partynli metrics FIXTURE", ["metrics", str(FIXTURE)], 1.5),
    ):
        print(f"{title} (goal: median <= {goal} s)")
        ours = Side(title, [*CLI, *arguments])
        bare = Side("python -c pass", floor)
        ratios = paired(ours, bare, args.pairs)
        report(ours, bare, ratios, goal=float("inf"))
        median = statistics.median(ours.seconds())
        verdict = "ok" if median <= goal else "MISSED"
        met = met and verdict == "ok"
        print(f"  goal {title} <= {goal} s: {verdict} (median {median:.2f} s)")
        print(f"  top importers of {title} (cumulative s, python -X importtime):")
        for seconds, name in top_importers(arguments, args.top):
            print(f"    {seconds:6.3f}  {name}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
