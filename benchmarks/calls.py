"""What one call of run(1, 7) costs, returning normally or exiting early, through each path and each layer.

Every statement of an arm is timed in the same rounds (A, B, C, A, B, C...), so
each ratio bench.py prints compares figures taken side by side. Only public
names of the package are used, plus the hand-written floors of floors.py.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # as the guard calls it: the C functions, no enum wrapping
import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import wasmtime

from earlyexit_tutorial import (
    GUEST_WAT,
    Example,
    ExitCode,
    TypedRun,
    call_run,
    check_i32,
    guard,
    interruptible_engine,
    typed_run,
)

from .floors import ctypes_floor, export_func
from .stats import Sampler, Summary, interleaved, paired_difference, summarize

NODE_SCRIPT = Path(__file__).with_name("node_calls.js")

FUEL = 2**62  # more than any call here spends
ARMS = ("normal", "exit")


def for_arm(stmt: str, arm: str) -> str:
    """The statement as the arm needs it: on an early exit, inside `try: ... except ExitCode: pass`."""
    if arm == "normal":
        return stmt
    body = "\n".join("    " + line for line in stmt.splitlines())
    return f"try:\n{body}\nexcept ExitCode:\n    pass"


class LearnerGuest:
    """The tutorial's guest in plain wasmtime, as a learner writes it: their own engine, store and host function.

    Nothing but the guard's own registry holds a Stopper for this engine, as with
    `with guard(store): ...` in a learner's code.
    """

    def __init__(self, wat: str = GUEST_WAT, *, fuel: bool = True) -> None:
        # fuel=False only when asked: a version without the keyword still runs every other row.
        self.engine = interruptible_engine() if fuel else interruptible_engine(fuel=False)
        self.store = wasmtime.Store(self.engine)
        self.metered = fuel
        self.arm = "normal"
        host = wasmtime.Func(self.store, wasmtime.FuncType([], []), self._early_exit)
        instance = wasmtime.Instance(self.store, wasmtime.Module(self.engine, wat), [host])
        self.func = export_func(instance, self.store, "run")
        self.typed = typed_run(instance, self.store)
        self.floor = ctypes_floor(self.func, self.store, 1, 7)
        self.refuel()

    def _early_exit(self) -> None:  # the learner's own host function, no package code around it
        if self.arm == "exit":
            raise ExitCode(1)

    def refuel(self) -> None:
        """What a call outside the guard needs: fuel, and an epoch deadline ahead of the engine's epoch."""
        if self.metered:
            self.store.set_fuel(FUEL)
        self.store.set_epoch_deadline(1)


def unmetered_guest() -> LearnerGuest | None:
    """The same guest on an engine with epoch interruption and no fuel, if this version makes one; else None."""
    try:
        return LearnerGuest(fuel=False)
    except TypeError:  # a version whose engines always meter fuel
        return None


def public_typed_run(func: wasmtime.Func, store: wasmtime.Store) -> TypedRun | None:
    """A TypedRun held to the public Func.__call__, as on an untested wasmtime; None if that can't be arranged."""
    from earlyexit_tutorial._support import _fastcall
    from earlyexit_tutorial.guide import typed

    if not hasattr(_fastcall, "version_supported"):
        return None
    run = TypedRun(func)
    with contextlib.ExitStack() as patches:
        # The version gate is the long-standing switch; older code also picks the call in typed.
        patches.enter_context(mock.patch.object(_fastcall, "version_supported", lambda version: False))
        if hasattr(typed, "make_fast_i32_call"):
            patches.enter_context(mock.patch.object(typed, "make_fast_i32_call", lambda func: None))
        for _ in range(3):  # the first calls pick the path for the calls after them
            run(store, 0, 0)
    return run


