"""What an engine's settings cost at compile time: fuel and epochs, epochs only, fuel only, a default engine.

Fuel metering and epoch interruption both add checks to the compiled code, so
the same module compiles slower on an engine with them. The rows time one
module on each kind of engine, and on the engines the package makes
(`interruptible_engine()`, and the one each Example makes), told apart by
probing what each engine can do.
"""

from __future__ import annotations

import contextlib
import time

import wasmtime

from earlyexit_tutorial import Example, interruptible_engine

from .floors import export_func


def looping_wat(functions: int) -> str:
    """A module of `functions` small exported functions, each with a loop (where fuel and epoch checks go)."""
    body = "".join(
        f'  (func (export "f{i}") (param i32) (result i32) (local i32)\n'
        "    (loop $again\n"
        "      (local.set 1 (i32.add (local.get 1) (local.get 0)))\n"
        f"      (br_if $again (i32.lt_u (local.get 1) (i32.const {i}))))\n"
        "    (local.get 1))\n"
        for i in range(functions)
    )
    return f"(module\n{body})\n"


# The kinds of engine compared, as (fuel metering, epoch interruption).
KINDS = {
    "default": (False, False),
    "epochs only": (False, True),
    "fuel only": (True, False),
    "fuel+epochs": (True, True),
}


def config_engine(*, fuel: bool, epochs: bool, parallel: bool = True) -> wasmtime.Engine:
    """A plain wasmtime engine with fuel metering and epoch interruption as asked."""
    config = wasmtime.Config()
    config.consume_fuel = fuel
    config.epoch_interruption = epochs
    # One thread per compile keeps the timing steady while other work shares the cores.
    config.parallel_compilation = parallel
    return wasmtime.Engine(config)


def engine_features(engine: wasmtime.Engine) -> str:
    """What an engine was made with, found by trying: one of KINDS' names."""
    store = wasmtime.Store(engine)
    try:
        store.set_fuel(10_000)
        fuel = True
    except wasmtime.WasmtimeError:
        fuel = False
    store.set_epoch_deadline(0)  # with epoch interruption on, the first check traps
    instance = wasmtime.Instance(store, wasmtime.Module(engine, '(module (func (export "f")))'), [])
    try:
        export_func(instance, store, "f")(store)
        epochs = False
    except wasmtime.Trap as trap:
        epochs = trap.trap_code == wasmtime.TrapCode.INTERRUPT
    return next(name for name, kind in KINDS.items() if kind == (fuel, epochs))


def package_engines() -> dict[str, str]:
    """The kind of each engine the package makes: interruptible_engine()'s, with fuel=False too, and an Example's."""
    kinds = {"interruptible_engine()": engine_features(interruptible_engine())}
    with contextlib.suppress(TypeError):  # a version whose engines always meter fuel has no fuel=
        kinds["interruptible_engine(fuel=False)"] = engine_features(interruptible_engine(fuel=False))
    kinds["Example's engine"] = engine_features(Example(behaviour="return").engine)
    return kinds


def compile_times(functions: int = 2000, *, runs: int = 3) -> dict[str, list[float]]:
    """Seconds to compile the same looping module on each kind of engine, runs interleaved."""
    wasm = bytes(wasmtime.wat2wasm(looping_wat(functions)))
    chosen = {name: config_engine(fuel=fuel, epochs=epochs, parallel=False) for name, (fuel, epochs) in KINDS.items()}
    times: dict[str, list[float]] = {name: [] for name in chosen}
    for _ in range(runs):
        for name, engine in chosen.items():
            start = time.perf_counter()
            wasmtime.Module(engine, wasm)
            times[name].append(time.perf_counter() - start)
    return times


def guard_takes_epoch_only_engine() -> bool:
    """Whether guard() runs a call without fuel= on an engine with epoch interruption only."""
    from earlyexit_tutorial import NotInterruptible, guard

    store = wasmtime.Store(config_engine(fuel=False, epochs=True))
    try:
        with guard(store, timeout=5):
            pass
    except (NotInterruptible, wasmtime.WasmtimeError):
        return False
    return True
