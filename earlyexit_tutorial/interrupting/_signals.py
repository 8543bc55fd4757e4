"""Ctrl-C during a guarded call: the SIGINT handler and wakeup fd swapped in around the main thread's calls.

`SIGNALS` owns that swap and what a Ctrl-C does: it stops the main thread's
guarded calls and raises KeyboardInterrupt where Python code can take it (see
`handler_place`). It also sends our own SIGINT to the main thread to leave a
host function whose call was stopped.
The bytes the C-level handler writes while wasm runs are read by the watcher
(`_watcher.py`), which hands each Ctrl-C back to `SIGNALS.sigint()`.
`SIGNALS` is made again in a forked child: read it through this module.
"""

from __future__ import annotations

# `signal` wraps these C functions only to turn numbers into enums; calling
# them directly keeps the handler swap around ~2 µs per call instead of ~8.
# `_signal` is CPython's C module behind `signal`, on every system.
import _signal  # type: ignore[import-not-found]
import os
import signal
import threading
import time
from types import FrameType
from typing import Any

from . import _calls, _watcher
from ._calls import WatchedCall
from ._places import BLOCK, HOST, handler_place, main_thread_in_host
from ._places import never_raise_in as never_raise_in

# How long leaving the outermost call waits for our own wake signal to reach
# the handler (it takes microseconds; the bound only keeps a blocked signal
# from hanging the call).
WAKE_PATIENCE = 1.0

# A stopped main-thread call not yet in a host function is looked at again after
# this long (seconds), then twice as long each time, up to LOOK_AGAIN_LAST: a host
# function entered late is left within that.
LOOK_AGAIN_FIRST = 0.002
LOOK_AGAIN_LAST = 0.05


# Read once: each swap names them, and an enum member is a lookup and a wrapper each time.
_SIGINT = int(signal.SIGINT)
_IGNORED = signal.SIG_IGN


