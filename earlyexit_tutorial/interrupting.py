"""Interrupting from outside: one guard around every call into WebAssembly.

The guard keeps the guest on the calling thread and lets four things end it:
a deadline, a fuel budget, `Stopper.stop()` (the Stop button) and Ctrl-C (the
kernel's stop button). Its protocol, which every call into wasm follows:

- Entering, `GuardedCall` sets the store's fuel and an epoch deadline of one
  tick, then registers the call as active with its Stopper. From then on,
  moving the engine's epoch (`Stopper.stop`) traps the guest with INTERRUPT.
  Every change to which calls are active happens under one lock, so a stop
  meant for a finished call can never move the epoch under the next one.
- Deadlines: one long-lived watcher thread sleeps until the earliest deadline
  of the active calls and then stops that call. No thread per call.
- Ctrl-C, on the main thread only: the outermost guarded call swaps in a
  SIGINT handler that does not raise, and points `signal.set_wakeup_fd` at a
  pipe the watcher reads. While the main thread is inside wasm no Python
  handler can run, but the C-level handler still writes the signal number to
  that pipe, so the watcher stops the call. When Python code runs during the
  call (a host function, wasmtime's trampoline), the handler itself stops it.
  It raises KeyboardInterrupt only inside the learner's host function body,
  where wasmtime turns it into a trap (a sleeping host is left at once); a
  KeyboardInterrupt anywhere in wasmtime's ctypes trampoline would crash.
  Leaving, the guard restores the previous handler and wakeup fd, and forwards
  any other signal's byte to the previous wakeup fd. A Ctrl-C that came while
  no call was active (entering or leaving) is raised as KeyboardInterrupt once
  the previous handler is back, so no interrupt is lost. (Nor is one that
  Python would drop because it was raised inside a finalizer: the watcher
  sends it again.) An ignored SIGINT stays ignored.
- On other threads the signal part is skipped; deadline, fuel and stop() work.

The watcher, the lock and the handler live in `_watcher.py`. The watcher waits
on a pipe with select(), which is POSIX; so is the tutorial.
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
import time
import weakref
from enum import Enum
from typing import Any, Optional

import wasmtime

from . import _watcher as w
from ._watcher import host_call  # noqa: F401 - for the Example's host trampoline
from .validation import shown

# Every call the tutorial makes for the learner has a deadline, so no cell and
# no widget can hang the kernel, even with a guest that loops forever.
DEFAULT_TIMEOUT = 10.0

# "No fuel budget": the engine counts fuel for every store, so give plenty.
UNLIMITED_FUEL = 2**63 - 1


class Reason(str, Enum):
    """What stopped a guarded call from outside."""

    DEADLINE = "deadline"  # the watcher, at the call's deadline
    STOP = "stop"  # Stopper.stop(), e.g. the Stop button
    KERNEL = "kernel"  # Ctrl-C or the kernel's stop button (SIGINT)
    FUEL = "fuel"  # the guest spent its fuel budget

    def __str__(self) -> str:
        return self.value


class NotInterruptible(ValueError):
    """An engine without epoch interruption or fuel metering, which the guard cannot stop."""


def interruptible_config() -> wasmtime.Config:
    """A wasmtime Config with epoch interruption and fuel metering turned on."""
    config = wasmtime.Config()
    config.epoch_interruption = True
    config.consume_fuel = True
    return config


def interruptible_engine() -> wasmtime.Engine:
    """A new engine the guard can stop (epoch interruption and fuel on)."""
    engine = wasmtime.Engine(interruptible_config())
    _INTERRUPTIBLE.add(engine)  # made here, so no need to probe it
    return engine


def check_interruptible(engine: wasmtime.Engine) -> None:
    """Raise NotInterruptible unless `engine` has epoch interruption and fuel metering."""
    if engine in _INTERRUPTIBLE:
        return
    # A Config cannot be read back, so try both on a throwaway store.
    store = wasmtime.Store(engine)
    try:
        store.set_fuel(1000)
    except wasmtime.WasmtimeError:
        raise NotInterruptible(
            "this engine does not meter fuel: make it with Engine(interruptible_config())"
        ) from None
    store.set_epoch_deadline(0)  # with epoch interruption on, the first check traps
    instance = wasmtime.Instance(store, wasmtime.Module(engine, '(module (func (export "f")))'), [])
    try:
        instance.exports(store)["f"](store)  # type: ignore[operator]
    except wasmtime.Trap as trap:
        if trap.trap_code == wasmtime.TrapCode.INTERRUPT:
            _INTERRUPTIBLE.add(engine)
            return
    raise NotInterruptible(
        "this engine has no epoch interruption, so a deadline, Stop or Ctrl-C could not stop its guest: "
        "make it with Engine(interruptible_config())"
    )


_INTERRUPTIBLE: "weakref.WeakSet[wasmtime.Engine]" = weakref.WeakSet()


def check_limits(timeout: Any, fuel: Any) -> tuple[Optional[float], int]:
    """Check a deadline and a fuel budget; return them as seconds (or None) and a budget."""
    seconds = None
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        try:
            seconds = float(timeout)
        except OverflowError:
            raise ValueError(f"timeout is out of range: {shown(timeout)} seconds is more than a float holds") from None
        if not seconds > 0:  # also refuses nan
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if fuel is None:
        return seconds, UNLIMITED_FUEL
    if isinstance(fuel, bool):
        raise ValueError(f"fuel must be an integer in 0..{UNLIMITED_FUEL}, got {fuel!r}")
    try:
        budget = operator.index(fuel)
    except TypeError:
        raise ValueError(f"fuel must be an integer in 0..{UNLIMITED_FUEL}, got {fuel!r}") from None
    if not 0 <= budget <= UNLIMITED_FUEL:
        raise ValueError(f"fuel must be an integer in 0..{UNLIMITED_FUEL}, got {shown(budget)}")
    return seconds, budget


class Stopper:
    """Stops the guarded calls running on one engine, and remembers why."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        check_interruptible(engine)
        self.engine = engine
        self._active: list[GuardedCall] = []  # changed only under w.LOCK
        self._pending: Optional[Reason] = None  # a stop() for a call announced by starting()
        self._starting = False

    def stop(self, reason: Reason = Reason.STOP) -> None:
        """Interrupt the guarded call running now; safe from any thread, a no-op when idle."""
        reason = Reason(reason)
        with w.LOCK:
            if self._active:
                for call in self._active:
                    call._stopped(reason)
                self.engine.increment_epoch()
            elif self._starting and self._pending is None:
                self._pending = reason

    def starting(self) -> None:
        """Announce a call on its way: a stop() from now until it begins is kept for it."""
        with w.LOCK:
            if not self._starting:  # announced twice (a panel, then run()): keep a stop already pressed
                self._starting, self._pending = True, None


