"""Interrupting from outside: deadlines, fuel, a Stop button and the kernel's interrupt."""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

import wasmtime

from .outcome import OtherError, Interrupted, Outcome

# Every call the tutorial makes for the learner has a deadline, so no cell and
# no widget can hang the kernel, even with a guest that loops forever.
DEFAULT_TIMEOUT = 10.0

# "No fuel budget": the engine counts fuel for every store, so give plenty.
UNLIMITED_FUEL = 2**63 - 1


def interruptible_config() -> wasmtime.Config:
    """A wasmtime Config with epoch interruption and fuel metering turned on."""
    config = wasmtime.Config()
    config.epoch_interruption = True
    config.consume_fuel = True
    return config


class Stopper:
    """Stops whatever guest runs on one engine, and remembers why."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self.engine = engine
        self.reason: Optional[str] = None
        self._lock = threading.Lock()  # stop() and arm() see each other whole
        self._starting = False

    def stop(self, reason: str = "stop") -> None:
        """Interrupt the running guest now; safe to call from any thread."""
        with self._lock:
            # The reason is written before the epoch moves, so the caller that
            # sees the INTERRUPT trap also sees why.
            self.reason = reason
            self.engine.increment_epoch()

    def starting(self) -> None:
        """Announce a call that is on its way: a stop() from now on is meant for it."""
        with self._lock:
            self.reason = None
            self._starting = True

    def arm(self, store: wasmtime.Store) -> None:
        """Make the next epoch tick interrupt the guest about to run in `store`."""
        with self._lock:
            # The deadline counts from the epoch now, so a tick before this line is ignored...
            store.set_epoch_deadline(1)
            if self._starting and self.reason is not None:
                # ...unless it was a stop() for this very call, pressed while it was starting.
                self.engine.increment_epoch()
            elif not self._starting:
                self.reason = None
            self._starting = False


def check_limits(timeout: Optional[float], fuel: Optional[int]) -> None:
    """Reject a deadline or a fuel budget that makes no sense, with a clear error."""
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if fuel is not None:
        if isinstance(fuel, bool) or not isinstance(fuel, int) or not 0 <= fuel <= UNLIMITED_FUEL:
            raise ValueError(f"fuel must be an integer in 0..{UNLIMITED_FUEL}, got {fuel!r}")


def call_interruptibly(
    call: Callable[[], Outcome],
    store: wasmtime.Store,
    stopper: Stopper,
    *,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
    fuel: Optional[int] = None,
) -> Outcome:
    """Run `call` (which calls into `store`) so that a deadline, fuel, stop() or Ctrl-C can end it."""
    check_limits(timeout, fuel)
    budget = UNLIMITED_FUEL if fuel is None else fuel
    store.set_fuel(budget)
    stopper.arm(store)  # from here on, the next increment_epoch() interrupts the guest
    result: list[Outcome] = []
    # Set by the worker when it is done. Not Thread.join/is_alive: on Python
    # 3.11 a KeyboardInterrupt inside join() marks a still-running thread as
    # stopped (the bpo-45274 handling), so the wait would end with no result.
    done = threading.Event()

    def work() -> None:
        try:
            result.append(call())
        except BaseException as error:  # noqa: BLE001 - e.g. KeyboardInterrupt raised by a host function
            result.append(OtherError(error))
        finally:
            done.set()

    # A signal handler cannot run while the main thread is inside wasm, so the
    # guest runs in a worker and this thread waits where Ctrl-C can reach it.
    worker = threading.Thread(target=work, name="earlyexit-guest", daemon=True)
    if not _wait(worker, done, stopper, timeout):
        # Ctrl-C came before the worker existed: no guest ever ran.
        return Interrupted("kernel", KeyboardInterrupt())
    outcome = result[0]
    if isinstance(outcome, OtherError) and isinstance(outcome.error, wasmtime.Trap):
        code = outcome.error.trap_code
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return Interrupted("fuel", outcome.error, fuel_consumed=budget - store.get_fuel())
        if code == wasmtime.TrapCode.INTERRUPT:
            return Interrupted(stopper.reason or "stop", outcome.error, timeout=timeout)
    return outcome


def _wait(worker: threading.Thread, done: threading.Event, stopper: Stopper, timeout: Optional[float]) -> bool:
    """Start the worker and wait until it is done, stopping the guest at the deadline or on Ctrl-C.

    Returns False only when a Ctrl-C came before the worker thread could start.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    starting = True
    while True:
        # Everything, worker.start() included, sits inside the try: a Ctrl-C
        # landing anywhere here (even on the `while` test) still stops the guest.
        try:
            if starting:
                starting = False  # never start() twice: that could run two guests
                worker.start()
            while not done.is_set():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    stopper.stop("deadline")
                    deadline = None  # once is enough; now wait for the unwind
                    continue
                # Short steps: if SIGINT lands on another thread, the main thread
                # is not woken early, and its handler runs at the next step.
                done.wait(_STEP if remaining is None else min(remaining, _STEP))
            return True
        except KeyboardInterrupt:
            # Moving the epoch also stops a guest that has not entered wasm yet:
            # its deadline was set before, so its first check traps.
            stopper.stop("kernel")
            if not done.is_set() and not _began(worker):
                return False


def _began(worker: threading.Thread) -> bool:
    """Whether `worker` was started at all, waiting briefly for a start in progress."""
    # Thread.start() interrupted between creating the thread and seeing it run
    # leaves a thread that will set its own started flag within microseconds.
    for _ in range(100):
        if worker.ident is not None:
            return True
        time.sleep(0.01)
    return False


# How long the waiting thread sleeps between looks at the clock and at signals.
_STEP = 0.05
