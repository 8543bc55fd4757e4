"""Finding `run` among many exports: the package's look-up against a linear floor, at two export counts.

The package looks `run` up with typed_run (and so does every Example); the floor
is wasmtime's Linker, which finds an export by name: `define_instance` then `get`.
A look-up that is linear takes about 8x as long at 8,000 exports as at 1,000.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import wasmtime

from earlyexit_tutorial import Example, interruptible_engine, typed_run


def many_exports_wat(count: int) -> str:
    """A guest exporting `count` small functions besides `run(i32, i32) -> i32`."""
    funcs = "".join(f'  (func (export "f{i}") (result i32) (i32.const {i}))\n' for i in range(count))
    return (
        '(module\n  (import "env" "early_exit" (func $early_exit))\n'
        f"{funcs}"
        '  (func (export "run") (param i32 i32) (result i32)\n'
        "    call $early_exit\n    (i32.add (local.get 0) (local.get 1))))\n"
    )


# The fewest samples each median is taken of, whatever `runs` asks. One look-up at 8,000 exports
# takes about 2 ms, at the mercy of one busy moment on a shared machine: run after run, a single
# sample read anything from 7.5x to 13.6x growth, where medians of fifteen read 7.3x to 8.5x, as
# the Linker floor does. Example() takes ten times longer, so it gets fewer: the section takes
# about a second.
LOOKUP_SAMPLES = 15
EXAMPLE_SAMPLES = 5


def _seconds(action: Callable[..., object], *args: object) -> float:
    """Seconds one call of `action` takes, with the garbage collector off during it (as timeit does)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        action(*args)
        return time.perf_counter() - start
    finally:
        if collecting:
            gc.enable()


def lookup_times(counts: tuple[int, ...] = (1000, 8000), *, runs: int = 1) -> dict[int, dict[str, list[float]]]:
    """Seconds per look-up of `run`, per export count: typed_run, Example construction, and their floors.

    Each count's look-ups are timed max(runs, LOOKUP_SAMPLES) times, its Examples and
    their floor max(runs, EXAMPLE_SAMPLES) times, interleaved: report their medians.

    Example() is given the module compiled already, so compiling (which grows faster
    than linearly by itself) is not part of it: it loads the module into its own engine.
    """
    times: dict[int, dict[str, list[float]]] = {}
    lookups, examples = max(runs, LOOKUP_SAMPLES), max(runs, EXAMPLE_SAMPLES)
    for count in counts:
        wasm = bytes(wasmtime.wat2wasm(many_exports_wat(count)))
        engine = interruptible_engine()
        module = wasmtime.Module(engine, wasm)
        # Compiled on an engine like the one each Example makes, so that it loads there as it is.
        for_example = wasmtime.Module(Example(behaviour="return").engine, wasm)
        per: dict[str, list[float]] = {"typed_run": [], "linker": [], "example": [], "example_floor": []}
        for round_ in range(lookups):
            # Interleaved, each on an instance of its own, made outside the timing.
            store, instance = _instance(engine, module)
            per["typed_run"].append(_seconds(typed_run, instance, store))
            store, instance = _instance(engine, module)
            per["linker"].append(_seconds(_linker_lookup, engine, store, instance))
            if round_ < examples:
                per["example"].append(_seconds(Example, for_example))
                per["example_floor"].append(_seconds(_lean_example, for_example))
        times[count] = per
    return times


def _instance(engine: wasmtime.Engine, module: wasmtime.Module) -> tuple[wasmtime.Store, wasmtime.Instance]:
    store = wasmtime.Store(engine)
    host = wasmtime.Func(store, wasmtime.FuncType([], []), lambda: None)
    return store, wasmtime.Instance(store, module, [host])


def _linker_lookup(engine: wasmtime.Engine, store: wasmtime.Store, instance: wasmtime.Instance) -> wasmtime.Func:
    """`run` found by name through a Linker: the floor of a look-up."""
    linker = wasmtime.Linker(engine)
    linker.define_instance(store, "guest", instance)
    run = linker.get(store, "guest", "run")
    assert isinstance(run, wasmtime.Func)
    return run


def _lean_example(module: wasmtime.Module) -> wasmtime.Func:
    """What Example(module) must do, done lean: an engine, the module loaded there, a store, the host, `run`."""
    engine = interruptible_engine()
    own = wasmtime.Module.deserialize(engine, module.serialize())
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    linker.define(store, "env", "early_exit", wasmtime.Func(store, wasmtime.FuncType([], []), lambda: None))
    linker.define_instance(store, "guest", linker.instantiate(store, own))
    run = linker.get(store, "guest", "run")
    assert isinstance(run, wasmtime.Func)
    return run
