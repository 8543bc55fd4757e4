"""The guard's shared state: the one lock, the main thread, the guarded calls running on each thread.

It also holds what the watcher, the SIGINT handler and `host_call` need of a
guarded call (the `WatchedCall` protocol) and the exception a stopped host
function raises. `LOCK`, `MAIN_THREAD` and `STACKS` are made again in a forked
child, so other modules read them through this module (`_calls.LOCK`), never
as names of their own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import FrameType
from typing import Protocol, TypeVar

# One lock for which calls are active, their deadlines and the signal state.
# Re-entrant: the SIGINT handler may run on the main thread inside a locked block.
LOCK = threading.RLock()
MAIN_THREAD = threading.main_thread().ident

T = TypeVar("T")


class WatchedCall(Protocol):
    """What the watcher, the SIGINT handler and `host_call` need of a guarded call."""

    deadline: float  # time.monotonic() at which the watcher stops it; math.inf for none
    block_frame: FrameType | None  # on the main thread, the frame that entered the call

    def stop_for_ctrl_c(self) -> None:
        """Stop the call for a Ctrl-C (under LOCK)."""

    def stop_at_deadline(self) -> None:
        """Stop the call at its deadline (the watcher, under LOCK)."""

    def nudge(self) -> bool:
        """Move the epoch again if the call, stopped, runs on (the watcher, under LOCK); False: no more needed."""

    def stopped_error(self) -> BaseException | None:
        """What to raise in a host function of the call once it is stopped: None while it is not."""

    def stop_raised_in_host(self) -> None:
        """The stopped error was raised in one of the call's host functions (under LOCK or on its thread)."""


class StoppedFromOutside:
    """The mark of the error a host function of a stopped call raises (`guard.GuestStopped`).

    A mixin, so that this module needs no wasmtime (a process that has not loaded it
    may fork safely): the watcher's hook lets such an error pass quietly.
    """

    __slots__ = ()


class _Stacks:
    """The guarded calls running on each thread, outermost first (nested ones run in host functions)."""

    def __init__(self) -> None:
        self.main: list[WatchedCall] = []  # the main thread's: the SIGINT handler reads it
        self._local = threading.local()

    def current(self) -> list[WatchedCall]:
        """The calling thread's calls."""
        if threading.get_ident() == MAIN_THREAD:
            return self.main
        try:
            return self._local.calls
        except AttributeError:
            calls: list[WatchedCall] = []
            self._local.calls = calls
            return calls

    def push(self, call: WatchedCall) -> WatchedCall | None:
        """Put `call` on the calling thread's stack (under LOCK); return the call it runs inside, if any."""
        calls = self.current()
        outer = calls[-1] if calls else None
        calls.append(call)
        return outer

    def pop(self, call: WatchedCall) -> list[WatchedCall]:
        """Take `call` off the calling thread's stack (under LOCK); return the calls still on it."""
        calls = self.current()
        if calls and calls[-1] is call:  # the innermost, as calls end
            calls.pop()
        elif call in calls:
            calls.remove(call)
        return calls


STACKS = _Stacks()


def _forget_calls_after_fork() -> None:
    # A forked child has one thread, the one that forked, and none of the parent's calls;
    # the lock may have been held by a thread the child does not have.
    global LOCK, MAIN_THREAD, STACKS
    LOCK = threading.RLock()
    STACKS = _Stacks()
    MAIN_THREAD = threading.get_ident()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork, so nothing to forget there
    os.register_at_fork(after_in_child=_forget_calls_after_fork)


def host_call(host: Callable[..., T], args: tuple = ()) -> T:
    """Call `host(*args)`, a host function, inside a guarded call: a Ctrl-C, deadline or Stop may end it.

    Raises the call's stopped error after a host that returned from a stopped call, so the guest goes no further.
    """
    calls = STACKS.current()
    if not calls:
        return host(*args)
    call = calls[-1]
    result = host(*args)
    error = call.stopped_error()
    if error is not None:
        # A deadline, Stop or Ctrl-C came while the host ran (one that slept off
        # the main thread, kept on working, or swallowed the interrupt): back in the
        # guest, the next instruction could return a value before any epoch check.
        call.stop_raised_in_host()
        raise error
    return result
