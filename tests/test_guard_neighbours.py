"""A stop ends only its own call: two threads, two stores on one engine, each call under its own guard().

Call A loops forever and is stopped by its deadline, by `call.stop()` or by a
Ctrl-C on the main thread; call B, on another thread and another store of the
same engine, counts to a number it needs some tens of milliseconds for. B must
come back with its count and `reason` None every time. Then the fallback (no
per-store callback: the engine's epoch alone) is forced, and shown to stop B too.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import wasmtime

from earlyexit_tutorial import Reason, guard, interruptible_engine
from earlyexit_tutorial._support import _epoch_callback
from earlyexit_tutorial.interrupting._stores import stopper_for

TRIALS = 20

GUEST = """
(module
  (func (export "spin") (loop br 0))
  (func (export "count") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))
"""

pytestmark = pytest.mark.skipif(
    not _epoch_callback.available(), reason="wasmtime outside the callback's tested versions"
)


class Pair:
    """Two stores on one engine, one module compiled once: A spins, B counts."""

    def __init__(self) -> None:
        self.engine = interruptible_engine()
        module = wasmtime.Module(self.engine, GUEST)
        self.a, self.b = wasmtime.Store(self.engine), wasmtime.Store(self.engine)
        self.spin = wasmtime.Instance(self.a, module, []).exports(self.a)["spin"]
        self.count = wasmtime.Instance(self.b, module, []).exports(self.b)["count"]
        self.n = self._calibrate()

    def _calibrate(self) -> int:
        """A count that takes B about 80 ms."""
        n = 2_000_000
        with guard(self.b, timeout=60):
            start = time.perf_counter()
            self.count(self.b, n)
            took = time.perf_counter() - start
        return max(1000, int(n * 0.08 / max(took, 1e-6)))


def run_b(pair: Pair, started: threading.Event, result: dict) -> None:
    """B's call on its own thread: its count, or what cut it short."""
    try:
        with guard(pair.b, timeout=60) as call:
            started.set()
            result["value"] = pair.count(pair.b, pair.n)
    except BaseException as error:  # noqa: BLE001 - the test reports whatever came out
        result["error"] = error
    result["reason"] = call.reason


def neighbour_of(pair: Pair, stop_a) -> dict:
    """Run B on a thread while A runs on this one and `stop_a` stops it; return B's result and A's reason."""
    started, result = threading.Event(), {}
    worker = threading.Thread(target=run_b, args=(pair, started, result))
    worker.start()
    assert started.wait(10)
    a_reason, a_error = stop_a(pair)
    worker.join(30)
    assert not worker.is_alive(), "B never came back"
    return {**result, "a_reason": a_reason, "a_error": a_error}


def a_by_deadline(pair: Pair):
    with pytest.raises(wasmtime.Trap) as trap, guard(pair.a, timeout=0.01) as call:
        pair.spin(pair.a)
    return call.reason, trap.value


def a_by_stop(pair: Pair):
    call = guard(pair.a, timeout=None)
    timer = threading.Timer(0.01, call.stop)
    timer.start()
    with pytest.raises(wasmtime.Trap) as trap, call:
        pair.spin(pair.a)
    timer.join()
    return call.reason, trap.value


def a_by_ctrl_c(pair: Pair):
    main = threading.get_ident()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        timer = threading.Timer(0.01, signal.pthread_kill, args=(main, signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt) as interrupt, guard(pair.a, timeout=None) as call:
            pair.spin(pair.a)
        timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    return call.reason, interrupt.value


@pytest.mark.parametrize(
    ("stop_a", "reason"),
    [(a_by_deadline, Reason.DEADLINE), (a_by_stop, Reason.STOP), (a_by_ctrl_c, Reason.CTRL_C)],
    ids=["deadline", "stop", "ctrl-c"],
)
def test_stopping_one_call_leaves_its_neighbour_on_the_same_engine_running(stop_a, reason: Reason) -> None:
    if stop_a is a_by_ctrl_c and not hasattr(signal, "pthread_kill"):
        pytest.skip("sends SIGINT to the main thread with pthread_kill")
    pair = Pair()
    cut_short = []
    for _ in range(TRIALS):
        got = neighbour_of(pair, stop_a)
        assert got["a_reason"] is reason
        if "error" in got or got["reason"] is not None or got.get("value") != pair.n:
            cut_short.append(got)
    assert cut_short == []


def test_a_ctrl_c_is_raised_from_the_trap_that_stopped_the_guest() -> None:
    if not hasattr(signal, "pthread_kill"):
        pytest.skip("sends SIGINT to the main thread with pthread_kill")
    reason, interrupt = a_by_ctrl_c(Pair())
    assert reason is Reason.CTRL_C
    assert isinstance(interrupt, KeyboardInterrupt)
    assert isinstance(interrupt.__cause__, wasmtime.Trap)
    assert interrupt.__cause__.trap_code == wasmtime.TrapCode.INTERRUPT


def test_the_stoppers_own_stop_still_stops_every_call_on_its_engine() -> None:
    pair = Pair()

    def a_by_stopper(pair: Pair):
        timer = threading.Timer(0.01, stopper_for(pair.a).stop)
        timer.start()
        with pytest.raises(wasmtime.Trap), guard(pair.a, timeout=None) as call:
            pair.spin(pair.a)
        timer.join()
        return call.reason, None

    got = neighbour_of(pair, a_by_stopper)
    assert got["a_reason"] is Reason.STOP
    assert got["reason"] is Reason.STOP
    assert got["error"].trap_code == wasmtime.TrapCode.INTERRUPT


def test_without_the_callback_a_stop_moves_the_engines_epoch_and_stops_the_neighbour_too(monkeypatch) -> None:
    # The fallback, for wasmtime versions the callback was not tested on: today's engine-wide stop.
    monkeypatch.setattr(_epoch_callback, "ENABLED", False)
    pair = Pair()  # new stores: no gate installed
    got = neighbour_of(pair, a_by_deadline)
    assert got["a_reason"] is Reason.DEADLINE
    assert isinstance(got["error"], wasmtime.Trap)
    assert got["error"].trap_code == wasmtime.TrapCode.INTERRUPT
    assert got["reason"] is Reason.DEADLINE  # told why, though its own deadline was far off


def test_a_store_once_guarded_still_traps_at_a_deadline_of_its_own_outside_the_guard() -> None:
    # The callback stays on the store; outside a guarded call it traps, as wasmtime would without one.
    pair = Pair()
    pair.b.set_fuel(10**12)
    pair.a.set_fuel(10**12)
    pair.a.set_epoch_deadline(1)
    timer = threading.Timer(0.05, pair.engine.increment_epoch)
    timer.start()
    with pytest.raises(wasmtime.Trap) as trap:
        pair.spin(pair.a)
    timer.join()
    assert trap.value.trap_code == wasmtime.TrapCode.INTERRUPT


@pytest.mark.skipif(os.name != "posix", reason="the gate's number is dropped with its store")
def test_a_stores_gate_goes_with_the_store() -> None:
    import gc

    before = len(_epoch_callback._GATES)
    for _ in range(50):
        store = wasmtime.Store(interruptible_engine())
        with guard(store):
            pass
    del store
    gc.collect()
    assert len(_epoch_callback._GATES) <= before + 1
