"""What an early exit costs: time one call of `run` along each path, live."""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Sequence
from typing import Any

import wasmtime

from ..guide.exit_code import ExitCode
from ..guide.running import Example
from ..interrupting.guard import GuardedCall, Reason


def per_call_us_samples(
    stmt: str, namespace: dict[str, Any], *, repeat: int = 5, min_time: float = 0.002
) -> list[float]:
    """Microseconds per execution of `stmt`, one figure per round of `repeat`."""
    # timeit compiles stmt into its own loop, so no extra Python call is timed.
    timer, number = _calibrated(timeit.Timer(stmt, globals=namespace), min_time)
    return [t / number * 1e6 for t in timer.repeat(repeat=repeat, number=number)]


class CostTable:
    """Rows of (what was timed, median microseconds per call), shown as a table."""

    def __init__(self, rows: Sequence[tuple[str, float]]) -> None:
        self.rows = list(rows)

    def __getitem__(self, what: str) -> float:
        return dict(self.rows)[what]

    def __repr__(self) -> str:
        width = max(len(what) for what, _ in self.rows)
        lines = [f"{'what was timed':<{width}}  µs per call", f"{'-' * width}  -----------"]
        lines += [f"{what:<{width}}  {us:11.2f}" for what, us in self.rows]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        lines = ["| what was timed | µs per call |", "| --- | ---: |"]
        # Escaped, or Markdown reads the underscores of Func.__call__ as bold.
        lines += [f"| {what.replace('_', chr(92) + '_')} | {us:.2f} |" for what, us in self.rows]
        return "\n".join(lines)


def _catching(call: str) -> str:
    return f"try:\n    {call}\nexcept ExitCode:\n    pass"


# The rows, in the order a learner reads them: (what, the statement timed, what early_exit does).
# Plain Python first, then the guest's two arms through the typed run, through the public
# Func.__call__, and through Example.run. `run`, `func`, `store` and `example` are the guest's.
ROWS = (
    ("a Python function call", "add(1, 7)", "return"),
    ("raise and catch ExitCode in Python", _catching("stop()"), "return"),
    ("run(1, 7) returns normally, typed run", "run(store, 1, 7)", "return"),
    ("run(1, 7) exits early, typed run", _catching("run(store, 1, 7)"), "exit"),
    ("run(1, 7) returns normally, Func.__call__", "func(store, 1, 7)", "return"),
    ("run(1, 7) exits early, Func.__call__", _catching("func(store, 1, 7)"), "exit"),
    ("run(1, 7) returns normally, Example.run (the guard)", "example.run(1, 7)", "return"),
    ("run(1, 7) exits early, Example.run (the guard)", "example.run(1, 7)", "exit"),
)


def early_exit_costs(*, repeat: int = 7, min_time: float = 0.0005) -> CostTable:
    """Time one call along each path and arm, and return the medians in a table."""
    example = Example()

    def add(x: int, y: int) -> int:
        return x + y

    def stop() -> None:
        raise ExitCode(1)

    namespace = dict(add=add, stop=stop, run=example.typed_run, func=example.typed_run.func)
    namespace.update(store=example.store, example=example, ExitCode=ExitCode)
    # The typed and Func.__call__ rows call into wasm straight from timeit. One
    # guard around the whole table lets a Ctrl-C stop them cleanly (Python's own
    # handler would raise inside wasmtime's callback and crash the kernel); its
    # cost is paid once, outside every timed loop.
    guard = GuardedCall(example.store, example.stopper, timeout=None)
    try:
        with guard:
            rows = _timed_rows(namespace, example, guard, repeat, min_time)
    except wasmtime.Trap:
        if guard.reason is not Reason.CTRL_C:
            raise
    if guard.reason is Reason.CTRL_C:
        raise KeyboardInterrupt  # an interrupted table has no figures to show
    return CostTable(rows)


def _timed_rows(
    namespace: dict[str, Any], example: Example, guard: GuardedCall, repeat: int, min_time: float
) -> list[tuple[str, float]]:
    """The table's rows: (what, median microseconds per call), or [] once a Ctrl-C stopped the guard."""
    timers = []
    for _, stmt, host in ROWS:
        example.set_host(host)
        timers.append(_calibrated(timeit.Timer(stmt, globals=namespace), min_time))
        if guard.reason is not None:
            return []
    # Round after round over all rows, rather than row after row: a slow moment of the
    # machine then touches every row alike, and the medians drop it.
    rounds: list[list[float]] = [[] for _ in ROWS]
    for _ in range(repeat):
        for (_, _, host), (timer, number), times in zip(ROWS, timers, rounds, strict=True):
            example.set_host(host)
            times.append(timer.timeit(number) / number * 1e6)
            if guard.reason is not None:  # Example.run took the Ctrl-C as its own outcome
                return []
    return [(what, statistics.median(times)) for (what, _, _), times in zip(ROWS, rounds, strict=True)]


def _calibrated(timer: timeit.Timer, min_time: float) -> tuple[timeit.Timer, int]:
    """The timer and how many runs of its statement take at least `min_time` seconds."""
    # Two untimed runs first: the typed run sets up its fast path on its second call,
    # which takes milliseconds once and would make the calibration far too short.
    timer.timeit(2)
    number = 1
    while timer.timeit(number) < min_time:
        number *= 2
    return timer, number
