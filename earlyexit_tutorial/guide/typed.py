"""A typed export: the Python counterpart of the guide's typed native function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wasmtime

from .._support._fastcall import make_fast_i32_call, make_own_hosts_i32_call, version_known
from .._support.validation import I32_MAX, I32_MIN, check_i32
from .signatures import RUN_SIGNATURE, Signature, describe, signature_of


class SignatureError(TypeError):
    """An export exists but has another signature than the one asked for."""


class TypedRun:
    """The guest's `run`, its signature checked once: call it as run(store, x, y).

    A host function's exception comes out of the call as itself, as from Func.__call__.
    With `own_hosts` (for a caller that records what its own host functions raise, as
    the Example does), the fast path raises the WasmtimeError that carried it instead,
    never reading wasmtime-py's module-wide record of it (which threads share).
    """

    def __init__(self, func: wasmtime.Func, *, own_hosts: bool = False) -> None:
        self.func = func
        self._own_hosts = own_hosts
        # The call that runs `run`: the fast path once it is set up, the public
        # Func.__call__ until then. Setting it up the first time in a process imports
        # importlib.metadata for its version check (25 ms or more), too much for the
        # command line, which calls `run` once: so the first TypedRun of a process
        # makes its first call the public way and sets up the fast path on its second.
        self._call: Callable[[wasmtime.Store, int, int], int] = func
        self._public_calls = 0
        self._fast_path_set_up = False

    def __call__(self, store: wasmtime.Store, x: int, y: int) -> int:
        """Call `run(x, y)`, refusing values outside i32 instead of letting them wrap."""
        # check_i32 says what is wrong; the test before it is its common case, inline.
        if type(x) is not int or not I32_MIN <= x <= I32_MAX:
            x = check_i32("x", x)
        if type(y) is not int or not I32_MIN <= y <= I32_MAX:
            y = check_i32("y", y)
        if not self._fast_path_set_up:
            self._before_fast_path()
        return self._call(store, x, y)

    def call_unchecked(self, store: wasmtime.Store, x: int, y: int) -> int:
        """Call `run(x, y)` with x and y already checked to be i32 ints (wasmtime would wrap others)."""
        if not self._fast_path_set_up:
            self._before_fast_path()
        return self._call(store, x, y)

    def _before_fast_path(self) -> None:
        """Set up the fast path for this call and every later one, unless this is a first call it would slow down."""
        if self._public_calls == 0 and not version_known():
            self._public_calls = 1
            return
        self._fast_path_set_up = True
        # Each TypedRun gets its own fast call, so its buffers are its own.
        make = make_own_hosts_i32_call if self._own_hosts else make_fast_i32_call
        self._call = make(self.func) or self.func

    @property
    def public(self) -> bool:
        """Whether calls go through the public Func.__call__ now (before the fast path is set up, or without one)."""
        return self._call is self.func


def typed_export(instance: wasmtime.Instance, store: wasmtime.Store, name: str, signature: Signature) -> wasmtime.Func:
    """Find the exported function `name` and check its signature once."""
    export = find_export(instance, store, name)
    if export is None:
        raise LookupError(f"the module does not export `{name}`")
    if not isinstance(export, wasmtime.Func):
        # A shared memory's type needs no store; every other extern's does.
        kind = export.type() if isinstance(export, wasmtime.SharedMemory) else export.type(store)
        raise SignatureError(f"export `{name}` is {describe(kind)}")
    actual = signature_of(export.type(store))
    if actual != signature:
        raise SignatureError(f"export `{name}` has signature {describe(actual)}, expected {describe(signature)}")
    return export


def find_export(instance: wasmtime.Instance, store: wasmtime.Store, name: str) -> Any:
    """The export `name` of `instance` (a Func, Memory, ...), or None, in time linear in the number of exports."""
    # Not instance.exports(store): wasmtime-py reads the exports one by one by
    # index, each read walking the list again (8,000 exports: seconds). A linker
    # takes them all at once, and finds one by name.
    linker = wasmtime.Linker(store.engine)
    linker.define_instance(store, "instance", instance)
    try:
        return linker.get(store, "instance", name)
    except wasmtime.WasmtimeError:  # "item not defined in linker"
        return None


def typed_run(instance: wasmtime.Instance, store: wasmtime.Store) -> TypedRun:
    """Look up `run` as a typed function of signature (i32, i32) -> i32."""
    return TypedRun(typed_export(instance, store, "run", RUN_SIGNATURE))
