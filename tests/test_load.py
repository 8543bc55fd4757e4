"""Notebook 04's server and load run, headless: every request gets its own outcome, nothing is cut short by a
neighbour, pools of processes answer, Ctrl-C stops a retry loop and a load run, and the panel fills in."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import signal
import threading
import time
from pathlib import Path

import pytest
import wasmtime

from earlyexit_tutorial import GuestServer, Request, describe_outcome, guard, load_panel, run_load, serve_in_process
from earlyexit_tutorial.aids import load
from earlyexit_tutorial.aids.server import MEMORY_LIMIT_PAGES, SERVER_WAT

NB04 = Path(__file__).resolve().parents[1] / "notebooks" / "04-guests-in-a-real-program.ipynb"
LONG_WORK = 400_000_000  # loop steps: a few tenths of a second of wasm, longer than any stop below


@pytest.fixture(scope="module")
def server() -> GuestServer:
    return GuestServer()


def test_the_notebooks_plain_server_guest_is_the_packages() -> None:
    cells = ["".join(c["source"]) for c in json.loads(NB04.read_text())["cells"] if c["cell_type"] == "code"]
    namespace: dict = {}
    exec(next(source for source in cells if "SERVER_WAT = " in source), namespace)
    assert namespace["SERVER_WAT"] == SERVER_WAT


@pytest.mark.parametrize(
    ("request_", "label"),
    [
        (Request("work", 10), "returned 45"),
        (Request("work", 100_000), "returned 704982704"),  # 4999950000 wrapped to an i32
        (Request("exit", 7), "exited early 7"),
        (Request("spin", timeout=0.05), "stopped: deadline"),
        (Request("grow"), f"returned {MEMORY_LIMIT_PAGES}"),
    ],
    ids=repr,
)
def test_each_kind_of_request_gets_the_outcome_it_expects(server, request_, label) -> None:
    assert request_.expected == label
    assert describe_outcome(server.handle(request_)) == label


def test_a_request_stopped_before_it_starts_starts_stopped(server) -> None:
    request = Request("spin", timeout=None)
    request.stop()
    assert describe_outcome(server.handle(request)) == "stopped: stop" == request.expected


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((3,), TypeError, "kind must be a str"),
        (("jump",), ValueError, "kind must be one of work, exit, spin, grow, got 'jump'"),
        (("work", 1.5), TypeError, "arg must be an int, got float"),
        (("work", True), TypeError, "arg must be an int, got bool"),
        (("work", -1), ValueError, "arg must be in 0..2147483647, got -1"),
        (("work", 2**31), ValueError, "arg must be in 0..2147483647, got 2147483648"),
    ],
)
def test_a_bad_request_is_refused_with_one_clear_line(args, error, message) -> None:
    with pytest.raises(error, match=message):
        Request(*args)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(requests=0), ValueError, "requests must be at least 1, got 0"),
        (dict(requests=2.0), TypeError, "requests must be an int, got float"),
        (dict(requests=10, looping=-0.1), ValueError, "looping must be from 0 to 1, got -0.1"),
        (dict(requests=10, growing="a lot"), TypeError, "growing must be a number from 0 to 1, got str"),
        (dict(requests=10, looping=0.6, growing=0.6), ValueError, "looping \\+ growing must be at most 1"),
    ],
)
def test_a_bad_plan_is_refused_with_one_clear_line(kwargs, error, message) -> None:
    requests = kwargs.pop("requests")
    with pytest.raises(error, match=message):
        load.plan(requests, **kwargs)


def test_a_plan_has_its_shares_and_the_same_order_every_time() -> None:
    made = load.plan(200, looping=0.1, growing=0.25)
    kinds = [r.kind for r in made]
    assert (kinds.count("spin"), kinds.count("grow"), kinds.count("work"), kinds.count("exit")) == (20, 50, 65, 65)
    assert [repr(r) for r in load.plan(200, looping=0.1, growing=0.25)] == [repr(r) for r in made]
    assert len({r.arg for r in made if r.kind == "exit"}) == 65, "each early exit has a code of its own"


def test_a_percentile_is_a_measured_latency_of_the_requests_that_do_not_loop() -> None:
    served = [load.Served(Request("work", 1), None, seconds) for seconds in (0.4, 0.1, 0.3, 0.2)]  # type: ignore[arg-type]
    served.append(load.Served(Request("spin", timeout=0.05), None, 9.0))  # type: ignore[arg-type]
    report = load.LoadReport(2, tuple(served), 1.0)
    assert (report.latency(50), report.latency(99), report.latency(0)) == (0.2, 0.4, 0.1)
    assert report.throughput == 5.0


def test_a_load_of_nothing_but_looping_guests_has_no_latency_and_says_so(server) -> None:
    report = run_load(load.plan(4, looping=1, growing=0), threads=4, server=server)
    assert report.count("spin") == (4, 4)
    assert dict(report.rows())["p99 latency"] == "n/a"


def test_a_load_run_gives_every_request_its_own_outcome_and_cuts_none_short() -> None:
    report = run_load(load.plan(400, looping=0.05, growing=0.1), threads=4)
    wrong = [(s.request, s.label) for s in report.served if s.label != s.request.expected]
    assert (report.wrong, report.cut_short) == (0, 0), wrong[:10]
    assert len(report.served) == 400
    assert report.counts().splitlines()[:3] == [
        "requests served: 400",
        "wrong outcomes: 0",
        "calls cut short by a neighbour: 0",
    ]


@pytest.mark.parametrize("stop_kind", ["deadline", "stop"])
def test_a_request_stopped_next_to_running_neighbours_ends_alone(server, stop_kind) -> None:
    for _ in range(5):
        neighbours = [Request("work", LONG_WORK), Request("work", LONG_WORK - 1)]
        stopped = Request("spin", timeout=0.05 if stop_kind == "deadline" else None)
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(server.handle, r) for r in neighbours]
            for request in neighbours:
                request.started.wait(10)
            mine = pool.submit(server.handle, stopped)
            stopped.started.wait(10)
            if stop_kind == "stop":
                time.sleep(0.05)
                stopped.stop()
            assert describe_outcome(mine.result(timeout=10)) == f"stopped: {stop_kind}"
            labels = [describe_outcome(f.result(timeout=30)) for f in futures]
        assert labels == [r.expected for r in neighbours]


def test_outcomes_never_cross_threads_through_the_server(server) -> None:
    def exits(code: int) -> list[str]:
        requests = [Request("exit", code) for _ in range(2000)]
        return [describe_outcome(server.handle(r)) for r in requests]

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = dict(zip([1, 2, 3], pool.map(exits, [1, 2, 3]), strict=True))
    crossed = {code: sum(label != f"exited early {code}" for label in labels) for code, labels in results.items()}
    assert crossed == {1: 0, 2: 0, 3: 0}


@pytest.mark.parametrize("method", [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()])
def test_a_process_pool_serves_requests_within_seconds(server, method) -> None:
    # The server fixture has compiled in this process: a forked child must cope with that.
    jobs = [("work", 10), ("exit", 4), ("spin", 0), ("grow", 0)]
    with multiprocessing.get_context(method).Pool(2) as pool:
        answers = pool.starmap_async(serve_in_process, jobs).get(timeout=30)
    assert answers == ["returned 45", "exited early 4", "stopped: deadline", f"returned {MEMORY_LIMIT_PAGES}"]


def test_ctrl_c_stops_a_loop_of_guarded_calls_that_retries_every_trap(server, python_sigint_handler) -> None:
    store = wasmtime.Store(server.engine)
    spin = server.linker.instantiate(store, server.module).exports(store)["spin"]
    timer = threading.Timer(0.2, signal.raise_signal, args=(signal.SIGINT,))
    bound = time.monotonic() + 5
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            while time.monotonic() < bound:
                try:
                    with guard(store, timeout=0.05):
                        spin(store, 0)
                except wasmtime.Trap:
                    pass
    finally:
        timer.cancel()
    assert time.monotonic() < bound, "the loop ran to its bound: Ctrl-C was lost"


def test_ctrl_c_while_a_load_run_waits_stops_every_request_and_leaves_nothing_running(server) -> None:
    endless = [Request("spin", timeout=None) for _ in range(3)] + [Request("work", 10) for _ in range(30)]

    def ctrl_c(done: int, total: int) -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_load(endless, threads=4, server=server, progress=ctrl_c)
    assert time.monotonic() - started < 10
    assert all(r.started.is_set() for r in endless[:3]), "the endless requests ran first and were stopped"


def test_the_panel_shows_the_bar_full_then_the_table_and_runs_again(monkeypatch, close_panels) -> None:
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    report = load_panel(60, threads=2, looping=0.1, growing=0.1)
    (box,) = shown
    bar, table, again = box.children
    assert (bar.value, bar.max) == (60, 60)
    assert "wrong outcomes" in table.value and "p99 latency" in table.value
    assert report.counts().startswith("requests served: 60\n")
    first = table.value
    assert not again.disabled
    again.click()
    deadline = time.monotonic() + 30
    while (again.disabled or table.value == first) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not again.disabled and table.value != first and bar.value == 60


def test_the_panel_refuses_a_bad_value_before_it_shows_anything(monkeypatch) -> None:
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        load_panel(10, threads=0)
    assert shown == []


def test_the_load_benchmark_prints_its_figures_and_meets_its_targets(capsys) -> None:
    from benchmarks import load as load_benchmark

    status = load_benchmark.main(["--quick", "--requests", "60", "--threads", "3"])
    printed = capsys.readouterr().out
    for what in ("throughput", "p50 latency", "p99 latency", "wrong outcomes", "calls cut short by a neighbour"):
        assert what in printed
    assert "requests                        60" in printed
    assert status == 0, printed


def test_the_load_benchmark_refuses_a_bad_flag_with_one_line(capsys) -> None:
    from benchmarks import load as load_benchmark

    with pytest.raises(SystemExit) as exit_:
        load_benchmark.main(["--looping", "2"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith("looping must be from 0 to 1, got 2.0")
