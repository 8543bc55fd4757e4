"""What an early exit costs: per-call cost, interrupt latency, notebook and start-up time.

Run it as `.venv/bin/python benchmarks/bench.py` (or `make bench`); it prints
one table and the targets with PASS or MISS. `--quick` runs fewer rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Run as a script, this file's folder is on sys.path, not the project's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import calls, error_paths, interrupts, startup  # noqa: E402
from benchmarks.report import Report  # noqa: E402
from benchmarks.stats import summarize  # noqa: E402

# The speed targets: what the tutorial promises a learner about cost.
FAST_CALL_SPEEDUP = 3.0  # typed call vs Func.__call__, returning normally (aim)
LATENCY_MS = 10.0  # interrupt latency, p90
GUARD_US = 10.0  # what Example.run adds to call_run on the typed run, and guard() to a Func call, per call
NOTEBOOK_RATIO = 1.5  # a notebook vs an empty one
COLD_START_RATIO = 1.5  # python -m earlyexit_tutorial vs python -c "import wasmtime"
HELP_RATIO = 2.0  # python -m earlyexit_tutorial --help vs python -c pass: --help loads no wasmtime


def us(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def row_calls(report: Report, repeat: int) -> None:
    """Per-call cost in the package, in wasmtime, and in Node."""
    costs = calls.python_call_costs(repeat=repeat)
    names = {
        "fast": "earlyexit_tutorial TypedRun (fast path)",
        "fallback": "earlyexit_tutorial TypedRun (public path)",
        "func": "wasmtime Func.__call__",
    }
    node = calls.node_call_costs(repeat=repeat)
    if node is not None:
        costs["node"] = node
        names["node"] = f"Node {calls.node_version()} WebAssembly (V8)"
    base = costs["func"]
    rows = []
    for key, name in names.items():
        c = costs[key]
        rows.append(
            [
                name,
                us(c["normal"].min),
                us(c["normal"].median),
                f"{base['normal'].median / c['normal'].median:.1f}x",
                us(c["exit"].min),
                us(c["exit"].median),
                f"{base['exit'].median / c['exit'].median:.1f}x",
            ]
        )
    notes = ["speed-up = Func.__call__ median / this median (higher is faster)"]
    fast = costs["fast"]
    if node is None:
        notes.append("Node row skipped: `node` is not on PATH")
    else:
        notes.append(
            f"the fast path is {fast['normal'].median / node['normal'].median:.0f}x slower than Node returning "
            f"normally and {fast['exit'].median / node['exit'].median:.0f}x slower exiting early: most of a "
            "Python call is crossing into Python for the host's early_exit"
        )
    report.section(
        "Cost of one call of run(1, 7), by path, microseconds per call",
        ["path", "normal min", "median", "speed-up", "exit min", "median", "speed-up"],
        rows,
        notes,
    )
    speedup = {arm: base[arm].median / fast[arm].median for arm in ("normal", "exit")}
    report.target(
        "typed call no slower than Func.__call__",
        f"{speedup['normal']:.1f}x / {speedup['exit']:.1f}x (normal / exit)",
        min(speedup.values()) >= 1.0,
    )
    report.target(
        f"typed call {FAST_CALL_SPEEDUP:g}x faster than Func.__call__ (normal)",
        f"{speedup['normal']:.1f}x",
        speedup["normal"] >= FAST_CALL_SPEEDUP,
    )


def row_guard(report: Report, repeat: int) -> None:
    """What the guard (Example.run) adds to call_run on the typed run, per call."""
    _added_by_guard(
        report,
        calls.guard_costs(repeat=repeat),
        ("typed", "guarded"),
        "What Example.run adds: Example.run minus call_run on the typed run, microseconds per call",
        ["call_run typed", "Example.run"],
        "the guard: limits checked, fuel and epoch deadline set, deadline registered, SIGINT handler "
        "and wakeup fd swapped in and back, the outcome sorted",
        "Example.run",
    )


def row_guard_api(report: Report, repeat: int) -> None:
    """What `with guard(store):` adds to a learner's own wasmtime.Func call, per call."""
    _added_by_guard(
        report,
        calls.guard_api_costs(repeat=repeat),
        ("plain", "guarded"),
        "What guard() adds: `with guard(store): run(store, 1, 7)` minus the plain Func call, microseconds per call",
        ["Func call", "inside guard()"],
        "a learner's own store and host function; guard(): Stopper looked up, limits checked, fuel and "
        "epoch deadline set, 10 s deadline registered, SIGINT handler and wakeup fd swapped in and back",
        "guard()",
    )


def _added_by_guard(
    report: Report,
    costs: dict,
    keys: tuple[str, str],
    title: str,
    columns: list[str],
    note: str,
    subject: str,
) -> None:
    """A section of what a guarded call adds over the same call unguarded, per arm, and its target."""
    bare, guarded = keys
    rows, added = [], {}
    for arm in ("normal", "exit"):
        without, within = costs[bare][arm], costs[guarded][arm]
        added[arm] = within.median - without.median
        rows.append([arm, us(without.median), us(within.median), us(added[arm])])
    report.section(title, ["arm", *columns, "added"], rows, [note])
    report.target(
        f"{subject} adds <= {GUARD_US:g} us per call",
        f"{us(added['normal'])} / {us(added['exit'])} us (normal / exit)",
        max(added.values()) <= GUARD_US,
    )


