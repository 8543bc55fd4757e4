"""The guard's pieces talk through their methods: each piece of state has one owner."""

from __future__ import annotations

import ast
import math
import threading
import time
from pathlib import Path
from typing import Optional

import earlyexit_tutorial

PACKAGE = Path(earlyexit_tutorial.__file__).resolve().parent


def class_node(path: Path, name: str) -> ast.ClassDef:
    tree = ast.parse(path.read_text())
    return next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == name)


def test_a_guarded_call_never_touches_the_stoppers_or_the_signal_states_fields() -> None:
    owned_elsewhere = {"_active", "_starting", "_pending", "calls", "unreported", "handled", "depth", "previous_handler"}
    guarded_call = class_node(PACKAGE / "interrupting" / "guard.py", "GuardedCall")
    touched = {
        node.attr
        for node in ast.walk(guarded_call)
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    }
    assert touched & owned_elsewhere == set()


def test_the_stopper_and_the_signal_state_have_register_and_unregister() -> None:
    from earlyexit_tutorial import Stopper
    from earlyexit_tutorial.interrupting._signals import SIGNALS

    for owner in (Stopper, SIGNALS):
        assert callable(getattr(owner, "register")) and callable(getattr(owner, "unregister"))


def test_the_guards_modules_import_nothing_under_a_one_letter_name() -> None:
    short = []
    paths = sorted((PACKAGE / "interrupting").glob("*.py")) + [PACKAGE / "guide" / "outcome.py", PACKAGE / "guide" / "running.py"]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                short += [f"{path.name}: {alias.name} as {alias.asname}" for alias in node.names if alias.asname and len(alias.asname) == 1]
    assert short == []


class FakeCall:
    """Only what the WatchedCall protocol asks of a call: the watcher needs nothing more."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.in_host = False
        self.fired = threading.Event()

    def stop_for_ctrl_c(self) -> None:
        raise AssertionError("no Ctrl-C in this test")

    def stop_at_deadline(self) -> None:
        self.fired.set()

    def stopped_error(self) -> Optional[BaseException]:
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
    for words in ("A thread per call", "Installing our SIGINT handler once", "A Python signal handler alone", "Known failure cases"):
        assert words in doc, words