class _Signals:
    """The SIGINT handler and wakeup fd swapped in around the main thread's outermost guarded call."""

    def __init__(self) -> None:
        self.installed = False  # our handler and wakeup fd are in place
        self.previous_handler: Any = None
        self.previous_fd: int | None = None  # None: the wakeup fd is not ours to put back
        self.ctrl_c_between_calls = False  # a Ctrl-C came while installed but no call was registered
        self.sigint_byte_unread = False  # on_sigint ran: its byte may still wait in the wakeup socket
        self.wake_sent = False  # our own SIGINT, sent to leave a stopped host function, not handled yet
        self.ctrl_c_owed = False  # a Ctrl-C stopped the calls but could not be raised where the handler ran
        self.look_again_in = LOOK_AGAIN_FIRST  # how long the watcher waits before it looks for a host function again
        self._handler = self.on_sigint  # made once: a bound method made per call costs, and `is` tells it apart

    def swap_in(self) -> None:
        """Entering the main thread's outermost call (under LOCK): install our handler and wakeup fd."""
        if self.installed:
            return
        current = _signal.getsignal(_SIGINT)
        if current is None or current == _IGNORED:
            # Whoever ignores Ctrl-C (a background job, say) keeps ignoring it; a
            # handler set outside Python (None here) could not be put back.
            return
        try:
            watcher = _watcher.WATCHER
            if not watcher.running:
                watcher.start()
            self.ctrl_c_between_calls = self.sigint_byte_unread = self.wake_sent = self.ctrl_c_owed = False
            self.look_again_in = LOOK_AGAIN_FIRST
            self.previous_fd = None
            self.previous_handler = _signal.signal(_SIGINT, self._handler)
            self.installed = True
            # Our own socket, which the watcher empties: the default warning on a full
            # buffer could only tell of a dead watcher (and the keyword costs 0.1 µs).
            self.previous_fd = _signal.set_wakeup_fd(watcher.write_fd)
        except BaseException:
            self._restore()
            raise

    def register(self, call: WatchedCall) -> None:
        """A main-thread call has begun (under LOCK, after STACKS.push): a Ctrl-C while entering is its own."""
        if self.ctrl_c_between_calls:
            self.ctrl_c_between_calls = False
            call.stop_for_ctrl_c()

    def unregister(self, call: WatchedCall) -> None:
        """A main-thread call is ending (under LOCK, before STACKS.pop)."""
        if self.sigint_byte_unread:
            # A SIGINT came (the handler ran): read its byte now, while the call
            # still takes it, so that the watcher cannot give it to the next call.
            _watcher.WATCHER.read_signals()

    def await_wake(self) -> None:
        """Let our own wake signal reach on_sigint before the handler goes back (main thread, no lock held)."""
        if not self.wake_sent:
            return
        # A signal sent to this thread is delivered when it next enters the
        # kernel: sleeping lets it in. The previous handler must not get it,
        # since Python's own would raise KeyboardInterrupt for nothing.
        give_up = time.monotonic() + WAKE_PATIENCE
        while self.wake_sent and time.monotonic() < give_up:
            time.sleep(0.0005)

    def swap_out(self) -> None:
        """Leaving the main thread's outermost call (under LOCK): put the previous handler and wakeup fd back.

        Raises the KeyboardInterrupt of a Ctrl-C that no call could raise, once the previous handler is back.
        """
        self._restore()

    def ctrl_c_delivered(self) -> None:
        """The Ctrl-C of a call leaves it as an error, or as a trap its block caught: raise it no more."""
        self.ctrl_c_owed = False

    def _restore(self) -> None:
        if not self.installed:
            return
        # The wakeup fd first: until the handler goes back, a Ctrl-C still reaches on_sigint.
        # Python cannot tell which warn_on_full_buffer the previous fd had, so it comes back
        # with False: an owner that asked for warnings loses the warning about a full fd
        # (the byte is dropped either way), and one that asked for none gets none.
        previous_fd, self.previous_fd = self.previous_fd, None
        if previous_fd is not None:
            if previous_fd == -1:  # none before ours, the usual case: no fd, no warning to choose
                current_fd = _signal.set_wakeup_fd(-1)
            else:
                current_fd = _signal.set_wakeup_fd(previous_fd, warn_on_full_buffer=False)
            if current_fd != _watcher.WATCHER.write_fd:
                # Someone set a wakeup fd of their own during the call: theirs stays.
                _signal.set_wakeup_fd(current_fd, warn_on_full_buffer=False)
                previous_fd = None
        forward = b""
        watcher = _watcher.WATCHER
        if watcher.has_leftovers():
            with _calls.LOCK:
                watcher.forget_wakes()
                forward = watcher.take_forwarded()
        if forward and previous_fd is not None and previous_fd >= 0:
            _write_to_fd(previous_fd, forward)
        handler, self.previous_handler = self.previous_handler, None
        # Not installed from here on, before the swap: should Python's own handler
        # raise KeyboardInterrupt right after it, the state is already true.
        self.installed = False
        if _signal.getsignal(_SIGINT) is self._handler:
            _signal.signal(_SIGINT, handler)
        # else: a handler installed during the call (by a host function or the block) is kept, as
        # trio keeps one: it was set after ours, so it is the one its owner wants from now on.
        owed = self.ctrl_c_between_calls or self.ctrl_c_owed
        self.ctrl_c_between_calls = self.ctrl_c_owed = False
        if owed:
            raise KeyboardInterrupt

    def sigint(self, *, in_handler: bool = False) -> bool:
        """A Ctrl-C arrived (under LOCK): stop every guarded call of the main thread.

        Returns False when no guarded call was there to take it.
        """
        calls = _calls.STACKS.main
        if calls:
            for call in calls:
                call.stop_for_ctrl_c()
            return True
        # Our handler runs only while swapped in, so with no call registered this is
        # entering or leaving: raised once the old handler is back. The watcher may
        # read a byte later, when Python's own handler has had the Ctrl-C already.
        if in_handler or self.installed:
            self.ctrl_c_between_calls = True
            return True
        return False

    def wake_host(self) -> None:
        """(under LOCK) The main thread's innermost call was stopped: leave its host function, if one runs, now."""
        calls = _calls.STACKS.main
        if not self.installed or self.wake_sent or not calls:
            return
        innermost = calls[-1]
        if innermost.stopped_error() is None:
            return
        if threading.get_ident() != _calls.MAIN_THREAD and not main_thread_in_host(innermost):
            # Wasm runs (its trap is on the way) or the block's own Python does: no signal,
            # since a Ctrl-C pressed just then would merge with it and be told as this stop.
            # A host function may still be entered before the guest reaches its next epoch
            # check: the watcher looks again, less and less often, while the call lasts.
            _watcher.WATCHER.look_again(self.look_again_in)
            self.look_again_in = min(2 * self.look_again_in, LOOK_AGAIN_LAST)
            return
        # On the main thread (a stop() from the block or a host function) the handler,
        # which runs where the thread is, tells whether it is in a host function.
        self.wake_sent = True
        _watcher.WATCHER.expect_wake()
        _sigint_to_main_thread()

    def on_sigint(self, signum: int, frame: FrameType | None) -> None:
        """The SIGINT handler during a guarded call: stop the main thread's calls; raise where Python can take it."""
        with _calls.LOCK:
            self.sigint_byte_unread = True
            ctrl_c = not self.wake_sent
            if ctrl_c:
                self.sigint(in_handler=True)
            else:  # our own signal: the call was stopped already, for its own reason
                self.wake_sent = False
            calls = _calls.STACKS.main
            if not calls:
                return
            innermost = calls[-1]
            error = innermost.stopped_error()
            if error is None:
                return
            place = handler_place(frame, innermost.block_frame)
            if place is HOST:
                innermost.stop_raised_in_host()
                raise error
            if place is BLOCK and ctrl_c:
                raise error
            if ctrl_c:
                # Not here: the trap it makes, or the end of the outermost call, raises it.
                self.ctrl_c_owed = True


