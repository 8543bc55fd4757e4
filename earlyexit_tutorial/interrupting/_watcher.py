"""The guard's machinery: one lock, the calls on each thread, the watcher thread, the SIGINT handler.

`interrupting.py` states the protocol and why it is built so; this module
carries out its signal, deadline and host-function parts. It sees a guarded
call only through the `WatchedCall` protocol. Each piece of state has one
owner: `STACKS` which calls run on which thread, `SIGNALS` the SIGINT handler
and wakeup fd swapped in, `WATCHER` the deadlines and the wakeup socket.
"""

from __future__ import annotations

import math
import os
import select
import signal
import sys
import threading
import time
from typing import Any, Callable, Optional, Protocol, TypeVar

# `signal` wraps these C functions only to turn numbers into enums; calling
# them directly keeps the handler swap around ~2 µs per call instead of ~8.
# `_signal` is CPython's C module behind `signal`, on every system.
import _signal  # type: ignore[import-not-found]
import _socket
import _thread

# POSIX has socketpair() in C: `_socket`'s costs the command line's cold start
# 0.5 ms, the `socket` module's ~3 ms. Windows has none; there the socket
# module emulates it over loopback (a test forces that path on POSIX too).
_C_SOCKETPAIR = getattr(_socket, "socketpair", None)

# One lock for which calls are active, their deadlines and the signal state.
# Re-entrant: the SIGINT handler may run on the main thread inside a locked block.
LOCK = threading.RLock()
MAIN_THREAD = threading.main_thread().ident

# How long leaving the outermost call waits for our own wake signal to reach
# the handler (it takes microseconds; the bound only keeps a blocked signal
# from hanging the call).
WAKE_PATIENCE = 1.0

# While calls keep coming, the watcher looks at the deadlines this often (seconds)
# instead of being woken for each new one.
HEARTBEAT = 1.0

T = TypeVar("T")


class WatchedCall(Protocol):
    """What the watcher, the SIGINT handler and `host_call` need of a guarded call."""

    deadline: float  # time.monotonic() at which the watcher stops it; math.inf for none
    in_host: bool  # a host function called through host_call runs inside it now

    def stop_for_ctrl_c(self) -> None:
        """Stop the call for a Ctrl-C (under LOCK)."""

    def stop_at_deadline(self) -> None:
        """Stop the call at its deadline (the watcher, under LOCK)."""

    def stopped_error(self) -> Optional[BaseException]:
        """What to raise in a host function of the call once it is stopped: None while it is not."""


class GuestStopped(Exception):
    """Raised inside a host function whose call was stopped, so that the guest cannot run on."""


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
            return self._local.calls  # type: ignore[no-any-return]
        except AttributeError:
            calls: list[WatchedCall] = []
            self._local.calls = calls
            return calls

    def push(self, call: WatchedCall) -> Optional[WatchedCall]:
        """Put `call` on the calling thread's stack (under LOCK); return the call it runs inside, if any."""
        calls = self.current()
        outer = calls[-1] if calls else None
        calls.append(call)
        return outer

    def pop(self, call: WatchedCall) -> None:
        """Take `call` off the calling thread's stack (under LOCK)."""
        calls = self.current()
        if call in calls:
            calls.remove(call)


