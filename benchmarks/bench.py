"""What an early exit costs: each path and layer against its floor, measured side by side in one run.

Run it as `.venv/bin/python benchmarks/bench.py` (or `make bench`); `--quick`
takes fewer samples (about a minute on two cores). It prints one section per
measurement, then every figure as a ratio to a floor measured in the same
run, marked PASS or MISS against its goal, and the machine's load. Samples of
the things compared are interleaved (A, B, A, B...): the tables give medians,
and the per-call figures the median of each round's ratio (stats.paired_ratio).

The floors are the same work done lean: wasmtime's C call through ctypes,
a hand-written wakeup fd and watcher for Ctrl-C, a Linker look-up, a
notebook of `pass` cells, `python -c "import wasmtime"`. The package is
reached through its public names only, so any version of it can be measured;
a path missing from the installed version prints n/a (the ctypes floor and the
public-fallback row use internals, each behind a check).

A load benchmark, if benchmarks/load.py is present, runs as its own section:
it provides `row_load(report, quick=...)`, prints its sections with
`report.section(...)` and records its figures with `report.figure(...)`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this file's folder is on sys.path, not the project's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import calls, compiling, error_paths, exports, interrupts, startup  # noqa: E402
from benchmarks.report import Report, x  # noqa: E402
from benchmarks.stats import Summary, paired_difference, paired_ratio, ratio, summarize  # noqa: E402

# The goals, from what the tutorial promises a learner about cost. Each is a ratio
# to a floor measured in the same run (at most this much), unless said otherwise.
TYPED_VS_FLOOR = 1.25  # the typed path vs wasmtime's C call with pre-built arguments, both arms
TYPED_VS_FUNC = {"normal": 1 / 3, "exit": 1.0}  # the typed path vs Func.__call__: 3x faster returning, never slower
GUARD_VS_TYPED = 1.5  # `with guard(store, timeout=10): typed(...)` vs the typed call alone
GUARD_VS_FLOOR = 1.5  # the guard vs the C calls it must make (signal swap, fuel, epoch) done by hand
EXAMPLE_VS_FUNC = {"normal": 0.5, "exit": 0.8}  # Example.run vs Func.__call__
HOST_CALL_EXTRA_US = 0.3  # a host call through Example(imports=...) vs a plain Func import, microseconds more
CTRL_C_VS_FLOOR = 2.0  # Ctrl-C to control back, p90, vs a hand-written wakeup fd and watcher
STOP_MS = 10.0  # Example.stop() to control back, p90, within this many milliseconds
LOOKUP_GROWTH = 10.0  # look-up time at the larger export count / at the smaller (8x is linear)
ENGINE_VS_EPOCHS = 1.15  # compile time on the engine a guard without fuel= needs vs an epochs-only engine
NOTEBOOK_RATIO = 1.5  # a notebook vs a notebook of as many `pass` cells
COLD_START_RATIO = 1.25  # python -m earlyexit_tutorial vs python -c "import wasmtime"
HELP_RATIO = 2.0  # python -m earlyexit_tutorial --help vs python -c pass: --help loads no wasmtime

ARM_NAMES = {"normal": "returning", "exit": "exiting early"}


@dataclass(frozen=True)
class Scale:
    """How many samples each section takes."""

    rounds: int  # interleaved rounds per per-call statement
    min_time: float  # seconds per round of a per-call statement
    host_calls: int  # host calls per run in the host-call row
    tries: int  # interrupts per latency row
    export_counts: tuple[int, int]  # the two export counts of the look-up rows
    export_runs: int
    compile_functions: int
    compile_runs: int
    notebook_runs: int
    cold_runs: int
    error_mib: float
    node: bool = True  # time Node's WebAssembly too, when node is on PATH
    by_hand: bool = True  # time the hand-written Timer-per-call guard (about 300 us a call)


# Many short rounds rather than a few long ones: on a shared machine a round of a
# millisecond or less often runs with no other process taking the core, and the
# medians keep those; the figures divide samples of the same round (paired_ratio).
QUICK = Scale(101, 0.0005, 200, 30, (1000, 8000), 1, 1000, 3, 1, 5, 10)
FULL = Scale(301, 0.001, 200, 60, (1000, 8000), 3, 2000, 7, 3, 11, 50)


def us(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def over(a: Summary | None, b: Summary | None) -> float | None:
    """a / b, round by round (see stats.paired_ratio), or None if either was not measured."""
    return None if a is None or b is None else paired_ratio(a, b)


def shown(value: float | None) -> str:
    return "n/a" if value is None else x(value)


def section_calls(report: Report, scale: Scale) -> None:
    """Per-call cost along each path, its layers, and the figures on them."""
    costs = calls.call_costs(rounds=scale.rounds, min_time=scale.min_time, by_hand=scale.by_hand)
    node = calls.node_call_costs(repeat=scale.rounds, min_time=scale.min_time) if scale.node else None
    paths = {
        "floor": "ctypes wasmtime_func_call, pre-built arguments (floor)",
        "typed": "TypedRun (the typed path)",
        "public": "TypedRun, fast path gated off (public fallback)",
        "func": "wasmtime Func.__call__",
        "guard": "with guard(store, timeout=10): typed(...)",
        "guard_floor": "its C work by hand: signal swap, fuel, epoch, typed(...)",
        "typed_unmetered": "TypedRun on an engine without fuel",
        "guard_unmetered": "with guard(...) on an engine without fuel",
        "example_run": "Example.run",
        "by_hand": "by hand: set_epoch_deadline + threading.Timer per call",
    }
    rows = []
    for key, name in paths.items():
        normal, exit_ = costs["normal"].get(key), costs["exit"].get(key)
        if normal is None or exit_ is None:
            rows.append([name, "n/a", "", "n/a", "", ""])
            continue
        rows.append(_call_row(name, normal, exit_, costs))
    if node is not None:
        name = f"Node {calls.node_version()} WebAssembly (V8)"
        rows.append(_call_row(name, node["normal"], node["exit"], costs, same_rounds=False))
    notes = [
        "median of interleaved rounds; /floor = this / the ctypes floor, speed-up = Func.__call__ / this, "
        "both round by round (median of each round's ratio)",
        "the floor and the typed path, guard() and the by-hand row use a learner's own store and host function; "
        "Example.run its Example's",
    ]
    if "floor" not in costs["normal"]:
        notes.append("no ctypes floor: wasmtime-py's private _bindings/_ffi/_func are not as expected here")
    if scale.node and node is None:
        notes.append("Node row skipped: `node` is not on PATH")
    report.section(
        "Cost of one call of run(1, 7), by path, microseconds per call",
        ["path", "returning", "/floor", "exiting early", "/floor", "speed-up (ret/exit)"],
        rows,
        notes,
    )
    _layers(
        report,
        costs,
        "What each layer of guard() adds, on a learner's store, microseconds per call",
        [
            ("typed", "bare typed call: typed(store, 1, 7)"),
            ("fuel_epoch", "+ fuel and epoch deadline set by hand"),
            ("guard_floor", "+ the signal swap by hand (the guard's C work, nothing else)"),
            ("guard_no_deadline", "+ guard enter/leave: with guard(store, timeout=None)"),
            ("guard", "+ a 10 s deadline: with guard(store, timeout=10)"),
        ],
    )
    _layers(
        report,
        costs,
        "What each layer of Example.run adds, on an Example's store, microseconds per call",
        [
            ("ex_typed", "the Example's typed call (its host trampoline)"),
            ("ex_guard", "+ with guard(store, timeout=10)"),
            ("ex_checks", "+ check_i32 twice, a lock taken and released"),
            ("ex_outcome", "+ the outcome object (call_run)"),
            ("example_run", "Example.run(1, 7): + its own plumbing"),
        ],
    )
    # Each figure: its key, what it compares, the two paths (this / its floor) and its goal (per arm or one).
    figures = [
        ("typed_vs_floor", "typed path vs ctypes floor", "typed", "floor", TYPED_VS_FLOOR),
        ("typed_vs_func", "typed path vs Func.__call__", "typed", "func", TYPED_VS_FUNC),
        ("guard_vs_typed", "with guard(store, timeout=10) vs the typed call", "guard", "typed", GUARD_VS_TYPED),
        # The floor under the goal above: the C calls a guard cannot skip, by hand, around the same call.
        (
            "guard_floor_vs_typed",
            "the guard's C work by hand vs the typed call",
            "guard_floor",
            "typed",
            GUARD_VS_TYPED,
        ),
        (
            "guard_vs_floor",
            "with guard(store, timeout=10) vs its C work by hand",
            "guard",
            "guard_floor",
            GUARD_VS_FLOOR,
        ),
        (
            "guard_vs_typed_unmetered",
            "guard() vs the typed call, on an engine without fuel",
            "guard_unmetered",
            "typed_unmetered",
            GUARD_VS_TYPED,
        ),
        ("example_vs_func", "Example.run vs Func.__call__", "example_run", "func", EXAMPLE_VS_FUNC),
    ]
    for key, compared, path, floor, goal in figures:
        for arm in calls.ARMS:
            c = costs[arm]
            report.figure(
                f"{key}.{arm}",
                f"{compared}, {ARM_NAMES[arm]}",
                over(c.get(path), c.get(floor)),
                goal[arm] if isinstance(goal, dict) else goal,
            )


def _call_row(
    name: str, normal: Summary, exit_: Summary, costs: dict[str, dict[str, Summary]], *, same_rounds: bool = True
) -> list[str]:
    """A row of the call table; `same_rounds`: its samples were taken in the same rounds as the floor's."""
    divide = over if same_rounds else lambda a, b: None if a is None or b is None else ratio(a, b)
    floor_n, floor_e = costs["normal"].get("floor"), costs["exit"].get("floor")
    func_n, func_e = costs["normal"]["func"], costs["exit"]["func"]
    return [
        name,
        us(normal.median),
        shown(divide(normal, floor_n)),
        us(exit_.median),
        shown(divide(exit_, floor_e)),
        f"{divide(func_n, normal):.1f}x / {divide(func_e, exit_):.1f}x",
    ]


