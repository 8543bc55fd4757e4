"""The watcher: one long-lived thread that fires the guarded calls' deadlines and reads the wakeup socket.

`WATCHER` owns the deadlines, the socket pair whose write end is the wakeup fd
while a main-thread call runs, and the bytes read from it: a Ctrl-C's goes to
`take_sigint`, which `_signals.py` sets when it loads, other signals' are kept to pass on, and our
own wake signals' are counted out. It also owns the hook that sends again a
Ctrl-C dropped inside a finalizer: the hook only pokes this thread, which sends
it. `WATCHER` is made again in a forked child: read it through this module.
"""

from __future__ import annotations

import _socket
import _thread
import contextlib
import math
import os
import selectors
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from . import _calls
from ._calls import StoppedFromOutside, WatchedCall


def _nobody_takes_sigint() -> bool:
    return False


# Who takes a Ctrl-C read from the wakeup socket: `_signals.py` sets it when it
# loads (it imports this module; this module does not import it). Returns
# whether a guarded call took it.
take_sigint: Callable[[], bool] = _nobody_takes_sigint


def _no_host_to_look_for() -> None:
    return None


# What the watcher does when a look asked for by `look_again` is due: `_signals.py`
# sets it (wake a stopped main-thread call's host function, if one runs then).
look_for_host: Callable[[], None] = _no_host_to_look_for


# POSIX has socketpair() in C: `_socket`'s costs the command line's cold start
# 0.5 ms, the `socket` module's ~3 ms. Windows has none; there the socket
# module emulates it over loopback (a test forces that path on POSIX too).
_C_SOCKETPAIR = getattr(_socket, "socketpair", None)

# While calls keep coming, the watcher looks at the deadlines this often (seconds)
# instead of being woken for each new one.
HEARTBEAT = 1.0
# A stopped call still running this long after its stop gets the epoch moved again, then
# twice as late each time, up to NUDGE_MOST (seconds): see `nudge_later`.
NUDGE_FIRST, NUDGE_MOST = 0.005, 0.05

# The byte that asks the thread to send a Ctrl-C again: above every signal number.
RESEND_CTRL_C = 255


