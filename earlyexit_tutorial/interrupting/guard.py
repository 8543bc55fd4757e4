"""Interrupting from outside: one guard around every call into WebAssembly.

The problem. A guest that loops forever holds the calling thread inside wasmtime's native code: no Python code
runs on that thread until it returns, so neither a timer, nor a Stop button, nor Ctrl-C (SIGINT) can reach it
the ordinary Python way. The guard must let a deadline, a fuel budget, a Stop and Ctrl-C end such a call
cleanly; end that call only, not its neighbours on the same engine (a server's threads, a store each); hold in
a real program (many open files, fork, your own host functions, guards nested in host functions); and cost a
few microseconds, since `Example.run` puts it around every call.

What doesn't work, and why.

- A Python signal handler alone: it runs between bytecodes; wasm runs none.
- A thread per call (the guest on a worker): 80-120 µs, ten typed calls.
- Installing our SIGINT handler once, at import: it takes Ctrl-C from its owner (IPython, trio, a server) even
  while no guest runs. The epoch alone traps every store.
- Raising KeyboardInterrupt wherever the handler runs: in wasmtime-py's trampoline outside its `try` or in our
  epoch callback it reaches C (a crash), in the guard's bookkeeping it leaves state half-changed, just after a
  trap it loses the trap. `_places.handler_place` says where it may raise.
- Ctrl-C as a trap, like a deadline: a retry loop catching Trap never stops.
- `select.select` in the watcher: it refuses descriptors >= 1024.

Deadlines, stops and fuel end a call with `wasmtime.Trap`, Ctrl-C with KeyboardInterrupt. The design.
Entering, `GuardedCall` does in one locked section what a call needs: the SIGINT swap (outermost main-thread
call), its Stopper's and its thread's registration, its fuel, an epoch deadline of one tick, its store's gate,
its deadline. Every change to which calls are active happens under that lock, so a stop meant for a finished
call never moves the epoch under the next.

- One stop, one call: each guarded store gets wasmtime's epoch-deadline callback
  (`_support/_epoch_callback.py`). A stop closes its store's gate and moves the epoch; at the deadline the
  stopped store traps (the same `TrapCode.INTERRUPT` trap) and the others go on for one more tick (one ctypes
  call per running store, per stop; nothing per call). A tick can land while a store's callback lets it go on
  and be lost in its next deadline, so the watcher moves the epoch again for a stopped call still running
  (after 5 ms, then up to every 50 ms). `call.stop()`, a deadline and Ctrl-C stop their own calls (Ctrl-C: the
  main thread's); `Stopper.stop()` every call on its engine. Without the callback (untested wasmtime) a stop
  stops every guarded call on the engine, each told why.
- Deadlines: one long-lived watcher thread waits on a selector until the earliest deadline, then stops that
  call. If it ever dies, the calls it watched are stopped and later calls that need it (a deadline, Ctrl-C
  on the main thread) are refused (`WatcherDied`).
- Ctrl-C, main thread only (`_signals.py`): the wakeup fd is a socket the watcher reads, so a Ctrl-C while
  wasm runs stops the calls at once; in Python code the handler stops them and raises KeyboardInterrupt in the
  block's code or a host function. It leaves the guard as KeyboardInterrupt, raised from the trap when wasm
  was running; one that could not be raised where it landed is raised when the outermost call ends, unless the
  block caught its trap (as `Example.run` does: `call.reason` CTRL_C is then the outcome). None is lost
  between calls; an ignored SIGINT stays ignored; a handler installed inside the block is kept.
- A deadline or Stop while a host function runs (a plain `wasmtime.Func` too): on the main thread the guard
  sends SIGINT and the handler raises GuestStopped (a `Trap`, code INTERRUPT) in the host; `host_call` raises
  it when the host returns. The signal goes only once the main thread is seen in a host function
  (`_signals.wake_host` looks where it is, again and again while the call lasts): a guest running wasm traps
  by itself, and a Ctrl-C pressed as our signal went would merge with it. A stopped call stops the calls
  nested in it, and never "returned".
- Nested guards on one store: the inner takes at most the fuel left. Fork: a child has guard state of its own.

Known failure cases. Off the main thread a host function is left only when it returns. A Ctrl-C within
microseconds of our wake signal to a host function merges with it (POSIX merges pending SIGINTs) and is told
as that deadline or Stop; one landing in the trampoline just before a host's body is raised once the host
returns. The old wakeup fd comes back with `warn_on_full_buffer=False`. A stop moves the engine's epoch: an
unguarded store of that engine past its own deadline traps too. A guarded store keeps its callback for life,
and Python's own SIGINT handler may raise inside it (a crash) if the epoch moves on SIGINT outside the guard:
give such code a store never guarded.

Where each part lives: the lock and calls in `_calls.py`, Ctrl-C in `_signals.py`, deadlines and nudges in
`_watcher.py`, Stoppers in `stopper.py`, each store's Stopper and gate in `_stores.py`, reports in `stopped.py`."""

