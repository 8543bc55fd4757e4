"""A per-store say over epoch interruption: wasmtime's epoch-deadline callback, which wasmtime-py does not expose.

The epoch is the engine's: `engine.increment_epoch()` traps every store of that
engine whose deadline has passed. wasmtime's C API lets each store decide for
itself instead (`wasmtime_store_epoch_deadline_callback`): when the store's
deadline is reached, the callback either traps or sets a new deadline. wasmtime-py
binds that function in its private `_bindings` module but not on `Store`; this
module is the one place that uses it.

The protocol. `gate_for(store)` installs the callback on a store once and returns
the store's `Gate`; the guard keeps `gate.go_on` true while the store's guarded
call may run on, and false once that call is stopped (or when no guarded call is
running on the store). At the store's epoch deadline the callback:

- continues with a new deadline of one tick while `go_on` is true;
- otherwise traps, with the very trap wasmtime gives when no callback is set
  (`Trap`, `TrapCode.INTERRUPT`, the wasm frames). A callback can hand back only a
  `wasmtime_error_t`, and one made from a message comes out of the call as a
  `WasmtimeError` (no trap code). So the callback returns a `wasm_trap_t` made by
  `wasmtime_trap_new_code(INTERRUPT)`: in the C API both types are a `#[repr(C)]`
  struct around the one error value, so wasmtime takes the trap for an error, finds
  the `Trap::Interrupt` inside, and the call reports it as it reports any epoch
  trap. That layout is what `TESTED_MAJORS` vouches for.

The callback runs on the thread running wasm, through ctypes, holding the GIL. It
must never raise into C: it makes no Python-level call (a SIGINT handler runs only
at a call or a loop's back edge, and the guard's handler never raises in this
function's frame: `CALLBACK_CODE` names it), and anything that goes wrong traps.
It is one module-level ctypes object, alive for the process, so no store outlives
it; each store's `Gate` is found by a number passed as the callback's data and
dropped with the store.

A store keeps its callback for life (the C API has no way to take it off). Outside
a guarded call the gate is closed, so the store traps at its deadline as without a
callback; but a Python handler other than the guard's that raises when it runs in
the callback (Python's own SIGINT handler, when a SIGINT moves the epoch) reaches
C: code of one's own that moves the epoch on SIGINT needs a store never guarded.

`gate_for` returns None (the fallback: one stop moves the engine's epoch and traps
every store of the engine, as without this module) when wasmtime is outside the
tested versions, a private piece is missing, or `ENABLED` is false (tests).
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import weakref
from typing import Any

import wasmtime

from ._fastcall import wasmtime_version

# The callback's binding and the error/trap layout were read in wasmtime-py 45-50's
# `_bindings.py` (the same on each) and tried on 45 and 50; widen this only after
# tests/test_guard_neighbours.py passes on the new major.
TESTED_MAJORS = (45, 46, 47, 48, 49, 50)

# Tests turn the fallback on by setting this to False before a store is first guarded.
ENABLED = True

# The callback's code object, once it exists: the guard's SIGINT handler never raises in it.
CALLBACK_CODE: Any = None


class Gate:
    """One store's answer at its epoch deadline: go on (a new deadline of one tick) or trap."""

    __slots__ = ("go_on", "tripped", "__weakref__")

    def __init__(self) -> None:
        self.go_on = False  # no guarded call running: trap, as a store without a callback would
        self.tripped = False  # the callback trapped (the guard clears it when a call begins)


# Each store's gate, by the number given to wasmtime as the callback's data.
_GATES: dict[int, Gate] = {}
_NUMBERS = itertools.count(1)
# The stores with a callback installed, and their gates (kept with the store, dropped with it).
_STORE_GATES: weakref.WeakKeyDictionary[wasmtime.Store, Gate] = weakref.WeakKeyDictionary()


def version_tested(version: str | None) -> bool:
    """Tell whether a wasmtime-py version is one the callback was tested on."""
    try:
        return int((version or "").split(".")[0]) in TESTED_MAJORS
    except ValueError:
        return False


@functools.cache
def _parts() -> dict[str, Any] | None:
    """The private pieces: the binding, the callback object and a trap maker; None if any is missing."""
    if not version_tested(wasmtime_version()):
        return None
    try:
        from wasmtime import _bindings, _ffi

        install = _bindings._wasmtime_store_epoch_deadline_callback
        callback_type, finalizer_type = install.argtypes[1], install.argtypes[3]
        interrupt = _ffi.wasmtime_trap_code_enum.WASMTIME_TRAP_CODE_INTERRUPT.value
        # Our own handle on wasmtime_trap_new_code, returning the pointer as a plain
        # int: what the callback hands back, with no Python-level call in between.
        new_trap = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_uint8)(("wasmtime_trap_new_code", _bindings.dll))
    except (ImportError, AttributeError, IndexError, TypeError):
        return None
    gates_get = _GATES.get

    def at_epoch_deadline(context: Any, data: Any, delta: Any, kind: Any) -> int:
        # No Python-level call in here: see the module's docstring.
        try:
            gate = gates_get(data)
            if gate is not None:
                if gate.go_on:
                    delta[0] = 1
                    kind[0] = 0  # WASMTIME_UPDATE_DEADLINE_CONTINUE
                    return 0
                gate.tripped = True
        except BaseException:  # noqa: BLE001, S110 - nothing may reach C: trap below
            pass
        return new_trap(interrupt)

    global CALLBACK_CODE
    CALLBACK_CODE = at_epoch_deadline.__code__
    return dict(
        install=install,
        callback=callback_type(at_epoch_deadline),  # alive as long as this cache: the process
        no_finalizer=finalizer_type(),  # a null function pointer: nothing to finalize
    )


def available() -> bool:
    """Tell whether stores can get a gate here (tested wasmtime, the private pieces present, ENABLED)."""
    return ENABLED and _parts() is not None


def gate_for(store: wasmtime.Store) -> Gate | None:
    """The store's gate, the callback installed on first use; None: the fallback (the engine's epoch alone)."""
    gate = _STORE_GATES.get(store)
    if gate is not None:
        return gate
    if not ENABLED:
        return None
    parts = _parts()
    if parts is None:
        return None
    gate, number = Gate(), next(_NUMBERS)
    _GATES[number] = gate
    try:
        parts["install"](store.ptr(), parts["callback"], number, parts["no_finalizer"])
    except BaseException:
        del _GATES[number]
        raise
    _STORE_GATES[store] = gate
    # The number goes with the store (its callback can run no more once it is gone).
    weakref.finalize(store, _GATES.pop, number, None)
    return gate