def _layers(report: Report, costs: dict[str, dict[str, Summary]], title: str, layers: list[tuple[str, str]]) -> None:
    """A table of layers built up one at a time: each row's cost, and what it adds to the row before."""
    rows = []
    previous: str | None = None
    for key, name in layers:
        if key not in costs["normal"]:  # a path this version does not have
            rows.append([name, "n/a", "", "n/a", ""])
            previous = None
            continue
        now = {arm: costs[arm][key].median for arm in calls.ARMS}
        if previous is None:
            rows.append([name, us(now["normal"]), "", us(now["exit"]), ""])
        else:
            adds = {arm: paired_difference(costs[arm][key], costs[arm][previous]) for arm in calls.ARMS}
            rows.append([name, us(now["normal"]), f"{adds['normal']:+.2f}", us(now["exit"]), f"{adds['exit']:+.2f}"])
        previous = key
    notes = [
        "each layer is timed as a statement of its own, interleaved with the others; adds = what this "
        "layer costs more than the one above, round by round (median)"
    ]
    report.section(title, ["layer", "returning", "adds", "exiting early", "adds"], rows, notes)


def section_host_calls(report: Report, scale: Scale) -> None:
    """A host call through Example(imports=...) against a plain wasmtime.Func import."""
    costs = calls.host_call_costs(calls=scale.host_calls, rounds=scale.rounds, min_time=scale.min_time)
    plain, example, extra = costs["plain"], costs["example"], costs["extra"]
    rows = [
        ["plain wasmtime.Func import (floor)", us(plain), "1.00x"],
        ["Example(imports={'env': {'tick': tick}})", us(example), x(example / plain)],
    ]
    report.section(
        "One host call, microseconds per call",
        ["path", "per host call", "ratio"],
        rows,
        [
            f"slope between run({costs['calls']:.0f}, 0) and run(0, 0), so what a run costs besides drops out; "
            "medians over interleaved rounds; the figure compares the two runs round by round"
        ],
    )
    report.figure(
        "host_call",
        "a host call through Example(imports=) vs a plain Func import",
        example / plain,
        float("inf"),
        measured=f"{extra:+.2f} us ({x(example / plain)})",
        ok=extra <= HOST_CALL_EXTRA_US,
        goal=f"<= +{HOST_CALL_EXTRA_US:g} us",
    )


