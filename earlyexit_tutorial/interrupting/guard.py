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

Where each part lives: the lock and the calls on each thread in `_calls.py`,
the SIGINT handler in `_signals.py`, the deadlines and the wakeup socket in
`_watcher.py`; the Stopper of each engine and the reasons in `stopper.py`;
which engines the guard can stop in `engines.py`; a call's deadline and fuel
budget in `limits.py`.
"""

from __future__ import annotations

import math
import threading
import time

import wasmtime

# This module is the guard's face to the layers above: what a caller of the guard
# needs is importable from here, wherever it is kept. Each `name as name` is such a re-export.
from . import _calls, _signals, _watcher
from ._calls import GuestStopped
from ._calls import host_call as host_call
from .engines import NotInterruptible as NotInterruptible
from .engines import interruptible_config as interruptible_config
from .engines import interruptible_engine as interruptible_engine
from .limits import DEFAULT_TIMEOUT, check_limits
from .limits import UNLIMITED_FUEL as UNLIMITED_FUEL
from .stopper import Reason, Stopper, stopper_for


class StopReport:
    """What stopped a guarded call, with what its outcome needs to say so."""

    __slots__ = ("reason", "error", "timeout", "fuel_consumed")

    def __init__(
        self, reason: Reason, error: BaseException, timeout: float | None = None, fuel_consumed: int | None = None
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

    __slots__ = (
        "store",
        "stopper",
        "timeout",
        "fuel",
        "deadline",
        "reason",
        "in_host",
        "_main",
        "_state",
        "_outer",
        "_inner",
    )

    def __init__(
        self,
        store: wasmtime.Store,
        stopper: Stopper,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        fuel: int | None = None,
    ) -> None:
        if store.engine is not stopper.engine:
            # Its stop would move another engine's epoch: the guest would never see it.
            raise ValueError("this store's engine is not the Stopper's: make the store with Store(stopper.engine)")
        self.timeout, self.fuel = check_limits(timeout, fuel)
        self.store, self.stopper = store, stopper
        self.deadline = math.inf
        self.reason: Reason | None = None
        self.in_host = False  # a host function called through host_call runs now
        self._main = False
        self._state = _NEW
        self._outer: GuardedCall | None = None  # the call whose host function this one runs in
        self._inner: GuardedCall | None = None  # the call running in this one's host function

    def __enter__(self) -> GuardedCall:
        if self._state is not _NEW:
            raise RuntimeError("a guard serves one call: make a new one with guard(store) for the next")
        store, stopper = self.store, self.stopper
        store.set_fuel(self.fuel)
        # The deadline counts from the epoch now: a tick before this line is ignored.
        store.set_epoch_deadline(1)
        self._main = main = threading.get_ident() == _calls.MAIN_THREAD
        if main:
            _signals.SIGNALS.swap_in()
        try:
            with _calls.LOCK:
                self._state = _ACTIVE
                outer = _calls.STACKS.push(self)
                pending = stopper.register(self)  # a stop() pressed while the call was announced
                if self.reason is None:  # not stop()ped before it began
                    self.reason = pending
                if isinstance(outer, GuardedCall):  # it runs in outer's host function
                    self._outer, outer._inner = outer, self
                    if self.reason is None:
                        self.reason = outer.reason
                if main:
                    _signals.SIGNALS.register(self)
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
        if (
            self.reason is None
            and isinstance(error, wasmtime.Trap)
            and error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
        ):
            self.reason = Reason.FUEL  # the guest's own doing, but `call.reason` tells every way a call was cut short

    def _leave(self) -> None:
        main = self._main
        if main:
            _signals.SIGNALS.await_wake()
        with _calls.LOCK:
            if main:
                _signals.SIGNALS.unregister(self)
            self.stopper.unregister(self)
            if self.deadline != math.inf:
                _watcher.WATCHER.remove(self)
            outer = self._outer
            if outer is not None and outer._inner is self:
                outer._inner = None
            self._state = _DONE
            _calls.STACKS.pop(self)  # last: until here a Ctrl-C is this call's
        if main:
            _signals.SIGNALS.swap_out()

    def stop(self) -> None:
        """Stop this call's guest, from any thread (reason STOP); before the call begins it begins stopped.

        The epoch is the engine's, so every guarded call running on that engine stops with it.
        """
        with _calls.LOCK:
            if self._state is _ACTIVE:
                self.stopper.stop(Reason.STOP)
            elif self._state is _NEW and self.reason is None:
                self.reason = Reason.STOP

    def stopped_error(self) -> BaseException | None:
        """What a host function of this call raises once a deadline, Stop or Ctrl-C stopped it; None while not."""
        reason = self.reason
        if reason is None:
            return None
        if reason is Reason.KERNEL:
            return KeyboardInterrupt()  # as Python's own handler would: a cell's or a script's code may expect it
        return GuestStopped(f"the call was stopped ({reason}) while a host function ran")

    def what_stopped(self, error: BaseException | None) -> StopReport | None:
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
            # The deadline applied too, whichever limit came first: the report carries both.
            fuel_consumed = self.fuel - self.store.get_fuel()
            return StopReport(reason, error, timeout=self.timeout, fuel_consumed=fuel_consumed)  # type: ignore[arg-type]
        return StopReport(reason, error, timeout=self.timeout)  # type: ignore[arg-type]

    def stopped_for(self, reason: Reason) -> None:
        """Record that `reason` stopped this call, and stop the calls nested in it.

        Under the lock; the caller (its Stopper, or stop_for_ctrl_c) moves the epoch.
        """
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


def guard(store: wasmtime.Store, *, timeout: float | None = DEFAULT_TIMEOUT, fuel: int | None = None) -> GuardedCall:
    """Guard a call into `store` so that a deadline, fuel, `call.stop()` or Ctrl-C can end it.

    Use it as `with guard(store) as call:` around the call.
    """
    if not isinstance(store, wasmtime.Store):
        raise TypeError(f"guard() needs a wasmtime.Store, got {type(store).__name__}")
    return GuardedCall(store, stopper_for(store.engine), timeout=timeout, fuel=fuel)
