"""The guard's machinery: one lock, the watcher thread, and the SIGINT handler swapped in.

`interrupting.py` states the protocol; this module carries out its signal and
deadline parts. It knows a guarded call (`GuardedCall`) only by its `deadline`
and `in_host` attributes and its `stopped_by_ctrl_c()` and `deadline_passed()`.
"""

from __future__ import annotations

import math
import os
import select
import signal
import sys
import threading
import time
from typing import Any, Optional

# `signal` wraps these C functions only to turn numbers into enums; calling
# them directly keeps the handler swap around ~2 µs per call instead of ~8.
import _signal  # type: ignore[import-not-found]
import _thread

# One lock for which calls are active, their deadlines and the signal state.
# Re-entrant: the SIGINT handler may run on the main thread inside a locked block.
LOCK = threading.RLock()
MAIN_THREAD = threading.main_thread().ident


class _Signals:
    """The main thread's guarded calls and the SIGINT handler swapped in around them."""

    def __init__(self) -> None:
        self.calls: list[Any] = []  # active guarded calls on the main thread, outermost first
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
            WATCHER.start()
            self.unreported = self.handled = False
            self.previous_handler = _signal.signal(signal.SIGINT, self.on_sigint)
            self.previous_fd = _signal.set_wakeup_fd(WATCHER.write_fd, warn_on_full_buffer=False)
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
        if WATCHER.has_forwarded():
            with LOCK:
                forward = WATCHER.take_forwarded()
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
        """A SIGINT arrived (under LOCK): stop every active guarded call of the main thread.

        Returns False when no guarded call was there to take it.
        """
        if not self.calls:
            if self.depth > 0:
                self.unreported = True  # entering or leaving: raised once the old handler is back
            return self.depth > 0
        for call in self.calls:
            call.stopped_by_ctrl_c()
        return True

    def on_sigint(self, signum: int, frame: Any) -> None:
        """The SIGINT handler during a guarded call: stop it, raising only inside a host function."""
        with LOCK:
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
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and threading.get_ident() == MAIN_THREAD:
        WATCHER.poke(_RESEND_CTRL_C)
        return
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


class _Watcher:
    """The one long-lived thread that reads the wakeup pipe and fires deadlines."""

    def __init__(self) -> None:
        self._thread: Optional[threading.Thread] = None
        self._deadlines: dict[Any, float] = {}
        self._wake_at = math.inf  # when the thread wakes next if nothing pokes it
        self._forward = bytearray()  # other signals' bytes, for the previous wakeup fd

    def start(self) -> None:
        """Start the thread and its pipe on first use."""
        if self._thread is not None:
            return
        with LOCK:
            if self._thread is not None:
                return
            self._read_fd, self.write_fd = _nonblocking_pair()
            thread = threading.Thread(target=self._loop, name="earlyexit-watcher", daemon=True)
            thread.start()
            self._thread = thread
            global _previous_unraisablehook
            if sys.unraisablehook is not _resend_ctrl_c_dropped_in_finalizer:
                _previous_unraisablehook, sys.unraisablehook = sys.unraisablehook, _resend_ctrl_c_dropped_in_finalizer

    def add(self, call: Any) -> None:
        """Watch `call`'s deadline (under LOCK)."""
        if self._thread is None:
            self.start()
        self._deadlines[call] = call.deadline
        if call.deadline < self._wake_at:
            self.poke()

    def remove(self, call: Any) -> None:
        """Stop watching `call` (under LOCK); the thread finds out when it next wakes."""
        self._deadlines.pop(call, None)

    def poke(self, byte: int = 0) -> None:
        """Wake the thread: 0 to look at the deadlines again, _RESEND_CTRL_C to send SIGINT again."""
        try:
            os.write(self.write_fd, bytes([byte]))  # neither is a signal number
        except OSError:
            pass  # the pipe is full: the thread will wake anyway

    def read_signals(self) -> bool:
        """Empty the pipe (under LOCK); a SIGINT byte stops the main thread's calls.

        Returns True for a resent Ctrl-C that no guarded call took: Python's own
        handler must get it (only the watcher sees this: the main thread reads inside a call).
        """
        if self._thread is None:
            return False
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
        return (sigint or resend) and not SIGNALS.sigint() and resend

    def has_forwarded(self) -> bool:
        """Whether other signals' bytes wait to be passed on (read without the lock: a hint)."""
        return bool(self._forward)

    def take_forwarded(self) -> bytes:
        """The other signals' bytes read so far (under LOCK), to pass on."""
        data, self._forward = bytes(self._forward), bytearray()
        return data

    def _loop(self) -> None:
        while True:
            with LOCK:
                self._wake_at = min(self._deadlines.values(), default=math.inf)
                wait = self._wake_at - time.monotonic()
            # select() refuses very long waits; waking once an hour costs nothing.
            select.select([self._read_fd], [], [], None if wait == math.inf else max(0.0, min(wait, 3600.0)))
            with LOCK:
                resend = self.read_signals()
                now = time.monotonic()
                for call, deadline in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[call]
                        call.deadline_passed()
            if resend:
                # Not at once: the main thread is still in the hook that asked for
                # it, and a Ctrl-C raised there would be dropped again.
                time.sleep(0.005)
                _thread.interrupt_main(signal.SIGINT)


def _nonblocking_pair() -> tuple[int, int]:
    """A (read, write) pair of non-blocking file descriptors for the wakeup fd."""
    read_fd, write_fd = os.pipe()  # lighter than a socket: no socket module to import
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    return read_fd, write_fd


WATCHER = _Watcher()
SIGNALS = _Signals()
_RESEND_CTRL_C = 255  # above every signal number


def _forget_watcher_after_fork() -> None:
    # A forked child has no watcher thread: start a new one on first use.
    global LOCK, WATCHER, MAIN_THREAD
    LOCK = threading.RLock()
    WATCHER = _Watcher()
    MAIN_THREAD = threading.get_ident()  # the thread that forked is the child's only one


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_watcher_after_fork)


def host_call(host: Any) -> Any:
    """Call the learner's host function so that a Ctrl-C during it may end it with KeyboardInterrupt."""
    calls = SIGNALS.calls
    if not calls or threading.get_ident() != MAIN_THREAD:
        return host()
    call = calls[-1]
    outer, call.in_host = call.in_host, True
    try:
        return host()
    finally:
        call.in_host = outer
