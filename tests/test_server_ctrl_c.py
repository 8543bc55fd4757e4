"""Ctrl-C stops a thread-pool server: the main thread gets it, and stop_every_call ends the workers' calls."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import wasmtime

from earlyexit_tutorial import NotInterruptible, interruptible_engine, stop_every_call

ROOT = Path(__file__).resolve().parents[1]

# Requests that spin on worker threads until their 20 s deadline, a Ctrl-C on the main thread.
SERVER = textwrap.dedent(
    """
    import concurrent.futures, signal, sys, threading, time
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the tests ignore SIGINT
    from earlyexit_tutorial import GuestServer, Request, describe_outcome, stop_every_call
    server = GuestServer()
    timeout = float(sys.argv[2])
    spinning = [Request("spin", timeout=timeout) for _ in range(3)]
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(server.handle, request) for request in spinning]
        for request in spinning:
            request.started.wait(10)
        threading.Timer(0.2, signal.raise_signal, args=(signal.SIGINT,)).start()
        try:
            while not all(future.done() for future in futures):
                time.sleep(0.05)  # naps, not one long wait: a signal raised on the timer thread wakes no wait of main
            print("no Ctrl-C came")
        except KeyboardInterrupt:
            if sys.argv[1] == "stop":
                stop_every_call(server.engine)
            print("Ctrl-C")
    took = time.monotonic() - start
    print([describe_outcome(future.result()) for future in futures], "before its deadline" if took < timeout else "")
    """
)


def run_server(answer: str, timeout: float) -> list[str]:
    """Run the server; on Ctrl-C it stops every call if `answer` is "stop"; its requests have `timeout`."""
    command = [sys.executable, "-c", SERVER, answer, str(timeout)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def test_on_ctrl_c_stop_every_call_ends_the_workers_calls_at_once() -> None:
    stopped = "['stopped: stop', 'stopped: stop', 'stopped: stop']"
    assert run_server("stop", timeout=20) == ["Ctrl-C", f"{stopped} before its deadline"]


def test_without_it_the_workers_run_on_to_their_own_deadline() -> None:
    # What the recipe is for: the Ctrl-C reached the main thread alone, and leaving the pool waits for them.
    ran_on = "['stopped: deadline', 'stopped: deadline', 'stopped: deadline'] "
    assert run_server("nothing", timeout=2) == ["Ctrl-C", ran_on]


def test_stop_every_call_checks_its_engine_and_is_a_no_op_when_idle() -> None:
    with pytest.raises(TypeError, match="^stop_every_call\\(\\) needs a wasmtime.Engine, got Store$"):
        stop_every_call(wasmtime.Store())  # type: ignore[arg-type]
    with pytest.raises(NotInterruptible):
        stop_every_call(wasmtime.Engine())
    start = time.monotonic()
    stop_every_call(interruptible_engine())
    assert time.monotonic() - start < 1
