"""A faster call into an export of signature (i32, i32) -> i32.

This is the only module that touches wasmtime-py's private internals. It does
what `Func.__call__` does, minus the work a signature checked once makes
useless: reading the function type and converting values on every call.
When the internals are missing, or wasmtime is outside the tested versions,
`make_fast_i32_call` returns None and callers use the public `Func.__call__`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from ctypes import byref
from typing import Any

import wasmtime

# The private pieces used here change without notice between wasmtime-py
# majors; widen this only after tests/test_fastcall.py passes on the new one.
TESTED_MAJORS = (50,)

FastCall = Callable[[wasmtime.Store, int, int], int]


@functools.cache
def wasmtime_version() -> str | None:
    """The installed wasmtime-py version, or None if it cannot be told."""
    # Imported here: importlib.metadata costs ~25 ms to import, which a
    # one-call command line should not pay (see TypedRun).
    import importlib.metadata

    try:
        return importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:
        return None


def version_supported(version: str | None) -> bool:
    """Tell whether a wasmtime-py version is one the fast path was tested on."""
    try:
        return int((version or "").split(".")[0]) in TESTED_MAJORS
    except ValueError:
        return False


def _private_parts() -> dict[str, Any] | None:
    """wasmtime's private pieces the fast path needs, or None if any is missing."""
    try:
        from wasmtime import _bindings, _ffi
        from wasmtime._func import enter_wasm

        return dict(
            # The raw ctypes function skips _ffi's one-line Python wrapper.
            raw_call=getattr(_bindings, "_wasmtime_func_call", _ffi.wasmtime_func_call),
            val_t=_ffi.wasmtime_val_t,
            i32_kind=_ffi.WASMTIME_I32.value,
            enter_wasm=enter_wasm,
            error_from_ptr=wasmtime.WasmtimeError._from_ptr,
        )
    except (ImportError, AttributeError):
        return None


def make_fast_i32_call(func: wasmtime.Func) -> FastCall | None:
    """A call(store, x, y) for an export already checked to be (i32, i32) -> i32, or None."""
    if not version_supported(wasmtime_version()):
        return None
    parts = _private_parts()
    raw_func = getattr(func, "_func", None)
    if parts is None or raw_func is None:
        return None
    raw_call, val_t, i32_kind = parts["raw_call"], parts["val_t"], parts["i32_kind"]
    enter_wasm, error_from_ptr = parts["enter_wasm"], parts["error_from_ptr"]
    # Made once: byref() keeps the struct alive and costs a little per call.
    func_ref = byref(raw_func)

    def new_buffers() -> tuple:
        params = (val_t * 2)()
        params[0].kind = params[1].kind = i32_kind
        results = (val_t * 1)()
        # Keep views of the unions so a call sets and reads plain fields.
        return params, params[0].of, params[1].of, results, results[0].of

    # Buffers not in use. A call takes one set and gives it back, so a host
    # function that calls `run` again (re-entry), or another thread, never
    # shares a set with a call still in flight; list.pop/append are atomic.
    free = [new_buffers()]

    def call(store: wasmtime.Store, x: int, y: int) -> int:
        try:
            buffers = free.pop()
        except IndexError:
            buffers = new_buffers()
        params, param_x, param_y, results, result = buffers
        # The C API still checks kinds and counts against the function type,
        # so a wrong signature is an error, not memory corruption. Values
        # must be i32 already: ctypes would wrap a larger int silently.
        param_x.i32 = x
        param_y.i32 = y
        try:
            # enter_wasm turns the trap out-parameter into wasmtime.Trap, and
            # re-raises the host function's own exception (ExitCode) instead.
            with enter_wasm(store) as trap:
                error = raw_call(store._context(), func_ref, params, 2, results, 1, trap)
                if error:
                    raise error_from_ptr(error)
            # An i32 result owns no GC root, so there is nothing to unroot.
            return result.i32
        finally:
            free.append(buffers)

    return call
