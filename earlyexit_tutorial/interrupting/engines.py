"""Engines the guard can stop: epoch interruption and fuel metering on, and the check for both.

The guard stops a guest by moving its engine's epoch and bounds it with a fuel
budget, so an engine needs both turned on when it is made: `interruptible_engine()`
makes one, `check_interruptible()` tells whether an engine made elsewhere has them.

Both, even for a guard without `fuel=`: every guarded call sets a fuel budget,
so that a guard with `fuel=` on the same engine (an Example's, a nested guard's)
is honoured and nested calls share one budget. An epoch-only engine would compile
faster (measured by benchmarks/guard_floor.py on 3,000 functions: epoch alone
about 1.3x a default engine, fuel and epoch about 1.8x) and save one C call per
guarded call; it stays NotInterruptible, since a guard cannot tell in advance
that no call on the engine will ever ask for fuel.

In a forked child, engines are made without parallel compilation: wasmtime's
compile thread pool does not survive `fork()` (a child's first compile would wait
forever for threads it does not have), so a child compiles on its own thread.
The parent keeps compiling in parallel.
"""

from __future__ import annotations

import os
import weakref

import wasmtime


class NotInterruptible(ValueError):
    """An engine without epoch interruption or fuel metering, which the guard cannot stop."""


# Set in a forked child (os.register_at_fork): its engines must compile on one thread.
_FORKED = False


def _after_fork_in_child() -> None:
    global _FORKED
    _FORKED = True


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


def interruptible_config() -> wasmtime.Config:
    """A wasmtime Config with epoch interruption and fuel metering turned on (fork-safe in a forked child)."""
    config = wasmtime.Config()
    config.epoch_interruption = True
    config.consume_fuel = True
    if _FORKED:
        config.parallel_compilation = False  # the parent's compile threads are not in this process
    return config


def interruptible_engine() -> wasmtime.Engine:
    """A new engine the guard can stop (epoch interruption and fuel on)."""
    engine = wasmtime.Engine(interruptible_config())
    _INTERRUPTIBLE.add(engine)  # made here, so no need to probe it
    return engine


def check_interruptible(engine: wasmtime.Engine) -> None:
    """Raise NotInterruptible unless `engine` has epoch interruption and fuel metering."""
    if engine in _INTERRUPTIBLE:
        return
    # A Config cannot be read back, so try both on a throwaway store.
    store = wasmtime.Store(engine)
    try:
        store.set_fuel(1000)
    except wasmtime.WasmtimeError:
        raise NotInterruptible(
            "this engine does not meter fuel: make it with interruptible_engine() or Engine(interruptible_config())"
        ) from None
    store.set_epoch_deadline(0)  # with epoch interruption on, the first check traps
    instance = wasmtime.Instance(store, wasmtime.Module(engine, '(module (func (export "f")))'), [])
    try:
        instance.exports(store)["f"](store)  # type: ignore[operator]
    except wasmtime.Trap as trap:
        if trap.trap_code == wasmtime.TrapCode.INTERRUPT:
            _INTERRUPTIBLE.add(engine)
            return
    raise NotInterruptible(
        "this engine has no epoch interruption, so a deadline, Stop or Ctrl-C could not stop its guest: "
        "make it with interruptible_engine() or Engine(interruptible_config())"
    )


# The engines known to pass the check: made by interruptible_engine() or probed once.
_INTERRUPTIBLE: weakref.WeakSet[wasmtime.Engine] = weakref.WeakSet()
