"""Small statistics and timing helpers shared by the benchmark rows."""

from __future__ import annotations

import statistics
import subprocess
import time
import timeit
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    """A few numbers that describe a list of measurements."""

    min: float
    median: float
    p90: float
    n: int
    samples: tuple[float, ...] = ()  # in the order taken: one per round when interleaved


def summarize(values: Sequence[float]) -> Summary:
    """Summarize measurements by their minimum, median and 90th percentile."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no measurements to summarize")
    # Nearest rank: with ~20 tries the 90th percentile is a measured value.
    p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]
    return Summary(ordered[0], statistics.median(ordered), p90, len(ordered), tuple(values))


class Sampler:
    """Times one statement: each `sample()` is one round of it, in microseconds per execution."""

    def __init__(
        self, stmt: str, namespace: dict[str, Any], *, min_time: float = 0.05, before: Callable[[], None] | None = None
    ) -> None:
        # timeit compiles stmt into its own loop, so no extra Python call is timed.
        self.stmt = stmt
        self.timer = timeit.Timer(stmt, globals=namespace)
        self.before = before
        # Two untimed runs first: the typed run sets up its fast path on its second
        # call, which takes milliseconds once and would make the calibration far too short.
        self._prepare()
        self.timer.timeit(2)
        self.number = 1
        while True:
            self._prepare()
            if self.timer.timeit(self.number) >= min_time:
                break
            self.number *= 2

    def _prepare(self) -> None:
        if self.before is not None:
            self.before()

    def sample(self) -> float:
        """One round: microseconds per execution."""
        self._prepare()
        return self.timer.timeit(self.number) / self.number * 1e6


def interleaved(samplers: Mapping[str, Sampler], rounds: int) -> dict[str, Summary]:
    """Round after round of every sampler in turn (A, B, A, B...), summarized per sampler.

    A busy moment of the machine then touches every statement alike, and the
    medians, and the ratios between them, drop it.
    """
    times: dict[str, list[float]] = {name: [] for name in samplers}
    for _ in range(rounds):
        for name, sampler in samplers.items():
            times[name].append(sampler.sample())
    return {name: summarize(values) for name, values in times.items()}


def per_call_us_summary(stmt: str, namespace: dict[str, Any], *, repeat: int = 7, min_time: float = 0.05) -> Summary:
    """Microseconds per execution of `stmt` over `repeat` rounds, summarized."""
    return interleaved({"stmt": Sampler(stmt, namespace, min_time=min_time)}, repeat)["stmt"]


def wall_times(argv: Sequence[str], *, runs: int, cwd: str | None = None) -> list[float]:
    """Seconds each of `runs` runs of a command takes; raises if one fails."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def ratio(numerator: Summary | Sequence[float], denominator: Summary | Sequence[float]) -> float:
    """Ratio of the medians of two measurements."""
    return _median(numerator) / _median(denominator)


def paired_ratio(a: Summary, b: Summary) -> float:
    """The median, over rounds, of a's sample / b's sample in the same round.

    Two samples of one round were taken a few milliseconds apart, so a load that
    comes and goes over seconds touches both alike: their ratio keeps steadier than
    the ratio of two medians. Without samples per round, the ratio of the medians.
    """
    if not a.samples or len(a.samples) != len(b.samples):
        return a.median / b.median
    return statistics.median(x / y for x, y in zip(a.samples, b.samples, strict=True))


def paired_difference(a: Summary, b: Summary) -> float:
    """The median, over rounds, of a's sample - b's sample in the same round (see paired_ratio)."""
    if not a.samples or len(a.samples) != len(b.samples):
        return a.median - b.median
    return statistics.median(x - y for x, y in zip(a.samples, b.samples, strict=True))


def _median(values: Summary | Sequence[float]) -> float:
    return values.median if isinstance(values, Summary) else statistics.median(values)
