"""Interrupting from outside: one guard around every call into WebAssembly.

The problem. A guest that loops forever holds the calling thread inside
wasmtime's native code. No Python code runs on that thread until the guest
returns, so neither a timer, nor a Stop button, nor JupyterLab's stop button
(SIGINT) can reach it the ordinary Python way. The guard must let four things
end such a call cleanly: a deadline, a fuel budget, a Stop (`call.stop()`,
`Stopper.stop()`) and Ctrl-C; leave the store usable; and cost a few
microseconds per call, since `Example.run` puts it around every call.

What doesn't work, and why.

- A Python signal handler alone: CPython runs it between two bytecodes of the
  main thread, and a thread inside wasm runs none. Ctrl-C would be seen only
  once the guest returns, which an endless guest never does.
- A thread per call (the guest on a worker, the caller waiting): correct, but
  starting a thread costs 80-120 µs, ten times a typed call, and the guest
  then runs off the thread the learner called it from.
- Installing our SIGINT handler once, at import: it would replace the handler
  of whoever else owns Ctrl-C (IPython, trio, a web server) for the whole
  process, even while no guest runs. So the handler and the wakeup fd are
  swapped in by the outermost guarded call and put back when it ends (~2 µs).
- Raising KeyboardInterrupt from the handler wherever it runs: during a call
  it may run inside wasmtime's ctypes trampoline, where an exception is lost
  or crashes the process. It raises only inside a host function's body.

The design. Entering, `GuardedCall` sets the store's fuel and an epoch
deadline of one tick, then registers itself with its `Stopper` (one per
engine) and with the calls of its thread. Moving the engine's epoch
(`Stopper.stop`) then traps the guest with INTERRUPT. Every change to which
calls are active happens under one lock, so a stop meant for a finished call
can never move the epoch under the next one.

- Deadlines: one long-lived watcher thread sleeps until the earliest deadline
  of the active calls and then stops that call. No thread per call.
- Ctrl-C, on the main thread only: the outermost call swaps in a SIGINT
  handler and points `signal.set_wakeup_fd` at a socket the watcher reads.
  While the main thread is inside wasm, the C-level handler still writes the
  signal number to that socket, and the watcher stops the call. When Python
  code runs during the call, the handler itself stops it, and raises
  KeyboardInterrupt if it runs inside a host function (a sleeping host is left
  at once; wasmtime turns the exception into a trap). A Ctrl-C while no call is
  registered (entering or leaving) is raised once the previous handler is
  back, so none is lost. An ignored SIGINT stays ignored.
- A deadline or Stop while a host function runs: no wasm runs to see the
  epoch, and a guest that returns right after the host call would never see
  it. On the main thread the guard sends SIGINT to it, and the handler raises
  GuestStopped inside the host (a sleeping host is left at once); on any
  thread, `host_call` raises GuestStopped when the host returns. A stopped call
  also stops every guarded call nested inside it (an Example run from a host
  function). A call the guard stopped is reported as stopped, never as
  returned.
- Other threads skip the signal part; deadline, fuel and stop() work there.

Known failure cases. A host function on another thread than the main one is
left only when it returns. A Ctrl-C that lands within microseconds of our own
wake signal merges with it (POSIX merges two pending SIGINTs) and is reported
as the deadline or Stop that sent it. The previous wakeup fd comes back with
`warn_on_full_buffer=False`, whatever its owner chose: Python cannot tell. Stopping
one call moves its engine's epoch, so it stops every guarded call on that engine.

The watcher, the per-thread calls and the handler live in `_watcher.py`.
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
import time
import weakref
from enum import Enum
from typing import Optional

import wasmtime

from . import _watcher
from ._watcher import GuestStopped, host_call  # noqa: F401 - host_call: for the Example's host trampoline
from .._support.validation import shown

# Every call the tutorial makes for the learner has a deadline, so no cell and
# no widget can hang the kernel, even with a guest that loops forever.
DEFAULT_TIMEOUT = 10.0

# "No fuel budget": the engine counts fuel for every store, so give plenty.
UNLIMITED_FUEL = 2**63 - 1


class Reason(str, Enum):
    """What stopped a guarded call from outside."""

    DEADLINE = "deadline"  # the watcher, at the call's deadline
    STOP = "stop"  # Stopper.stop() or call.stop(), e.g. the Stop button
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
            "this engine does not meter fuel: make it with interruptible_engine() or Engine(interruptible_config())"
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
        "make it with interruptible_engine() or Engine(interruptible_config())"
    )


_INTERRUPTIBLE: "weakref.WeakSet[wasmtime.Engine]" = weakref.WeakSet()


def check_limits(timeout: object, fuel: object) -> tuple[Optional[float], int]:
    """Check a deadline and a fuel budget; return them as seconds (None: no deadline) and a budget."""
    return _check_timeout(timeout), _check_fuel(fuel)


def _check_timeout(timeout: object) -> Optional[float]:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}")
    try:
        seconds = float(timeout)
    except OverflowError:  # an int too large for a float, e.g. 10**400
        seconds = math.inf if timeout > 0 else -math.inf
    if not seconds > 0:  # also refuses nan
        raise ValueError(f"timeout must be a positive number of seconds, got {shown(timeout)}")
    return None if seconds == math.inf else seconds  # longer than any run: no deadline


def _check_fuel(fuel: object) -> int:
    if fuel is None:
        return UNLIMITED_FUEL
    if isinstance(fuel, bool):
        raise TypeError(f"fuel must be an integer or None, got {fuel!r}")
    try:
        budget = operator.index(fuel)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"fuel must be an integer or None, got {fuel!r}") from None
    if not 0 <= budget <= UNLIMITED_FUEL:
        raise ValueError(f"fuel must be an integer in 0..{UNLIMITED_FUEL}, got {shown(budget)}")
    return budget


class Stopper:
    """Stops the guarded calls running on one engine, and remembers why."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        check_interruptible(engine)
        self.engine = engine
        self._active: list[GuardedCall] = []  # changed only under the lock
        self._pending: Optional[Reason] = None  # a stop() for a call announced by starting()
        self._starting = False
        _STOPPERS.setdefault(id(engine), self)  # the first one made for an engine is the one guard() uses

    def stop(self, reason: Reason = Reason.STOP) -> None:
        """Interrupt the guarded calls running now; safe from any thread, a no-op when idle."""
        reason = Reason(reason)
        with _watcher.LOCK:
            if self._active:
                self._stop_active(reason)
            elif self._starting and self._pending is None:
                self._pending = reason

    def starting(self) -> None:
        """Announce a call on its way: a stop() from now until it begins is kept for it."""
        with _watcher.LOCK:
            if not self._starting:  # announced twice (a panel, then run()): keep a stop already pressed
                self._starting, self._pending = True, None

    def register(self, call: GuardedCall) -> Optional[Reason]:
        """Count `call` as running (under the lock); return the stop() pressed while it was announced, if any."""
        self._active.append(call)
        if not self._starting:
            return None
        pending, self._starting, self._pending = self._pending, False, None
        return pending

    def unregister(self, call: GuardedCall) -> None:
        """`call` is over (under the lock)."""
        if call in self._active:
            self._active.remove(call)
        if not self._active:  # an announcement left over (a call refused as busy) means nothing now
            self._starting, self._pending = False, None

    def _stop_active(self, reason: Reason) -> None:
        # Under the lock. The epoch is the engine's: moving it stops every call
        # running on it, so each is told why.
        for call in list(self._active):
            call.stopped_for(reason)
        self.engine.increment_epoch()
        if reason is not Reason.KERNEL:  # a Ctrl-C reaches a host function by itself
            _watcher.SIGNALS.wake_host()


