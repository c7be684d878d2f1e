"""Paired, interleaved timing of commands, for benchmarks that compare two sides.

The machine these benchmarks run on is often shared (2 cores, other jobs), so a wall time
alone says little.  Each *pair* runs both sides back to back, in alternating order (A B, B A,
A B, ...), each in a fresh process, so that both sides of a pair see the same load; the ratio
is taken within each pair and summarised as min/median/max over the pairs.

Peak memory is each process's own maximum resident set size (``os.wait4``), so a side's
figure never includes the other side or the benchmark itself.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Run:
    seconds: float
    peak_mib: float


@dataclass
class Side:
    name: str
    command: Sequence[str]
    runs: list[Run] = field(default_factory=list)

    def seconds(self) -> list[float]:
        return [run.seconds for run in self.runs]

    def peaks(self) -> list[float]:
        return [run.peak_mib for run in self.runs]


def measure(command: Sequence[str], env: Mapping[str, str] | None = None) -> Run:
    """Wall time and peak RSS of one process; raises when it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    return Run(seconds, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def paired(
    ours: Side, baseline: Side, pairs: int, env: Mapping[str, str] | None = None
) -> list[float]:
    """Run ``pairs`` interleaved pairs (alternating which side goes first); the per-pair
    ratios ours/baseline of the wall times."""
    ratios = []
    for index in range(pairs):
        order = (ours, baseline) if index % 2 == 0 else (baseline, ours)
        for side in order:
            side.runs.append(measure(side.command, env))
        ratios.append(ours.runs[-1].seconds / baseline.runs[-1].seconds)
        print(
            f"  pair {index + 1}: {ours.name} {ours.runs[-1].seconds:.2f} s, "
            f"{baseline.name} {baseline.runs[-1].seconds:.2f} s, ratio {ratios[-1]:.2f}",
            flush=True,
        )
    return ratios


def spread(values: Sequence[float], digits: int = 2) -> str:
    """``min / median / max`` of values."""
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"{low:.{digits}f} / {middle:.{digits}f} / {high:.{digits}f}"


def report(ours: Side, baseline: Side, ratios: Sequence[float], goal: float) -> bool:
    """Print both sides and the ratio (min/median/max); True when the median ratio meets
    ``goal``."""
    print(f"  {ours.name:<34} wall s (min/median/max): {spread(ours.seconds())}")
    print(f"  {baseline.name:<34} wall s (min/median/max): {spread(baseline.seconds())}")
    verdict = "ok" if statistics.median(ratios) <= goal else "MISSED"
    target = f"  goal <= {goal:g}: {verdict}" if goal != float("inf") else ""
    print(f"  ratio ours/baseline (min/median/max): {spread(ratios)}{target}")
    return verdict == "ok"


def load_note() -> str:
    return (
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; pairs interleaved "
        "(alternating order) so both sides of a pair share the machine's load"
    )