class _Watcher:
    """The one long-lived thread that reads the wakeup socket and fires deadlines."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._deadlines: dict[WatchedCall, float] = {}
        self._reader: _socket.socket
        self._writer: _socket.socket
        self._wake_at = math.inf  # when the thread wakes next if nothing pokes it
        self._added = False  # a deadline was added since the thread last looked
        self._look_at = math.inf  # when to call look_for_host (see look_again)
        self._nudges: dict[WatchedCall, tuple[float, float]] = {}  # stopped calls still running: (when, delay)
        self.running = False  # the thread was started and has not died: add() and the swap need nothing more
        self._forward = bytearray()  # other signals' bytes, for the previous wakeup fd
        self._wake_bytes = 0  # SIGINT bytes our own wake signals will write: not a Ctrl-C
        self.died: BaseException | None = None  # what ended the thread, should it ever end

    def start(self) -> None:
        """Start the thread and its socket pair on first use; raise WatcherDied if it ever stopped."""
        if self._thread is not None:
            if self.died is not None:
                self.check_alive()
            return
        with _calls.LOCK:
            if self._thread is not None:
                return
            self._reader, self._writer = _nonblocking_pair()
            self.write_fd = self._writer.fileno()
            thread = threading.Thread(target=self._loop, name="earlyexit-watcher", daemon=True)
            thread.start()
            self._thread = thread
            self.running = True
            global _previous_unraisablehook
            if sys.unraisablehook is not _resend_ctrl_c_dropped_in_finalizer:
                _previous_unraisablehook, sys.unraisablehook = sys.unraisablehook, _resend_ctrl_c_dropped_in_finalizer

    def check_alive(self) -> None:
        """Raise WatcherDied if the thread has stopped: no deadline and no Ctrl-C could fire."""
        if self.died is not None:
            raise WatcherDied(
                "the guard's watcher thread stopped, so no deadline and no Ctrl-C could end a call: "
                f"{type(self.died).__name__}: {self.died}"
            ) from self.died

    def add(self, call: WatchedCall) -> None:
        """Watch `call`'s deadline (under LOCK); raise WatcherDied if nothing would fire it."""
        if not self.running:
            self.start()  # raises WatcherDied if the thread has died
        deadline = self._deadlines[call] = call.deadline
        self._added = True
        if deadline < self._wake_at:
            self.poke()

    def look_again(self, delay: float) -> None:
        """Call `look_for_host` (under LOCK) in `delay` seconds, unless an earlier look is due."""
        at = time.monotonic() + delay
        if at < self._look_at:
            self._look_at = at
            if at < self._wake_at:
                self.poke()  # the thread would sleep past it

    def nudge_later(self, call: WatchedCall) -> None:
        """Move the epoch again for `call`, just stopped, should it run on (under LOCK).

        A store's epoch callback decides whether to go on, and wasmtime then sets its
        next deadline from the epoch as it is by then: a stop's tick that lands between
        the two is taken into that deadline and never seen. Rare (a neighbour's tick and
        the stop a few microseconds apart), but the call would never end.
        """
        if call in self._nudges:
            return
        if not self.running:
            try:
                self.start()
            except RuntimeError:  # a dead watcher (its calls are stopped already), or no thread to be had
                return
        at = time.monotonic() + NUDGE_FIRST
        self._nudges[call] = (at, NUDGE_FIRST)
        if at < self._wake_at:
            self.poke()

    def remove(self, call: WatchedCall) -> None:
        """Stop watching `call` (under LOCK); the thread finds out when it next wakes."""
        self._deadlines.pop(call, None)

    def poke(self, byte: int = 0) -> None:
        """Wake the thread: 0 to look at the deadlines again, RESEND_CTRL_C to send SIGINT again."""
        with contextlib.suppress(OSError):  # the socket is full: the thread will wake anyway
            self._writer.send(bytes([byte]))  # neither is a signal number

    def expect_wake(self) -> None:
        """Our own SIGINT is on its way (under LOCK): its byte is not a Ctrl-C."""
        self._wake_bytes += 1

    def forget_wakes(self) -> None:
        """The outermost call is over (under LOCK): a wake byte never written is expected no more."""
        self._wake_bytes = 0

    def read_signals(self) -> bool:
        """Empty the socket (under LOCK); a Ctrl-C's byte stops the main thread's calls.

        Returns True for a resent Ctrl-C that no guarded call took: Python's own
        handler must get it (only the watcher sees this: the main thread reads inside a call).
        """
        if self._thread is None:
            return False
        ctrl_c = resend = False
        while True:
            try:
                data = self._reader.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                break
            for byte in data:
                if byte == signal.SIGINT:
                    if self._wake_bytes:
                        self._wake_bytes -= 1  # our own wake signal: its call knows why it stopped
                    else:
                        ctrl_c = True
                elif byte == RESEND_CTRL_C:
                    resend = True
                elif byte != 0:
                    self._forward.append(byte)
        if not (ctrl_c or resend):
            return False
        taken = take_sigint()
        return resend and not taken

    def has_leftovers(self) -> bool:
        """Whether other signals' bytes or expected wake bytes remain (read without the lock: a hint)."""
        return bool(self._forward) or self._wake_bytes != 0

    def take_forwarded(self) -> bytes:
        """The other signals' bytes read so far (under LOCK), to pass on."""
        data, self._forward = bytes(self._forward), bytearray()
        return data

    def _loop(self) -> None:
        try:
            self._watch()
        except BaseException as error:  # noqa: BLE001 - whatever it was, no call may wait on a dead thread
            with _calls.LOCK:
                self.running = False
                self.died = error
                # The calls it was watching would never be stopped: stop them now, for the
                # deadline they were promised (a call beginning from now on is refused).
                for call in list(self._deadlines):
                    call.stop_at_deadline()
                self._deadlines.clear()

    def _watch(self) -> None:
        # A selector, not select.select: select() refuses descriptors >= 1024, which a
        # program with many files open gives to new sockets.
        selector = selectors.DefaultSelector()
        selector.register(self._reader, selectors.EVENT_READ)
        while True:
            with _calls.LOCK:
                wake_at = min(min(self._deadlines.values(), default=math.inf), self._look_at)
                if self._nudges:
                    wake_at = min(wake_at, *(at for at, _ in self._nudges.values()))
                if wake_at == math.inf and self._added:
                    # Calls come and go faster than the thread looks: rather than be poked
                    # (a system call and a thread switch) for each, look again in a while;
                    # a call whose deadline is sooner than that still pokes.
                    wake_at = time.monotonic() + HEARTBEAT
                self._added = False
                self._wake_at = wake_at
                wait = wake_at - time.monotonic()
            # Some systems refuse very long waits; waking once an hour costs nothing.
            selector.select(None if wait == math.inf else max(0.0, min(wait, 3600.0)))
            with _calls.LOCK:
                resend = self.read_signals()
                self._fire_due_deadlines()
                if self._nudges:
                    self._nudge_due()
                if self._look_at <= time.monotonic():
                    self._look_at = math.inf
                    look_for_host()  # may ask for the next look
            if resend:
                # Not at once: the main thread is still in the hook that asked for
                # it, and a Ctrl-C raised there would be dropped again.
                time.sleep(0.005)
                _thread.interrupt_main(signal.SIGINT)

    def _nudge_due(self) -> None:
        """Move the epoch again for each stopped call whose nudge is due and that still runs (under LOCK)."""
        now = time.monotonic()
        for call, (at, delay) in list(self._nudges.items()):
            if at > now:
                continue
            if call.nudge():
                delay = min(delay * 2, NUDGE_MOST)
                self._nudges[call] = (now + delay, delay)
            else:
                del self._nudges[call]

    def _fire_due_deadlines(self) -> None:
        """Stop every call whose deadline has passed (under LOCK)."""
        # A method of its own, not a loop in _loop: a loop variable there would hold the
        # last call (and its store and engine) alive while the thread sleeps waiting.
        now = time.monotonic()
        for call, deadline in list(self._deadlines.items()):
            if deadline <= now:
                del self._deadlines[call]
                call.stop_at_deadline()