# The Stopper of each engine, by id: it holds its engine, so the id stays its
# engine's while the entry lives, and the entry goes with the last guard using it.
_STOPPERS: "weakref.WeakValueDictionary[int, Stopper]" = weakref.WeakValueDictionary()


def stopper_for(engine: wasmtime.Engine) -> Stopper:
    """The Stopper of `engine`, made on first use (NotInterruptible for an engine the guard cannot stop)."""
    stopper = _STOPPERS.get(id(engine))
    return stopper if stopper is not None else Stopper(engine)


class StopReport:
    """What stopped a guarded call, with what its outcome needs to say so."""

    __slots__ = ("reason", "error", "timeout", "fuel_consumed")

    def __init__(
        self, reason: Reason, error: BaseException, timeout: Optional[float] = None, fuel_consumed: Optional[int] = None
    ) -> None:
        self.reason = reason
        self.error = error  # the trap or exception the call ended with (a stand-in if it ended normally)
        self.timeout = timeout  # the call's deadline in seconds, for DEADLINE, STOP and KERNEL
        self.fuel_consumed = fuel_consumed  # for FUEL

    def __repr__(self) -> str:
        return f"StopReport({self.reason!r}, timeout={self.timeout!r}, fuel_consumed={self.fuel_consumed!r})"


