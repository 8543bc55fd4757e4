"""What an early exit costs: time one call of `run` along each path, live."""

from __future__ import annotations

import statistics
import timeit
from typing import Any, Callable, Sequence

from .exit_code import ExitCode
from .interrupting import UNLIMITED_FUEL
from .running import Example

# Each statement is timed in its own namespace; `run` and `store` are the guest's.
_EXIT = "try:\n    {call}\nexcept ExitCode:\n    pass"


def per_call_us(stmt: str, namespace: dict[str, Any], *, repeat: int = 5, min_time: float = 0.02) -> list[float]:
    """Microseconds per execution of `stmt`, one figure per round of `repeat`."""
    # timeit compiles stmt into its own loop, so no extra Python call is timed.
    timer = timeit.Timer(stmt, globals=namespace)
    number = 1
    while timer.timeit(number) < min_time:  # calibrate, and warm up on the way
        number *= 2
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


# The rows, in the order a learner reads them: plain Python first, then the
# guest's two arms through the typed path, the public Func.__call__, and Example.run.
ROWS = (
    ("a Python function call", "python", "normal"),
    ("raise and catch ExitCode in Python", "python", "exit"),
    ("run(1, 7) returns normally, typed run", "typed", "normal"),
    ("run(1, 7) exits early, typed run", "typed", "exit"),
    ("run(1, 7) returns normally, Func.__call__", "func", "normal"),
    ("run(1, 7) exits early, Func.__call__", "func", "exit"),
    ("run(1, 7) exits early, Example.run (deadline, fuel, a thread)", "example", "exit"),
)


def early_exit_costs(*, repeat: int = 5, min_time: float = 0.02) -> CostTable:
    """Time one call along each path and arm, and return the medians in a table."""
    example = Example()
    store = example.store
    # Outside Example.run nothing moves the epoch, and fuel must not run out.
    store.set_fuel(UNLIMITED_FUEL)
    store.set_epoch_deadline(1)

    def add(x: int, y: int) -> int:
        return x + y

    def stop() -> None:
        raise ExitCode(1)

    callers: dict[str, Callable[..., Any]] = {
        "python": lambda arm: ("add(1, 7)", "stop()")[arm == "exit"],
        "typed": lambda arm: "run(store, 1, 7)",
        "func": lambda arm: "func(store, 1, 7)",
        "example": lambda arm: "example.run(1, 7)",
    }
    namespace = {"add": add, "stop": stop, "run": example.run_func, "func": example.run_func.func}
    namespace.update(store=store, example=example, ExitCode=ExitCode)
    # A first round is slower (caches and the CPU's clock still warming up), so one is thrown away.
    example.set_host("return")
    per_call_us("run(store, 1, 7)", namespace, repeat=1, min_time=0.1)
    rows = []
    for what, path, arm in ROWS:
        example.set_host("exit" if arm == "exit" else "return")
        call = callers[path](arm)
        stmt = _EXIT.format(call=call) if arm == "exit" and path != "example" else call
        rows.append((what, statistics.median(per_call_us(stmt, namespace, repeat=repeat, min_time=min_time))))
    return CostTable(rows)
