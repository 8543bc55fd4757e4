"""Per-call cost of each layer around run(1, 7), of a host call through imports=, and of making an Example.

Interleaved: every round times each statement once, so a busy moment of the
machine touches all alike and the ratios stay meaningful. The floor is
`floors.ctypes_floor`: raw `wasmtime_func_call` on arguments built once.

    python -m benchmarks.layers
"""

from __future__ import annotations

import statistics
import timeit

import wasmtime

from earlyexit_tutorial import GUEST_WAT, Example, ExitCode, guard, interruptible_engine
from earlyexit_tutorial.interrupting.guard import UNLIMITED_FUEL

from .floors import ctypes_floor

LOOP_WAT = """(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (func (export "run") (param $x i32) (param $y i32) (result i32)
    (local $i i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (local.get $x)))
      (local.set $y (i32.add (local.get $y) (call $tick (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (local.get $y)))"""


def interleaved(timers, rounds, number, before=lambda: None):
    """Median µs per execution of each timer, the timers taking turns round after round."""
    samples = {n: [] for n in timers}
    for _ in range(rounds):
        for n, t in timers.items():
            before()
            samples[n].append(t.timeit(number) / number * 1e6)
    return {n: statistics.median(v) for n, v in samples.items()}


def calls(rounds=21, number=2000):
    """run(1, 7) per path and arm: the floor, TypedRun, Func.__call__, guard() around TypedRun, Example.run."""
    ex = Example(behaviour="return")
    store = ex.store

    def reset() -> None:  # what the guard would set, for the calls outside it
        store.set_fuel(UNLIMITED_FUEL)
        store.set_epoch_deadline(1)

    for _ in range(3):
        ex.typed_run(store, 0, 0)
    func = ex.typed_run.func
    ns = dict(
        ex=ex,
        store=store,
        func=func,
        typed=ex.typed_run,
        floor=ctypes_floor(func, store, 1, 7),
        guard=guard,
        ExitCode=ExitCode,
    )
    stmts = {
        "floor": "floor()",
        "typed": "typed(store, 1, 7)",
        "func": "func(store, 1, 7)",
        "guard+typed": "with guard(store, timeout=10):\n    typed(store, 1, 7)",
        "example.run": "ex.run(1, 7)",
    }
    out = {}
    for arm in ("normal", "exit"):
        ex.set_host("return" if arm == "normal" else "exit")
        timers = {}
        for name, s in stmts.items():
            if arm == "exit" and name != "example.run":
                s = "try:\n" + "".join("    " + line + "\n" for line in s.splitlines()) + "except ExitCode:\n    pass"
            timers[name] = timeit.Timer(s, globals=ns)
        out[arm] = interleaved(timers, rounds, number, reset)
    print(f"{'path':14} {'normal µs':>10} {'exit µs':>10}")
    for n in stmts:
        print(f"{n:14} {out['normal'][n]:10.2f} {out['exit'][n]:10.2f}")
    for a, b in (("typed", "floor"), ("example.run", "func")):
        print(f"{a}/{b:8} {out['normal'][a] / out['normal'][b]:6.2f}x {out['exit'][a] / out['exit'][b]:6.2f}x")


def host_calls(rounds=21, number=20, n=1000):
    """One host call (i32) -> i32 through Example(imports=...) against a plain wasmtime.Func import."""
    ex = Example(LOOP_WAT, imports={"env": {"tick": lambda i: i}})
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    tick = wasmtime.Func(store, wasmtime.FuncType([wasmtime.ValType.i32()], [wasmtime.ValType.i32()]), lambda i: i)
    plain = wasmtime.Instance(store, wasmtime.Module(engine, LOOP_WAT), [tick]).exports(store)["run"]
    ns = dict(ex=ex, plain=plain, store=store, n=n)
    timers = {
        "Example(imports=)": timeit.Timer("ex.run(n, 0)", globals=ns),
        "Example, no host calls": timeit.Timer("ex.run(0, 0)", globals=ns),
        "plain Func import": timeit.Timer("plain(store, n, 0)", globals=ns),
        "plain, no host calls": timeit.Timer("plain(store, 0, 0)", globals=ns),
    }
    t = interleaved(timers, rounds, number)
    ours = (t["Example(imports=)"] - t["Example, no host calls"]) / n
    theirs = (t["plain Func import"] - t["plain, no host calls"]) / n
    print(f"per host call: Example(imports=) {ours:.2f} µs, plain Func import {theirs:.2f} µs", end="")
    print(f", difference {ours - theirs:+.2f} µs")


def construction(rounds=7, number=30):
    """Making one Example per request: on an engine of its own, or on one engine and module shared."""
    engine = interruptible_engine()
    module = wasmtime.Module(engine, GUEST_WAT)
    ns = dict(Example=Example, module=module, engine=engine, GUEST_WAT=GUEST_WAT)
    timers = {
        "Example(module) (own engine, module loaded into it)": timeit.Timer("Example(module)", globals=ns),
        "Example(GUEST_WAT) (own engine, compiled)": timeit.Timer("Example(GUEST_WAT)", globals=ns),
        "Example(module, engine=engine) (shared)": timeit.Timer("Example(module, engine=engine)", globals=ns),
    }
    t = interleaved(timers, rounds, number)
    for name, us in t.items():
        print(f"{name:55} {us:9.0f} µs per Example")
    loaded, shared = (
        t["Example(module) (own engine, module loaded into it)"],
        t["Example(module, engine=engine) (shared)"],
    )
    print(f"shared engine: {loaded / shared:.1f}x faster than a module loaded per Example")


if __name__ == "__main__":
    calls()
    host_calls()
    construction()