class _Signals:
    """The SIGINT handler and wakeup fd swapped in around the main thread's outermost guarded call."""

    def __init__(self) -> None:
        self.installed = False  # our handler and wakeup fd are in place
        self.previous_handler: Any = None
        self.previous_fd: Optional[int] = None  # None: the wakeup fd is not ours to put back
        self.ctrl_c_between_calls = False  # a Ctrl-C came while installed but no call was registered
        self.sigint_byte_unread = False  # on_sigint ran: its byte may still wait in the wakeup socket
        self.wake_sent = False  # our own SIGINT, sent to leave a stopped host function, not handled yet

    def swap_in(self) -> None:
        """Before the main thread's outermost call: install our handler and wakeup fd."""
        if STACKS.main or self.installed:
            return  # nested in a host function: the outermost call's swap covers it
        current = _signal.getsignal(signal.SIGINT)
        if current is None or current == signal.SIG_IGN:
            # Whoever ignores Ctrl-C (a background job, say) keeps ignoring it; a
            # handler set outside Python (None here) could not be put back.
            return
        try:
            WATCHER.start()
            self.ctrl_c_between_calls = self.sigint_byte_unread = self.wake_sent = False
            self.previous_fd = None
            self.previous_handler = _signal.signal(signal.SIGINT, self.on_sigint)
            self.installed = True
            self.previous_fd = _signal.set_wakeup_fd(WATCHER.write_fd, warn_on_full_buffer=False)
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
            WATCHER.read_signals()

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
        """After the main thread's outermost call: put the previous handler and wakeup fd back."""
        if not STACKS.main:
            self._restore()

    def _restore(self) -> None:
        if not self.installed:
            return
        # The wakeup fd first: until the handler goes back, a Ctrl-C still reaches on_sigint.
        # Python cannot tell which warn_on_full_buffer the previous fd had, so it comes back
        # with False: an owner that asked for warnings loses the warning about a full fd
        # (the byte is dropped either way), and one that asked for none gets none.
        previous_fd, self.previous_fd = self.previous_fd, None
        if previous_fd is not None:
            _signal.set_wakeup_fd(previous_fd, warn_on_full_buffer=False)
        forward = b""
        if WATCHER.has_leftovers():
            with LOCK:
                WATCHER.forget_wakes()
                forward = WATCHER.take_forwarded()
        if forward and previous_fd is not None and previous_fd >= 0:
            _write_to_fd(previous_fd, forward)
        handler, self.previous_handler = self.previous_handler, None
        # Not installed from here on, before the swap: should Python's own handler
        # raise KeyboardInterrupt right after it, the state is already true.
        self.installed = False
        _signal.signal(signal.SIGINT, handler)
        if self.ctrl_c_between_calls:
            self.ctrl_c_between_calls = False
            raise KeyboardInterrupt

    def sigint(self, *, in_handler: bool = False) -> bool:
        """A Ctrl-C arrived (under LOCK): stop every guarded call of the main thread.

        Returns False when no guarded call was there to take it.
        """
        calls = STACKS.main
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
        """(under LOCK) The main thread's innermost call was stopped inside a host function: leave that host now."""
        calls = STACKS.main
        if not self.installed or self.wake_sent or not calls:
            return
        innermost = calls[-1]
        if not innermost.in_host or innermost.stopped_error() is None:
            return
        self.wake_sent = True
        WATCHER.expect_wake()
        _sigint_to_main_thread()

    def on_sigint(self, signum: int, frame: Any) -> None:
        """The SIGINT handler during a guarded call: stop it, raising only inside a host function."""
        with LOCK:
            self.sigint_byte_unread = True
            if self.wake_sent:  # our own signal: the call was stopped already, for its own reason
                self.wake_sent = False
            else:
                self.sigint(in_handler=True)
            calls = STACKS.main
            error = calls[-1].stopped_error() if calls and calls[-1].in_host else None
        if error is not None:
            raise error