# The rows of the call table and the layers, per arm: name -> statement (before for_arm).
# `store`, `typed`, `func`, `floor` are the learner's; `estore`, `etyped`, `example` the Example's.
LEARNER_STATEMENTS = {
    "floor": "floor()",
    "typed": "typed(store, 1, 7)",
    "public": "public(store, 1, 7)",
    "func": "func(store, 1, 7)",
    "fuel_epoch": "store.set_fuel(FUEL)\nstore.set_epoch_deadline(1)\ntyped(store, 1, 7)",
    "guard_no_deadline": "with guard(store, timeout=None):\n    typed(store, 1, 7)",
    # The C work a guard must do around a main-thread call, by hand and nothing else: the
    # SIGINT handler and wakeup fd swapped in and back, a fuel budget, an epoch deadline.
    "guard_floor": (
        "previous = _signal.signal(2, quiet)\nold_fd = _signal.set_wakeup_fd(wake_fd)\ntry:\n"
        "    store.set_fuel(FUEL)\n    store.set_epoch_deadline(1)\n    typed(store, 1, 7)\n"
        "finally:\n    _signal.set_wakeup_fd(old_fd)\n    _signal.signal(2, previous)"
    ),
    # The guard as users write it: a fresh guard per call, no `as`, nothing else holding its Stopper.
    "guard": "with guard(store, timeout=10):\n    typed(store, 1, 7)",
    # The same on a store whose engine meters no fuel (`ustore`, `utyped`): no budget to set.
    "typed_unmetered": "utyped(ustore, 1, 7)",
    "guard_unmetered": "with guard(ustore, timeout=10):\n    utyped(ustore, 1, 7)",
    "by_hand": (
        "timer = Timer(10, engine.increment_epoch)\ntimer.start()\nstore.set_epoch_deadline(1)\n"
        "try:\n    func(store, 1, 7)\nfinally:\n    timer.cancel()"
    ),
}
EXAMPLE_STATEMENTS = {
    "ex_typed": "etyped(estore, 1, 7)",
    "ex_guard": "with guard(estore, timeout=10):\n    etyped(estore, 1, 7)",
    "ex_checks": (
        'check_i32("x", 1)\ncheck_i32("y", 7)\nif not lock.acquire(blocking=False):\n    raise RuntimeError("busy")\n'
        "try:\n    with guard(estore, timeout=10):\n        etyped(estore, 1, 7)\nfinally:\n    lock.release()"
    ),
}
# These sort the outcome themselves: no try/except around them.
OUTCOME_STATEMENTS = {
    "ex_outcome": (
        'check_i32("x", 1)\ncheck_i32("y", 7)\nif not lock.acquire(blocking=False):\n    raise RuntimeError("busy")\n'
        "try:\n    with guard(estore, timeout=10):\n        outcome = call_run(etyped, estore, 1, 7)\n"
        "finally:\n    lock.release()"
    ),
    "example_run": "example.run(1, 7)",
}


# The order within a round: the statements each goal compares sit side by side
# (floor and typed, typed and guard, Func.__call__ and Example.run), as do Example.run's layers.
ROUND_ORDER = (
    "floor",
    "typed",
    "guard",
    "guard_floor",
    "typed_unmetered",
    "guard_unmetered",
    "func",
    "example_run",
    "fuel_epoch",
    "guard_no_deadline",
    "public",
    "ex_typed",
    "ex_guard",
    "ex_checks",
    "ex_outcome",
)


