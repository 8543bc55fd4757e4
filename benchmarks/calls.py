"""What one call of run(1, 7) costs, returning normally or exiting early, through each path and guard."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import wasmtime

from earlyexit_tutorial import GUEST_WAT, Example, ExitCode, TypedRun, call_run, guard, interruptible_engine
from earlyexit_tutorial.aids import cost
from earlyexit_tutorial.guide import typed
from earlyexit_tutorial.interrupting.guard import UNLIMITED_FUEL

from .stats import Summary, per_call_us_summary, summarize

NODE_SCRIPT = Path(__file__).with_name("node_calls.js")

# What each timed statement does; `run` is the callable under test.
STATEMENTS = {
    "normal": "run(store, 1, 7)",
    "exit": "try:\n    run(store, 1, 7)\nexcept ExitCode:\n    pass",
}


def public_typed_run(func: wasmtime.Func, store: wasmtime.Store) -> TypedRun:
    """A TypedRun held to the public Func.__call__, as when the fast path is unavailable."""
    run = TypedRun(func)
    with mock.patch.object(typed, "make_fast_i32_call", lambda func: None):
        # The first call is always public; the second picks the path for
        # the calls after it, here the public one.
        run(store, 0, 0)
        run(store, 0, 0)
    return run


def python_call_costs(*, repeat: int = 7, min_time: float = 0.05) -> dict[str, dict[str, Summary]]:
    """Microseconds per call through each Python path, for each arm ("normal", "exit")."""
    example = Example(behaviour="return")
    store = example.store
    # Enough fuel for any loop; the epoch deadline stays one tick ahead and
    # nothing increments the epoch here.
    store.set_fuel(UNLIMITED_FUEL)
    store.set_epoch_deadline(1)
    paths = {
        "fast": example.typed_run,
        "fallback": public_typed_run(example.typed_run.func, store),
        "func": example.typed_run.func,
    }
    for _ in range(2):  # the second call sets up the fast path
        example.typed_run(store, 0, 0)
    costs: dict[str, dict[str, Summary]] = {name: {} for name in paths}
    for arm, stmt in STATEMENTS.items():
        example.set_host("return" if arm == "normal" else "exit")
        for name, run in paths.items():
            _check(run, store, arm)
            namespace = {"run": run, "store": store, "ExitCode": ExitCode}
            costs[name][arm] = per_call_us_summary(stmt, namespace, repeat=repeat, min_time=min_time)
    return costs


def guard_costs(*, repeat: int = 7, min_time: float = 0.05) -> dict[str, dict[str, Summary]]:
    """Microseconds per call of call_run on the typed run, and of Example.run around it, per arm."""
    example = Example(behaviour="return")
    store = example.store
    store.set_fuel(UNLIMITED_FUEL)
    store.set_epoch_deadline(1)
    for _ in range(2):  # the second call sets up the fast path
        example.typed_run(store, 0, 0)
    namespace = {"call_run": call_run, "run": example.typed_run, "store": store, "example": example}
    statements = {"typed": "call_run(run, store, 1, 7)", "guarded": "example.run(1, 7)"}
    costs: dict[str, dict[str, Summary]] = {name: {} for name in statements}
    for arm in STATEMENTS:
        example.set_host("return" if arm == "normal" else "exit")
        expected = "Returned" if arm == "normal" else "ExitedEarly"
        for name, stmt in statements.items():
            outcome = eval(stmt, namespace)  # our own statement: the arm it times is the right one
            if type(outcome).__name__ != expected:
                raise AssertionError(f"{stmt} gave {outcome!r} in the {arm} arm")
            costs[name][arm] = per_call_us_summary(stmt, namespace, repeat=repeat, min_time=min_time)
    return costs


# The learner's own call under guard(): the same statements, inside `with guard(store):`.
GUARDED_STATEMENTS = {
    "normal": "with guard(store):\n    run(store, 1, 7)",
    "exit": "try:\n    with guard(store):\n        run(store, 1, 7)\nexcept ExitCode:\n    pass",
}


def guard_api_costs(*, repeat: int = 7, min_time: float = 0.05) -> dict[str, dict[str, Summary]]:
    """Microseconds per call of a learner's own wasmtime.Func run, plain and inside guard(), per arm."""
    engine = interruptible_engine()
    store = wasmtime.Store(engine)
    arm_now = ["normal"]

    def early_exit() -> None:  # the learner's own host function, no package code around it
        if arm_now[0] == "exit":
            raise ExitCode(1)

    host = wasmtime.Func(store, wasmtime.FuncType([], []), early_exit)
    run = wasmtime.Instance(store, wasmtime.Module(engine, GUEST_WAT), [host]).exports(store)["run"]
    # The plain call needs what guard() would set: fuel and an epoch deadline (set before each round).
    namespace = {"run": run, "store": store, "guard": guard, "ExitCode": ExitCode}
    costs: dict[str, dict[str, Summary]] = {"plain": {}, "guarded": {}}
    for arm in STATEMENTS:
        arm_now[0] = arm
        store.set_fuel(UNLIMITED_FUEL)
        store.set_epoch_deadline(1)
        _check(run, store, arm)
        # Round after round of both, rather than one then the other: a busy moment of
        # the machine then touches both alike, and their difference stays meaningful.
        plain_rounds: list[float] = []
        guarded_rounds: list[float] = []
        for _ in range(repeat):
            store.set_fuel(UNLIMITED_FUEL)  # guard() gave each call a budget of its own: the plain call gets it back
            store.set_epoch_deadline(1)
            plain_rounds += cost.per_call_us_samples(STATEMENTS[arm], namespace, repeat=1, min_time=min_time)
            guarded_rounds += cost.per_call_us_samples(GUARDED_STATEMENTS[arm], namespace, repeat=1, min_time=min_time)
        costs["plain"][arm] = summarize(plain_rounds)
        costs["guarded"][arm] = summarize(guarded_rounds)
    return costs


def _check(run: Callable[..., int], store: wasmtime.Store, arm: str) -> None:
    """Make sure the timed call does what its arm says, so the numbers mean something."""
    try:
        value = run(store, 1, 7)
    except ExitCode:
        if arm != "exit":
            raise
        return
    if arm != "normal" or value != 8:
        raise AssertionError(f"run(1, 7) returned {value} in the {arm} arm")


def node_call_costs(*, repeat: int = 7, min_time: float = 0.05, node: str | None = None) -> dict[str, Summary] | None:
    """Microseconds per call of the same guest in Node's WebAssembly, per arm; None without node."""
    node = node or shutil.which("node")
    if node is None:
        return None
    costs = {}
    with tempfile.TemporaryDirectory() as tmp:
        wasm = Path(tmp) / "guest.wasm"
        wasm.write_bytes(wasmtime.wat2wasm(GUEST_WAT))
        for arm in STATEMENTS:
            out = subprocess.run(
                [node, str(NODE_SCRIPT), str(wasm), arm, str(repeat), str(min_time)],
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
            costs[arm] = summarize(json.loads(out)["us_per_call"])
    return costs


def node_version(node: str | None = None) -> str | None:
    """`node --version`, or None when node is not on PATH."""
    node = node or shutil.which("node")
    if node is None:
        return None
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