def _sigint_to_main_thread() -> None:
    """Send SIGINT to the main thread, so that a sleep or a blocking wait there ends at once."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(_calls.MAIN_THREAD, signal.SIGINT)  # type: ignore[arg-type]
    else:
        # Windows: raise() runs the C handler on this thread; it marks the signal for
        # the main thread and sets the event its time.sleep() and waits watch.
        signal.raise_signal(signal.SIGINT)


def _write_to_fd(fd: int, data: bytes) -> None:
    """Pass signal bytes on to a wakeup fd (a socket on Windows, where os.write cannot reach it)."""
    try:
        if os.name == "nt":
            import socket

            sock = socket.socket(fileno=fd)
            try:
                sock.send(data)
            finally:
                sock.detach()  # the fd is its owner's: do not close it
        else:
            os.write(fd, data)
    except OSError:
        pass  # a full or closed fd: its owner did not want the bytes then either


SIGNALS = _Signals()
never_raise_in(
    _Signals.swap_in,
    _Signals._restore,
    _Signals.on_sigint,
    _Signals.await_wake,
    _Signals.register,
    _Signals.unregister,
)


def _take_sigint() -> bool:
    """The watcher's Ctrl-C, for the main thread's calls (SIGNALS read when called: a fork renews it)."""
    return SIGNALS.sigint()


def _look_for_host() -> None:
    """The watcher's second look (under LOCK): wake a stopped main-thread call's host function if one runs now."""
    SIGNALS.wake_host()


_watcher.take_sigint = _take_sigint
_watcher.look_for_host = _look_for_host


def _forget_signals_after_fork() -> None:
    # A forked child starts with none of our handler's state: swapped in on first use.
    global SIGNALS
    SIGNALS = _Signals()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork, so nothing to forget there
    os.register_at_fork(after_in_child=_forget_signals_after_fork)
