"""The guard's wakeup fd: a socket (what Windows needs), and the previous one handed back as its owner set it."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from earlyexit_tutorial import Example

ROOT = Path(__file__).resolve().parents[1]


def current_wakeup_fd() -> int:
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
    return fd


def test_during_a_guarded_call_the_wakeup_fd_is_a_socket(python_sigint_handler: None) -> None:
    # Our handler is swapped in only over a SIGINT that is not ignored, as in a terminal.
    # Windows accepts only a socket for set_wakeup_fd, and select() waits only on
    # sockets there: one socket pair on every system keeps one tested path.
    assert threading.current_thread() is threading.main_thread()
    seen = []
    example = Example(behaviour="return")
    example.host = lambda: seen.append(current_wakeup_fd())
    example.run(1, 7)
    assert len(seen) == 1 and seen[0] >= 0
    assert is_socket(seen[0])


def is_socket(fd: int) -> bool:
    """Whether a wakeup fd is a socket: on Windows it is a socket handle, which os.fstat does not take."""
    if os.name != "nt":
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    try:
        borrowed = socket.socket(fileno=fd)
    except OSError:
        return False
    borrowed.detach()  # the handle stays the guard's: never close it here
    return True


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs a harmless signal to pass on")
def test_a_signal_that_is_not_ctrl_c_reaches_the_previous_wakeup_fd() -> None:
    code = textwrap.dedent(
        """
        import os, signal, socket, time
        from earlyexit_tutorial import Example
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        signal.set_wakeup_fd(writer.fileno())
        signal.signal(signal.SIGUSR1, lambda *args: None)
        example = Example(behaviour="return")
        def host():
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.05)
        example.host = host
        print(example.run(1, 7).message)
        print(list(reader.recv(100)) == [signal.SIGUSR1], signal.set_wakeup_fd(-1) == writer.fileno())
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["Expected early termination with `ExitCode`, found: 8", "True True"]


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs a harmless signal to fill the fd with")
def test_a_wakeup_fd_set_without_warnings_gets_none_after_the_guard() -> None:
    # trio sets its wakeup fd with warn_on_full_buffer=False and lets it fill up. Python
    # cannot say which flag an fd was set with; the guard hands the fd back with False,
    # so a full fd never prints "Exception ignored ... BlockingIOError" because of us.
    code = textwrap.dedent(
        """
        import os, signal, time
        from earlyexit_tutorial import Example
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        signal.signal(signal.SIGUSR1, lambda *args: None)
        print(Example().run(1, 7).message)
        while True:  # fill the fd, as a busy event loop may let it fill
            try:
                os.write(write_fd, b"x" * 4096)
            except BlockingIOError:
                break
        for _ in range(5):
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.01)
        print("signalled")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.splitlines() == ["Exited early with exit code: 1", "signalled"], done.stderr
    assert "Exception ignored" not in done.stderr and "BlockingIOError" not in done.stderr, done.stderr
    assert done.stderr == ""


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="sends the test's signals the POSIX way")
def test_the_socket_modules_pair_windows_uses_serves_the_guard_as_well() -> None:
    # Windows has no socketpair() in C: the socket module emulates it. Forced here, the guard
    # still takes a Ctrl-C, a deadline, a Stop during a sleeping host, and passes other signals on.
    code = textwrap.dedent(
        """
        import os, signal, socket, sys, threading, time
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from earlyexit_tutorial.interrupting import _watcher
        _watcher._C_SOCKETPAIR = None  # as on Windows
        from earlyexit_tutorial import Example
        from earlyexit_tutorial.aids.endless import LOOPING_WAT
        spinner = Example(LOOPING_WAT)
        print(spinner.run(0, 0, timeout=0.2).reason)
        threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGINT)).start()
        print(spinner.run(0, 0, timeout=None).reason)
        sleeper = Example(behaviour="return")
        sleeper.host = lambda: time.sleep(5)
        threading.Timer(0.2, sleeper.stop).start()
        start = time.monotonic()
        print(sleeper.run(1, 7, timeout=None).reason, time.monotonic() - start < 2)
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        signal.set_wakeup_fd(writer.fileno())
        signal.signal(signal.SIGUSR1, lambda *args: None)
        def host():
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.05)
        sleeper.host = host
        print(sleeper.run(1, 7).message)
        print(list(reader.recv(100)) == [signal.SIGUSR1], type(_watcher.WATCHER._reader).__module__)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stderr == ""
    assert done.stdout.splitlines() == [
        "deadline",
        "ctrl-c",
        "stop True",
        "Expected early termination with `ExitCode`, found: 8",
        "True socket",
    ]
