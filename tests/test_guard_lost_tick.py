"""A stop whose epoch tick the guest never saw still ends its call: the watcher moves the epoch again.

A store's epoch callback lets a running call go on, and wasmtime then sets the
store's next deadline from the epoch as it is by then. A stop's tick that lands
between the two is folded into that deadline: the stopped guest would spin on,
its call never ending. Seen as a hung request about once in a few hundred runs of
notebook 04's server cell. Here the lost tick is made on purpose: the stop's own
increment does nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
import wasmtime

from earlyexit_tutorial import Reason, guard, interruptible_engine
from earlyexit_tutorial.interrupting import _watcher

SPIN = '(module (func (export "spin") (loop br 0)))'


def spinning_store() -> tuple[wasmtime.Store, wasmtime.Func]:
    engine = interruptible_engine()
    store = wasmtime.Store(engine)
    spin = wasmtime.Instance(store, wasmtime.Module(engine, SPIN), []).exports(store)["spin"]
    return store, spin  # type: ignore[return-value]


def lose_the_next_tick(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the next engine.increment_epoch() do nothing, as if a callback had taken it; return when it was lost."""
    real = wasmtime.Engine.increment_epoch
    lost: list[float] = []

    def increment(engine: wasmtime.Engine) -> None:
        if not lost:
            lost.append(time.monotonic())
            return
        real(engine)

    monkeypatch.setattr(wasmtime.Engine, "increment_epoch", increment)
    return lost


@pytest.mark.parametrize("stop", ["call.stop()", "deadline"])
def test_a_stop_whose_tick_was_lost_still_ends_the_call_within_moments(monkeypatch, stop: str) -> None:
    store, spin = spinning_store()
    call = guard(store, timeout=0.3 if stop == "deadline" else None)
    # Without the nudge the call would spin for ever: the rescue ends it, late, and the test fails on the time.
    rescue = threading.Timer(10, wasmtime.Engine.increment_epoch, args=(store.engine,))
    rescue.daemon = True
    lost = lose_the_next_tick(monkeypatch)  # nothing else moves this engine's epoch before the stop
    if stop == "call.stop()":
        threading.Timer(0.1, call.stop).start()
    rescue.start()
    with pytest.raises(wasmtime.Trap) as trap, call:
        spin(store)
    ended = time.monotonic()
    rescue.cancel()
    assert trap.value.trap_code == wasmtime.TrapCode.INTERRUPT
    assert call.reason is (Reason.STOP if stop == "call.stop()" else Reason.DEADLINE)
    assert len(lost) == 1
    assert ended - lost[0] < 1  # made again within milliseconds (5 ms after the stop, here)


def test_a_stopped_call_gets_no_more_nudges_once_it_has_ended() -> None:
    store, spin = spinning_store()
    call = guard(store, timeout=None)
    threading.Timer(0.05, call.stop).start()
    with pytest.raises(wasmtime.Trap), call:
        spin(store)
    time.sleep(_watcher.NUDGE_FIRST * 4)  # the nudge that was due finds the call over, and forgets it
    assert call not in _watcher.WATCHER._nudges


def test_a_stop_next_to_a_neighbours_deadline_tick_always_ends_its_call() -> None:
    # The race for real: a neighbour's deadline ticks the epoch, and the stop comes a moment later,
    # then nothing moves the epoch again. Before the nudge, about one trial in thirty ran on to its own
    # 3 s deadline, and now and then one spun for ever (both ticks folded away).
    engine = interruptible_engine()
    module = wasmtime.Module(engine, SPIN)
    slow = []
    for trial in range(150):
        stores = [wasmtime.Store(engine) for _ in range(2)]
        spins = [wasmtime.Instance(store, module, []).exports(store)["spin"] for store in stores]
        stopped, neighbour = guard(stores[0], timeout=3), guard(stores[1], timeout=0.02)
        ready = threading.Barrier(3)

        def run(call, store, spin, ready=ready) -> None:
            ready.wait()
            with contextlib.suppress(wasmtime.Trap), call:
                spin(store)

        threads = [
            threading.Thread(target=run, args=args) for args in zip((stopped, neighbour), stores, spins, strict=True)
        ]
        for thread in threads:
            thread.start()
        ready.wait()
        time.sleep(0.02)  # the neighbour's deadline tick lands about now
        start = time.monotonic()
        stopped.stop()
        threads[0].join(10)
        took = time.monotonic() - start
        threads[1].join(10)
        assert not threads[0].is_alive(), f"trial {trial}: the stopped call never ended"
        if stopped.reason is not Reason.STOP or took > 1:
            slow.append((trial, stopped.reason, round(took, 2)))
    assert slow == []