def section_interrupts(report: Report, scale: Scale) -> None:
    """Interrupt latency of an endless guest: each path against its floor."""
    rows, notes = [], []
    epoch = summarize(interrupts.epoch_latencies(scale.tries))
    stop = summarize(interrupts.stop_latencies(scale.tries))
    rows.append(_latency_row("engine.increment_epoch(), plain wasmtime (floor of Stop)", epoch, epoch))
    rows.append(_latency_row("Example.stop() (the Stop button)", stop, epoch))
    sigint = interrupts.sigint_latencies(scale.tries)
    if sigint is None:
        notes.append("SIGINT rows skipped: they need the main thread and Python's own SIGINT handler")
        floor = guarded = example = None
    else:
        floor, guarded, example = (summarize(sigint[k]) for k in ("floor", "guard", "example"))
        rows.append(_latency_row("SIGINT, hand-written wakeup fd + watcher (floor of Ctrl-C)", floor, floor))
        rows.append(_latency_row("SIGINT, with guard(store): learner's call", guarded, floor))
        rows.append(_latency_row("SIGINT, Example.run", example, floor))
    notes.append("from the interrupt to control back in Python; the SIGINT paths' tries are interleaved")
    report.section(
        "Interrupt latency of a guest in an endless loop, milliseconds",
        ["interrupt", "median", "p90", "min", "tries", "p90 / floor's"],
        rows,
        notes,
    )
    for key, name, path in (("ctrl_c.guard", "guard()", guarded), ("ctrl_c.example", "Example.run", example)):
        value = None if path is None or floor is None else path.p90 / floor.p90
        report.figure(key, f"Ctrl-C to control back, p90, {name} vs hand-written wakeup", value, CTRL_C_VS_FLOOR)
    report.figure(
        "stop_latency",
        f"Example.stop() to control back, p90, vs a {STOP_MS:g} ms budget",
        stop.p90 * 1e3 / STOP_MS,
        1.0,
        measured=f"{ms(stop.p90)} ms ({x(stop.p90 * 1e3 / STOP_MS)})",
    )