class WatcherDied(RuntimeError):
    """The guard's watcher thread has stopped: a guarded call is refused rather than left without a deadline."""


def _nonblocking_pair() -> tuple[_socket.socket, _socket.socket]:
    """A (read, write) pair of non-blocking sockets for the wakeup fd."""
    # Sockets, not a pipe: on Windows set_wakeup_fd takes only a socket and
    # select() waits only on sockets; one kind on every system keeps one path.
    if _C_SOCKETPAIR is not None:
        reader, writer = _C_SOCKETPAIR()
    else:
        import socket

        reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    return reader, writer


def _resend_ctrl_c_dropped_in_finalizer(unraisable: Any) -> None:
    """sys.unraisablehook: a KeyboardInterrupt raised inside a finalizer is sent again, not dropped."""
    # The garbage collector runs finalizers (`__del__`, wasmtime's objects have
    # one) at any moment. A Ctrl-C handled while one runs, by Python's own
    # handler between two calls or by ours in a host function, raises there,
    # and Python drops it with "Exception ignored": a lost interrupt. Sending it
    # again lets the handler raise it once the finalizer is over. The watcher
    # sends it: sent from here, it would be raised inside this hook and dropped.
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and threading.get_ident() == _calls.MAIN_THREAD:
        WATCHER.poke(RESEND_CTRL_C)
        return
    if isinstance(unraisable.exc_value, StoppedFromOutside):
        return  # our wake for a stopped host, landed in a finalizer: the call ends anyway when the host returns
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


WATCHER = _Watcher()


def _forget_watcher_after_fork() -> None:
    # A forked child has no watcher thread: start a new one on first use.
    global WATCHER
    WATCHER = _Watcher()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork, so nothing to forget there
    os.register_at_fork(after_in_child=_forget_watcher_after_fork)
