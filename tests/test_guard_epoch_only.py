"""The guard on an engine with epoch interruption and no fuel metering: every stop works, a budget is refused."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import wasmtime

from earlyexit_tutorial import Example, ExitCode, ExitedEarly, NotInterruptible, Reason, guard, interruptible_engine
from earlyexit_tutorial.interrupting.engines import check_interruptible, interruptible_config

# `outer` calls the host `h` once per loop turn, forever; `spin` loops forever; `add` returns at once.
GUEST = """
(module
  (import "" "h" (func $h))
  (func (export "outer") (loop (call $h) (br 0)))
  (func (export "spin") (loop br 0))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
"""


def epoch_only_by_hand() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.epoch_interruption = True
    return wasmtime.Engine(config)


ENGINES = {"interruptible_engine(fuel=False)": lambda: interruptible_engine(fuel=False), "by hand": epoch_only_by_hand}


class Guest:
    """The guest on a store of `engine`, its host `h` doing whatever `self.host` says."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self.store = wasmtime.Store(engine)
        self.host = lambda: None
        func = wasmtime.Func(self.store, wasmtime.FuncType([], []), lambda: self.host())
        exports = wasmtime.Instance(self.store, wasmtime.Module(engine, GUEST), [func]).exports(self.store)
        self.outer, self.spin, self.add = exports["outer"], exports["spin"], exports["add"]


@pytest.fixture(params=list(ENGINES), ids=list(ENGINES))
def guest(request: pytest.FixtureRequest) -> Guest:
    return Guest(ENGINES[request.param]())


def test_an_engine_without_fuel_is_interruptible_and_says_it_meters_none() -> None:
    assert check_interruptible(interruptible_engine(fuel=False)) is False
    assert check_interruptible(epoch_only_by_hand()) is False
    assert check_interruptible(interruptible_engine()) is True
    with pytest.raises(TypeError, match="^fuel must be True or False, got str 'no'$"):
        interruptible_config(fuel="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^fuel must be True or False, got int 0$"):
        interruptible_engine(fuel=0)  # type: ignore[arg-type]


def test_a_call_returns_and_a_deadline_stops_a_spinning_guest(guest: Guest) -> None:
    with guard(guest.store, timeout=5) as call:
        assert guest.add(guest.store, 2, 3) == 5
    assert call.reason is None
    start = time.monotonic()
    with pytest.raises(wasmtime.Trap) as trap, guard(guest.store, timeout=0.2) as call:
        guest.spin(guest.store)
    assert time.monotonic() - start < 3
    assert (call.reason, trap.value.trap_code) == (Reason.DEADLINE, wasmtime.TrapCode.INTERRUPT)


def test_a_stop_from_another_thread_stops_the_call(guest: Guest) -> None:
    call = guard(guest.store, timeout=None)
    threading.Timer(0.1, call.stop).start()
    with pytest.raises(wasmtime.Trap), call:
        guest.spin(guest.store)
    assert call.reason is Reason.STOP


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signal handlers: main thread")
def test_ctrl_c_stops_the_call_as_keyboard_interrupt(guest: Guest) -> None:
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        pytest.skip("SIGINT is ignored here (a background job): the guard leaves it alone")
    threading.Timer(0.1, signal.raise_signal, args=(signal.SIGINT,)).start()
    with pytest.raises(KeyboardInterrupt), guard(guest.store, timeout=10) as call:
        guest.spin(guest.store)
    assert call.reason is Reason.CTRL_C


def test_a_fuel_budget_is_refused_at_once_and_the_store_stays_usable(guest: Guest) -> None:
    with pytest.raises(NotInterruptible, match="does not meter fuel, so a budget of 1000 could not be kept") as refused:
        guard(guest.store, fuel=1000)
    assert isinstance(refused.value, ValueError)
    with guard(guest.store, timeout=5, fuel=None):
        assert guest.add(guest.store, 1, 1) == 2


def test_after_a_nested_guard_the_outer_call_runs_on_until_its_own_deadline(guest: Guest) -> None:
    # The inner guard, in the outer call's host function, hands the store back to the outer
    # call as it was: open to the epoch moved by a neighbour's stop, closed at its own deadline.
    inner_calls: list = []

    def host() -> None:
        if inner_calls:
            return  # one inner call, at the start: the outer call runs on as it left it
        with guard(guest.store, timeout=None) as inner:
            guest.add(guest.store, 1, 2)
        inner_calls.append(inner.reason)

    guest.host = host
    neighbour = Guest(guest.store.engine)
    neighbour_call = guard(neighbour.store, timeout=None)

    def neighbour_runs() -> None:
        with pytest.raises(wasmtime.Trap), neighbour_call:
            neighbour.spin(neighbour.store)

    thread = threading.Thread(target=neighbour_runs)
    thread.start()
    threading.Timer(0.15, neighbour_call.stop).start()  # moves the engine's epoch under the outer call
    start = time.monotonic()
    with pytest.raises(wasmtime.Trap), guard(guest.store, timeout=0.6) as call:
        guest.outer(guest.store)
    took = time.monotonic() - start
    thread.join(5)
    assert neighbour_call.reason is Reason.STOP
    assert call.reason is Reason.DEADLINE
    assert 0.5 < took < 5
    assert inner_calls == [None]


def test_an_example_on_it_runs_and_refuses_a_fuel_budget_per_call() -> None:
    example = Example(engine=interruptible_engine(fuel=False))
    assert example.run(1, 7) == ExitedEarly(ExitCode(1))
    with pytest.raises(NotInterruptible, match="does not meter fuel"):
        example.run(1, 7, fuel=100)
    assert not example.busy
    assert example.run(1, 7) == ExitedEarly(ExitCode(1))
    with pytest.raises(NotInterruptible, match="does not meter fuel"):
        Example(engine=example.engine, fuel=100)  # a budget for the start function: refused too
