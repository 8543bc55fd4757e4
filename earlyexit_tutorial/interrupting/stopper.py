"""The Stopper, one per engine: it stops the guarded calls running on its engine, and the reasons it gives.

`Stopper.stop()` stops every guarded call running on its engine; each is told
why (`Reason`). One call's own stop (`GuardedCall.stop()`, its deadline, a
Ctrl-C) goes through the Stopper only where wasmtime cannot stop one store
alone (see `guard.py`). A stop pressed while a call is announced but not yet
begun (`starting()`) is kept for that call. `guard()` uses the first Stopper
made for an engine (`engine_stopper`), kept as long as a store it guarded lives
(`_stores.py`).
"""

from __future__ import annotations

import weakref
from enum import Enum
from typing import Protocol

import wasmtime

from . import _calls, _signals
from .engines import check_interruptible


class Reason(str, Enum):
    """What stopped a guarded call from outside."""

    DEADLINE = "deadline"  # the watcher, at the call's deadline
    STOP = "stop"  # Stopper.stop() or call.stop(), e.g. the Stop button
    CTRL_C = "ctrl-c"  # a SIGINT: Ctrl-C in a terminal, or the kernel's stop button in JupyterLab
    KERNEL = "ctrl-c"  # the name CTRL_C had first: the same member
    FUEL = "fuel"  # the guest spent its fuel budget

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Reason | None:
        # The value Ctrl-C had before it was named for what a terminal user presses.
        return cls.CTRL_C if value == "kernel" else None


class StoppableCall(Protocol):
    """What a Stopper needs of a guarded call (`GuardedCall` is one): to be told why it stops."""

    def stopped_for(self, reason: Reason) -> None: ...


class Stopper:
    """Stops the guarded calls running on one engine, and remembers why."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self.metered = check_interruptible(engine)  # whether a call on it may have a fuel budget
        self.engine = engine
        self._active: dict[StoppableCall, None] = {}  # in the order they began; changed only under the lock
        self._pending: Reason | None = None  # a stop() for a call announced by starting()
        self._starting = False
        _STOPPERS.setdefault(id(engine), self)  # the first one made for an engine is the one guard() uses

    def stop(self, reason: Reason = Reason.STOP) -> None:
        """Interrupt every guarded call running on this engine now; safe from any thread, a no-op when idle.

        Every call, whichever thread or store it runs on: `call.stop()` stops one call alone.
        """
        reason = Reason(reason)
        with _calls.LOCK:
            if self._active:
                self.stop_every_call(reason)
            elif self._starting and self._pending is None:
                self._pending = reason

    def starting(self) -> None:
        """Announce a call on its way: a stop() from now until it begins is kept for it."""
        with _calls.LOCK:
            if not self._starting:  # announced twice (a panel, then run()): keep a stop already pressed
                self._starting, self._pending = True, None

    def register(self, call: StoppableCall) -> Reason | None:
        """Count `call` as running (under the lock); return the stop() pressed while it was announced, if any."""
        self._active[call] = None
        if not self._starting:
            return None
        pending, self._starting, self._pending = self._pending, False, None
        return pending

    def unregister(self, call: StoppableCall) -> None:
        """`call` is over (under the lock)."""
        active = self._active
        active.pop(call, None)
        if not active and self._starting:  # an announcement left over (a call refused as busy) means nothing now
            self._starting, self._pending = False, None

    def stop_every_call(self, reason: Reason) -> None:
        """Stop every guarded call running on this engine (under the lock): each is told why."""
        # The epoch is the engine's: moving it stops every call running on it.
        for call in list(self._active):
            call.stopped_for(reason)
        self.engine.increment_epoch()
        if reason is not Reason.CTRL_C:  # a Ctrl-C reaches a host function by itself
            _signals.SIGNALS.wake_host()


# The Stopper of each engine, by id: it holds its engine, so the id stays its
# engine's while the entry lives, and the entry goes with the last holder of the Stopper.
_STOPPERS: weakref.WeakValueDictionary[int, Stopper] = weakref.WeakValueDictionary()


def engine_stopper(engine: wasmtime.Engine) -> Stopper:
    """The Stopper of `engine`, made on first use (NotInterruptible for an engine the guard cannot stop)."""
    stopper = _STOPPERS.get(id(engine))
    return stopper if stopper is not None else Stopper(engine)


def stop_every_call(engine: wasmtime.Engine) -> None:
    """Stop every guarded call running on `engine` now, on every thread (a server's answer to Ctrl-C)."""
    # Ctrl-C reaches the main thread only: a guarded call on a worker thread runs on unless told.
    if not isinstance(engine, wasmtime.Engine):
        raise TypeError(f"stop_every_call() needs a wasmtime.Engine, got {type(engine).__name__}")
    engine_stopper(engine).stop(Reason.STOP)
