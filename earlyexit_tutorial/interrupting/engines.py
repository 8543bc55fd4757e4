"""Engines the guard can stop: epoch interruption on, fuel metering for the calls that ask for a budget.

The guard stops a guest by moving its engine's epoch, so an engine needs epoch
interruption turned on when it is made; a call with `fuel=` needs fuel metering
too. `interruptible_engine()` makes one with both (what an Example needs, since
its `run(fuel=...)` is per call), `interruptible_engine(fuel=False)` one with the
epoch only, and `check_interruptible()` tells what an engine made elsewhere has.

An engine without fuel is a choice worth having: it compiles faster (measured
by `benchmarks/bench.py`: fuel and epoch about 1.4x epoch alone) and its guest
runs faster, and each guarded call on it skips setting a budget. A guard with
`fuel=` on such an engine is refused (`NotInterruptible`) when it is made, never
left without the budget it asked for; nested guards on it share no budget.

In a forked child, engines are made without parallel compilation: wasmtime's
compile thread pool does not survive `fork()` (a child's first compile would wait
forever for threads it does not have), so a child compiles on its own thread.
The parent keeps compiling in parallel.
"""

from __future__ import annotations

import os
import weakref

import wasmtime

from .limits import UNLIMITED_FUEL


class NotInterruptible(ValueError):
    """An engine the guard cannot stop (no epoch interruption), or without the fuel metering a budget needs."""


# Set in a forked child (os.register_at_fork): its engines must compile on one thread.
_FORKED = False


def _after_fork_in_child() -> None:
    global _FORKED
    _FORKED = True


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


def interruptible_config(*, fuel: bool = True) -> wasmtime.Config:
    """A wasmtime Config with epoch interruption on, and fuel metering unless `fuel` is False (fork-safe)."""
    if not isinstance(fuel, bool):
        raise TypeError(f"fuel must be True or False, got {type(fuel).__name__} {fuel!r}")
    config = wasmtime.Config()
    config.epoch_interruption = True
    config.consume_fuel = fuel
    if _FORKED:
        config.parallel_compilation = False  # the parent's compile threads are not in this process
    return config


def interruptible_engine(*, fuel: bool = True) -> wasmtime.Engine:
    """A new engine the guard can stop: epoch interruption on, and fuel metering unless `fuel` is False."""
    engine = wasmtime.Engine(interruptible_config(fuel=fuel))
    _INTERRUPTIBLE[engine] = fuel  # made here, so no need to probe it
    return engine


def check_interruptible(engine: wasmtime.Engine) -> bool:
    """Raise NotInterruptible unless `engine` has epoch interruption; return whether it meters fuel."""
    metered = _INTERRUPTIBLE.get(engine)
    if metered is not None:
        return metered
    # A Config cannot be read back, so try both on a throwaway store.
    store = wasmtime.Store(engine)
    try:
        store.set_fuel(1000)  # with fuel on, the probe below needs some
        metered = True
    except wasmtime.WasmtimeError:
        metered = False
    store.set_epoch_deadline(0)  # with epoch interruption on, the first check traps
    instance = wasmtime.Instance(store, wasmtime.Module(engine, '(module (func (export "f")))'), [])
    try:
        instance.exports(store)["f"](store)  # type: ignore[operator]
    except wasmtime.Trap as trap:
        if trap.trap_code == wasmtime.TrapCode.INTERRUPT:
            _INTERRUPTIBLE[engine] = metered
            return metered
    raise NotInterruptible(
        "this engine has no epoch interruption, so a deadline, Stop or Ctrl-C could not stop its guest: "
        "make it with interruptible_engine() or Engine(interruptible_config())"
    )


def check_unmetered_budget(fuel: int) -> None:
    """On an engine without fuel metering, raise NotInterruptible if a call asks for a budget (`fuel` set)."""
    if fuel != UNLIMITED_FUEL:
        raise NotInterruptible(
            f"this engine does not meter fuel, so a budget of {fuel} could not be kept: make it with "
            "interruptible_engine() or Engine(interruptible_config()), or call without fuel="
        )


# The engines known to pass the check, each with whether it meters fuel: made by
# interruptible_engine() or probed once (a look-up here costs a weak reference: once per Stopper).
_INTERRUPTIBLE: weakref.WeakKeyDictionary[wasmtime.Engine, bool] = weakref.WeakKeyDictionary()
