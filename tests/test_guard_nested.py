"""Nested guards on one store keep the outer budget; the fuel reason is FUEL wherever its trap is caught.

The nested guard runs in a host function of the outer call, on the same store,
as a learner's host that calls back into its own module would.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
import wasmtime

from earlyexit_tutorial import Example, Reason, guard, interruptible_engine
from earlyexit_tutorial.aids.endless import LOOPING_WAT

# `outer` calls the host `h` once per loop turn, `times` times (0: forever); `work` counts to 1,000;
# `spin` loops forever.
GUEST = """
(module
  (import "" "h" (func $h))
  (func (export "outer") (param $times i32) (local $i i32)
    (loop $l
      (call $h)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.or (i32.eqz (local.get $times)) (i32.lt_u (local.get $i) (local.get $times))))))
  (func (export "work") (local i32)
    (loop (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if 0 (i32.lt_u (local.get 0) (i32.const 1000)))))
  (func (export "spin") (loop br 0)))
"""


class Nest:
    """A store whose host function `h` does whatever `self.host` says (nothing at first)."""

    def __init__(self) -> None:
        self.engine = interruptible_engine()
        self.store = wasmtime.Store(self.engine)
        self.host = lambda: None
        func = wasmtime.Func(self.store, wasmtime.FuncType([], []), lambda: self.host())
        exports = wasmtime.Instance(self.store, wasmtime.Module(self.engine, GUEST), [func]).exports(self.store)
        self.outer, self.work, self.spin = exports["outer"], exports["work"], exports["spin"]
        self.inner_calls: list = []

    def nested(self, export: str, **limits: object) -> None:
        """Make `h` run `export` under a guard of its own on the same store."""

        def host() -> None:
            with guard(self.store, **limits) as inner:  # type: ignore[arg-type]
                getattr(self, export)(self.store)
            self.inner_calls.append(inner)

        self.host = host


def test_a_nested_guard_keeps_the_outer_fuel_budget_and_the_outer_call_stops_for_fuel_at_once() -> None:
    nest = Nest()
    nest.nested("work", timeout=None)  # no fuel budget of its own: it may take only what is left
    start = time.monotonic()
    with pytest.raises(wasmtime.Trap) as trap, guard(nest.store, timeout=None, fuel=100_000) as call:
        nest.outer(nest.store, 0)  # forever, but for the fuel
    assert time.monotonic() - start < 2  # milliseconds in fact: never the hang it was
    assert trap.value.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
    assert call.reason is Reason.FUEL
    assert nest.store.get_fuel() == 0
    assert nest.inner_calls  # the host's guard ran, and gave nothing away


def test_after_a_nested_guard_the_outer_call_has_what_it_had_less_what_both_consumed() -> None:
    plain = Nest()
    with guard(plain.store, fuel=1_000_000):
        plain.outer(plain.store, 3)
    outer_alone = 1_000_000 - plain.store.get_fuel()

    nest = Nest()
    used = []

    def host() -> None:
        with guard(nest.store, fuel=10**9) as inner:
            before = nest.store.get_fuel()
            nest.work(nest.store)
            used.append(before - nest.store.get_fuel())
        assert inner.reason is None

    nest.host = host
    with guard(nest.store, fuel=1_000_000) as call:
        nest.outer(nest.store, 3)
    assert call.reason is None
    assert len(used) == 3 and all(used)
    assert 1_000_000 - nest.store.get_fuel() == outer_alone + sum(used)


def test_an_inner_deadline_never_extends_the_outer_one() -> None:
    nest = Nest()
    nest.nested("spin", timeout=30)
    start = time.monotonic()
    with pytest.raises(wasmtime.Trap), guard(nest.store, timeout=0.3) as call:
        nest.outer(nest.store, 0)
    assert time.monotonic() - start < 3
    assert call.reason is Reason.DEADLINE


def test_an_out_of_fuel_trap_caught_inside_the_block_still_says_fuel() -> None:
    nest = Nest()
    with guard(nest.store, timeout=5, fuel=1_000) as call:
        try:
            nest.spin(nest.store)
        except wasmtime.Trap as trap:
            assert trap.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
    assert call.reason is Reason.FUEL


def test_a_fuel_report_carries_the_deadline_that_applied() -> None:
    outcome = Example(LOOPING_WAT).run(0, 0, timeout=7, fuel=1_000)
    assert outcome.reason == "fuel"
    assert outcome.timeout == 7
    assert outcome.fuel_consumed == 1_000


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signal handlers: main thread")
def test_a_sigint_handler_installed_inside_the_block_is_kept() -> None:
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        pytest.skip("SIGINT is ignored here (a background job): the guard leaves it alone")
    before = signal.getsignal(signal.SIGINT)
    nest = Nest()

    def mine(signum: int, frame: object) -> None:
        pass

    try:
        with guard(nest.store):
            signal.signal(signal.SIGINT, mine)
        assert signal.getsignal(signal.SIGINT) is mine
        with guard(nest.store):  # and the next guarded call swaps around it as around any other
            pass
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, before)
