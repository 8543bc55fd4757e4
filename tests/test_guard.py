"""The guard around every call into wasm: Ctrl-C at random moments, in a child process.

Each trial sends SIGINT after a short random delay while a guarded call runs:
a start function looping through the host, a spinning guest, a quick guest
called in a loop, the live cost table. Every trial must end with the
`Interrupted` outcome (or the start function's error naming the Ctrl-C, or a
KeyboardInterrupt raised between two calls), never with a signal death, a
traceback, an "Exception ignored" from a ctypes callback, or a lost interrupt.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .helpers import default_sigint

ROOT = Path(__file__).resolve().parents[1]
TRIALS = 40
pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")

START_LOOP_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (func $start (loop $l (call $early_exit) (br $l)))
  (start $start)
  (func (export "run") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
"""

# Runs TRIALS trials of one scenario; prints one line per trial, "ok ..." or "BAD ...".
CHILD = r"""
import faulthandler, os, random, signal, sys, threading
faulthandler.dump_traceback_later(20, exit=True)  # a lost interrupt shows as a hang: fail loudly instead
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the tests run in the background
from earlyexit_tutorial import Example, Interrupted, StartStopped
from earlyexit_tutorial.aids.cost import early_exit_costs
from earlyexit_tutorial.aids.endless import LOOPING_WAT

scenario, trials, seed, start_loop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
spinner = Example(LOOPING_WAT)
quick = Example()

def trial():
    if scenario == "start":
        try:
            Example(start_loop, behaviour="return", timeout=None)
        except StartStopped as error:
            return f"ok start stopped: {error.reason}" if error.reason == "ctrl-c" else f"BAD {error}"
        return "BAD the start function ended by itself"
    if scenario == "spin":
        outcome = spinner.run(0, 0, timeout=None)
        return "ok kernel" if isinstance(outcome, Interrupted) and outcome.reason == "ctrl-c" else f"BAD {outcome!r}"
    if scenario == "loop":
        while True:
            outcome = quick.run(1, 7, timeout=None)
            if isinstance(outcome, Interrupted):
                return "ok kernel" if outcome.reason == "ctrl-c" else f"BAD {outcome!r}"
            if outcome.code != 1:
                return f"BAD {outcome!r}"
    if scenario == "costs":
        while True:
            early_exit_costs(repeat=1, min_time=0.0002)

for i in range(trials):
    sent = threading.Event()
    def interrupt(delay=rng.uniform(0.001, 0.03)):
        threading.Event().wait(delay)
        os.kill(os.getpid(), signal.SIGINT)
        sent.set()
    try:
        try:
            # Inside the try: a Ctrl-C sent at once may land while start() still waits for the thread.
            threading.Thread(target=interrupt, daemon=True).start()
            result = trial()
        except KeyboardInterrupt:
            result = "ok KeyboardInterrupt between calls"
        while not sent.wait(0.01):  # the signal has been sent before the next trial begins ...
            pass
        threading.Event().wait(0.005)  # ... and delivered
    except KeyboardInterrupt:
        result = "BAD a second KeyboardInterrupt: the signal was handled twice or late"
    print(result, flush=True)
# After all that, the guests still answer normally.
print("after:", quick.run(1, 7).message, spinner.run(1, 7).message, flush=True)
"""


def run_child(scenario: str, tmp_path: Path) -> subprocess.CompletedProcess:
    module = tmp_path / "start_loop.wat"
    module.write_text(START_LOOP_WAT)
    seed = random.randrange(2**32)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, scenario, str(TRIALS), str(seed), str(module)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    print(f"seed {seed}")
    return done


@pytest.mark.parametrize("scenario", ["start", "spin", "loop", "costs"])
def test_ctrl_c_at_random_moments_always_ends_the_call_cleanly(scenario: str, tmp_path: Path) -> None:
    done = run_child(scenario, tmp_path)
    assert done.returncode == 0, f"the child died with {done.returncode}: {done.stderr[-2000:]}"
    assert done.stderr == "", done.stderr[-2000:]
    lines = done.stdout.splitlines()
    results = lines[:-1]
    assert len(results) == TRIALS, done.stdout
    assert [line for line in results if not line.startswith("ok")] == []
    if scenario != "costs":  # the cost table is mostly Python: a KeyboardInterrupt there is the answer
        assert any(line != "ok KeyboardInterrupt between calls" for line in results), results
    assert lines[-1] == "after: Exited early with exit code: 1 Exited early with exit code: 1"


def test_ctrl_c_during_a_start_function_through_the_command_line(tmp_path: Path) -> None:
    module = tmp_path / "start_loop.wat"
    module.write_text(START_LOOP_WAT)
    statuses = []
    for _ in range(TRIALS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "earlyexit_tutorial", "--module", str(module), "--host", "return"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            preexec_fn=default_sigint,
        )
        try:
            assert proc.stdout.readline() == "Compiling module...\n"
            assert proc.stdout.readline() == "Instantiating module...\n"
            time.sleep(random.uniform(0.0, 0.03))
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        statuses.append(proc.returncode)
        assert proc.returncode == 130, (proc.returncode, err)
        assert out == ""
        assert "Traceback" not in err and "Exception ignored" not in err, err
        assert len(err.splitlines()) == 1, err
    assert statuses == [130] * TRIALS


def test_a_deadline_stops_a_start_function_that_loops_through_the_host(tmp_path: Path) -> None:
    module = tmp_path / "start_loop.wat"
    module.write_text(START_LOOP_WAT)
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "earlyexit_tutorial", "--module", str(module), "--host", "return", "--timeout", "0.5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    elapsed = time.monotonic() - start
    print(f"--timeout 0.5 on a looping start function: the command line ended after {elapsed:.2f} s")
    assert done.returncode == 2, done
    assert done.stderr == "error: cannot instantiate the module: its start function ran past its 0.5 s deadline\n"
    assert elapsed < 5  # loose: the figure goes in the report; before the guard it took 5-11 s