def _latency_row(name: str, s: Summary, floor: Summary) -> list[str]:
    return [name, ms(s.median), ms(s.p90), ms(s.min), str(s.n), x(s.p90 / floor.p90)]


def section_exports(report: Report, scale: Scale) -> None:
    """Finding `run` among many exports, at two export counts: the package against a Linker look-up."""
    small, big = scale.export_counts
    times = exports.lookup_times((small, big), runs=scale.export_runs)
    medians = {count: {k: statistics.median(v) for k, v in per.items()} for count, per in times.items()}
    names = {
        "typed_run": "typed_run(instance, store)",
        "linker": "Linker.define_instance + Linker.get (floor)",
        "example": "Example(module), module compiled already",
        "example_floor": "the same done lean: load, Linker, get (floor)",
    }
    rows = []
    for key, name in names.items():
        a, b = medians[small][key], medians[big][key]
        rows.append([name, ms(a), ms(b), x(b / a)])
    report.section(
        f"Finding `run` among many exports, milliseconds (median of {len(times[big]['typed_run'])} look-ups, "
        f"{len(times[big]['example'])} Examples at {big:,})",
        ["look-up", f"{small:,} exports", f"{big:,} exports", "growth"],
        rows,
        [
            f"linear growth is {big / small:g}x; at {big:,} exports typed_run is "
            f"{x(medians[big]['typed_run'] / medians[big]['linker'])} the Linker's look-up and Example() "
            f"{x(medians[big]['example'] / medians[big]['example_floor'])} its lean floor"
        ],
    )
    report.figure(
        "exports.typed_run",
        f"typed_run at {big:,} / at {small:,} exports",
        medians[big]["typed_run"] / medians[small]["typed_run"],
        LOOKUP_GROWTH,
    )
    report.figure(
        "exports.example",
        f"Example(module) at {big:,} / at {small:,} exports",
        medians[big]["example"] / medians[small]["example"],
        LOOKUP_GROWTH,
    )


