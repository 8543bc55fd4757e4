"""Interrupting from outside: one guard around every call into WebAssembly.

The problem. A guest that loops forever holds the calling thread inside
wasmtime's native code. No Python code runs on that thread until the guest
returns, so neither a timer, nor a Stop button, nor JupyterLab's stop button
(SIGINT) can reach it the ordinary Python way. The guard must let four things
end such a call cleanly: a deadline, a fuel budget, a Stop (`call.stop()`,
`Stopper.stop()`) and Ctrl-C; end that call only, not its neighbours on the same
engine (a server's threads, each with a store of one shared engine); leave the
store usable; hold in a real program (many open files, fork, the learner's own
host functions, guards nested in host functions); and cost a few microseconds
per call, since `Example.run` puts it around every call.

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
- Moving the engine's epoch alone to stop one call: the epoch is the engine's,
  so every store of the engine past its deadline traps: one request's timeout
  would cut every other request short. wasmtime lets each store decide at its
  deadline instead (the epoch-deadline callback), which wasmtime-py binds but
  does not expose: `_support/_epoch_callback.py` is the one place that uses it.
- Raising KeyboardInterrupt from the handler wherever it runs: it may run in
  wasmtime-py's ctypes trampoline outside its `try` (the exception reaches C:
  a crash), in our epoch callback (the same), in the guard's own bookkeeping
  (half-changed state), or just after a trap came back (the trap is lost).
  So the handler asks where it runs (`_signals.handler_place`).
- Turning Ctrl-C into a trap, as a deadline is: a loop that catches
  `wasmtime.Trap` around guarded calls (any retry loop) could then never be
  stopped. Ctrl-C leaves the guard as KeyboardInterrupt, as everywhere in Python.
- `select.select` in the watcher: it refuses descriptors >= 1024, which a
  program with many files open gives to new sockets.

The design. Entering, `GuardedCall` sets the store's fuel and an epoch
deadline of one tick, then, in one locked section, swaps in the SIGINT handler
(outermost main-thread call), registers itself with its `Stopper` (one per
engine) and with the calls of its thread, and opens its store's gate. Every
change to which calls are active happens under that one lock, so a stop meant
for a finished call can never move the epoch under the next one.

- One stop, one call: each guarded store gets wasmtime's epoch-deadline
  callback once. Stopping a call closes its store's gate and moves the epoch;
  at the deadline every store's callback runs, the stopped one traps (the same
  `Trap`, `TrapCode.INTERRUPT`, as without a callback) and the others go on with
  a new deadline of one tick (one Python call through ctypes per running
  store, per stop; nothing per call).
  `call.stop()`, a deadline and Ctrl-C stop their own calls; `Stopper.stop()`
  stops every call on its engine. Where the callback is unavailable (a wasmtime
  outside the tested versions) the engine's epoch is all there is: any stop
  stops every guarded call on the engine, each told why.
- Deadlines: one long-lived watcher thread waits (on a selector) until the
  earliest deadline of the active calls and then stops that call. No thread per
  call. Should the thread ever die, the calls it watched are stopped and every
  later guarded call is refused with `WatcherDied`: a deadline never silently
  stops working.
- Ctrl-C, on the main thread only: the outermost call swaps in a SIGINT
  handler and points `signal.set_wakeup_fd` at a socket the watcher reads.
  While the main thread is inside wasm, the C-level handler still writes the
  signal number to that socket, and the watcher stops the main thread's calls
  (only those). When Python code runs during the call, the handler stops them
  and raises KeyboardInterrupt where that is safe: in the block's own code (a
  `time.sleep` in the block ends at once) and in a host function (a sleeping
  host is left at once; wasmtime turns the exception into a trap and gives it
  back). Where it is not safe, the Ctrl-C is owed: the trap it makes is turned
  into `KeyboardInterrupt` (raised from the trap) as it leaves the block, and
  one that never made a trap is raised when the outermost call ends. A block
  that catches the trap itself (as `Example.run` does, to tell the outcome)
  takes the Ctrl-C with it: `call.reason` is KERNEL. A Ctrl-C while no call is
  registered (entering or leaving) is raised once the previous handler is
  back, so none is lost. An ignored SIGINT stays ignored; a handler installed
  inside the block is kept when it ends.
- A deadline or Stop while a host function runs (the learner's plain
  `wasmtime.Func` too): no wasm runs to see the epoch, and a guest that returns
  right after the host call would never see it. On the main thread the guard
  sends SIGINT to it, and the handler raises GuestStopped (a `Trap` whose code
  is INTERRUPT) inside the host, if one runs; on any thread, `host_call` (the
  package's host functions) raises GuestStopped when the host returns. A
  stopped call also stops every guarded call nested inside it (an Example run
  from a host function). A call the guard stopped is reported as stopped,
  never as returned.
- Nested guards on one store (a guard in a host function): the inner call gets
  at most the fuel the outer has left, the outer goes on with what it had less
  what both used, and the outer's deadline still stops both.
- Fork: the lock, the call stacks, the signal state and the watcher are made
  again in a forked child, and engines made there compile on one thread.
- Other threads skip the signal part; deadline, fuel and stop() work there.

Deadlines, stops and fuel end a call with `wasmtime.Trap` (INTERRUPT or
OUT_OF_FUEL); Ctrl-C with `KeyboardInterrupt`; `call.reason` says which.

Known failure cases. A host function on another thread than the main one is
left only when it returns (and a plain `wasmtime.Func`'s guest then goes on to
its next epoch check). A Ctrl-C that lands within microseconds of our own wake
signal merges with it (POSIX merges two pending SIGINTs) and is reported as the
deadline or Stop that sent it. A Ctrl-C that lands in wasmtime-py's trampoline
just before a host function's body is raised only once the host returns. The
previous wakeup fd comes back with `warn_on_full_buffer=False`, whatever its
owner chose: Python cannot tell. A store keeps its epoch callback for life: once
guarded, its own `set_epoch_deadline` outside a guard still traps at the
deadline, but a stop moves the engine's epoch for every store, so an unguarded
store of the same engine past its deadline traps too. In the fallback, one stop
stops every guarded call on its engine.

Where each part lives: the lock and the calls on each thread in `_calls.py`,
the SIGINT handler and where it may raise in `_signals.py`, the deadlines and
the wakeup socket in `_watcher.py`; the Stopper of each engine and the reasons
in `stopper.py`; which engines the guard can stop in `engines.py`; a call's
deadline and fuel budget in `limits.py`; the per-store epoch callback in
`_support/_epoch_callback.py`.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from types import FrameType

import wasmtime

from .._support import _epoch_callback

# This module is the guard's face to the layers above: what a caller of the guard
# needs is importable from here, wherever it is kept. Each `name as name` is such a re-export.
from . import _calls, _signals, _watcher
from ._calls import host_call as host_call
from .engines import NotInterruptible as NotInterruptible
from .engines import interruptible_config as interruptible_config
from .engines import interruptible_engine as interruptible_engine
from .limits import DEFAULT_TIMEOUT, check_limits
from .limits import UNLIMITED_FUEL as UNLIMITED_FUEL
from .stopper import Reason, Stopper, stopper_for


class GuestStopped(wasmtime.Trap, _calls.StoppedFromOutside):
    """Raised inside a host function whose call was stopped, so that the guest cannot run on.

    A `wasmtime.Trap` whose `trap_code` is `TrapCode.INTERRUPT`, as when the stop
    reaches the guest itself: `except wasmtime.Trap` around a guarded call sees a
    deadline or Stop the same way wherever it landed.
    """

    @property
    def trap_code(self) -> wasmtime.TrapCode:
        """Always INTERRUPT: the call was stopped from outside."""
        return wasmtime.TrapCode.INTERRUPT


class StopReport:
    """What stopped a guarded call, with what its outcome needs to say so."""

    __slots__ = ("reason", "error", "timeout", "fuel_consumed")

    def __init__(
        self, reason: Reason, error: BaseException, timeout: float | None = None, fuel_consumed: int | None = None
    ) -> None:
        self.reason = reason
        self.error = error  # the trap or exception the call ended with (a stand-in if it ended normally)
        self.timeout = timeout  # the call's deadline in seconds (None: none), whatever stopped it
        self.fuel_consumed = fuel_consumed  # for FUEL

    def __repr__(self) -> str:
        return f"StopReport({self.reason!r}, timeout={self.timeout!r}, fuel_consumed={self.fuel_consumed!r})"


_NEW, _ACTIVE, _DONE = 0, 1, 2


class GuardedCall:
    """One call into wasm under the guard: `with guard(store) as call:` around it.

    Afterwards `reason` says what stopped the call: DEADLINE, STOP or KERNEL, or
    FUEL when its fuel budget ran out; None if nothing did.
    """

    __slots__ = (
        "store",
        "stopper",
        "timeout",
        "fuel",
        "deadline",
        "reason",
        "in_host",
        "block_frame",
        "_gate",
        "_budget",
        "_fuel_left_outside",
        "_main",
        "_state",
        "_outer",
        "_inner",
        "_same_store_outer",
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
        self.block_frame: FrameType | None = None  # main thread: the frame of the `with` block
        self._gate = _epoch_callback.gate_for(store)  # None: a stop moves the engine's epoch for every store
        self._budget = self.fuel  # the fuel given: less than `fuel` inside a call on the same store
        self._fuel_left_outside: int | None = None  # the enclosing call's fuel when this one began
        self._main = False
        self._state = _NEW
        self._outer: GuardedCall | None = None  # the call whose host function this one runs in
        self._inner: GuardedCall | None = None  # the call running in this one's host function
        self._same_store_outer: GuardedCall | None = None  # the enclosing call on this same store, if any

    def __enter__(self) -> GuardedCall:
        if self._state is not _NEW:
            raise RuntimeError("a guard serves one call: make a new one with guard(store) for the next")
        store = self.store
        main = self._main = threading.get_ident() == _calls.MAIN_THREAD
        if main:
            self.block_frame = sys._getframe(1)  # where the handler stops looking for a host function
        # One locked section: the signal swap, the stack, the registrations, fuel and deadline.
        with _calls.LOCK:
            try:
                self._state = _ACTIVE
                outer = _calls.STACKS.push(self)
                if main and outer is None:
                    _signals.SIGNALS.swap_in()  # the outermost call of the main thread
                pending = self.stopper.register(self)  # a stop() pressed while the call was announced
                if self.reason is None:  # not stop()ped before it began
                    self.reason = pending
                if isinstance(outer, GuardedCall):  # it runs in outer's host function
                    self._outer, outer._inner = outer, self
                    if self.reason is None:
                        self.reason = outer.reason
                    self._share_the_outer_budget(_calls.STACKS.current())
                store.set_fuel(self._budget)
                gate = self._gate
                if gate is not None:
                    gate.go_on, gate.tripped = self.reason is None, False
                # The deadline counts from the epoch now: a tick before this line is ignored.
                # Stopped already: the guest traps at its first check.
                store.set_epoch_deadline(1 if self.reason is None else 0)
                if main:
                    _signals.SIGNALS.register(self)
                if self.timeout is not None:
                    self.deadline = time.monotonic() + self.timeout
                    _watcher.WATCHER.add(self)
            except BaseException:
                self._leave()
                raise
        return self

    def _share_the_outer_budget(self, calls: list) -> None:
        """Inside a call on the same store: take at most the fuel it has left (under the lock)."""
        for call in reversed(calls[:-1]):
            if isinstance(call, GuardedCall) and call.store is self.store:
                self._same_store_outer = call
                left = self.store.get_fuel()
                self._fuel_left_outside = left
                self._budget = min(self.fuel, left)
                return

    def __exit__(self, exc_type: object, error: object, traceback: object) -> None:
        if self.reason is None and self._spent_its_fuel(error):
            self.reason = Reason.FUEL  # the guest's own doing, but `call.reason` tells every way a call was cut short
        kernel = self.reason is Reason.KERNEL
        if kernel and self._main and (error is not None or (self._gate is not None and self._gate.tripped)):
            # The error leaving carries the Ctrl-C, or the block caught the trap it made
            # (as Example.run does, to tell it as an outcome): it is owed no more.
            _signals.SIGNALS.ctrl_c_delivered()
        self._leave()
        if kernel and error is not None and not isinstance(error, KeyboardInterrupt):
            # Ctrl-C is KeyboardInterrupt, as everywhere in Python: a loop that
            # catches Trap around guarded calls still stops on it.
            raise KeyboardInterrupt from error  # type: ignore[misc]

    def _spent_its_fuel(self, error: object) -> bool:
        if isinstance(error, wasmtime.Trap):
            return error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
        # The out-of-fuel trap was caught inside the block (or a host swallowed it): the
        # budget is gone all the same. An unlimited budget is never spent: skip the look.
        return self._budget != UNLIMITED_FUEL and self.store.get_fuel() == 0

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
            self._give_back_to_the_same_store_outer()
            self._state = _DONE
            self.block_frame = None
            _calls.STACKS.pop(self)  # last: until here a Ctrl-C is this call's
            if main and not _calls.STACKS.main:
                _signals.SIGNALS.swap_out()  # may raise the KeyboardInterrupt of a Ctrl-C owed

    def _give_back_to_the_same_store_outer(self) -> None:
        """Back in the enclosing call on this store: its fuel less what this one used, its own epoch rule."""
        gate, outside = self._gate, self._same_store_outer
        if outside is None:
            if gate is not None:
                gate.go_on = False  # no guarded call on the store: trap, as without a callback
            return
        store = self.store
        left = self._fuel_left_outside
        if left is not None:
            with contextlib.suppress(wasmtime.WasmtimeError):
                store.set_fuel(left - (self._budget - store.get_fuel()))
        if gate is not None:
            gate.go_on = outside.reason is None
        store.set_epoch_deadline(1 if outside.reason is None else 0)

    def stop(self) -> None:
        """Stop this call's guest, from any thread (reason STOP); before the call begins it begins stopped.

        Only this call: other guarded calls, on this engine or any other, run on (see the
        module's docstring for the wasmtime versions where the engine's epoch is all there is).
        """
        with _calls.LOCK:
            if self._state is _ACTIVE:
                self._stop(Reason.STOP)
            elif self._state is _NEW and self.reason is None:
                self.reason = Reason.STOP

    def _stop(self, reason: Reason) -> None:
        """Stop this call alone for `reason` (under the lock), or its engine's every call where that is all there is."""
        if self._gate is None:
            self.stopper.stop_every_call(reason)
            return
        self.stopped_for(reason)
        self.stopper.engine.increment_epoch()  # the gates let every other store go on
        if reason is not Reason.KERNEL and self._main:
            _signals.SIGNALS.wake_host()

    def stopped_error(self) -> BaseException | None:
        """What a host function of this call raises once a deadline, Stop or Ctrl-C stopped it; None while not."""
        reason = self.reason
        if reason is None or reason is Reason.FUEL:
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
            consumed = self._budget - self.store.get_fuel()
            if error is None:
                error = GuestStopped("the call's fuel budget ran out")
            return StopReport(reason, error, timeout=self.timeout, fuel_consumed=consumed)
        return StopReport(reason, error, timeout=self.timeout)  # type: ignore[arg-type]

    def stopped_for(self, reason: Reason) -> None:
        """Record that `reason` stopped this call, and stop the calls nested in it.

        Under the lock; the caller (its Stopper, `_stop` or stop_for_ctrl_c) moves the epoch.
        """
        # A keyboard interrupt outranks what came before it.
        if self._state is _DONE or self.reason is reason:
            return
        if self.reason is None or reason is Reason.KERNEL:
            self.reason = reason
        gate = self._gate
        if gate is not None:
            gate.go_on = False  # before the epoch moves: at its deadline this store traps
        inner = self._inner
        if inner is not None and inner.reason is None:
            # The call running in this one's host function: this guest cannot go on until it ends.
            inner._stop(reason)

    def stop_for_ctrl_c(self) -> None:
        """Stop this call for a Ctrl-C (under the lock, maybe inside a locked block of this thread)."""
        # Straight to the call, not through the Stopper: the call may be half-way
        # out of its Stopper's list when the handler runs.
        self.stopped_for(Reason.KERNEL)
        self.stopper.engine.increment_epoch()

    def stop_at_deadline(self) -> None:
        """Stop this call at its deadline (the watcher, under the lock)."""
        self._stop(Reason.DEADLINE)


