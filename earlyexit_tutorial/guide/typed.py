"""A typed export: the Python counterpart of the guide's typed native function."""

from __future__ import annotations

from collections.abc import Callable

import wasmtime

from .._support._fastcall import make_fast_i32_call
from .._support.validation import check_i32
from .signatures import RUN_SIGNATURE, Signature, describe, signature_of


class SignatureError(TypeError):
    """An export exists but has another signature than the one asked for."""


class TypedRun:
    """The guest's `run`, its signature checked once: call it as run(store, x, y)."""

    def __init__(self, func: wasmtime.Func) -> None:
        self.func = func
        # The call that runs `run`: the public Func.__call__ at first, the fast path
        # from the second call on. Setting that up imports importlib.metadata for
        # its version check (25 ms or more), too much for the command line, which
        # calls `run` once.
        self._call: Callable[[wasmtime.Store, int, int], int] = func
        self._public_calls = 0
        self._fast_path_set_up = False

    def __call__(self, store: wasmtime.Store, x: int, y: int) -> int:
        """Call `run(x, y)`, refusing values outside i32 instead of letting them wrap."""
        return self.call_unchecked(store, check_i32("x", x), check_i32("y", y))

    def call_unchecked(self, store: wasmtime.Store, x: int, y: int) -> int:
        """Call `run(x, y)` with x and y already checked to be i32 ints (wasmtime would wrap others)."""
        if not self._fast_path_set_up:
            self._before_fast_path()
        return self._call(store, x, y)

    def _before_fast_path(self) -> None:
        """The first call keeps the public path; the second sets up the fast one, for itself and every later call."""
        if self._public_calls == 0:
            self._public_calls = 1
            return
        self._fast_path_set_up = True
        # Each TypedRun gets its own fast call, so its buffers are its own.
        self._call = make_fast_i32_call(self.func) or self.func


def typed_export(instance: wasmtime.Instance, store: wasmtime.Store, name: str, signature: Signature) -> wasmtime.Func:
    """Find the exported function `name` and check its signature once."""
    export = instance.exports(store).get(name)
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


def typed_run(instance: wasmtime.Instance, store: wasmtime.Store) -> TypedRun:
    """Look up `run` as a typed function of signature (i32, i32) -> i32."""
    return TypedRun(typed_export(instance, store, "run", RUN_SIGNATURE))