from __future__ import annotations

import contextlib
import math
import sys
from threading import get_ident
from time import monotonic
from types import FrameType

import wasmtime

# This module is the guard's face to the layers above: what a caller of the guard
# needs is importable from here, wherever it is kept. Each `name as name` is such a re-export.
from . import _calls, _signals, _watcher
from ._calls import host_call as host_call
from ._stores import kept_for
from .engines import NotInterruptible as NotInterruptible
from .engines import check_unmetered_budget
from .engines import interruptible_config as interruptible_config
from .engines import interruptible_engine as interruptible_engine
from .limits import DEFAULT_TIMEOUT, check_limits
from .limits import UNLIMITED_FUEL as UNLIMITED_FUEL
from .stopped import GuestStopped as GuestStopped
from .stopped import StopReport as StopReport
from .stopped import stop_report, stopped_error
from .stopper import Reason, Stopper
from .stopper import engine_stopper as engine_stopper

_NEW, _ACTIVE, _DONE = 0, 1, 2


class GuardedCall:
    """One call into wasm under the guard: `with guard(store) as call:` around it.

    Afterwards `reason` says what stopped the call: DEADLINE, STOP or CTRL_C, or
    FUEL when its fuel budget ran out; None if nothing did.
    """

    __slots__ = (
        "store",
        "stopper",
        "timeout",
        "fuel",
        "deadline",
        "reason",
        "block_frame",
        "_gate",
        "_budget",
        "_outside",
        "_main",
        "_state",
        "_outer",
        "_inner",
    )

    def __init__(
        self,
        store: wasmtime.Store,
        stopper: Stopper | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        fuel: int | None = None,
    ) -> None:
        kept = kept_for(store)
        if stopper is None:
            stopper = kept.stopper
        elif store.engine is not stopper.engine:
            # Its stop would move another engine's epoch: the guest would never see it.
            raise ValueError("this store's engine is not the Stopper's: make the store with Store(stopper.engine)")
        self.timeout, self.fuel = check_limits(timeout, fuel)
        if not stopper.metered:
            check_unmetered_budget(self.fuel)  # NotInterruptible for a budget this engine cannot keep
        self.store, self.stopper = store, stopper
        self.deadline = math.inf
        self.reason: Reason | None = None
        self.block_frame: FrameType | None = None  # main thread: the frame of the `with` block
        self._gate = kept.gate  # None: a stop moves the engine's epoch for every store
        self._budget = self.fuel  # the fuel given: less than `fuel` inside a call on the same store
        self._main = False
        self._state = _NEW
        self._outer: GuardedCall | None = None  # the call whose host function this one runs in
        self._inner: GuardedCall | None = None  # the call running in this one's host function
        self._outside: tuple[GuardedCall, int] | None = None  # the enclosing call on this store, and its fuel then

    def __enter__(self) -> GuardedCall:
        if self._state is not _NEW:
            raise RuntimeError("a guard serves one call: make a new one with guard(store) for the next")
        store = self.store
        main = self._main = get_ident() == _calls.MAIN_THREAD
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
                if outer is not None:
                    self._nest_in(outer)
                if self.stopper.metered:  # an engine without fuel: no budget was asked for (checked when made)
                    store.set_fuel(self._budget)
                go_on = self.reason is None
                gate = self._gate
                if gate is not None:
                    gate.go_on, gate.tripped = go_on, False
                # The deadline counts from the epoch now: a tick before this line is ignored.
                # Stopped already: the guest traps at its first check.
                store.set_epoch_deadline(1 if go_on else 0)
                if main:
                    _signals.SIGNALS.register(self)
                if self.timeout is not None:
                    self.deadline = monotonic() + self.timeout
                    _watcher.WATCHER.add(self)
            except BaseException:
                self._leave()
                raise
        return self

    def _nest_in(self, outer: _calls.WatchedCall) -> None:
        """Entering inside `outer`'s host function (under the lock): its stop is this call's, and maybe its fuel."""
        if not isinstance(outer, GuardedCall):
            return
        self._outer, outer._inner = outer, self
        if self.reason is None:
            self.reason = outer.reason
        for call in reversed(_calls.STACKS.current()[:-1]):
            if isinstance(call, GuardedCall) and call.store is self.store:
                # On the same store: take at most the fuel it has left (none to share without metering).
                left = self.store.get_fuel() if self.stopper.metered else UNLIMITED_FUEL
                self._outside, self._budget = (call, left), min(self.fuel, left)
                return

    def __exit__(self, exc_type: object, error: object, traceback: object) -> None:
        if self.reason is None and self._spent_its_fuel(error):
            self.reason = Reason.FUEL  # the guest's own doing, but `call.reason` tells every way a call was cut short
        kernel = self.reason is Reason.CTRL_C
        if kernel and self._main and (error is not None or (self._gate is not None and self._gate.tripped)):
            # The error leaving carries the Ctrl-C, or the block caught the trap it made
            # (as Example.run does, to tell it as an outcome): it is owed no more.
            _signals.SIGNALS.ctrl_c_delivered()
        self._leave()
        if kernel and error is not None and not isinstance(error, KeyboardInterrupt):
            # Ctrl-C is KeyboardInterrupt, as everywhere in Python: a loop catching Trap still stops on it.
            raise KeyboardInterrupt from error  # type: ignore[misc]

    def _spent_its_fuel(self, error: object) -> bool:
        if isinstance(error, wasmtime.Trap):
            return error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
        # An out-of-fuel trap caught in the block (or by a host) spent the budget all the same; an unlimited one never.
        return self._budget != UNLIMITED_FUEL and self.store.get_fuel() == 0

    def _leave(self) -> None:
        main = self._main
        signals = _signals.SIGNALS
        if main:
            signals.await_wake()
        with _calls.LOCK:
            if main:
                signals.unregister(self)
            self.stopper.unregister(self)
            if self.deadline != math.inf:
                _watcher.WATCHER.remove(self)
            outer = self._outer
            if outer is not None and outer._inner is self:
                outer._inner = None
            if self._outside is not None:
                self._give_back_to_the_same_store_outer()
            elif self._gate is not None:
                self._gate.go_on = False  # no guarded call on the store: trap, as without a callback
            # Off the stack before DONE: a Ctrl-C in between is one between calls, never lost.
            calls = _calls.STACKS.pop(self)
            self._state = _DONE
            self.block_frame = None
            if main and not calls:
                signals.swap_out()  # may raise the KeyboardInterrupt of a Ctrl-C owed

    def _give_back_to_the_same_store_outer(self) -> None:
        """Back in the enclosing call on this store: its fuel less what this one used, its own epoch rule."""
        store, (outside, left) = self.store, self._outside  # type: ignore[misc]
        if self.stopper.metered:
            with contextlib.suppress(wasmtime.WasmtimeError):
                store.set_fuel(left - (self._budget - store.get_fuel()))
        if self._gate is not None:
            self._gate.go_on = outside.reason is None
        store.set_epoch_deadline(1 if outside.reason is None else 0)

    def stop(self) -> None:
        """Stop this call's guest, from any thread (reason STOP); before the call begins it begins stopped.

        Only this call: other guarded calls, on this engine or any other, run on (but see the fallback above).
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
        if reason is not Reason.CTRL_C and self._main:
            _signals.SIGNALS.wake_host()

    def stopped_error(self) -> BaseException | None:
        """What a host function of this call raises once a deadline, Stop or Ctrl-C stopped it; None while not."""
        reason = self.reason
        return None if reason is None else stopped_error(reason)  # None at once: asked after every host call

    def stop_raised_in_host(self) -> None:
        """The stopped error was raised in one of this call's host functions: the call ends with it."""
        if self.reason is Reason.CTRL_C and self._main:
            _signals.SIGNALS.ctrl_c_delivered()  # the guest traps with it: not to be raised again on leaving

    def what_stopped(self, error: BaseException | None) -> StopReport | None:
        """What stopped the call, given the error it ended with (None if it ended normally); None: nothing did."""
        if self.reason is None and error is None:
            return None  # the common case, answered here: Example.run asks after every call
        return stop_report(self.reason, error, self.timeout, self._budget, self.store)

    def stopped_for(self, reason: Reason) -> None:
        """Record that `reason` stopped this call and those nested in it (under the lock; the caller moves epochs)."""
        if self._state is _DONE or self.reason is reason:
            return
        if self.reason is None or reason is Reason.CTRL_C:  # a keyboard interrupt outranks what came before it
            self.reason = reason
        gate = self._gate
        if gate is not None:
            gate.go_on = False  # before the epoch moves: at its deadline this store traps
            if self._state is _ACTIVE:
                _watcher.WATCHER.nudge_later(self)  # should the caller's tick be missed
        inner = self._inner
        if inner is not None and inner.reason is None:
            # The call running in this one's host function: this guest cannot go on until it ends.
            inner._stop(reason)

    def stop_for_ctrl_c(self) -> None:
        """Stop this call for a Ctrl-C (under the lock, maybe inside a locked block of this thread)."""
        # Straight to the call, not through the Stopper: it may be half-way out of the Stopper's list.
        self.stopped_for(Reason.CTRL_C)
        self.stopper.engine.increment_epoch()

    def stop_at_deadline(self) -> None:
        """Stop this call at its deadline (the watcher, under the lock)."""
        self._stop(Reason.DEADLINE)

    def nudge(self) -> bool:
        """Move the epoch again while this call, stopped, runs on (the watcher, under the lock); False once over."""
        gate = self._gate
        if self._state is not _ACTIVE or gate is None or gate.tripped:
            return False  # over, or its store trapped at its deadline: the stop was seen
        self.stopper.engine.increment_epoch()
        return True


