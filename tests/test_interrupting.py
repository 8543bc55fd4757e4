"""In-process: deadlines, fuel, the Stop button and Ctrl-C end a guest cleanly.

Every test that runs an endless guest also arms a watchdog that stops it, so a
regression fails the test instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import pytest
import wasmtime

from earlyexit_tutorial import (
    Example,
    ExitedEarly,
    HostFailure,
    Interrupted,
    OtherError,
    Returned,
    interruptible_config,
    run_guarded,
)
from earlyexit_tutorial.interrupting.guard import GuardedCall
from earlyexit_tutorial.interrupting.stopper import Stopper

# Spins forever when x == 0; otherwise calls early_exit and, if the host lets
# it go on, returns x + y. One instance can therefore spin or exit.
SPIN_WHEN_ZERO = """
(module
  (import "env" "early_exit" (func $early_exit))
  (func (export "run") (param $x i32) (param $y i32) (result i32)
    (if (i32.eqz (local.get $x)) (then (loop br 0)))
    call $early_exit
    local.get $x
    local.get $y
    i32.add))
"""

ENDLESS = (
    '(module (import "env" "early_exit" (func))'
    ' (func (export "run") (param i32 i32) (result i32) (loop br 0) i32.const 0))'
)

WATCHDOG = 10.0  # seconds; only reached when interrupting is broken
SLACK = 2.0  # scheduling slack on a loaded 2-core machine, where the issue fixes no number


def call_interruptibly(call, store, stopper, **limits):
    """`call` under the guard, as Example.run makes it: run_guarded around a GuardedCall."""
    return run_guarded(GuardedCall(store, stopper, **limits), call)


@pytest.fixture
def ex():
    return Example(SPIN_WHEN_ZERO)


@contextlib.contextmanager
def watchdog(example: Example, after: float = WATCHDOG):
    """Stop the example's guest after `after` seconds; report whether it had to."""
    fired = threading.Event()

    def fire():
        fired.set()
        example.stopper.stop()

    timer = threading.Timer(after, fire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()
    assert not fired.is_set(), "the watchdog had to stop the guest: interrupting did not work"


def wakeup_fd() -> int:
    """The current signal wakeup fd (read by setting and restoring it; main thread only)."""
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd


def signal_state():
    return signal.getsignal(signal.SIGINT), wakeup_fd()


def assert_usable(example: Example) -> None:
    """The example still answers a normal call with the right outcome, on every host behaviour."""
    outcome = example.run(1, 7)
    assert isinstance(outcome, ExitedEarly), outcome
    assert outcome.code == 1
    assert outcome.message == "Exited early with exit code: 1"
    example.set_host("return")
    try:
        assert example.run(2, 3) == Returned(5)
    finally:
        example.set_host("exit")


# --- deadline ---------------------------------------------------------------------------


def test_deadline_interrupts_an_endless_guest(ex):
    with watchdog(ex):
        start = time.monotonic()
        outcome = ex.run(0, 7, timeout=0.2)
        elapsed = time.monotonic() - start
    assert isinstance(outcome, Interrupted), outcome
    assert outcome.reason == "deadline"
    assert outcome.timeout == 0.2
    assert outcome.message == "Interrupted: the guest ran past its 0.2 s deadline"
    assert "0.2 s deadline" in outcome.message
    assert isinstance(outcome.error, wasmtime.Trap)
    assert outcome.error.trap_code == wasmtime.TrapCode.INTERRUPT
    assert 0.2 <= elapsed < 0.2 + SLACK
    assert_usable(ex)


def test_deadline_does_not_cut_a_call_that_finishes(ex):
    assert isinstance(ex.run(1, 7, timeout=0.2), ExitedEarly)
    time.sleep(0.3)  # past the old deadline: nothing fires late
    assert isinstance(ex.run(1, 7, timeout=0.2), ExitedEarly)


# --- fuel -------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [1000, 1, 12_345])
def test_fuel_budget_interrupts_an_endless_guest(ex, budget):
    with watchdog(ex):
        outcome = ex.run(0, 7, fuel=budget, timeout=None)
    assert isinstance(outcome, Interrupted), outcome
    assert outcome.reason == "fuel"
    assert outcome.error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
    # wasmtime traps when the budget is spent and reports 0 fuel left: the
    # whole budget is consumed, exactly.
    assert ex.store.get_fuel() == 0
    assert outcome.fuel_consumed == budget
    unit = "unit" if budget == 1 else "units"
    assert outcome.message == f"Interrupted: the guest ran out of fuel after {budget} {unit}"
    assert_usable(ex)


def test_zero_fuel_stops_at_once(ex):
    outcome = ex.run(1, 7, fuel=0)
    assert isinstance(outcome, Interrupted) and outcome.reason == "fuel"
    assert outcome.fuel_consumed == 0
    assert_usable(ex)


def test_fuel_is_deterministic():
    budget = 10_000
    consumed = []
    for _ in range(2):  # two fresh examples ...
        example = Example(SPIN_WHEN_ZERO)
        for _ in range(5):  # ... called five times each
            assert isinstance(example.run(1, 7, fuel=budget), ExitedEarly)
            consumed.append(budget - example.store.get_fuel())
            outcome = example.run(0, 7, fuel=budget, timeout=None)
            assert outcome.reason == "fuel" and outcome.fuel_consumed == budget
    assert len(set(consumed)) == 1, consumed
    assert 0 < consumed[0] < budget


def test_fuel_and_deadline_together_whichever_comes_first(ex):
    # A small budget ends an endless guest long before a generous deadline.
    outcome = ex.run(0, 7, fuel=1000, timeout=5)
    assert outcome.reason == "fuel"
    # A huge budget lets the deadline end it.
    with watchdog(ex):
        outcome = ex.run(0, 7, fuel=2**62, timeout=0.2)
    assert outcome.reason == "deadline"


# --- the Stop button --------------------------------------------------------------------


def test_stop_from_another_thread_while_main_thread_runs(ex):
    with watchdog(ex):
        stopper = threading.Timer(0.2, ex.stop)
        start = time.monotonic()  # before the timer starts, so elapsed >= 0.2 holds
        stopper.start()
        outcome = ex.run(0, 7, timeout=None)
        elapsed = time.monotonic() - start
        stopper.join()
    assert isinstance(outcome, Interrupted), outcome
    assert outcome.reason == "stop"
    assert outcome.message == "Interrupted: stopped by the Stop button"
    assert outcome.error.trap_code == wasmtime.TrapCode.INTERRUPT
    assert 0.2 <= elapsed < 0.2 + SLACK
    assert_usable(ex)


def test_stop_while_a_worker_thread_runs(ex):
    # The widget's case: the call runs off the main thread, the button press on it.
    outcomes = []
    runner = threading.Thread(target=lambda: outcomes.append(ex.run(0, 7, timeout=None)), daemon=True)
    with watchdog(ex):
        runner.start()
        time.sleep(0.2)
        assert runner.is_alive(), "the endless guest returned on its own"
        ex.stop()
        runner.join(SLACK)
        assert not runner.is_alive(), "stop() did not end the guest"
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], Interrupted) and outcomes[0].reason == "stop"
    assert_usable(ex)