def row_interrupts(report: Report, tries: int) -> None:
    """Interrupt latency of an endless guest."""
    rows, notes = [], []
    for name, measure in interrupts.LATENCY_ROWS.items():
        try:
            latencies = measure(tries)
        except RuntimeError as error:
            rows.append([name, "-", "-", "-", "failed"])
            notes.append(f"{name}: {error}")
            report.target(f"{name}: p90 < {LATENCY_MS:g} ms", "failed", False)
            continue
        if latencies is None:
            rows.append([name, "-", "-", "-", "skipped"])
            notes.append(f"{name}: needs the main thread and Python's own SIGINT handler")
            continue
        s = summarize(latencies)
        rows.append([name, ms(s.median), ms(s.p90), ms(s.min), str(s.n)])
        report.target(
            f"interrupt latency p90 < {LATENCY_MS:g} ms: {name.split(' (')[0]}",
            f"{ms(s.p90)} ms",
            s.p90 * 1e3 < LATENCY_MS,
        )
    notes.append("from the interrupt to control back in Python (the trap caught, or Example.run returning)")
    report.section(
        "Interrupt latency of a guest in an endless loop, milliseconds",
        ["interrupt", "median", "p90", "min", "tries"],
        rows,
        notes,
    )


def row_notebooks(report: Report, runs: int) -> None:
    """Executing each notebook headless against an empty notebook."""
    startup.compile_package()
    baseline = startup.notebook_seconds(None, runs=runs)
    rows = [
        ["(empty notebook: kernel start-up)", f"{statistics.median(baseline):.2f}", f"{min(baseline):.2f}", "1.00x"]
    ]
    notes = []
    paths = startup.notebook_paths()
    for path in paths:
        try:
            times = startup.notebook_seconds(path, runs=runs)
        except Exception as error:  # a failing notebook is a row, not a crash
            rows.append([path.name, "-", "-", "failed"])
            last_line = str(error).strip().splitlines()[-1] if str(error).strip() else ""
            notes.append(f"{path.name}: {type(error).__name__}: {last_line}")
            report.target(f"{path.name} <= {NOTEBOOK_RATIO:g}x empty notebook", "failed", False)
            continue
        ratio = startup.ratio(times, baseline)
        rows.append([path.name, f"{statistics.median(times):.2f}", f"{min(times):.2f}", f"{ratio:.2f}x"])
        report.target(f"{path.name} <= {NOTEBOOK_RATIO:g}x empty notebook", f"{ratio:.2f}x", ratio <= NOTEBOOK_RATIO)
    if not paths:
        notes.append("no notebooks in notebooks/ yet: only the baseline is measured")
    notes.append(f"nbclient, kernel python3, median of {runs} runs each")
    report.section("Executing the notebooks headless, seconds", ["notebook", "median", "min", "ratio"], rows, notes)


def row_cold_start(report: Report, runs: int) -> None:
    """The command line's cold start against importing wasmtime alone, and --help against bare Python."""
    startup.compile_package()
    times = startup.cold_starts(runs=runs)
    ratio = startup.ratio(times["module"], times["import"])
    help_ratio = startup.ratio(times["help"], times["bare"])
    rows = [
        ['python -c "import wasmtime"', ms(statistics.median(times["import"])), ms(min(times["import"])), "1.00x"],
        [
            "python -m earlyexit_tutorial",
            ms(statistics.median(times["module"])),
            ms(min(times["module"])),
            f"{ratio:.2f}x",
        ],
        ["python -c pass", ms(statistics.median(times["bare"])), ms(min(times["bare"])), "1.00x"],
        [
            "python -m earlyexit_tutorial --help",
            ms(statistics.median(times["help"])),
            ms(min(times["help"])),
            f"{help_ratio:.2f}x",
        ],
    ]
    report.section(
        "Command-line cold start, milliseconds",
        ["command", "median", "min", "ratio"],
        rows,
        [f"median of {runs} runs each, interleaved"],
    )
    report.target(f"cold start <= {COLD_START_RATIO:g}x import wasmtime", f"{ratio:.2f}x", ratio <= COLD_START_RATIO)
    report.target(f"--help <= {HELP_RATIO:g}x bare python", f"{help_ratio:.2f}x", help_ratio <= HELP_RATIO)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every row and print the table; the exit status is 0 even if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds: a rough table in a few seconds")
    args = parser.parse_args(argv)
    repeat, tries, nb_runs, cold_runs, error_mib = (3, 5, 1, 3, 10) if args.quick else (7, 20, 3, 10, 50)
    started = time.perf_counter()
    print(
        f"What an early exit costs (Python {sys.version.split()[0]}, wasmtime {_wasmtime_version()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})"
    )
    report = Report()
    row_calls(report, repeat)
    row_guard(report, repeat)
    row_guard_api(report, repeat)
    row_interrupts(report, tries)
    row_notebooks(report, nb_runs)
    row_cold_start(report, cold_runs)
    error_paths.row_error_paths(report, mib=error_mib)
    report.print_targets()
    print(f"\n(took {time.perf_counter() - started:.0f} s)")
    return 0


def _wasmtime_version() -> str:
    from earlyexit_tutorial._support._fastcall import wasmtime_version

    return wasmtime_version() or "?"


if __name__ == "__main__":
    sys.exit(main())