def test_a_fuel_budget_stops_a_start_function_and_is_named() -> None:
    from earlyexit_tutorial import StartStopped

    with pytest.raises(
        StartStopped,
        match=r"^cannot instantiate the module: its start function ran out of fuel \(its budget was 5000 units\)$",
    ):
        from earlyexit_tutorial import Example

        Example(START_LOOP_WAT, behaviour="return", fuel=5000, timeout=None)


def test_a_budget_of_one_unit_is_said_in_the_singular() -> None:
    from earlyexit_tutorial import Example, StartStopped

    with pytest.raises(StartStopped, match=r"\(its budget was 1 unit\)$"):
        Example(START_LOOP_WAT, behaviour="return", fuel=1, timeout=None)


SLEEPY_HOST_KERNEL = textwrap.dedent(
    """
    import os, signal, threading, time
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the tests ignore SIGINT
    from earlyexit_tutorial import Example, Interrupted
    ex = Example(behaviour="return")
    ex.host = lambda: time.sleep(30)
    threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT)).start()
    start = time.monotonic()
    outcome = ex.run(1, 7, timeout=None)
    print(type(outcome).__name__, outcome.reason)
    late = time.monotonic() - start - 0.3
    print(f"left the sleeping host {late:.3f} s after the Ctrl-C", file=__import__("sys").stderr)
    ex.set_host("exit")
    print(ex.run(1, 7).message)
    """
)


def test_one_ctrl_c_leaves_a_host_function_that_sleeps() -> None:
    # A sleeping host ignores the deadline (no wasm runs to check the epoch); one Ctrl-C ends it.
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SLEEPY_HOST_KERNEL], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    print(done.stderr)
    assert done.stderr.startswith("left the sleeping host ")
    assert done.stdout.splitlines() == ["Interrupted ctrl-c", "Exited early with exit code: 1"]
    assert elapsed < 20  # nowhere near the host's 30 s sleep


def test_a_second_ctrl_c_gets_out_of_a_host_that_swallows_the_first() -> None:
    code = textwrap.dedent(
        """
        import os, signal, threading, time
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the tests ignore SIGINT
        from earlyexit_tutorial import Example, Interrupted
        ex = Example(behaviour="return")
        def stubborn():
            try:
                time.sleep(30)
            except KeyboardInterrupt:
                time.sleep(30)  # the learner's host catches the first one and sleeps again
        ex.host = stubborn
        for delay in (0.3, 0.6):
            threading.Timer(delay, os.kill, args=(os.getpid(), signal.SIGINT)).start()
        outcome = ex.run(1, 7, timeout=None)
        print(type(outcome).__name__, outcome.reason)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Interrupted ctrl-c"]


def test_an_engine_the_guard_cannot_stop_is_refused_at_once() -> None:
    import wasmtime

    from earlyexit_tutorial import NotInterruptible, run_guarded
    from earlyexit_tutorial.interrupting.guard import GuardedCall
    from earlyexit_tutorial.interrupting.stopper import Stopper

    plain = wasmtime.Engine()
    with pytest.raises(NotInterruptible, match="has no epoch interruption"):
        Stopper(plain)
    config = wasmtime.Config()
    config.consume_fuel = True  # fuel, but no epoch interruption: a deadline could not fire
    fuel_only = wasmtime.Engine(config)
    with pytest.raises(NotInterruptible, match="has no epoch interruption"):
        run_guarded(GuardedCall(wasmtime.Store(fuel_only), Stopper(fuel_only), timeout=0.1), lambda: None)


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    code = textwrap.dedent(
        """
        import os, signal, threading
        from earlyexit_tutorial import Example
        from earlyexit_tutorial.aids.endless import LOOPING_WAT
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Timer(0.1, os.kill, args=(os.getpid(), signal.SIGINT)).start()
        print(Example(LOOPING_WAT).run(0, 0, timeout=0.5).reason, signal.getsignal(signal.SIGINT) == signal.SIG_IGN)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout == "deadline True\n", done.stderr


def test_no_thread_per_call_and_the_signal_state_comes_back(monkeypatch) -> None:
    import threading

    from earlyexit_tutorial import Example

    example = Example()
    example.run(1, 7)  # the watcher thread starts on first use
    started = []
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    handler = signal.getsignal(signal.SIGINT)
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    for _ in range(200):
        example.run(1, 7, timeout=5)
    assert started == []  # no thread per call
    assert signal.getsignal(signal.SIGINT) is handler
    assert signal.set_wakeup_fd(wakeup) == wakeup


def test_off_the_main_thread_the_signal_state_is_left_alone_and_deadlines_still_work() -> None:
    import threading

    from earlyexit_tutorial import Example

    from .conftest import ENDLESS_WAT

    example = Example(ENDLESS_WAT)
    outcomes = []
    worker = threading.Thread(target=lambda: outcomes.append(example.run(1, 7, timeout=0.2)))
    worker.start()
    worker.join(10)
    assert outcomes and outcomes[0].reason == "deadline"


def test_a_guarded_call_of_your_own_says_what_stopped_it() -> None:
    import wasmtime

    from earlyexit_tutorial import Example, Reason
    from earlyexit_tutorial.aids.endless import LOOPING_WAT
    from earlyexit_tutorial.interrupting.guard import GuardedCall

    example = Example(LOOPING_WAT)
    guard = GuardedCall(example.store, example.stopper, timeout=0.2)
    with guard, pytest.raises(wasmtime.Trap):
        example.typed_run(example.store, 0, 0)  # spins until the watcher moves the epoch
    assert guard.reason is Reason.DEADLINE
