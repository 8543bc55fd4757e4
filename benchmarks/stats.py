"""Small statistics and timing helpers shared by the benchmark rows."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from earlyexit_tutorial.aids import cost


@dataclass(frozen=True)
class Summary:
    """A few numbers that describe a list of measurements."""

    min: float
    median: float
    p90: float
    n: int


def summarize(values: Sequence[float]) -> Summary:
    """Summarize measurements by their minimum, median and 90th percentile."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no measurements to summarize")
    # Nearest rank: with ~20 tries the 90th percentile is a measured value.
    p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]
    return Summary(ordered[0], statistics.median(ordered), p90, len(ordered))


def per_call_us_summary(stmt: str, namespace: dict[str, Any], *, repeat: int = 7, min_time: float = 0.05) -> Summary:
    """Microseconds per execution of `stmt` over `repeat` rounds, summarized."""
    # The same timing the notebook's live cost section uses.
    return summarize(cost.per_call_us_samples(stmt, namespace, repeat=repeat, min_time=min_time))


def wall_times(argv: Sequence[str], *, runs: int, cwd: str | None = None) -> list[float]:
    """Seconds each of `runs` runs of a command takes; raises if one fails."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times
