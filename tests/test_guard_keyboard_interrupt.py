"""Ctrl-C under guard() is KeyboardInterrupt, wherever the main thread is; your own host functions are left at once.

Each scenario runs in a child process with Python's own SIGINT handler (as in a
terminal) and prints one line per trial; a hang is caught by faulthandler.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not hasattr(__import__("signal"), "pthread_kill"), reason="sends SIGINT to a thread")

PRELUDE = textwrap.dedent(
    """
    import faulthandler, os, signal, sys, threading, time
    faulthandler.dump_traceback_later(50, exit=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even in a background job
    import wasmtime
    from earlyexit_tutorial import guard, interruptible_engine
    MAIN = threading.get_ident()
    engine = interruptible_engine()
    store = wasmtime.Store(engine)

    def ctrl_c_after(delay):
        timer = threading.Timer(delay, signal.pthread_kill, args=(MAIN, signal.SIGINT))
        timer.start()
        return timer

    def host_guest(host):
        # A guest that calls a plain wasmtime.Func host once, then returns at once: no epoch check after it.
        ty = wasmtime.FuncType([], [])
        module = wasmtime.Module(engine, '(module (import "" "host" (func $h)) (func (export "run") (call $h)))')
        return wasmtime.Instance(store, module, [wasmtime.Func(store, ty, host)]).exports(store)["run"]

    SPIN = '(module (func (export "spin") (loop br 0)))'
    spin = wasmtime.Instance(store, wasmtime.Module(engine, SPIN), []).exports(store)["spin"]
    with guard(store):  # the first guard loads what the guard needs
        pass
    """
)


def child(body: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == "", done.stderr[-3000:]
    return done.stdout.splitlines()


def test_ctrl_c_in_a_sleeping_block_raises_at_once_five_times() -> None:
    lines = child(
        """
        for _ in range(5):
            ctrl_c_after(0.1)
            start = time.monotonic()
            try:
                with guard(store, timeout=None) as call:
                    time.sleep(4)
                print("BAD the sleep ran its course")
            except KeyboardInterrupt:
                late = time.monotonic() - start - 0.1
                print("ok" if late < 1.0 else f"BAD {late:.2f} s late", call.reason)
        """
    )
    assert lines == ["ok ctrl-c"] * 5


def test_a_retry_loop_that_catches_trap_around_guarded_calls_stops_on_ctrl_c() -> None:
    lines = child(
        """
        ctrl_c_after(0.3)
        start, retries = time.monotonic(), 0
        try:
            while time.monotonic() - start < 5:
                try:
                    with guard(store, timeout=0.05):
                        spin(store)
                except wasmtime.Trap:
                    retries += 1  # a deadline: try again
            print("BAD the loop ran five seconds")
        except KeyboardInterrupt:
            print("stopped", retries > 0, time.monotonic() - start < 2)
        """
    )
    assert lines == ["stopped True True"]


def test_deadlines_stops_and_fuel_stay_wasmtime_traps() -> None:
    lines = child(
        """
        with guard(store):
            pass
        for name, limits in (("deadline", dict(timeout=0.05)), ("fuel", dict(fuel=1000))):
            try:
                with guard(store, **limits) as call:
                    spin(store)
            except wasmtime.Trap as trap:
                print(name, call.reason, trap.trap_code.name)
        call = guard(store, timeout=None)
        threading.Timer(0.05, call.stop).start()
        try:
            with call:
                spin(store)
        except wasmtime.Trap as trap:
            print("stop", call.reason, trap.trap_code.name)
        """
    )
    assert lines == ["deadline deadline INTERRUPT", "fuel fuel OUT_OF_FUEL", "stop stop INTERRUPT"]


@pytest.mark.parametrize("stop", ["deadline", "stop", "ctrl-c"])
@pytest.mark.parametrize("host", ["sleeps", "waits"])
def test_your_own_host_function_is_left_within_a_second(stop: str, host: str) -> None:
    # A plain wasmtime.Func that sleeps 5 s, or waits on an Event that nobody sets.
    lines = child(
        f"""
        forever = threading.Event()
        def sleeps():
            time.sleep(5)
        def waits():
            forever.wait()
        run = host_guest({host})
        stop = {stop!r}
        call = guard(store, timeout=0.5 if stop == "deadline" else None)
        if stop == "stop":
            threading.Timer(0.5, call.stop).start()
        elif stop == "ctrl-c":
            ctrl_c_after(0.5)
        start = time.monotonic()
        try:
            with call:
                run(store)
            outcome = "returned"
        except KeyboardInterrupt:
            outcome = "KeyboardInterrupt"
        except wasmtime.Trap as trap:
            outcome = f"Trap {{trap.trap_code.name}}"
        took = time.monotonic() - start
        print(outcome, call.reason, "within a second" if took < 1.5 else f"after {{took:.1f}} s")
        """
    )
    expected = {
        "deadline": "Trap INTERRUPT deadline",
        "stop": "Trap INTERRUPT stop",
        "ctrl-c": "KeyboardInterrupt ctrl-c",
    }[stop]
    assert lines == [f"{expected} within a second"]


def test_off_the_main_thread_your_host_function_ends_the_call_when_it_returns() -> None:
    lines = child(
        """
        def sleeps():
            time.sleep(0.6)
        run = host_guest(sleeps)
        out = []
        def worker():
            start = time.monotonic()
            with guard(store, timeout=0.1) as call:
                run(store)  # returns right after the host: no epoch check to trap at
            out.append((call.reason, time.monotonic() - start >= 0.6))
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        print(*out[0])
        """
    )
    assert lines == ["deadline True"]


def test_the_handler_never_raises_in_wasmtimes_trampoline_glue() -> None:
    # What handler_place protects: a host function whose code belongs to ctypes or wasmtime-py is
    # the trampoline's own glue (as `ctypes.cast` is, called by the trampoline after a host raised):
    # a KeyboardInterrupt raised there would escape the trampoline into C and crash the process.
    lines = child(
        """
        from earlyexit_tutorial.interrupting import _signals
        seen = {}
        def capture():
            seen["place"] = _signals.handler_place(sys._getframe(), seen["block"])
        glue = {"__name__": "ctypes", "capture": capture, "sys": sys}
        exec("def like_ctypes():\\n    capture()", glue)
        for name, host in (("host", capture), ("glue", glue["like_ctypes"])):
            run = host_guest(host)
            seen["block"] = sys._getframe()
            run(store)
            print(name, seen["place"])
        seen["block"] = sys._getframe(); capture(); print("block", seen["place"])
        """
    )
    assert lines == ["host host", "glue glue", "block block"]


def test_ctrl_c_in_a_start_function_that_loops_through_the_host_is_start_stopped_never_a_second_interrupt():
    # The start function spends its time in the tutorial's host (which returns): most Ctrl-Cs
    # land in wasmtime-py's glue around it, and the call ends when the host raises the stop.
    # That raise is the Ctrl-C's delivery: leaving the guard must not raise it again.
    lines = child(
        """
        from earlyexit_tutorial import Example, StartStopped
        LOOP = '''(module (import "env" "early_exit" (func $e)) (func $s (loop $l (call $e) (br $l)))
                  (start $s) (func (export "run") (param i32 i32) (result i32) (local.get 0)))'''
        for delay in (0.05, 0.1, 0.2, 0.3, 0.5):
            timer = ctrl_c_after(delay)
            try:
                Example(LOOP, behaviour="return", timeout=None)
                print("BAD it finished")
            except StartStopped as stopped:
                print("start stopped:", stopped.reason)
            except KeyboardInterrupt:
                print("BAD a KeyboardInterrupt instead of StartStopped")
            timer.join()
        """
    )
    assert lines == ["start stopped: ctrl-c"] * 5


def test_a_deadline_sends_our_wake_signal_only_to_a_host_function_never_to_a_guest_running_wasm() -> None:
    # POSIX merges a pending SIGINT with the next: a wake signal sent for every stop
    # (20 a second in a loop of 0.05 s deadlines) would swallow a Ctrl-C pressed then.
    lines = child(
        """
        from earlyexit_tutorial.interrupting import _signals
        sent = []
        send = _signals._sigint_to_main_thread
        _signals._sigint_to_main_thread = lambda: (sent.append(1), send())
        for _ in range(20):
            try:
                with guard(store, timeout=0.02):
                    spin(store)
            except wasmtime.Trap:
                pass
        print("spinning guest:", len(sent))
        sent.clear()
        sleeper = host_guest(lambda: time.sleep(3))
        start = time.monotonic()
        try:
            with guard(store, timeout=0.05):
                sleeper(store)
        except wasmtime.Trap:
            pass
        late = time.monotonic() - start
        print("sleeping host:", len(sent), "ok" if late < 1.0 else f"BAD {late:.2f} s")
        """
    )
    assert lines == ["spinning guest: 0", "sleeping host: 1 ok"]