def test_stop_when_nothing_runs_does_no_harm(ex):
    ex.stop()
    ex.stop()
    assert_usable(ex)
    # ... and the reason of the stale stop does not leak into the next interruption.
    ex.stop()
    with watchdog(ex):
        outcome = ex.run(0, 7, timeout=0.2)
    assert outcome.reason == "deadline"


def test_interruptions_repeat_on_one_example(ex):
    with watchdog(ex, after=30):
        for _ in range(5):
            assert ex.run(0, 7, timeout=0.05).reason == "deadline"
            assert ex.run(0, 7, fuel=500).reason == "fuel"
            threading.Timer(0.05, ex.stop).start()
            assert ex.run(0, 7, timeout=None).reason == "stop"
            assert isinstance(ex.run(1, 7), ExitedEarly)


def test_examples_do_not_stop_each_other():
    # Each Example owns its engine, so one's stop() leaves another's guest alone.
    a, b = Example(SPIN_WHEN_ZERO), Example(SPIN_WHEN_ZERO)
    with watchdog(a), watchdog(b):
        threading.Timer(0.1, a.stop).start()
        outcome = b.run(0, 7, timeout=0.4)
    assert outcome.reason == "deadline"


# --- Ctrl-C / the kernel's interrupt ----------------------------------------------------


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_sigint_to_the_main_thread_interrupts_the_guest(python_sigint_handler, ex):
    assert threading.current_thread() is threading.main_thread()
    before = signal_state()
    sent = []

    def send():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    with watchdog(ex):
        timer = threading.Timer(0.3, send)
        timer.start()
        try:
            outcome = ex.run(0, 7, timeout=None)
        except KeyboardInterrupt:
            pytest.fail("KeyboardInterrupt escaped from Example.run")
        returned = time.monotonic()
        timer.join()
    assert isinstance(outcome, Interrupted), outcome
    assert outcome.reason == "ctrl-c"
    assert outcome.message == "Interrupted: stopped by a keyboard interrupt (Ctrl-C or the kernel's stop button)"
    assert outcome.error.trap_code == wasmtime.TrapCode.INTERRUPT
    assert returned - sent[0] < 1.0
    assert signal_state() == before
    assert_usable(ex)


# --- call_interruptibly restores what it touched ------------------------------------------


