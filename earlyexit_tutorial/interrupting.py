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
  socket the watcher reads. While the main thread is inside wasm no Python
  handler can run, but the C-level handler still writes the signal number to
  that socket, so the watcher stops the call. When Python code runs during the
  call (a host function, wasmtime's trampoline), the handler itself stops it.
  It raises KeyboardInterrupt only inside the learner's host function body,
  where wasmtime turns it into a trap (a sleeping host is left at once); a
  KeyboardInterrupt anywhere in wasmtime's ctypes trampoline would crash.
  Leaving, the guard restores the previous handler and wakeup fd, and forwards
  any other signal's byte to the previous wakeup fd. A Ctrl-C that came while
  no call was active (entering or leaving) is raised as KeyboardInterrupt once
  the previous handler is back, so no interrupt is lost.
- On other threads the signal part is skipped; deadline, fuel and stop() work.

The watcher waits on a pipe with select(), which is POSIX; so is the tutorial.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
import select
import signal
import sys
import threading
import time
import weakref
from enum import Enum
from typing import Any, Optional

# `signal` wraps these C functions only to turn numbers into enums; calling
# them directly keeps the handler swap around ~2 µs per call instead of ~8.
import _signal  # type: ignore[import-not-found]
import _thread

import wasmtime

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
        self._active: list[GuardedCall] = []  # changed only under _LOCK
        self._pending: Optional[Reason] = None  # a stop() for a call announced by starting()
        self._starting = False

    def stop(self, reason: Reason = Reason.STOP) -> None:
        """Interrupt the guarded call running now; safe from any thread, a no-op when idle."""
        reason = Reason(reason)
        with _LOCK:
            if self._active:
                for call in self._active:
                    call._stopped(reason)
                self.engine.increment_epoch()
            elif self._starting and self._pending is None:
                self._pending = reason

    def starting(self) -> None:
        """Announce a call on its way: a stop() from now until it begins is kept for it."""
        with _LOCK:
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
        self._main = main = threading.get_ident() == _MAIN_THREAD
        if main:
            _SIGNALS.enter()
        try:
            with _LOCK:
                stopper._active.append(self)
                if main:
                    _SIGNALS.calls.append(self)
                    if _SIGNALS.unreported:  # a Ctrl-C while entering: it is this call's
                        _SIGNALS.unreported = False
                        stopper.stop(Reason.KERNEL)
                if stopper._starting:
                    stopper._starting = False
                    if stopper._pending is not None:  # a stop() pressed while this call was starting
                        self.reason, stopper._pending = stopper._pending, None
                        stopper.engine.increment_epoch()
                if self.timeout is not None:
                    self.deadline = time.monotonic() + self.timeout
                    _WATCHER.add(self)
        except BaseException:
            self._leave()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._leave()

    def _leave(self) -> None:
        main, stopper = self._main, self.stopper
        with _LOCK:
            if main and _SIGNALS.handled:
                # A Ctrl-C came (the handler ran): read its byte now, so that the
                # watcher cannot take it later for the next call.
                _WATCHER.read_signals()
            if self in stopper._active:
                stopper._active.remove(self)
            if not stopper._active:  # an announcement left over (a call refused as busy) means nothing now
                stopper._starting = False
                stopper._pending = None
            if self.deadline != math.inf:
                _WATCHER.remove(self)
            if main and self in _SIGNALS.calls:
                _SIGNALS.calls.remove(self)  # last: until here a Ctrl-C is this call's
        if main:
            _SIGNALS.leave()

    def _stopped(self, reason: Reason) -> None:
        # Called under _LOCK. A keyboard interrupt outranks what came before it:
        # the learner pressed it, and the outcome must say so.
        if self.reason is None or reason is Reason.KERNEL:
            self.reason = reason


# One lock for which calls are active, their deadlines and the signal state.
# Re-entrant: the SIGINT handler may run on the main thread inside a locked block.
_LOCK = threading.RLock()
_MAIN_THREAD = threading.main_thread().ident


class _Signals:
    """The main thread's guarded calls and the SIGINT handler swapped in around them."""

    def __init__(self) -> None:
        self.calls: list[GuardedCall] = []  # active guarded calls on the main thread, outermost first
        self.depth = 0
        self.previous_handler: Any = None
        self.previous_fd = -1
        self.unreported = False  # a Ctrl-C came while no call was active
        self.handled = False  # on_sigint ran during the outermost guarded call

    def enter(self) -> None:
        self.depth += 1
        if self.depth > 1:
            return  # nested in a host function: the outermost call's swap covers it
        if _signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            return  # whoever ignores Ctrl-C (a background job, say) keeps ignoring it
        try:
            _WATCHER.start()
            self.unreported = self.handled = False
            self.previous_handler = _signal.signal(signal.SIGINT, self.on_sigint)
            self.previous_fd = _signal.set_wakeup_fd(_WATCHER.write_fd, warn_on_full_buffer=False)
        except BaseException:
            self.depth -= 1
            self._restore()
            raise

    def leave(self) -> None:
        if self.depth > 1:
            self.depth -= 1
            return
        try:
            self._restore()  # still at depth 1: a Ctrl-C during the restore is not lost
        finally:
            self.depth = 0

    def _restore(self) -> None:
        if self.previous_handler is None:
            return
        # The wakeup fd first: until the handler goes back, a Ctrl-C still reaches on_sigint.
        _signal.set_wakeup_fd(self.previous_fd)
        forward = b""
        if _WATCHER.has_forwarded():
            with _LOCK:
                forward = _WATCHER.take_forwarded()
        if forward and self.previous_fd >= 0:
            try:
                os.write(self.previous_fd, forward)
            except OSError:
                pass  # a full or closed fd: its owner did not want the bytes then either
        handler, self.previous_handler = self.previous_handler, None
        _signal.signal(signal.SIGINT, handler)
        if self.unreported:
            self.unreported = False
            raise KeyboardInterrupt

    def sigint(self) -> bool:
        """A SIGINT arrived (under _LOCK): stop every active guarded call of the main thread.

        Returns False when no guarded call was there to take it.
        """
        if not self.calls:
            if self.depth > 0:
                self.unreported = True  # entering or leaving: raised once the old handler is back
            return self.depth > 0
        # Straight to the calls, not through Stopper.stop: this may run inside a
        # locked block of the main thread (the lock is re-entrant), where a call
        # can be half-way out of its Stopper's list.
        for call in self.calls:
            call._stopped(Reason.KERNEL)
            call.stopper.engine.increment_epoch()
        return True

    def on_sigint(self, signum: int, frame: Any) -> None:
        """The SIGINT handler during a guarded call: stop it, raising only inside a host function."""
        with _LOCK:
            self.handled = True
            self.sigint()
            in_host = bool(self.calls) and self.calls[-1].in_host
        if in_host:
            raise KeyboardInterrupt


def _resend_ctrl_c_dropped_in_finalizer(unraisable: Any) -> None:
    """sys.unraisablehook: a KeyboardInterrupt raised inside a finalizer is sent again, not dropped."""
    # The garbage collector runs finalizers (`__del__`, wasmtime's objects have
    # one) at any moment. A Ctrl-C handled while one runs, by Python's own
    # handler between two calls or by ours in a host function, raises there,
    # and Python drops it with "Exception ignored": a lost interrupt. Sending it
    # again lets the handler raise it once the finalizer is over. The watcher
    # sends it: sent from here, it would be raised inside this hook and dropped.
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and threading.get_ident() == _MAIN_THREAD:
        _WATCHER.poke(_RESEND_CTRL_C)
        return
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


class _Watcher:
    """The one long-lived thread that reads the wakeup socket and fires deadlines."""

    def __init__(self) -> None:
        self._thread: Optional[threading.Thread] = None
        self._deadlines: dict[GuardedCall, float] = {}
        self._wake_at = math.inf  # when the thread wakes next if nothing pokes it
        self._forward = bytearray()  # other signals' bytes, for the previous wakeup fd

    def start(self) -> None:
        """Start the thread and its socket on first use."""
        if self._thread is not None:
            return
        with _LOCK:
            if self._thread is not None:
                return
            self._read_fd, self.write_fd = _nonblocking_pair()
            thread = threading.Thread(target=self._loop, name="earlyexit-watcher", daemon=True)
            thread.start()
            self._thread = thread
            global _previous_unraisablehook
            if sys.unraisablehook is not _resend_ctrl_c_dropped_in_finalizer:
                _previous_unraisablehook, sys.unraisablehook = sys.unraisablehook, _resend_ctrl_c_dropped_in_finalizer

    def add(self, call: GuardedCall) -> None:
        """Watch `call`'s deadline (under _LOCK)."""
        if self._thread is None:
            self.start()
        self._deadlines[call] = call.deadline
        if call.deadline < self._wake_at:
            self.poke()

    def remove(self, call: GuardedCall) -> None:
        """Stop watching `call` (under _LOCK); the thread finds out when it next wakes."""
        self._deadlines.pop(call, None)

    def poke(self, byte: int = 0) -> None:
        """Wake the thread: 0 to look at the deadlines again, _RESEND_CTRL_C to send SIGINT again."""
        try:
            os.write(self.write_fd, bytes([byte]))  # neither is a signal number
        except OSError:
            pass  # the socket is full: the thread will wake anyway

    def read_signals(self) -> None:
        """Empty the socket (under _LOCK); a SIGINT byte stops the main thread's calls."""
        if self._thread is None:
            return
        sigint = resend = False
        while True:
            try:
                data = os.read(self._read_fd, 4096)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                break
            for byte in data:
                if byte == signal.SIGINT:
                    sigint = True
                elif byte == _RESEND_CTRL_C:
                    resend = True
                elif byte != 0:
                    self._forward.append(byte)
        # A resent Ctrl-C with no guarded call to take it goes to Python's own
        # handler (only the watcher gets here: the main thread reads inside a call).
        if (sigint or resend) and not _SIGNALS.sigint() and resend:
            _thread.interrupt_main(signal.SIGINT)

    def has_forwarded(self) -> bool:
        """Whether other signals' bytes wait to be passed on (read without the lock: a hint)."""
        return bool(self._forward)

    def take_forwarded(self) -> bytes:
        """The other signals' bytes read so far (under _LOCK), to pass on."""
        data, self._forward = bytes(self._forward), bytearray()
        return data

    def _loop(self) -> None:
        while True:
            with _LOCK:
                self._wake_at = min(self._deadlines.values(), default=math.inf)
                wait = self._wake_at - time.monotonic()
            # select() refuses very long waits; waking once an hour costs nothing.
            select.select([self._read_fd], [], [], None if wait == math.inf else max(0.0, min(wait, 3600.0)))
            with _LOCK:
                self.read_signals()
                now = time.monotonic()
                for call, deadline in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[call]
                        call.stopper.stop(Reason.DEADLINE)


def _nonblocking_pair() -> tuple[int, int]:
    """A (read, write) pair of non-blocking file descriptors for the wakeup fd."""
    read_fd, write_fd = os.pipe()  # lighter than a socket: no socket module to import
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    return read_fd, write_fd


_WATCHER = _Watcher()
_SIGNALS = _Signals()
_RESEND_CTRL_C = 255  # above every signal number


def _forget_watcher_after_fork() -> None:
    # A forked child has no watcher thread: start a new one on first use.
    global _LOCK, _WATCHER, _MAIN_THREAD
    _LOCK = threading.RLock()
    _WATCHER = _Watcher()
    _MAIN_THREAD = threading.get_ident()  # the thread that forked is the child's only one


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_watcher_after_fork)


def host_call(host: Any) -> Any:
    """Call the learner's host function so that a Ctrl-C during it may end it with KeyboardInterrupt."""
    calls = _SIGNALS.calls
    if not calls or threading.get_ident() != _MAIN_THREAD:
        return host()
    call = calls[-1]
    outer, call.in_host = call.in_host, True
    try:
        return host()
    finally:
        call.in_host = outer