# The handler may run anywhere in these, and raising there would leave the call's state half-changed.
_signals.never_raise_in(
    GuardedCall.__enter__,
    GuardedCall.__exit__,
    GuardedCall._leave,
    GuardedCall._share_the_outer_budget,
    GuardedCall._give_back_to_the_same_store_outer,
    GuardedCall._spent_its_fuel,
)


def guard(store: wasmtime.Store, *, timeout: float | None = DEFAULT_TIMEOUT, fuel: int | None = None) -> GuardedCall:
    """Guard a call into `store` so that a deadline, fuel, `call.stop()` or Ctrl-C can end it.

    Use it as `with guard(store) as call:` around the call. A deadline (`timeout`
    seconds, None for none), `call.stop()` or the fuel budget (`fuel` units) ends
    the call with `wasmtime.Trap`; Ctrl-C with KeyboardInterrupt (raised from the
    trap when wasm was running). Each ends this call only: other guarded calls on
    the same engine run on (on wasmtime-py 45-50; on other versions a stop stops
    every guarded call on the engine). Afterwards `call.reason` says what stopped
    it (a `Reason`), or None. On the main thread your own host functions are left
    at once; on other threads the call ends when the host returns.
    """
    if not isinstance(store, wasmtime.Store):
        raise TypeError(f"guard() needs a wasmtime.Store, got {type(store).__name__}")
    return GuardedCall(store, stopper_for(store), timeout=timeout, fuel=fuel)
