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
import time
from types import CodeType, FrameType
from typing import Any

from .._support import _epoch_callback
from . import _calls, _watcher
from ._calls import WatchedCall

# How long leaving the outermost call waits for our own wake signal to reach
# the handler (it takes microseconds; the bound only keeps a blocked signal
# from hanging the call).
WAKE_PATIENCE = 1.0


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

    def swap_in(self) -> None:
        """Entering the main thread's outermost call (under LOCK): install our handler and wakeup fd."""
        if self.installed:
            return
        current = _signal.getsignal(signal.SIGINT)
        if current is None or current == signal.SIG_IGN:
            # Whoever ignores Ctrl-C (a background job, say) keeps ignoring it; a
            # handler set outside Python (None here) could not be put back.
            return
        try:
            watcher = _watcher.WATCHER
            watcher.start()
            self.ctrl_c_between_calls = self.sigint_byte_unread = self.wake_sent = self.ctrl_c_owed = False
            self.previous_fd = None
            self.previous_handler = _signal.signal(signal.SIGINT, self.on_sigint)
            self.installed = True
            self.previous_fd = _signal.set_wakeup_fd(watcher.write_fd, warn_on_full_buffer=False)
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
        if _signal.getsignal(signal.SIGINT) == self.on_sigint:
            _signal.signal(signal.SIGINT, handler)
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
        if calls[-1].stopped_error() is None:
            return
        # Whether a host function runs (the learner's plain wasmtime.Func too) only the
        # handler can tell, from where it runs: so the signal goes whenever the call was
        # stopped, and the handler raises only inside a host function.
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


# Where the SIGINT handler runs, as `handler_place` tells it.
OWN = "own"  # the guard's own code (entering or leaving a call) or the epoch callback: never raise here
GLUE = "glue"  # wasmtime-py's Python around a call into wasm (or the typed fast path): the trap will say it
HOST = "host"  # a host function called from wasm: raising here leaves it, and the guest traps
BLOCK = "block"  # other Python code in the `with` block: raise KeyboardInterrupt, as Python would

# The code objects in which the handler never raises, whatever calls them: the
# guard adds its entering and leaving code (`never_raise_in`). The epoch callback
# is never raised in either (an exception there would reach C): `handler_place`
# asks `_epoch_callback.CALLBACK_CODE`, set once the callback exists.
NEVER_RAISE: set[CodeType] = set()

# The modules whose code is the Python glue of a call into wasm: wasmtime-py's own
# (its call wrapper, its host trampoline and what they call, ctypes among it) and
# our typed fast path.
_GLUE_MODULES = ("wasmtime", "ctypes", "earlyexit_tutorial._support._fastcall")


def never_raise_in(*functions: Any) -> None:
    """Name functions in which (or below which) the SIGINT handler must not raise."""
    NEVER_RAISE.update(function.__code__ for function in functions)


def _is_glue(frame: FrameType) -> bool:
    return frame.f_globals.get("__name__", "").startswith(_GLUE_MODULES)


def _is_host_trampoline(frame: FrameType) -> bool:
    # wasmtime-py calls every host function from one ctypes callback, `trampoline` in `wasmtime._func`.
    return frame.f_code.co_name == "trampoline" and frame.f_globals.get("__name__") == "wasmtime._func"


def handler_place(frame: FrameType | None, block_frame: FrameType | None) -> str:
    """Where the main thread was when the SIGINT handler ran: OWN, GLUE, HOST or BLOCK.

    The protocol. `frame` is the frame the handler interrupted, `block_frame` the
    frame that entered the innermost guarded call. Looking from `frame` outwards up
    to `block_frame`: a frame whose code is in NEVER_RAISE (or the epoch callback's)
    makes it OWN. An innermost frame of wasmtime-py's, of ctypes or of our typed fast
    path makes it GLUE: raising there would lose the trap the call is about to raise,
    or escape wasmtime-py's host trampoline outside its `try` into C (a crash). Further
    out, wasmtime-py's trampoline (`wasmtime._func.trampoline`) means a host function
    runs: HOST if the frame the trampoline called is the host's own, GLUE if it is
    the trampoline's glue (ctypes, wasmtime-py). Anything else is the block's own
    Python code: BLOCK.
    """
    if frame is None:
        return BLOCK
    if frame.f_code in NEVER_RAISE or frame.f_code is _epoch_callback.CALLBACK_CODE:
        return OWN
    if _is_glue(frame):
        return GLUE
    place = BLOCK
    called = frame
    while frame is not None and frame is not block_frame:
        if frame.f_code in NEVER_RAISE:
            return OWN
        if place is BLOCK and _is_host_trampoline(frame):
            # Keep looking outwards: the guard's own code may be further out.
            place = GLUE if _is_glue(called) else HOST
        called, frame = frame, frame.f_back
    return place


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


_watcher.take_sigint = _take_sigint


def _forget_signals_after_fork() -> None:
    # A forked child starts with none of our handler's state: swapped in on first use.
    global SIGNALS
    SIGNALS = _Signals()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork, so nothing to forget there
    os.register_at_fork(after_in_child=_forget_signals_after_fork)