def _sigint_to_main_thread() -> None:
    """Send SIGINT to the main thread, so that a sleep or a blocking wait there ends at once."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(MAIN_THREAD, signal.SIGINT)  # type: ignore[arg-type]
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
    if isinstance(unraisable.exc_value, GuestStopped):
        return  # our wake for a stopped host, landed in a finalizer: the call ends anyway when the host returns
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


class _Watcher:
    """The one long-lived thread that reads the wakeup socket and fires deadlines."""

    def __init__(self) -> None:
        self._thread: Optional[threading.Thread] = None
        self._deadlines: dict[WatchedCall, float] = {}
        self._reader: _socket.socket
        self._writer: _socket.socket
        self._wake_at = math.inf  # when the thread wakes next if nothing pokes it
        self._added = False  # a deadline was added since the thread last looked
        self._forward = bytearray()  # other signals' bytes, for the previous wakeup fd
        self._wake_bytes = 0  # SIGINT bytes our own wake signals will write: not a Ctrl-C

    def start(self) -> None:
        """Start the thread and its socket pair on first use."""
        if self._thread is not None:
            return
        with LOCK:
            if self._thread is not None:
                return
            self._reader, self._writer = _nonblocking_pair()
            self.write_fd = self._writer.fileno()
            thread = threading.Thread(target=self._loop, name="earlyexit-watcher", daemon=True)
            thread.start()
            self._thread = thread
            global _previous_unraisablehook
            if sys.unraisablehook is not _resend_ctrl_c_dropped_in_finalizer:
                _previous_unraisablehook, sys.unraisablehook = sys.unraisablehook, _resend_ctrl_c_dropped_in_finalizer

    def add(self, call: WatchedCall) -> None:
        """Watch `call`'s deadline (under LOCK)."""
        if self._thread is None:
            self.start()
        self._deadlines[call] = call.deadline
        self._added = True
        if call.deadline < self._wake_at:
            self.poke()

    def remove(self, call: WatchedCall) -> None:
        """Stop watching `call` (under LOCK); the thread finds out when it next wakes."""
        self._deadlines.pop(call, None)

    def poke(self, byte: int = 0) -> None:
        """Wake the thread: 0 to look at the deadlines again, _RESEND_CTRL_C to send SIGINT again."""
        try:
            self._writer.send(bytes([byte]))  # neither is a signal number
        except OSError:
            pass  # the socket is full: the thread will wake anyway

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
                elif byte == _RESEND_CTRL_C:
                    resend = True
                elif byte != 0:
                    self._forward.append(byte)
        if not (ctrl_c or resend):
            return False
        taken = SIGNALS.sigint()
        return resend and not taken

    def has_leftovers(self) -> bool:
        """Whether other signals' bytes or expected wake bytes remain (read without the lock: a hint)."""
        return bool(self._forward) or self._wake_bytes != 0

    def take_forwarded(self) -> bytes:
        """The other signals' bytes read so far (under LOCK), to pass on."""
        data, self._forward = bytes(self._forward), bytearray()
        return data

    def _loop(self) -> None:
        while True:
            with LOCK:
                wake_at = min(self._deadlines.values(), default=math.inf)
                if wake_at == math.inf and self._added:
                    # Calls come and go faster than the thread looks: rather than be poked
                    # (a system call and a thread switch) for each, look again in a while;
                    # a call whose deadline is sooner than that still pokes.
                    wake_at = time.monotonic() + HEARTBEAT
                self._added = False
                self._wake_at = wake_at
                wait = wake_at - time.monotonic()
            # select() refuses very long waits; waking once an hour costs nothing.
            select.select([self._reader], [], [], None if wait == math.inf else max(0.0, min(wait, 3600.0)))
            with LOCK:
                resend = self.read_signals()
                self._fire_due_deadlines()
            if resend:
                # Not at once: the main thread is still in the hook that asked for
                # it, and a Ctrl-C raised there would be dropped again.
                time.sleep(0.005)
                _thread.interrupt_main(signal.SIGINT)

    def _fire_due_deadlines(self) -> None:
        """Stop every call whose deadline has passed (under LOCK)."""
        # A method of its own, not a loop in _loop: a loop variable there would hold the
        # last call (and its store and engine) alive while the thread sleeps in select().
        now = time.monotonic()
        for call, deadline in list(self._deadlines.items()):
            if deadline <= now:
                del self._deadlines[call]
                call.stop_at_deadline()


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


STACKS = _Stacks()
WATCHER = _Watcher()
SIGNALS = _Signals()
_RESEND_CTRL_C = 255  # above every signal number


def _forget_watcher_after_fork() -> None:
    # A forked child has no watcher thread: start a new one on first use.
    global LOCK, WATCHER, MAIN_THREAD, STACKS, SIGNALS
    LOCK = threading.RLock()
    WATCHER = _Watcher()
    STACKS = _Stacks()
    SIGNALS = _Signals()
    MAIN_THREAD = threading.get_ident()  # the thread that forked is the child's only one


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork, so nothing to forget there
    os.register_at_fork(after_in_child=_forget_watcher_after_fork)


def host_call(host: Callable[[], T]) -> T:
    """Call a host function inside a guarded call: a Ctrl-C, deadline or Stop may end it, and a stopped call goes no further."""
    calls = STACKS.current()
    if not calls:
        return host()
    call = calls[-1]
    outer, call.in_host = call.in_host, True
    try:
        result = host()
    finally:
        call.in_host = outer
    error = call.stopped_error()
    if error is not None:
        # A deadline, Stop or Ctrl-C came while the host ran (one that slept off
        # the main thread, kept on working, or swallowed the interrupt): back in the
        # guest, the next instruction could return a value before any epoch check.
        raise error
    return result
