"""A deadline or Stop that comes while a host function runs ends the call: the guest never runs on.

A sleeping host on the main thread is left at once; any other host function
at the latest when it returns into the guest. The outcome is Interrupted with
the reason that fired, never Returned, and never "ctrl-c" for a deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from earlyexit_tutorial import Example, ExitedEarly, Interrupted, Returned
from earlyexit_tutorial.aids.endless import LOOPING_WAT

ROOT = Path(__file__).resolve().parents[1]
SLACK = 1.0  # "within 1 s", on a loaded machine


def sleeping_example(seconds: float) -> Example:
    """An Example whose early_exit sleeps, then lets the guest go on to return x + y."""
    example = Example(behaviour="return")
    example.host = lambda: time.sleep(seconds)
    return example


def busy_example(seconds: float) -> Example:
    """An Example whose early_exit keeps the thread busy (no sleep, no system call to cut short)."""
    example = Example(behaviour="return")

    def busy() -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass

    example.host = busy
    return example


def assert_usable(example: Example) -> None:
    example.set_host("exit")
    assert isinstance(example.run(1, 7), ExitedEarly)
    example.set_host("return")
    assert example.run(1, 7) == Returned(8)


def test_a_deadline_leaves_a_sleeping_host_at_once(python_sigint_handler: None) -> None:
    # Our handler is swapped in only over a SIGINT that is not ignored, as in a terminal.
    example = sleeping_example(4)
    start = time.monotonic()
    outcome = example.run(1, 7, timeout=0.5)
    elapsed = time.monotonic() - start
    assert isinstance(outcome, Interrupted), outcome  # was Returned(value=8), after 4 s
    assert outcome.reason == "deadline"
    assert outcome.message == "Interrupted: the guest ran past its 0.5 s deadline"
    assert 0.5 <= elapsed < 0.5 + SLACK
    assert_usable(example)


def test_stop_leaves_a_sleeping_host_at_once(python_sigint_handler: None) -> None:
    # Our handler is swapped in only over a SIGINT that is not ignored, as in a terminal.
    example = sleeping_example(4)
    start = time.monotonic()  # before the timer starts, so elapsed >= 0.3 holds
    threading.Timer(0.3, example.stop).start()
    outcome = example.run(1, 7, timeout=None)
    elapsed = time.monotonic() - start
    assert isinstance(outcome, Interrupted) and outcome.reason == "stop", outcome
    assert 0.3 <= elapsed < 0.3 + SLACK
    assert_usable(example)


def test_a_busy_host_ends_the_call_when_it_returns_at_the_latest() -> None:
    example = busy_example(0.8)
    start = time.monotonic()
    outcome = example.run(1, 7, timeout=0.2)
    elapsed = time.monotonic() - start
    assert isinstance(outcome, Interrupted) and outcome.reason == "deadline", outcome
    assert elapsed < 0.8 + SLACK
    assert_usable(example)


def test_off_the_main_thread_a_sleeping_host_ends_the_call_when_it_returns() -> None:
    example = sleeping_example(0.6)
    outcomes: list = []
    worker = threading.Thread(target=lambda: outcomes.append(example.run(1, 7, timeout=0.2)))
    start = time.monotonic()
    worker.start()
    worker.join(10)
    elapsed = time.monotonic() - start
    assert outcomes and isinstance(outcomes[0], Interrupted), outcomes
    assert outcomes[0].reason == "deadline"
    assert elapsed < 0.6 + SLACK
    assert_usable(example)


def test_off_the_main_thread_stop_during_a_busy_host_is_never_returned() -> None:
    example = busy_example(0.5)
    outcomes: list = []
    worker = threading.Thread(target=lambda: outcomes.append(example.run(1, 7, timeout=None)))
    worker.start()
    time.sleep(0.2)
    example.stop()
    worker.join(10)
    assert outcomes and isinstance(outcomes[0], Interrupted) and outcomes[0].reason == "stop", outcomes


def test_stopping_the_outer_example_stops_the_one_running_in_its_host() -> None:
    outer = Example(behaviour="return")
    inner = Example(LOOPING_WAT)
    inner_outcomes: list = []
    # The inner deadline only ends the test should the outer stop be lost.
    outer.host = lambda: inner_outcomes.append(inner.run(0, 0, timeout=5))
    start = time.monotonic()
    threading.Timer(0.3, outer.stop).start()
    outcome = outer.run(1, 7, timeout=None)
    elapsed = time.monotonic() - start
    assert isinstance(outcome, Interrupted) and outcome.reason == "stop", outcome  # had no effect before
    assert [o.reason for o in inner_outcomes] == ["stop"]
    assert elapsed < 0.3 + SLACK
    assert_usable(outer)
    assert inner.run(1, 7).message == "Exited early with exit code: 1"


def test_the_outer_deadline_ends_an_endless_example_in_its_host() -> None:
    outer = Example(behaviour="return")
    inner = Example(LOOPING_WAT)
    outer.host = lambda: inner.run(0, 0, timeout=5)  # only reached should the outer deadline be lost
    start = time.monotonic()
    outcome = outer.run(1, 7, timeout=0.3)
    assert isinstance(outcome, Interrupted) and outcome.reason == "deadline", outcome
    assert time.monotonic() - start < 0.3 + SLACK


def test_the_inner_deadline_stops_only_the_inner_example() -> None:
    outer = Example(behaviour="return")
    inner = sleeping_example(4)
    inner_outcomes: list = []
    outer.host = lambda: inner_outcomes.append(inner.run(1, 7, timeout=0.2))
    outcome = outer.run(1, 7, timeout=None)
    assert [o.reason for o in inner_outcomes] == ["deadline"]
    assert outcome == Returned(8)  # the outer call was not stopped: it goes on and returns


# Many short deadlines and Stops landing while a host sleeps or works, at random moments, in a
# child: every call must end Interrupted with its own reason, and no stray KeyboardInterrupt,
# traceback or "Exception ignored" may follow, before or after the guard restores the handler.
STRESS_CHILD = textwrap.dedent(
    r"""
    import faulthandler, random, signal, sys, threading, time
    faulthandler.dump_traceback_later(60, exit=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from earlyexit_tutorial import Example, Interrupted
    rng = random.Random(int(sys.argv[1]))
    example = Example(behaviour="return")
    for i in range(int(sys.argv[2])):
        nap = rng.uniform(0.0, 0.03)
        in_host = threading.Event()
        if i % 2:
            def host(nap=nap):
                in_host.set()
                time.sleep(nap + 0.5)
        else:
            def host(nap=nap):
                in_host.set()
                end = time.monotonic() + nap + 0.3
                while time.monotonic() < end:
                    pass
        example.host = host
        if i % 3 == 2:
            def stop_in_host(nap=nap, in_host=in_host):
                in_host.wait(10)
                time.sleep(nap)
                example.stop()
            threading.Thread(target=stop_in_host).start()
            want, outcome = "stop", example.run(1, 7, timeout=None)
        else:
            want, outcome = "deadline", example.run(1, 7, timeout=nap + 0.001)
        time.sleep(0.002)  # a late KeyboardInterrupt would land here
        ok = isinstance(outcome, Interrupted) and outcome.reason == want
        print("ok" if ok else f"BAD {want}: {outcome!r}", flush=True)
    example.set_host("exit")
    time.sleep(0.1)
    print(example.run(1, 7).message, flush=True)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="runs the child as the tests do on POSIX")
def test_deadlines_and_stops_at_random_moments_in_a_host_end_cleanly() -> None:
    import random

    trials = 40
    seed = random.randrange(2**32)
    print(f"seed {seed}")
    done = subprocess.run(
        [sys.executable, "-c", STRESS_CHILD, str(seed), str(trials)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["ok"] * trials + ["Exited early with exit code: 1"]


def test_an_example_started_in_the_host_of_a_stopped_call_begins_stopped() -> None:
    # Off the main thread nothing cuts the host short: once its call is stopped, a guest
    # it starts would otherwise keep the stopped call waiting until its own deadline.
    outer = Example(behaviour="return")
    inner = Example(LOOPING_WAT)
    inner_outcomes: list = []

    def host() -> None:
        outer.stop()
        inner_outcomes.append(inner.run(0, 0, timeout=5))

    outer.host = host
    outcomes: list = []
    start = time.monotonic()
    worker = threading.Thread(target=lambda: outcomes.append(outer.run(1, 7, timeout=None)))
    worker.start()
    worker.join(10)
    assert [o.reason for o in inner_outcomes] == ["stop"]
    assert [o.reason for o in outcomes] == ["stop"]
    assert time.monotonic() - start < SLACK
