"""A typed export: the Python counterpart of the guide's typed native function."""

from __future__ import annotations

from typing import Callable

import wasmtime

from ._fastcall import make_fast_i32_call
from .signatures import RUN_SIGNATURE, Signature, describe, signature_of
from .validation import check_i32


class SignatureError(TypeError):
    """An export exists but has another signature than the one asked for."""


class TypedRun:
    """The guest's `run`, its signature checked once: call it as run(store, x, y)."""

    def __init__(self, func: wasmtime.Func) -> None:
        self.func = func
        # The first call takes the public path and the second sets up the fast
        # one: its version check imports importlib.metadata (~25 ms), too much
        # for the command line, which calls `run` once.
        self._call: Callable[[wasmtime.Store, int, int], int] = self._public_once

    def __call__(self, store: wasmtime.Store, x: int, y: int) -> int:
        """Call `run(x, y)`, refusing values outside i32 instead of letting them wrap."""
        return self._call(store, check_i32("x", x), check_i32("y", y))

    def _public_once(self, store: wasmtime.Store, x: int, y: int) -> int:
        self._call = self._set_up_fast_path
        return self.func(store, x, y)

    def _set_up_fast_path(self, store: wasmtime.Store, x: int, y: int) -> int:
        # Each TypedRun gets its own fast call, so its buffers are its own.
        self._call = make_fast_i32_call(self.func) or self.func
        return self._call(store, x, y)


def typed_export(instance: wasmtime.Instance, store: wasmtime.Store, name: str, signature: Signature) -> wasmtime.Func:
    """Find the exported function `name` and check its signature once."""
    export = instance.exports(store).get(name)
    if export is None:
        raise LookupError(f"the module does not export `{name}`")
    if not isinstance(export, wasmtime.Func):
        raise SignatureError(f"export `{name}` is {describe(export.type(store))}")
    actual = signature_of(export.type(store))
    if actual != signature:
        raise SignatureError(f"export `{name}` has signature {describe(actual)}, expected {describe(signature)}")
    return export


def typed_run(instance: wasmtime.Instance, store: wasmtime.Store) -> TypedRun:
    """Look up `run` as a typed function of signature (i32, i32) -> i32."""
    return TypedRun(typed_export(instance, store, "run", RUN_SIGNATURE))