_NEW, _ACTIVE, _DONE = 0, 1, 2


class GuardedCall:
    """One call into wasm under the guard: `with guard(store) as call:` around it.

    Afterwards `reason` says what stopped the call: DEADLINE, STOP or KERNEL, or
    FUEL when wasmtime's out-of-fuel trap left the `with` block; None if nothing did.
    """

    __slots__ = ("store", "stopper", "timeout", "fuel", "deadline", "reason", "in_host", "_main", "_state", "_outer", "_inner")

    def __init__(
        self, store: wasmtime.Store, stopper: Stopper, *, timeout: Optional[float] = DEFAULT_TIMEOUT, fuel: Optional[int] = None
    ) -> None:
        if store.engine is not stopper.engine:
            # Its stop would move another engine's epoch: the guest would never see it.
            raise ValueError("this store's engine is not the Stopper's: make the store with Store(stopper.engine)")
        self.timeout, self.fuel = check_limits(timeout, fuel)
        self.store, self.stopper = store, stopper
        self.deadline = math.inf
        self.reason: Optional[Reason] = None
        self.in_host = False  # a host function called through host_call runs now
        self._main = False
        self._state = _NEW
        self._outer: Optional[GuardedCall] = None  # the call whose host function this one runs in
        self._inner: Optional[GuardedCall] = None  # the call running in this one's host function

    def __enter__(self) -> GuardedCall:
        if self._state is not _NEW:
            raise RuntimeError("a guard serves one call: make a new one with guard(store) for the next")
        store, stopper = self.store, self.stopper
        store.set_fuel(self.fuel)
        # The deadline counts from the epoch now: a tick before this line is ignored.
        store.set_epoch_deadline(1)
        self._main = main = threading.get_ident() == _watcher.MAIN_THREAD
        if main:
            _watcher.SIGNALS.swap_in()
        try:
            with _watcher.LOCK:
                self._state = _ACTIVE
                outer = _watcher.STACKS.push(self)
                pending = stopper.register(self)  # a stop() pressed while the call was announced
                if self.reason is None:  # not stop()ped before it began
                    self.reason = pending
                if isinstance(outer, GuardedCall):  # it runs in outer's host function
                    self._outer, outer._inner = outer, self
                    if self.reason is None:
                        self.reason = outer.reason
                if main:
                    _watcher.SIGNALS.register(self)
                if self.reason is not None:
                    store.set_epoch_deadline(0)  # traps at the guest's first check, on this store alone
                if self.timeout is not None:
                    self.deadline = time.monotonic() + self.timeout
                    _watcher.WATCHER.add(self)
        except BaseException:
            self._leave()
            raise
        return self

    def __exit__(self, exc_type: object, error: object, traceback: object) -> None:
        self._leave()
        if self.reason is None and isinstance(error, wasmtime.Trap) and error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            self.reason = Reason.FUEL  # the guest's own doing, but `call.reason` tells every way a call was cut short

    def _leave(self) -> None:
        main = self._main
        if main:
            _watcher.SIGNALS.await_wake()
        with _watcher.LOCK:
            if main:
                _watcher.SIGNALS.unregister(self)
            self.stopper.unregister(self)
            if self.deadline != math.inf:
                _watcher.WATCHER.remove(self)
            outer = self._outer
            if outer is not None and outer._inner is self:
                outer._inner = None
            self._state = _DONE
            _watcher.STACKS.pop(self)  # last: until here a Ctrl-C is this call's
        if main:
            _watcher.SIGNALS.swap_out()

    def stop(self) -> None:
        """Stop this call's guest, from any thread (reason STOP); before the call begins it begins stopped.

        The epoch is the engine's, so every guarded call running on that engine stops with it.
        """
        with _watcher.LOCK:
            if self._state is _ACTIVE:
                self.stopper.stop(Reason.STOP)
            elif self._state is _NEW and self.reason is None:
                self.reason = Reason.STOP

    def stopped_error(self) -> Optional[BaseException]:
        """What a host function of this call raises once a deadline, Stop or Ctrl-C stopped it; None while not."""
        reason = self.reason
        if reason is None:
            return None
        if reason is Reason.KERNEL:
            return KeyboardInterrupt()  # as Python's own handler would: a cell's or a script's code may expect it
        return GuestStopped(f"the call was stopped ({reason}) while a host function ran")

    def what_stopped(self, error: Optional[BaseException]) -> Optional[StopReport]:
        """What stopped the call, given the error it ended with (None if it ended normally); None: nothing did."""
        reason = self.reason
        if reason is not Reason.KERNEL and isinstance(error, wasmtime.Trap):
            # A keyboard interrupt outranks the rest: the learner pressed it, and the outcome must say so.
            if error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
                reason = Reason.FUEL
            elif error.trap_code == wasmtime.TrapCode.INTERRUPT and reason is None:
                reason = Reason.STOP  # someone moved the engine's epoch by hand
        if reason is None:
            return None
        if error is None:  # it finished as it was stopped: still a stopped call, never "returned"
            error = self.stopped_error()
        if reason is Reason.FUEL:
            return StopReport(reason, error, fuel_consumed=self.fuel - self.store.get_fuel())  # type: ignore[arg-type]
        return StopReport(reason, error, timeout=self.timeout)  # type: ignore[arg-type]

    def stopped_for(self, reason: Reason) -> None:
        """Record that `reason` stopped this call, and stop the calls nested in it (under the lock; its Stopper moves the epoch)."""
        # A keyboard interrupt outranks what came before it.
        if self._state is _DONE or self.reason is reason:
            return
        if self.reason is None or reason is Reason.KERNEL:
            self.reason = reason
        inner = self._inner
        if inner is not None and inner.reason is None:
            # The call running in this one's host function: this guest cannot go on until it ends.
            inner.stopper.stop(reason)

    def stop_for_ctrl_c(self) -> None:
        """Stop this call for a Ctrl-C (under the lock, maybe inside a locked block of this thread)."""
        # Straight to the call, not through the Stopper: the call may be half-way
        # out of its Stopper's list when the handler runs.
        self.stopped_for(Reason.KERNEL)
        self.stopper.engine.increment_epoch()

    def stop_at_deadline(self) -> None:
        """Stop this call at its deadline (the watcher, under the lock)."""
        self.stopper.stop(Reason.DEADLINE)


def guard(store: wasmtime.Store, *, timeout: Optional[float] = DEFAULT_TIMEOUT, fuel: Optional[int] = None) -> GuardedCall:
    """Guard calls into `store` so that a deadline, fuel, `call.stop()` or Ctrl-C can end them: `with guard(store) as call:`."""
    if not isinstance(store, wasmtime.Store):
        raise TypeError(f"guard() needs a wasmtime.Store, got {type(store).__name__}")
    return GuardedCall(store, stopper_for(store.engine), timeout=timeout, fuel=fuel)