def section_compile(report: Report, scale: Scale) -> None:
    """Compile time of one module on each kind of engine, and the kind the package's engines are."""
    times = compiling.compile_times(scale.compile_functions, runs=scale.compile_runs)
    medians = {name: statistics.median(values) for name, values in times.items()}
    default, epochs = medians["default"], medians["epochs only"]
    rows = [[name, f"{medians[name]:.3f}", x(medians[name] / default), ""] for name in compiling.KINDS]
    package = compiling.package_engines()
    for name, kind in package.items():
        rows.append([f"{name}: {kind}", f"{medians[kind]:.3f}", x(medians[kind] / default), "its kind's time"])
    accepted = compiling.guard_takes_epoch_only_engine()
    report.section(
        f"Compiling one module of {scale.compile_functions:,} looping functions, seconds "
        f"(median of {scale.compile_runs})",
        ["engine", "median", "vs default", ""],
        rows,
        [
            "each engine compiles on one thread (parallel compilation off), so the other core's load "
            "touches every kind alike; the package's engines are told apart by probing what they do",
            "guard() without fuel= on an epochs-only engine: "
            + ("accepted" if accepted else "refused (NotInterruptible)"),
            "an Example's engine meters fuel, since its run(fuel=...) is per call",
        ],
    )
    # What a guard without fuel= needs: the package's engine without fuel, if guard() takes such an
    # engine (each kind is probed, not assumed); else the one with both.
    made = "interruptible_engine(fuel=False)"
    if not accepted or made not in package:
        made = "interruptible_engine()"
    kind = package[made]
    report.figure(
        "compile.guard_engine",
        f"compile on {made} ({kind}) for guard() without fuel= vs epochs only",
        medians[kind] / epochs,
        ENGINE_VS_EPOCHS,
    )


def section_notebooks(report: Report, scale: Scale, paths: Sequence[Path] | None = None) -> None:
    """Executing each notebook headless against a floor notebook with as many cells of `pass`."""
    startup.compile_package()
    rows, notes = [], []
    for path in startup.notebook_paths() if paths is None else paths:
        name = f"{path.name} vs its floor"
        try:
            times = startup.notebook_times(path, runs=scale.notebook_runs)
        except Exception as error:  # a failing notebook is a row, not a crash
            rows.append([path.name, "-", "-", "-", "failed"])
            last_line = str(error).strip().splitlines()[-1] if str(error).strip() else ""
            notes.append(f"{path.name}: {type(error).__name__}: {last_line}")
            report.figure(f"notebook.{path.stem}", name, None, NOTEBOOK_RATIO, measured="failed")
            continue
        value = ratio(times["notebook"], times["floor"])
        floor, run = statistics.median(times["floor"]), statistics.median(times["notebook"])
        rows.append([path.name, str(startup.code_cells(path)), f"{floor:.2f}", f"{run:.2f}", x(value)])
        report.figure(f"notebook.{path.stem}", name, value, NOTEBOOK_RATIO)
    if not rows:
        notes.append("no notebooks in notebooks/")
    notes.append(
        f"nbclient, kernel python3, median of {scale.notebook_runs} run(s) each, interleaved; the floor is the "
        "same notebook with every code cell's source replaced by `pass` (kernel start-up and cell round trips)"
    )
    report.section(
        "Executing the notebooks headless, seconds",
        ["notebook", "code cells", "floor", "notebook", "ratio"],
        rows,
        notes,
    )