def test_restores_signal_state_after_interruptions_and_failures(ex):
    before = signal_state()
    handler = before[0]

    assert ex.run(0, 7, timeout=0.1).reason == "deadline"
    assert signal.getsignal(signal.SIGINT) is handler
    assert ex.run(0, 7, fuel=100).reason == "fuel"
    assert signal.getsignal(signal.SIGINT) is handler
    threading.Timer(0.1, ex.stop).start()
    assert ex.run(0, 7, timeout=None).reason == "stop"
    assert signal.getsignal(signal.SIGINT) is handler

    # The host function failing.
    ex.set_host("error")
    outcome = ex.run(1, 7)
    ex.set_host("exit")
    assert isinstance(outcome, OtherError) and isinstance(outcome.error, HostFailure)
    assert signal.getsignal(signal.SIGINT) is handler

    # The call itself raising, even a BaseException.
    engine = wasmtime.Engine(interruptible_config())
    store = wasmtime.Store(engine)
    for error in (RuntimeError("boom"), KeyboardInterrupt(), SystemExit(3)):

        def call(error=error):
            raise error

        outcome = call_interruptibly(call, store, Stopper(engine), timeout=1)
        assert isinstance(outcome, OtherError) and outcome.error is error
        assert signal.getsignal(signal.SIGINT) is handler

    # Rejected limits: nothing is started, nothing changes.
    for bad, error in (
        (dict(timeout=0), ValueError),
        (dict(timeout=-1), ValueError),
        (dict(fuel=-1), ValueError),
        (dict(timeout="1"), TypeError),
    ):
        with pytest.raises(error):
            call_interruptibly(lambda: Returned(0), store, Stopper(engine), **bad)
        assert signal.getsignal(signal.SIGINT) is handler

    assert signal_state() == before


def test_huge_or_infinite_timeout_never_crashes_or_leaks_a_guest(ex):
    # "No deadline to speak of": either rejected up front with a clear error,
    # or accepted and the guest still stoppable. Never an OverflowError from
    # deep inside threading with the guest left running.
    for timeout in (float("inf"), 1e300):
        with watchdog(ex):
            threading.Timer(0.2, ex.stop).start()
            try:
                outcome = ex.run(0, 7, timeout=timeout)
            except ValueError:
                time.sleep(0.3)  # let the timer's stop() land while nothing runs
                continue
        assert isinstance(outcome, Interrupted) and outcome.reason == "stop", outcome
        assert_usable(ex)


# --- one call at a time per Example ------------------------------------------------------


def test_a_second_call_while_one_runs_is_refused_clearly(ex):
    # A Stop panel runs the guest in a background thread; a cell calling the same
    # Example meanwhile would use one store from two threads, which can crash the kernel.
    from earlyexit_tutorial import ExampleBusy

    results = []
    background = threading.Thread(target=lambda: results.append(ex.run(0, 7, timeout=5)))
    with watchdog(ex):
        background.start()
        deadline = time.monotonic() + 5
        while not ex._busy.locked() and time.monotonic() < deadline:
            time.sleep(0.005)
        with pytest.raises(ExampleBusy, match="already running a call"):
            ex.run(1, 7)
        ex.stop()
        background.join(5)
    assert not background.is_alive()
    assert results[0].reason == "stop"
    assert_usable(ex)  # once the first call is over, calls work again


def test_a_host_function_that_calls_run_again_gets_a_clear_failure(ex):
    from earlyexit_tutorial import ExampleBusy

    def reentrant_host() -> None:
        ex.run(1, 7)

    ex.host = reentrant_host
    outcome = ex.run(1, 7)
    assert isinstance(outcome, OtherError) and isinstance(outcome.error, ExampleBusy), outcome
    ex.set_host("exit")
    assert_usable(ex)


def test_a_stop_while_a_call_is_starting_stops_that_call(ex):
    # The Stop panel enables Stop as soon as Start is pressed, before the background
    # call has set its epoch deadline; a Stop pressed in that moment must not be lost.
    ex.stopper.starting()
    ex.stop()
    start = time.monotonic()
    with watchdog(ex):
        outcome = call_interruptibly(lambda: ex.typed_run(ex.store, 0, 7), ex.store, ex.stopper, timeout=5)
    assert isinstance(outcome, Interrupted) and outcome.reason == "stop", outcome
    assert time.monotonic() - start < 1  # at once, not at the 5 s deadline


def test_a_stop_while_idle_does_not_touch_the_next_call(ex):
    ex.stop()  # nothing runs: pressing Stop now means nothing
    assert isinstance(ex.run(1, 7), ExitedEarly)
    ex.stopper.stop("kernel")
    outcome = ex.run(0, 7, timeout=0.2)
    assert outcome.reason == "deadline", outcome


def test_a_refused_call_leaves_no_stop_waiting_for_the_next_one(ex):
    # A bad timeout is refused before the call counts as starting, so an idle Stop
    # pressed afterwards cannot interrupt a later call made straight through the Stopper.
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        ex.run(1, 7, timeout=-1)
    ex.stop()  # idle: means nothing
    outcome = call_interruptibly(lambda: ex.typed_run(ex.store, 0, 7) and None, ex.store, ex.stopper, timeout=0.2)
    assert isinstance(outcome, Interrupted) and outcome.reason == "deadline", outcome


def test_ctrl_c_is_named_for_what_a_terminal_user_presses_and_the_old_name_still_reads():
    from earlyexit_tutorial.interrupting.stopper import Reason

    assert str(Reason.CTRL_C) == "ctrl-c"
    assert Reason("kernel") is Reason.CTRL_C  # the value it had before
    assert Reason.KERNEL is Reason.CTRL_C  # and the member's old name
    assert [reason.name for reason in Reason] == ["DEADLINE", "STOP", "CTRL_C", "FUEL"]
    with pytest.raises(ValueError):
        Reason("sigint")
