"""What the guard costs, measured side by side in one process: `python benchmarks/guard_floor.py`.

Interleaved samples (each figure the median of its rounds, per call in µs):
- a typed call of run(1, 7) alone, and inside `with guard(store, timeout=10):`;
- the same guarded call with the per-store epoch callback and without it (the fallback);
- what a stop costs: the time from `call.stop()` on another thread to the trap, with and without;
- compile time of the tutorial's guest on a default, an epoch-only and a fuel+epoch engine,
  with and without parallel compilation (what a forked child uses).
"""

from __future__ import annotations

import math
import statistics
import threading
import time

import wasmtime

from earlyexit_tutorial import Example, guard, interruptible_engine
from earlyexit_tutorial._support import _epoch_callback
from earlyexit_tutorial.aids.endless import LOOPING_WAT

ROUNDS, CALLS = 21, 2000
SPIN = '(module (func (export "spin") (loop br 0)))'


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


def _send_sigint(main: int, sent: list[float]) -> None:
    import signal

    sent.append(time.perf_counter())
    signal.pthread_kill(main, signal.SIGINT)


def ctrl_c_to_control_p90(trials: int = 40) -> tuple[float, float]:
    """p90 µs from a SIGINT sent to the main thread to control back in Python: the guard, and a hand-written floor."""
    import selectors
    import signal
    import socket

    if not hasattr(signal, "pthread_kill"):
        return math.nan, math.nan
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    main = threading.get_ident()
    example = Example(LOOPING_WAT)
    store, typed = example.store, example.typed_run
    guarded, floor = [], []
    try:
        for _ in range(trials):
            sent: list[float] = []
            timer = threading.Timer(0.003, _send_sigint, args=(main, sent))
            timer.start()
            try:
                with guard(store, timeout=None):
                    typed(store, 0, 0)
            except KeyboardInterrupt:
                guarded.append((time.perf_counter() - sent[0]) * 1e6)
            timer.join()
        # The floor: a wakeup fd, a watcher that moves the epoch, the guest's trap, the handler's KeyboardInterrupt.
        # On a store never guarded: a guarded store keeps the guard's epoch callback, in which Python's own
        # handler must not raise (see the guard's known failure cases).
        engine = interruptible_engine()
        store = wasmtime.Store(engine)
        store.set_fuel(2**62)
        spin = wasmtime.Instance(store, wasmtime.Module(engine, SPIN), []).exports(store)["spin"]
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)

        def watch() -> None:
            selector = selectors.DefaultSelector()
            selector.register(reader, selectors.EVENT_READ)
            while True:
                selector.select()
                if reader.recv(64) == b"\xff":
                    return
                engine.increment_epoch()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for _ in range(trials):
            sent = []
            timer = threading.Timer(0.003, _send_sigint, args=(main, sent))
            timer.start()
            try:
                store.set_epoch_deadline(1)
                try:
                    spin(store)
                except wasmtime.Trap:
                    time.sleep(0)  # the handler runs here and raises
            except KeyboardInterrupt:
                floor.append((time.perf_counter() - sent[0]) * 1e6)
            timer.join()
        writer.send(b"\xff")
        watcher.join()
        signal.set_wakeup_fd(old_fd)
    finally:
        signal.signal(signal.SIGINT, previous)

    def p90(values: list[float]) -> float:
        return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else math.nan

    return p90(guarded), p90(floor)


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
    guarded_p90, floor_p90 = ctrl_c_to_control_p90()
    print(f"{'Ctrl-C to control back, p90, guard':48s} {guarded_p90:7.0f} µs")
    ratio = guarded_p90 / floor_p90
    print(f"{'Ctrl-C to control back, p90, hand-written':48s} {floor_p90:7.0f} µs  ({ratio:4.2f} x, goal 2)")
    wat = big_module()
    default = None
    for name, make in (
        ("default engine", config()),
        ("epoch only", config(epoch=True)),
        ("fuel + epoch", config(epoch=True, fuel=True)),
        ("fuel + epoch, one thread (a forked child)", config(epoch=True, fuel=True, parallel=False)),
    ):
        ms = compile_ms(make, wat)
        default = default or ms  # the first row, the default engine, is the unit
        print(f"compile 3,000 functions, {name:42s} {ms:7.1f} ms  {ms / default:4.2f} x")


if __name__ == "__main__":
    main()