def section_cold_start(report: Report, scale: Scale) -> None:
    """The command line's cold start against importing wasmtime alone, and --help against bare Python."""
    startup.compile_package()
    times = startup.cold_starts(runs=scale.cold_runs)
    start_ratio, help_ratio = ratio(times["module"], times["import"]), ratio(times["help"], times["bare"])
    rows = [
        ['python -c "import wasmtime" (floor)', "import", "1.00x"],
        ["python -m earlyexit_tutorial", "module", x(start_ratio)],
        ["python -c pass (floor)", "bare", "1.00x"],
        ["python -m earlyexit_tutorial --help", "help", x(help_ratio)],
    ]
    rows = [[name, ms(statistics.median(times[k])), ms(min(times[k])), r] for name, k, r in rows]
    report.section(
        "Command-line cold start, milliseconds",
        ["command", "median", "min", "ratio"],
        rows,
        [f"median of {scale.cold_runs} runs each, interleaved; the package's bytecode compiled first, as pip does"],
    )
    report.figure("cold_start", "python -m earlyexit_tutorial vs import wasmtime", start_ratio, COLD_START_RATIO)
    report.figure("help", "python -m earlyexit_tutorial --help vs python -c pass", help_ratio, HELP_RATIO)


def section_load(report: Report, quick: bool) -> None:
    """The load benchmark of benchmarks/load.py, when it is there."""
    if importlib.util.find_spec("benchmarks.load") is None:
        print("\nLoad benchmark: n/a (benchmarks/load.py is not present)")
        return
    load = importlib.import_module("benchmarks.load")
    row_load = getattr(load, "row_load", None)
    if row_load is not None:  # it prints and records its own figures
        row_load(report, quick=quick)
        return
    measure, settings = getattr(load, "measure", None), getattr(load, "QUICK" if quick else "FULL", None)
    if measure is None or settings is None:
        print("\nLoad benchmark: n/a (benchmarks/load.py has neither row_load() nor measure() with QUICK and FULL)")
        return
    result = measure(**settings)
    report.section(
        "Load run (benchmarks/load.py)",
        ["figure", "value"],
        [[what, value] for what, value in result.rows()],
        [", ".join(f"{key}={value}" for key, value in settings.items())],
    )
    # Counts whose goal is 0: no floor to divide by, so a verdict without a ratio.
    for key, what in (("wrong", "wrong outcomes"), ("cut_short", "calls cut short by a neighbour")):
        value = getattr(result, key, None)
        if value is not None:
            report.figure(f"load.{key}", f"load run: {what}", None, 0, measured=str(value), ok=value == 0, goal="= 0")


def machine_load() -> str:
    """The machine's cores and load average, as far as this system tells them."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    if hasattr(os, "getloadavg"):
        one, five, fifteen = os.getloadavg()
        load = f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1, 5, 15 min)"
    else:
        load = "load average n/a on this system"
    return f"{cores} cores ({usable} usable), {load}"


def run(scale: Scale, *, quick: bool = False, notebooks: Sequence[Path] | None = None, load: bool = True) -> Report:
    """Run every section at `scale` and print the table; return the report with its figures.

    `notebooks`: the notebooks to time (None: the tutorial's); `load`: run the load benchmark, if present.
    """
    started = time.perf_counter()
    at_start = machine_load()
    print(
        f"What an early exit costs (Python {sys.version.split()[0]}, wasmtime {_wasmtime_version()}, "
        f"earlyexit_tutorial {_package_version()}; {at_start})"
    )
    report = Report()
    section_calls(report, scale)
    section_host_calls(report, scale)
    section_interrupts(report, scale)
    section_exports(report, scale)
    section_compile(report, scale)
    section_notebooks(report, scale, notebooks)
    section_cold_start(report, scale)
    error_paths.row_error_paths(report, mib=scale.error_mib)
    if load:
        section_load(report, quick)
    report.print_figures(
        f"machine at the start: {at_start}; at the end: {machine_load()}; took {time.perf_counter() - started:.0f} s. "
        "Figures taken on a busy machine are rough: compare ratios, and run again before believing a MISS."
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run every section and print the table; the exit status is 0 even if a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples: a rough table in under a minute")
    args = parser.parse_args(argv)
    run(QUICK if args.quick else FULL, quick=args.quick)
    return 0


def _wasmtime_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _package_version() -> str:
    import earlyexit_tutorial

    return str(getattr(earlyexit_tutorial, "__version__", "?"))


if __name__ == "__main__":
    sys.exit(main())
