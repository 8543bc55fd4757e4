"""guard(store): the learner's own call into wasm, ended by a deadline, fuel, stop() or Ctrl-C; what it refuses.

Every test that runs an endless guest arms a watchdog that moves the engine's
epoch, so a regression fails the test instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import wasmtime

from earlyexit_tutorial import Example, NotInterruptible, Reason, guard, interruptible_config, interruptible_engine

ROOT = Path(__file__).resolve().parents[1]
TRIALS = 25

# `spin` loops forever; `add` returns at once.
GUEST = """
(module
  (func (export "spin") (loop br 0))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
"""


def learner_store(engine: wasmtime.Engine | None = None) -> tuple[wasmtime.Store, wasmtime.Func, wasmtime.Func]:
    """A store of the learner's own, with their own module: (store, spin, add)."""
    engine = engine or interruptible_engine()
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, wasmtime.Module(engine, GUEST), []).exports(store)
    return store, exports["spin"], exports["add"]  # type: ignore[return-value]


@contextlib.contextmanager
def watchdog(engine: wasmtime.Engine, after: float = 10.0):
    """Move the engine's epoch after `after` seconds, so a broken guard fails instead of hanging."""
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        engine.increment_epoch()

    timer = threading.Timer(after, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
    assert not fired.is_set(), "the watchdog had to stop the guest: the guard did not"


def test_guard_and_the_interruptible_engine_are_top_level_names() -> None:
    import earlyexit_tutorial

    assert {"guard", "interruptible_engine", "interruptible_config"} <= set(earlyexit_tutorial.__all__)


def test_a_deadline_ends_the_learners_own_call() -> None:
    store, spin, _ = learner_store()
    with watchdog(store.engine):
        start = time.monotonic()
        with pytest.raises(wasmtime.Trap) as trap, guard(store, timeout=0.2) as call:
            spin(store)
        elapsed = time.monotonic() - start
    assert call.reason is Reason.DEADLINE
    assert trap.value.trap_code == wasmtime.TrapCode.INTERRUPT  # wasmtime's own trap, unchanged
    assert 0.2 <= elapsed < 1.2


def test_a_fuel_budget_ends_the_learners_own_call() -> None:
    store, spin, _ = learner_store()
    with watchdog(store.engine), pytest.raises(wasmtime.Trap) as trap, guard(store, timeout=None, fuel=5_000) as call:
        spin(store)
    assert trap.value.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
    assert call.reason is Reason.FUEL
    assert store.get_fuel() == 0


def test_stop_from_another_thread_ends_the_learners_own_call() -> None:
    store, spin, _ = learner_store()
    with watchdog(store.engine), pytest.raises(wasmtime.Trap), guard(store, timeout=None) as call:
        threading.Timer(0.2, call.stop).start()
        spin(store)
    assert call.reason is Reason.STOP


def test_a_call_that_returns_has_no_reason_and_keeps_its_value() -> None:
    store, _, add = learner_store()
    with guard(store) as call:
        assert add(store, 3, 4) == 7
    assert call.reason is None


def test_many_guarded_calls_on_one_store_each_end_their_own_way() -> None:
    store, spin, add = learner_store()
    with watchdog(store.engine, after=30):
        for _ in range(10):
            with pytest.raises(wasmtime.Trap), guard(store, timeout=0.02) as call:
                spin(store)
            assert call.reason is Reason.DEADLINE
            with pytest.raises(wasmtime.Trap), guard(store, fuel=300) as call:
                spin(store)
            assert call.reason is Reason.FUEL  # the out-of-fuel trap left the block
            with pytest.raises(wasmtime.Trap), guard(store, timeout=None) as call:
                threading.Timer(0.02, call.stop).start()
                spin(store)
            assert call.reason is Reason.STOP
            with guard(store) as call:
                assert add(store, 1, 7) == 8
            assert call.reason is None


def test_a_stop_before_the_call_begins_stops_it_at_once() -> None:
    store, spin, _ = learner_store()
    call = guard(store, timeout=5)
    call.stop()
    start = time.monotonic()
    with watchdog(store.engine), pytest.raises(wasmtime.Trap), call:
        spin(store)
    assert call.reason is Reason.STOP
    assert time.monotonic() - start < 1  # not at the 5 s deadline


def test_a_stop_after_the_call_touches_nothing() -> None:
    store, spin, add = learner_store()
    with guard(store) as call:
        add(store, 1, 2)
    call.stop()
    assert call.reason is None
    with guard(store, timeout=0.1) as later, pytest.raises(wasmtime.Trap):
        spin(store)
    assert later.reason is Reason.DEADLINE


def test_one_guard_serves_one_call() -> None:
    store, _, add = learner_store()
    call = guard(store)
    with call:
        add(store, 1, 2)
    with pytest.raises(RuntimeError, match="a guard serves one call"), call:
        pass


def test_guard_uses_the_examples_own_stopper() -> None:
    # One Stopper per engine: the Example's Stop button stops a guard() call on its store.
    from earlyexit_tutorial.aids.endless import LOOPING_WAT

    example = Example(LOOPING_WAT)
    call = guard(example.store, timeout=None)
    assert call.stopper is example.stopper
    with watchdog(example.engine), pytest.raises(wasmtime.Trap), call:
        threading.Timer(0.2, example.stop).start()
        example.typed_run(example.store, 0, 0)
    assert call.reason is Reason.STOP


# --- what guard() refuses ---------------------------------------------------------------


def fuel_only() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    return wasmtime.Engine(config)


@pytest.mark.parametrize(
    "make_store, words",
    [
        (lambda: wasmtime.Store(), "has no epoch interruption"),
        (lambda: wasmtime.Store(wasmtime.Engine()), "has no epoch interruption"),
        (lambda: wasmtime.Store(fuel_only()), "has no epoch interruption"),
    ],
    ids=["Store()", "plain Engine", "fuel only"],
)
def test_a_store_the_guard_cannot_stop_is_refused_at_once(make_store, words: str) -> None:
    store = make_store()
    start = time.monotonic()
    with pytest.raises(NotInterruptible, match=words) as refused:
        guard(store)
    assert time.monotonic() - start < 1
    assert isinstance(refused.value, ValueError) and not isinstance(refused.value, wasmtime.WasmtimeError)
    assert "interruptible_engine()" in str(refused.value)


def test_a_store_of_another_engine_than_the_stoppers_is_refused_at_once() -> None:
    # Its stop would move the wrong engine's epoch: the guest would spin for ever, deaf to Ctrl-C.
    from earlyexit_tutorial.interrupting.guard import GuardedCall
    from earlyexit_tutorial.interrupting.stopper import Stopper

    store, _, _ = learner_store()
    other = Stopper(interruptible_engine())
    start = time.monotonic()
    with pytest.raises(ValueError, match="this store's engine is not the Stopper's"):
        GuardedCall(store, other)
    assert time.monotonic() - start < 1


def test_guard_needs_a_store() -> None:
    with pytest.raises(TypeError, match="guard\\(\\) needs a wasmtime.Store, got Engine"):
        guard(interruptible_engine())  # type: ignore[arg-type]


def test_an_engine_made_from_interruptible_config_is_accepted() -> None:
    store, _, add = learner_store(wasmtime.Engine(interruptible_config()))
    with guard(store, timeout=1.0) as call:
        assert add(store, 2, 2) == 4
    assert call.reason is None


# --- the timeout and fuel rule ----------------------------------------------------------


@pytest.mark.parametrize("timeout", [math.inf, 10**400, 1e308], ids=repr)
def test_a_timeout_beyond_any_run_means_no_deadline(timeout: object) -> None:
    store, spin, _ = learner_store()
    call = guard(store, timeout=timeout)  # type: ignore[arg-type]
    assert call.timeout is None or call.timeout == 1e308
    with watchdog(store.engine), pytest.raises(wasmtime.Trap), call:
        threading.Timer(0.1, call.stop).start()
        spin(store)
    assert call.reason is Reason.STOP


@pytest.mark.parametrize("timeout", [0, -1, -math.inf, math.nan, -(10**400)], ids=repr)
def test_a_timeout_out_of_range_is_a_value_error(timeout: object) -> None:
    store, _, _ = learner_store()
    with pytest.raises(ValueError, match="^timeout must be a positive number of seconds"):
        guard(store, timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", ["x", True, False, b"1", [1]], ids=repr)
def test_a_timeout_that_is_no_number_is_a_type_error(timeout: object) -> None:
    store, _, _ = learner_store()
    with pytest.raises(TypeError, match="^timeout must be a number of seconds or None"):
        guard(store, timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("fuel", [1.5, "10", True, 10.0], ids=repr)
def test_a_fuel_that_is_no_integer_is_a_type_error(fuel: object) -> None:
    store, _, _ = learner_store()
    with pytest.raises(TypeError, match="^fuel must be an integer or None"):
        guard(store, fuel=fuel)  # type: ignore[arg-type]


@pytest.mark.parametrize("fuel", [-1, 2**63], ids=repr)
def test_a_fuel_out_of_range_is_a_value_error(fuel: int) -> None:
    store, _, _ = learner_store()
    with pytest.raises(ValueError, match=r"^fuel must be an integer in 0\.\.9223372036854775807"):
        guard(store, fuel=fuel)


def test_the_command_line_takes_an_infinite_timeout_as_no_deadline(endless_wat_file: Path) -> None:
    # The same rule on the command line: --timeout inf runs with no deadline (the guest
    # here spins until the fuel budget ends it), never "out of range".
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "earlyexit_tutorial",
            "--module",
            str(endless_wat_file),
            "--timeout",
            "inf",
            "--fuel",
            "100000",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.stdout.splitlines()[-1] == "Interrupted: the guest ran out of fuel after 100000 units", done
    assert done.returncode == 1


# --- Ctrl-C, in a child process ---------------------------------------------------------

CTRL_C_CHILD = r"""
import faulthandler, os, random, signal, sys, threading, time
faulthandler.dump_traceback_later(60, exit=True)  # a lost interrupt shows as a hang: fail loudly instead
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the tests run in the background
import wasmtime
from earlyexit_tutorial import guard, interruptible_engine
engine = interruptible_engine()
store = wasmtime.Store(engine)
exports = wasmtime.Instance(store, wasmtime.Module(engine, sys.argv[3]), []).exports(store)
spin, add = exports["spin"], exports["add"]
with guard(store):  # the first guard loads what the guard needs: not a trial's time
    add(store, 1, 2)
rng = random.Random(int(sys.argv[2]))
for _ in range(int(sys.argv[1])):
    delay = rng.uniform(0.01, 0.06)
    threading.Timer(delay, os.kill, args=(os.getpid(), signal.SIGINT)).start()
    try:
        with guard(store, timeout=None) as call:
            spin(store)
        result = "BAD the spin ended by itself"
    except KeyboardInterrupt as interrupt:
        # Python's own exception, raised from the trap that stopped the guest.
        trap = interrupt.__cause__
        ok = isinstance(trap, wasmtime.Trap) and trap.trap_code == wasmtime.TrapCode.INTERRUPT
        result = f"ok {call.reason}" if ok else f"BAD {interrupt!r} from {trap!r}"
    except wasmtime.Trap as trap:
        result = f"BAD a Trap, not KeyboardInterrupt: {trap}"
    print(result, flush=True)
with guard(store) as call:
    print("after:", add(store, 1, 7), call.reason, flush=True)
"""


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT with os.kill")
def test_ctrl_c_at_random_moments_ends_the_learners_own_call_with_keyboard_interrupt() -> None:
    import random

    seed = random.randrange(2**32)
    print(f"seed {seed}")
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_CHILD, str(TRIALS), str(seed), GUEST],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""  # no traceback, no "Exception ignored"
    assert done.stdout.splitlines() == ["ok ctrl-c"] * TRIALS + ["after: 8 None"]