# The handler may run anywhere in these, and raising there would leave the call's state half-changed.
_signals.never_raise_in(
    GuardedCall.__enter__,
    GuardedCall.__exit__,
    GuardedCall._leave,
    GuardedCall._nest_in,
    GuardedCall._give_back_to_the_same_store_outer,
    GuardedCall._spent_its_fuel,
    _watcher._Watcher.nudge_later,
)


def guard(store: wasmtime.Store, *, timeout: float | None = DEFAULT_TIMEOUT, fuel: int | None = None) -> GuardedCall:
    """Guard a call into `store` so that a deadline, fuel, `call.stop()` or Ctrl-C can end it.

    Use it as `with guard(store) as call:` around the call. A deadline (`timeout` seconds, None for none),
    `call.stop()` or the fuel budget (`fuel` units) ends the call with `wasmtime.Trap`; Ctrl-C with
    KeyboardInterrupt (raised from the trap when wasm was running). Each ends this call only: other guarded
    calls on the same engine run on (on wasmtime-py 45-50; on other versions a stop stops every guarded call
    on the engine). Afterwards `call.reason` says what stopped it (a `Reason`), or None. On the main thread
    your own host functions are left at once; on other threads the call ends when the host returns.
    """
    if not isinstance(store, wasmtime.Store):
        raise TypeError(f"guard() needs a wasmtime.Store, got {type(store).__name__}")
    return GuardedCall(store, timeout=timeout, fuel=fuel)
