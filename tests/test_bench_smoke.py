"""The benchmark runs end to end at a tiny scale and prints every figure as a ratio with its verdict.

No timing is asserted here: the goals live in benchmarks/bench.py and are judged by `make bench`.
"""

from __future__ import annotations

import functools
import re
import signal
import socket
import sys
import threading
import types

import nbformat
import pytest
import wasmtime

from benchmarks import bench, calls, compiling, floors, interrupts, startup
from benchmarks.report import Report
from benchmarks.stats import Sampler, interleaved, paired_difference, paired_ratio, summarize
from earlyexit_tutorial import ExitCode

# A scale at which every section runs in a moment: the structure, not the figures.
SMOKE = bench.Scale(
    rounds=1,
    min_time=0.0005,
    host_calls=20,
    tries=1,
    export_counts=(20, 160),
    export_runs=1,
    compile_functions=20,
    compile_runs=1,
    notebook_runs=1,
    cold_runs=1,
    error_mib=0.05,
    node=False,
)

# Every figure the issue asks for, by key: the call paths on both arms, the guard, Example.run,
# host calls, Ctrl-C, export look-up, compile time, the notebook, cold start, and the older rows.
EXPECTED = {
    *(
        f"{figure}.{arm}"
        for figure in (
            "typed_vs_floor",
            "typed_vs_func",
            "guard_vs_typed",
            "guard_floor_vs_typed",
            "guard_vs_floor",
            "guard_vs_typed_unmetered",
            "example_vs_func",
        )
        for arm in calls.ARMS
    ),
    "host_call",
    "ctrl_c.guard",
    "ctrl_c.example",
    "stop_latency",
    "exports.typed_run",
    "exports.example",
    "compile.guard_engine",
    "notebook.tiny",
    "cold_start",
    "help",
    "error_line",
}

SECTIONS = (
    "Cost of one call of run(1, 7), by path",
    "What each layer of guard() adds",
    "What each layer of Example.run adds",
    "One host call",
    "Interrupt latency",
    "Finding `run` among many exports",
    "Compiling one module",
    "Executing the notebooks headless",
    "Command-line cold start",
    "Naming a compile error's line",
    "Figures against their goals",
)


@pytest.fixture
def tiny_notebook(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# tiny"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("x + 1"),
    ]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, path)
    return path


def test_every_figure_is_printed_as_a_ratio_with_its_verdict(python_sigint_handler, tiny_notebook, capsys) -> None:
    report = bench.run(SMOKE, quick=True, notebooks=[tiny_notebook], load=False)
    out = capsys.readouterr().out
    figures = {f.key: f for f in report.figures}
    assert set(figures) == EXPECTED
    for figure in figures.values():
        assert isinstance(figure.ratio, float) and figure.ratio > 0, figure
        assert figure.verdict in ("PASS", "MISS"), figure
        assert re.search(r"\d\.\d\dx", figure.measured), figure
    table = out[out.index("Figures against their goals") :]
    for figure in figures.values():
        line = next(line for line in table.splitlines() if line.strip().startswith(figure.name))
        assert line.split()[-1] == figure.verdict
        assert figure.measured in line and figure.goal in line
    assert re.search(r"\d+ PASS, \d+ MISS, 0 n/a", table)
    assert "cores" in table and ("load average" in table)
    for title in SECTIONS:
        assert title in out, title
    for layer in (
        "bare typed call",
        "+ fuel and epoch deadline",
        "+ the signal swap by hand",
        "+ guard enter/leave",
        "+ a 10 s deadline",
    ):
        assert layer in out
    for layer in ("+ check_i32 twice", "+ the outcome object", "Example.run(1, 7): + its own plumbing"):
        assert layer in out
    for path in ("ctypes wasmtime_func_call", "TypedRun (the typed path)", "wasmtime Func.__call__", "Example.run"):
        assert path in out


def test_a_path_that_cannot_be_measured_is_n_a_not_a_crash() -> None:
    report = Report()
    figure = report.figure("f", "a path missing here", None, 1.25)
    assert (figure.verdict, figure.measured, figure.goal) == ("n/a", "n/a", "<= 1.25x")
    assert report.figure("g", "under", 1.0, 1.25).verdict == "PASS"
    assert report.figure("h", "over", 1.5, 1.25).verdict == "MISS"


def test_a_load_benchmark_with_measure_prints_its_rows_and_its_zero_counts(monkeypatch, capsys) -> None:
    class Result:
        wrong, cut_short = 0, 2

        def rows(self) -> list[tuple[str, str]]:
            return [("throughput", "1,000 requests/s"), ("wrong outcomes", "0")]

    load = types.ModuleType("benchmarks.load")
    load.QUICK, load.FULL = {"requests": 10}, {"requests": 1000}  # type: ignore[attr-defined]
    asked: list[dict] = []

    def measure(**settings: int) -> Result:
        asked.append(settings)
        return Result()

    load.measure = measure  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "benchmarks.load", load)
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: object())
    report = Report()
    bench.section_load(report, quick=True)
    assert asked == [{"requests": 10}]
    assert "1,000 requests/s" in capsys.readouterr().out
    assert {f.key: f.verdict for f in report.figures} == {"load.wrong": "PASS", "load.cut_short": "MISS"}


def test_without_a_load_benchmark_the_load_section_says_so(monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: None)
    bench.section_load(Report(), quick=True)
    assert "n/a (benchmarks/load.py is not present)" in capsys.readouterr().out