def call_costs(*, rounds: int = 9, min_time: float = 0.04, by_hand: bool = True) -> dict[str, dict[str, Summary]]:
    """Microseconds per call of run(1, 7) along every path and layer: {arm: {name: Summary}}.

    A name whose path is not available here (the ctypes floor, the public fallback) is left out.
    """
    import threading

    learner = LearnerGuest()
    unmetered = unmetered_guest()
    example = Example(behaviour="return")
    estore = example.store

    def refuel() -> None:
        learner.refuel()
        if unmetered is not None:
            unmetered.refuel()
        estore.set_fuel(FUEL)
        estore.set_epoch_deadline(1)

    refuel()
    wake_reader, wake_writer = socket.socketpair()  # only the guard floor's wakeup fd: nothing is sent to it
    wake_writer.setblocking(False)
    namespace = dict(
        _signal=_signal,
        quiet=lambda signum, frame: None,
        wake_fd=wake_writer.fileno(),
        store=learner.store,
        engine=learner.engine,
        typed=learner.typed,
        func=learner.func,
        floor=learner.floor,
        ustore=None if unmetered is None else unmetered.store,
        utyped=None if unmetered is None else unmetered.typed,
        public=public_typed_run(learner.func, learner.store),
        estore=estore,
        etyped=getattr(example, "typed_run", None),
        example=example,
        lock=threading.Lock(),
        guard=guard,
        call_run=call_run,
        check_i32=check_i32,
        Timer=threading.Timer,
        FUEL=FUEL,
        ExitCode=ExitCode,
    )
    unavailable = {name for name in ("floor", "public") if namespace[name] is None} | {"by_hand"}
    if unmetered is None:
        unavailable |= {"typed_unmetered", "guard_unmetered"}
    statements = {name: stmt for name, stmt in LEARNER_STATEMENTS.items() if name not in unavailable}
    outcome_statements = dict(OUTCOME_STATEMENTS)
    if namespace["etyped"] is not None:  # the layers under Example.run need its typed run
        statements.update(EXAMPLE_STATEMENTS)
    else:
        del outcome_statements["ex_outcome"]
    costs: dict[str, dict[str, Summary]] = {}
    for arm in ARMS:
        learner.arm = arm
        if unmetered is not None:
            unmetered.arm = arm
        example.set_host("return" if arm == "normal" else "exit")
        _check(learner, example, arm, namespace)
        samplers = {
            name: Sampler(for_arm(stmt, arm), namespace, min_time=min_time, before=refuel)
            for name, stmt in statements.items()
        }
        samplers.update(
            {
                name: Sampler(stmt, namespace, min_time=min_time, before=refuel)
                for name, stmt in outcome_statements.items()
            }
        )
        ordered = {name: samplers[name] for name in ROUND_ORDER if name in samplers}
        costs[arm] = interleaved(ordered, rounds)
        if by_hand:
            # Apart from the rest: each of its calls leaves a Timer thread winding down,
            # which would take the GIL from whatever statement came next.
            by_hand_sampler = Sampler(
                for_arm(LEARNER_STATEMENTS["by_hand"], arm), namespace, min_time=min_time, before=refuel
            )
            costs[arm].update(interleaved({"by_hand": by_hand_sampler}, max(3, rounds // 3)))
            _let_threads_finish()
    wake_reader.close()
    wake_writer.close()
    return costs


def _let_threads_finish(patience: float = 5.0) -> None:
    """Wait until the Timer threads the by-hand row left have ended."""
    import threading
    import time

    end = time.monotonic() + patience
    while any(isinstance(t, threading.Timer) for t in threading.enumerate()) and time.monotonic() < end:
        time.sleep(0.01)


def _check(learner: LearnerGuest, example: Example, arm: str, namespace: dict) -> None:
    """Make sure each path does what its arm says, so the numbers mean something."""
    learner.refuel()
    runs: dict[str, Callable[[], object]] = {
        "typed": lambda: learner.typed(learner.store, 1, 7),
        "func": lambda: learner.func(learner.store, 1, 7),
    }
    if learner.floor is not None:
        runs["floor"] = learner.floor
    if namespace["public"] is not None:
        runs["public"] = lambda: namespace["public"](learner.store, 1, 7)
    if namespace["utyped"] is not None:
        runs["typed_unmetered"] = lambda: namespace["utyped"](namespace["ustore"], 1, 7)
    for name, run in runs.items():
        try:
            value = run()
        except ExitCode:
            if arm != "exit":
                raise
            continue
        if arm != "normal" or value != 8:
            raise AssertionError(f"{name}: run(1, 7) gave {value!r} in the {arm} arm")
    expected = "Returned" if arm == "normal" else "ExitedEarly"
    outcome = example.run(1, 7)
    if type(outcome).__name__ != expected:
        raise AssertionError(f"Example.run(1, 7) gave {outcome!r} in the {arm} arm")


# A guest that calls the host `n` times per run(n, y), then returns y.
HOST_CALLS_WAT = """\
(module
  (import "env" "tick" (func $tick))
  (func (export "run") (param $n i32) (param $y i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (call $tick)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $y)))
"""


def tick() -> None:
    """The host function of HOST_CALLS_WAT: it does nothing, so what is timed is the call."""


def host_call_costs(*, calls: int = 2000, rounds: int = 7, min_time: float = 0.05) -> dict[str, float]:
    """Microseconds per host call through Example(imports=...) and through a plain wasmtime.Func import.

    Each is the slope between run(calls, 0) and run(0, 0), so what one run costs
    around its host calls drops out.
    """
    example = Example(HOST_CALLS_WAT, imports={"env": {"tick": tick}})
    engine = interruptible_engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(
        store, wasmtime.Module(engine, HOST_CALLS_WAT), [wasmtime.Func(store, wasmtime.FuncType([], []), tick)]
    )
    plain = typed_run(instance, store)

    def refuel() -> None:
        store.set_fuel(FUEL)
        store.set_epoch_deadline(1)

    refuel()
    if plain(store, 3, 5) != 5 or type(example.run(3, 5)).__name__ != "Returned":
        raise AssertionError("the host-call guest did not return its y")
    namespace = dict(example=example, plain=plain, store=store, n=calls)
    samplers = {
        "plain_n": Sampler("plain(store, n, 0)", namespace, min_time=min_time, before=refuel),
        "example_n": Sampler("example.run(n, 0)", namespace, min_time=min_time, before=refuel),
        "plain_0": Sampler("plain(store, 0, 0)", namespace, min_time=min_time, before=refuel),
        "example_0": Sampler("example.run(0, 0)", namespace, min_time=min_time, before=refuel),
    }
    s = interleaved(samplers, rounds)
    around = s["example_0"].median - s["plain_0"].median  # what Example.run adds once per run
    return {
        "example": (s["example_n"].median - s["example_0"].median) / calls,
        "plain": (s["plain_n"].median - s["plain_0"].median) / calls,
        # The two runs of `calls` host calls were taken side by side: compared round by round.
        "extra": (paired_difference(s["example_n"], s["plain_n"]) - around) / calls,
        "calls": calls,
    }


def node_call_costs(*, repeat: int = 7, min_time: float = 0.05, node: str | None = None) -> dict[str, Summary] | None:
    """Microseconds per call of the same guest in Node's WebAssembly, per arm; None without node."""
    node = node or shutil.which("node")
    if node is None:
        return None
    costs = {}
    with tempfile.TemporaryDirectory() as tmp:
        wasm = Path(tmp) / "guest.wasm"
        wasm.write_bytes(wasmtime.wat2wasm(GUEST_WAT))
        for arm in ARMS:
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
