"""What the guard costs, measured side by side in one process: `python benchmarks/guard_floor.py`.

Interleaved samples (each figure the median of its rounds, per call in µs):
- a typed call of run(1, 7) alone, and inside `with guard(store, timeout=10):`;
- the same guarded call with the per-store epoch callback and without it (the fallback);
- what a stop costs: the time from `call.stop()` on another thread to the trap, with and without;
- compile time of the tutorial's guest on a default, an epoch-only and a fuel+epoch engine,
  with and without parallel compilation (what a forked child uses).
"""

from __future__ import annotations

import statistics
import threading
import time

import wasmtime

from earlyexit_tutorial import Example, guard
from earlyexit_tutorial._support import _epoch_callback
from earlyexit_tutorial.aids.endless import LOOPING_WAT

ROUNDS, CALLS = 21, 2000


def per_call(fn, calls: int = CALLS) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def interleaved(cases: dict) -> dict:
    samples: dict = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, fn in cases.items():
            samples[name].append(per_call(fn))
    return {name: statistics.median(values) for name, values in samples.items()}


def guarded(store, typed):
    def call() -> None:
        with guard(store, timeout=10):
            typed(store, 1, 7)

    return call


def stop_latency(example: Example, trials: int = 30) -> float:
    """Median µs from call.stop() on another thread to the guest's trap reaching Python."""
    store, typed = example.store, example.typed_run
    lags = []
    for _ in range(trials):
        call = guard(store, timeout=None)
        sent: list[float] = []

        def stop(call=call, sent=sent) -> None:
            sent.append(time.perf_counter())
            call.stop()

        timer = threading.Timer(0.005, stop)
        timer.start()
        try:
            with call:
                typed(store, 0, 0)
        except wasmtime.Trap:
            lags.append((time.perf_counter() - sent[0]) * 1e6)
        timer.join()
    return statistics.median(lags)


def compile_ms(config_of, wat: str, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        engine = wasmtime.Engine(config_of())
        start = time.perf_counter()
        wasmtime.Module(engine, wat)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def config(epoch: bool = False, fuel: bool = False, parallel: bool = True):
    def make() -> wasmtime.Config:
        cfg = wasmtime.Config()
        cfg.epoch_interruption = epoch
        cfg.consume_fuel = fuel
        cfg.parallel_compilation = parallel
        return cfg

    return make


def big_module(functions: int = 3000) -> str:
    body = (
        "(local i32) (loop (local.set 0 (i32.add (local.get 0) (i32.const 1)))"
        " (br_if 0 (i32.lt_u (local.get 0) (i32.const 10))))"
    )
    return "(module " + " ".join(f'(func (export "f{i}") {body})' for i in range(functions)) + ")"


def main() -> None:
    gated = Example(behaviour="return")
    _epoch_callback.ENABLED = False
    plain = Example(behaviour="return")  # its store never gets a callback: the engine-wide fallback
    _epoch_callback.ENABLED = True
    figures = interleaved(
        {
            "typed call alone": lambda: gated.typed_run(gated.store, 1, 7),
            "with guard(store, timeout=10): typed call": guarded(gated.store, gated.typed_run),
            "the same, fallback (no callback)": guarded(plain.store, plain.typed_run),
        }
    )
    for name, value in figures.items():
        print(f"{name:48s} {value:7.2f} µs")
    alone = figures["typed call alone"]
    print(
        f"{'guard / typed call':48s} {figures['with guard(store, timeout=10): typed call'] / alone:7.2f} x (goal 1.5)"
    )
    spinning_gated, spinning_plain = Example(LOOPING_WAT), None
    _epoch_callback.ENABLED = False
    spinning_plain = Example(LOOPING_WAT)
    _epoch_callback.ENABLED = True
    print(f"{'stop() to trap, with the callback':48s} {stop_latency(spinning_gated):7.0f} µs")
    print(f"{'stop() to trap, fallback':48s} {stop_latency(spinning_plain):7.0f} µs")
    wat = big_module()
    default = compile_ms(config(), wat)
    for name, make in (
        ("default engine", config()),
        ("epoch only", config(epoch=True)),
        ("fuel + epoch", config(epoch=True, fuel=True)),
        ("fuel + epoch, one thread (a forked child)", config(epoch=True, fuel=True, parallel=False)),
    ):
        ms = compile_ms(make, wat)
        print(f"compile 3,000 functions, {name:42s} {ms:7.1f} ms  {ms / default:4.2f} x")


if __name__ == "__main__":
    main()
