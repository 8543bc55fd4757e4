"""How long a guest that loops forever takes to give control back once interrupted."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import wasmtime

from earlyexit_tutorial import Example, Interrupted
from earlyexit_tutorial.interrupting.guard import Reason

# Calls the host once (so the host knows the guest started), then spins.
ENDLESS_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (func (export "run") (param i32 i32) (result i32)
    call $early_exit
    (loop br 0)
    i32.const 0))
"""

# How long the guest spins before it is interrupted, and how long one try may
# take before the benchmark gives up on it.
SPIN = 0.002
PATIENCE = 5.0


def epoch_latencies(tries: int = 20) -> list[float]:
    """Seconds from engine.increment_epoch() to the Trap caught in Python, plain wasmtime."""
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    started = threading.Event()
    host = wasmtime.Func(store, wasmtime.FuncType([], []), started.set)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, ENDLESS_WAT), [host])
    run = instance.exports(store)["run"]
    latencies = []
    for _ in range(tries):
        started.clear()
        store.set_epoch_deadline(1)
        caught: list[float] = []

        def spin(caught: list[float]) -> None:
            try:
                run(store, 1, 7)
            except wasmtime.Trap:
                caught.append(time.perf_counter())

        worker = threading.Thread(target=spin, args=(caught,), daemon=True)
        worker.start()
        start = _after_spin(started)
        engine.increment_epoch()
        worker.join(PATIENCE)
        latencies.append(_latency(start, caught, "increment_epoch"))
    return latencies


def stop_latencies(tries: int = 20) -> list[float]:
    """Seconds from Example.stop() to Example.run returning Interrupted("stop")."""
    example, started = _endless_example()
    latencies = []
    for _ in range(tries):
        started.clear()
        returned: list[float] = []

        def call(returned: list[float]) -> None:
            outcome = example.run(1, 7, timeout=PATIENCE)
            if isinstance(outcome, Interrupted) and outcome.reason is Reason.STOP:
                returned.append(time.perf_counter())

        worker = threading.Thread(target=call, args=(returned,), daemon=True)
        worker.start()
        start = _after_spin(started)
        example.stop()
        worker.join(PATIENCE * 2)
        latencies.append(_latency(start, returned, "Example.stop()"))
    return latencies


def sigint_latencies(tries: int = 20) -> list[float] | None:
    """Seconds from SIGINT sent to this process to Example.run returning Interrupted("kernel")."""
    # This is what the kernel's stop button does: SIGINT to the whole process
    # while a cell runs in the main thread. It needs Python's own handler.
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    example, started = _endless_example()
    latencies = []
    for _ in range(tries):
        started.clear()
        sent: list[float] = []

        def interrupt(sent: list[float]) -> None:
            # The host function runs inside Example.run's guard, so once it has
            # been called a SIGINT is the guard's to handle.
            if started.wait(PATIENCE):
                time.sleep(SPIN)
                sent.append(time.perf_counter())
                os.kill(os.getpid(), signal.SIGINT)

        sender = threading.Thread(target=interrupt, args=(sent,), daemon=True)
        sender.start()
        try:
            outcome = example.run(1, 7, timeout=PATIENCE)
            returned = time.perf_counter()
        except KeyboardInterrupt:
            # It arrived before run() could catch it: stop the guest, count a miss.
            example.stop()
            raise RuntimeError("SIGINT escaped Example.run") from None
        finally:
            sender.join(PATIENCE)
        if not (isinstance(outcome, Interrupted) and outcome.reason is Reason.KERNEL) or not sent:
            raise RuntimeError(f"SIGINT did not interrupt the guest: {outcome!r}")
        latencies.append(returned - sent[0])
    return latencies


def _endless_example() -> tuple[Example, threading.Event]:
    """An Example running the endless guest, whose host function says when it has started."""
    example = Example(ENDLESS_WAT, behaviour="return")
    started = threading.Event()
    # The guest's env.early_exit calls example.host() each time it runs.
    example.host = started.set
    return example, started


def _after_spin(started: threading.Event) -> float:
    """Wait until the guest runs, let it spin a moment, and return the time."""
    if not started.wait(PATIENCE):
        raise RuntimeError("the guest did not start")
    time.sleep(SPIN)
    return time.perf_counter()


def _latency(start: float, ends: list[float], what: str) -> float:
    if not ends:
        raise RuntimeError(f"{what} did not stop the guest within {PATIENCE} s")
    return ends[0] - start


LATENCY_ROWS: dict[str, Callable[[int], list[float] | None]] = {
    "engine.increment_epoch() (plain wasmtime)": epoch_latencies,
    "Example.stop() (Stop button)": stop_latencies,
    "SIGINT to the process (kernel interrupt)": sigint_latencies,
}