class GuardedCall:
    """One call into wasm under the guard: `with GuardedCall(store, stopper, ...):` around it.

    Afterwards `reason` says what stopped the call from outside, if anything.
    """

    __slots__ = ("store", "stopper", "timeout", "fuel", "deadline", "reason", "in_host", "_main")

    def __init__(
        self, store: wasmtime.Store, stopper: Stopper, *, timeout: Optional[float] = DEFAULT_TIMEOUT, fuel: Optional[int] = None
    ) -> None:
        self.timeout, self.fuel = check_limits(timeout, fuel)
        self.store, self.stopper = store, stopper
        self.deadline = math.inf
        self.reason: Optional[Reason] = None
        self.in_host = False  # the learner's host function is running (main thread only)
        self._main = False

    def __enter__(self) -> GuardedCall:
        store, stopper = self.store, self.stopper
        store.set_fuel(self.fuel)
        # The deadline counts from the epoch now: a tick before this line is ignored.
        store.set_epoch_deadline(1)
        self._main = main = threading.get_ident() == w.MAIN_THREAD
        if main:
            w.SIGNALS.enter()
        try:
            with w.LOCK:
                stopper._active.append(self)
                if main:
                    w.SIGNALS.calls.append(self)
                    if w.SIGNALS.unreported:  # a Ctrl-C while entering: it is this call's
                        w.SIGNALS.unreported = False
                        stopper.stop(Reason.KERNEL)
                if stopper._starting:
                    stopper._starting = False
                    if stopper._pending is not None:  # a stop() pressed while this call was starting
                        self.reason, stopper._pending = stopper._pending, None
                        stopper.engine.increment_epoch()
                if self.timeout is not None:
                    self.deadline = time.monotonic() + self.timeout
                    w.WATCHER.add(self)
        except BaseException:
            self._leave()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._leave()

    def _leave(self) -> None:
        main, stopper = self._main, self.stopper
        with w.LOCK:
            if main and w.SIGNALS.handled:
                # A Ctrl-C came (the handler ran): read its byte now, so that the
                # watcher cannot take it later for the next call.
                w.WATCHER.read_signals()
            if self in stopper._active:
                stopper._active.remove(self)
            if not stopper._active:  # an announcement left over (a call refused as busy) means nothing now
                stopper._starting = False
                stopper._pending = None
            if self.deadline != math.inf:
                w.WATCHER.remove(self)
            if main and self in w.SIGNALS.calls:
                w.SIGNALS.calls.remove(self)  # last: until here a Ctrl-C is this call's
        if main:
            w.SIGNALS.leave()

    def _stopped(self, reason: Reason) -> None:
        # Called under the lock. A keyboard interrupt outranks what came before
        # it: the learner pressed it, and the outcome must say so.
        if self.reason is None or reason is Reason.KERNEL:
            self.reason = reason

    def stopped_by_ctrl_c(self) -> None:
        """Stop this call for a Ctrl-C (under the lock, maybe inside a locked block of this thread)."""
        # Straight to the call, not through Stopper.stop: the call may be half-way
        # out of its Stopper's list when the handler runs.
        self._stopped(Reason.KERNEL)
        self.stopper.engine.increment_epoch()

    def deadline_passed(self) -> None:
        """Stop this call at its deadline (the watcher, under the lock)."""
        self.stopper.stop(Reason.DEADLINE)
