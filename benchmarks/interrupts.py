"""How long a guest that loops forever takes to give control back once interrupted."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import wasmtime

from earlyexit_tutorial import Example, Interrupted, Reason, guard, interruptible_engine

from .floors import WakeupFloor, export_func

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
    run = export_func(instance, store, "run")
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


def sigint_latencies(tries: int = 20) -> dict[str, list[float]] | None:
    """Seconds from SIGINT sent to this process to control back in Python, per path, tries interleaved.

    The paths: the hand-written floor (a wakeup fd, a socket and a watcher thread),
    `with guard(store):` around a learner's own call, and Example.run. None when
    this is not the main thread or SIGINT is not Python's own handler.
    """
    # This is what the kernel's stop button does: SIGINT to the whole process
    # while a cell runs in the main thread. It needs Python's own handler.
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    guest = _EndlessGuest()
    floor = WakeupFloor(guest.engine)
    example, example_started = _endless_example()
    latencies: dict[str, list[float]] = {"floor": [], "guard": [], "example": []}
    try:
        for _ in range(tries):
            latencies["floor"].append(guest.floor_try(floor))
            latencies["guard"].append(guest.guard_try())
            latencies["example"].append(_example_try(example, example_started))
    finally:
        floor.close()
    return latencies


class _EndlessGuest:
    """The endless guest in plain wasmtime, on an engine of interruptible_engine(), as a learner sets it up."""

    def __init__(self) -> None:
        self.engine = interruptible_engine()
        self.store = wasmtime.Store(self.engine)
        self.started = threading.Event()
        host = wasmtime.Func(self.store, wasmtime.FuncType([], []), self.started.set)
        instance = wasmtime.Instance(self.store, wasmtime.Module(self.engine, ENDLESS_WAT), [host])
        self.run = export_func(instance, self.store, "run")

    def floor_try(self, floor: WakeupFloor) -> float:
        """One Ctrl-C through the hand-written wakeup path."""
        self.started.clear()
        self.store.set_fuel(2**62)
        self.store.set_epoch_deadline(1)
        sent: list[float] = []
        sender = _sender(self.started, sent)
        # If the floor failed, the guest would spin for ever: a late tick ends the try.
        safety = threading.Timer(PATIENCE, self.engine.increment_epoch)
        returned = None
        with floor:
            sender.start()
            safety.start()
            try:
                self.run(self.store, 1, 7)
            except wasmtime.Trap:
                returned = time.perf_counter()
            finally:
                safety.cancel()
        sender.join(PATIENCE)
        if returned is None or not sent or returned - sent[0] >= PATIENCE:
            raise RuntimeError("the hand-written wakeup path did not stop the guest")
        return returned - sent[0]

    def guard_try(self) -> float:
        """One Ctrl-C through `with guard(store):` around the learner's own call."""
        self.started.clear()
        sent: list[float] = []
        sender = _sender(self.started, sent)
        sender.start()
        call = None
        try:
            with guard(self.store, timeout=PATIENCE) as call:
                self.run(self.store, 1, 7)
            raise RuntimeError("the endless guest returned")
        except wasmtime.Trap:  # the guard stopped the guest; call.reason says why
            returned = time.perf_counter()
            by_ctrl_c = call is not None and call.reason is Reason.CTRL_C
        except KeyboardInterrupt:  # Python's own Ctrl-C, raised by the guard
            returned = time.perf_counter()
            by_ctrl_c = True
        finally:
            sender.join(PATIENCE)
        if not by_ctrl_c or not sent:
            raise RuntimeError(f"SIGINT did not interrupt the guarded call: {call and call.reason!r}")
        return returned - sent[0]


def _example_try(example: Example, started: threading.Event) -> float:
    """One Ctrl-C through Example.run: Interrupted("ctrl-c"), or KeyboardInterrupt, counts."""
    started.clear()
    sent: list[float] = []
    sender = _sender(started, sent)
    sender.start()
    try:
        outcome: object = example.run(1, 7, timeout=PATIENCE)
    except KeyboardInterrupt as interrupt:  # Python's own Ctrl-C: also control back
        outcome = interrupt
    finally:
        returned = time.perf_counter()
        sender.join(PATIENCE)
    kernel = isinstance(outcome, KeyboardInterrupt) or (
        isinstance(outcome, Interrupted) and outcome.reason is Reason.CTRL_C
    )
    if not kernel or not sent:
        raise RuntimeError(f"SIGINT did not interrupt the guest: {outcome!r}")
    return returned - sent[0]


def _sender(started: threading.Event, sent: list[float]) -> threading.Thread:
    """A thread that sends SIGINT to this process once the guest has started and spun a moment."""

    def interrupt() -> None:
        # The host function runs inside the guarded call, so once it has been
        # called a SIGINT is the guard's to handle.
        if started.wait(PATIENCE):
            time.sleep(SPIN)
            sent.append(time.perf_counter())
            send_sigint()

    return threading.Thread(target=interrupt, daemon=True)


def send_sigint() -> None:
    """SIGINT to this process, as a terminal's Ctrl-C or the kernel's stop button sends it."""
    if os.name == "nt":  # os.kill with SIGINT would end the process there
        signal.raise_signal(signal.SIGINT)
    else:
        os.kill(os.getpid(), signal.SIGINT)


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


# The rows measured one path at a time; sigint_latencies measures its three paths together.
LATENCY_ROWS: dict[str, Callable[[int], list[float]]] = {
    "engine.increment_epoch() (plain wasmtime)": epoch_latencies,
    "Example.stop() (Stop button)": stop_latencies,
}