def test_the_ctypes_floor_returns_and_re_raises_the_hosts_own_exception() -> None:
    learner = calls.LearnerGuest()
    assert learner.floor is not None  # wasmtime-py's internals are there on the tested versions
    assert learner.floor() == 8
    raised = ExitCode(3)

    def host() -> None:
        raise raised

    store = wasmtime.Store(learner.engine)
    instance = wasmtime.Instance(
        store,
        wasmtime.Module(learner.engine, calls.GUEST_WAT),
        [wasmtime.Func(store, wasmtime.FuncType([], []), host)],
    )
    store.set_fuel(1000)
    store.set_epoch_deadline(1)
    call = floors.ctypes_floor(floors.export_func(instance, store, "run"), store, 1, 7)
    assert call is not None
    for _ in range(2):  # the second call sees no trap left over from the first
        with pytest.raises(ExitCode) as caught:
            call()
        assert caught.value is raised


def test_the_wakeup_floor_puts_back_the_handler_and_the_wakeup_fd(python_sigint_handler) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are set from the main thread only")
    before_handler = signal.getsignal(signal.SIGINT)
    mine, _ = socket.socketpair()
    mine.setblocking(False)
    previous = signal.set_wakeup_fd(mine.fileno())
    floor = floors.WakeupFloor(wasmtime.Engine())
    try:
        with floor:
            assert signal.getsignal(signal.SIGINT) is not before_handler
        assert signal.getsignal(signal.SIGINT) is before_handler
        assert signal.set_wakeup_fd(mine.fileno()) == mine.fileno()
    finally:
        floor.close()
        signal.set_wakeup_fd(previous)
        mine.close()


def test_sigint_latencies_give_one_figure_per_path_and_try(python_sigint_handler) -> None:
    latencies = interrupts.sigint_latencies(2)
    if latencies is None:
        pytest.skip("SIGINT needs the main thread and Python's own handler")
    assert set(latencies) == {"floor", "guard", "example"}
    assert all(len(v) == 2 and all(0 < t < interrupts.PATIENCE for t in v) for v in latencies.values())


def test_the_floor_notebook_has_as_many_cells_each_code_cell_pass(tiny_notebook) -> None:
    original = nbformat.read(tiny_notebook, as_version=4)
    floor = startup.floor_notebook(original)
    assert [c.cell_type for c in floor.cells] == [c.cell_type for c in original.cells]
    assert [c.source for c in floor.cells if c.cell_type == "code"] == ["pass", "pass"]
    assert original.cells[1].source == "x = 1"  # the original is left alone


def test_engine_kinds_are_told_apart_by_probing() -> None:
    for name, (fuel, epochs) in compiling.KINDS.items():
        assert compiling.engine_features(compiling.config_engine(fuel=fuel, epochs=epochs)) == name


def test_the_arm_wraps_an_early_exit_in_try() -> None:
    namespace = {"ExitCode": ExitCode, "stop": lambda: (_ for _ in ()).throw(ExitCode(1))}
    exec(calls.for_arm("stop()", "exit"), namespace)  # no ExitCode escapes
    assert calls.for_arm("f()", "normal") == "f()"


def test_interleaved_samples_each_statement_once_per_round() -> None:
    order: list[str] = []
    samplers = {n: Sampler("pass", {}, min_time=0.0001, before=functools.partial(order.append, n)) for n in "ab"}
    order.clear()
    result = interleaved(samplers, 3)
    assert order == ["a", "b"] * 3
    assert {name: s.n for name, s in result.items()} == {"a": 3, "b": 3}


def test_paired_ratio_divides_samples_of_the_same_round() -> None:
    # A busy second round slows both alike: round by round the ratio stays 2, 2, 3.
    a, b = summarize([2.0, 40.0, 6.0]), summarize([1.0, 20.0, 2.0])
    assert paired_ratio(a, b) == 2.0
    assert a.median / b.median == 3.0
    assert paired_difference(a, b) == 4.0
    assert paired_ratio(a, summarize([1.0, 3.0])) == 3.0  # not the same rounds: the medians' ratio


def test_summarize() -> None:
    s = summarize([3.0, 1.0, 2.0, 10.0])
    assert (s.min, s.median, s.n) == (1.0, 2.5, 4)
    assert s.median <= s.p90 <= 10.0
    with pytest.raises(ValueError):
        summarize([])


def test_node_missing_skips_the_row(monkeypatch) -> None:
    monkeypatch.setattr(calls.shutil, "which", lambda name: None)
    assert calls.node_call_costs(repeat=1) is None
    assert calls.node_version() is None


def test_the_export_look_ups_are_medians_of_many_samples_even_at_one_run() -> None:
    # One sample of a 2 ms look-up is at the mercy of one busy moment: the growth figure read
    # anything from 7.5x to 13.6x, run after run, with one sample at the larger count.
    from benchmarks import exports

    times = exports.lookup_times((10, 20), runs=1)
    for per in times.values():
        assert len(per["typed_run"]) == len(per["linker"]) >= 15
        assert len(per["example"]) == len(per["example_floor"]) >= 5


def test_a_timed_look_up_runs_without_the_collector_and_leaves_it_as_it_was() -> None:
    import gc

    from benchmarks import exports

    seen: list[bool] = []
    assert exports._seconds(lambda: seen.append(gc.isenabled())) >= 0
    assert seen == [False] and gc.isenabled()
