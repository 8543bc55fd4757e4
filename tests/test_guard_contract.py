"""The guard's pieces talk through their methods: each piece of state has one owner."""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import earlyexit_tutorial

PACKAGE = Path(earlyexit_tutorial.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[1]


def class_node(path: Path, name: str) -> ast.ClassDef:
    tree = ast.parse(path.read_text())
    return next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == name)


def test_a_guarded_call_never_touches_the_stoppers_or_the_signal_states_fields() -> None:
    owned_elsewhere = {
        "_active",
        "_starting",
        "_pending",
        "calls",
        "unreported",
        "handled",
        "depth",
        "previous_handler",
    }
    guarded_call = class_node(PACKAGE / "interrupting" / "guard.py", "GuardedCall")
    touched = {
        node.attr
        for node in ast.walk(guarded_call)
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    }
    assert touched & owned_elsewhere == set()


def test_the_stopper_and_the_signal_state_have_register_and_unregister() -> None:
    from earlyexit_tutorial.interrupting._signals import SIGNALS
    from earlyexit_tutorial.interrupting.stopper import Stopper

    for owner in (Stopper, SIGNALS):
        assert callable(owner.register) and callable(owner.unregister)


def test_the_guards_modules_import_nothing_under_a_one_letter_name() -> None:
    short = []
    paths = sorted((PACKAGE / "interrupting").glob("*.py")) + [
        PACKAGE / "guide" / "outcome.py",
        PACKAGE / "guide" / "running.py",
    ]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                short += [
                    f"{path.name}: {alias.name} as {alias.asname}"
                    for alias in node.names
                    if alias.asname and len(alias.asname) == 1
                ]
    assert short == []


class FakeCall:
    """Only what the WatchedCall protocol asks of a call: the watcher needs nothing more."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = threading.Event()

    def stop_for_ctrl_c(self) -> None:
        raise AssertionError("no Ctrl-C in this test")

    def stop_at_deadline(self) -> None:
        self.fired.set()

    def nudge(self) -> bool:
        return False

    def stopped_error(self) -> BaseException | None:
        return None


def test_the_watcher_fires_any_call_that_follows_the_protocol() -> None:
    from earlyexit_tutorial.interrupting import _calls, _watcher

    call = FakeCall(time.monotonic() + 0.05)
    never = FakeCall(math.inf)
    with _calls.LOCK:
        _watcher.WATCHER.add(call)
        _watcher.WATCHER.add(never)
    try:
        assert call.fired.wait(5)
        assert not never.fired.is_set()
    finally:
        with _calls.LOCK:
            _watcher.WATCHER.remove(never)


def test_the_docstring_says_what_does_not_work_and_why() -> None:
    from earlyexit_tutorial.interrupting import guard as interrupting

    doc = interrupting.__doc__ or ""
    assert "What doesn't work, and why." in doc
    for words in (
        "A thread per call",
        "Installing our SIGINT handler once",
        "A Python signal handler alone",
        "Known failure cases",
    ):
        assert words in doc, words


# A process that has not loaded wasmtime forks while its watcher runs and another
# thread holds the guard's lock. The child must get a lock, a watcher and call
# stacks of its own: a module that kept the parent's lock under a name of its own
# would wait forever for a thread the child does not have.
FORK_CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from earlyexit_tutorial.interrupting import _calls, _watcher

    class FakeCall:
        def __init__(self, deadline):
            self.deadline, self.fired = deadline, threading.Event()
        def stop_for_ctrl_c(self):
            raise AssertionError("no Ctrl-C in this test")
        def stop_at_deadline(self):
            self.fired.set()
        def stopped_error(self):
            return None

    first = FakeCall(time.monotonic() + 0.01)
    with _calls.LOCK:
        _watcher.WATCHER.add(first)
    assert first.fired.wait(5)
    _calls.STACKS.push(FakeCall(time.monotonic() + 60))  # a call the parent is running
    held, release = threading.Event(), threading.Event()
    def hold():
        with _calls.LOCK:
            held.set()
            release.wait()
    threading.Thread(target=hold, daemon=True).start()
    held.wait()
    print("wasmtime" in sys.modules, flush=True)
    pid = os.fork()
    if pid == 0:
        locked = _calls.LOCK.acquire(timeout=5)
        call = FakeCall(time.monotonic() + 0.05)
        if locked:
            _watcher.WATCHER.add(call)
            _calls.LOCK.release()
        print(locked, call.fired.wait(5), _calls.STACKS.main == [], flush=True)
        os._exit(0)
    release.set()
    give_up = time.monotonic() + 15
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > give_up:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            print("the child hung")
            break
        time.sleep(0.01)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks")
def test_a_forked_child_gets_a_lock_a_watcher_and_call_stacks_of_its_own() -> None:
    command = [sys.executable, "-W", "ignore::DeprecationWarning", "-c", FORK_CHILD]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.splitlines() == ["False", "True True True"], done.stderr
