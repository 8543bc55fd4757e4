"""The watcher holds in a real program: any descriptor number, and a dead watcher is said at once, never a hang."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def child(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def test_with_1100_files_open_a_deadline_fires_and_ctrl_c_stops_the_call() -> None:
    pytest.importorskip("resource")  # POSIX: raise the open-file limit where the system allows
    lines = child(
        """
        import faulthandler, os, resource, signal, threading, time
        faulthandler.dump_traceback_later(50, exit=True)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 1300 if hard == resource.RLIM_INFINITY else min(1300, hard)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        if want < 1200:
            print("skip: the system allows only", hard, "open files")
            raise SystemExit
        files = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
        print("descriptors above 1024:", max(files) > 1024)
        # Everything the guard makes (its wakeup sockets among it) comes after these.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from earlyexit_tutorial import Example, guard
        from earlyexit_tutorial.aids.endless import LOOPING_WAT
        example = Example(LOOPING_WAT)
        start = time.monotonic()
        outcome = example.run(0, 0, timeout=0.5)
        print(outcome.reason, time.monotonic() - start < 5)
        threading.Timer(0.3, signal.pthread_kill, args=(threading.get_ident(), signal.SIGINT)).start()
        try:
            with guard(example.store, timeout=None):
                example.typed_run(example.store, 0, 0)
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
        """
    )
    if lines and lines[0].startswith("skip:"):
        pytest.skip(lines[0])
    assert lines == ["descriptors above 1024: True", "deadline True", "KeyboardInterrupt"]


def test_a_dead_watcher_stops_the_calls_it_watched_and_refuses_the_next_at_once() -> None:
    lines = child(
        """
        import faulthandler, signal, time
        faulthandler.dump_traceback_later(50, exit=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the tests ignore SIGINT
        import wasmtime
        from earlyexit_tutorial import guard
        from earlyexit_tutorial.aids.endless import LOOPING_WAT
        from earlyexit_tutorial import Example
        from earlyexit_tutorial.interrupting import _watcher

        def broken(self):
            raise RuntimeError("something the watcher did not expect")

        example = Example(LOOPING_WAT)
        # Making the Example woke the watcher (its start function had a deadline), and the watcher
        # looks once more a heartbeat later: on a busy machine either could come after the line
        # below and kill the thread before the call it should be watching. Let both pass first.
        time.sleep(_watcher.HEARTBEAT + 0.5)
        _watcher._Watcher._fire_due_deadlines = broken  # the thread dies when it next wakes
        start = time.monotonic()
        outcome = example.run(0, 0, timeout=0.3)  # the call it was watching: stopped, not left spinning
        print(type(outcome).__name__, outcome.reason, time.monotonic() - start < 5)
        for timeout in (0.3, None):
            try:
                with guard(example.store, timeout=timeout):
                    example.typed_run(example.store, 0, 0)
                print("BAD it ran")
            except _watcher.WatcherDied as error:
                print("refused:", str(error).split(":")[0])
        # With Ctrl-C ignored, a call without a deadline needs no watcher: it runs. One with a deadline does not.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        example.set_host("return")  # the guest returns x + y
        with guard(example.store, timeout=None):
            print("ran", example.typed_run(example.store, 1, 7))
        try:
            with guard(example.store, timeout=0.3):
                example.typed_run(example.store, 1, 7)
            print("BAD it ran")
        except _watcher.WatcherDied as error:
            print("refused:", str(error).split(":")[0])
        """
    )
    refused = "refused: the guard's watcher thread stopped, so no deadline and no Ctrl-C could end a call"
    assert lines == ["Interrupted deadline True", refused, refused, "ran 8", refused]
