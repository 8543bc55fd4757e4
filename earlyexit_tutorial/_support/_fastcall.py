"""A faster call into an export of signature (i32, i32) -> i32, and wasmtime-py's host-exception global.

This is the only module that touches wasmtime-py's private internals. It does
what `Func.__call__` does, minus the work a signature checked once makes
useless: reading the function type and converting values on every call, and
the `enter_wasm` context manager (a generator entered and left on every call),
whose two checks are made inline here.
When the internals are missing, or wasmtime is outside the tested versions,
`make_fast_i32_call` returns None and callers use the public `Func.__call__`.

The host-exception global. wasmtime-py's trampoline keeps the exception a host
function raised in one module-wide variable (`wasmtime._func.LAST_EXCEPTION`),
and the caller's `enter_wasm` raises whatever that variable holds once the call
is back, instead of the trap. Wasm runs without the GIL, so with calls on several
threads that variable holds whichever thread's host raised last: a call gets
another thread's exception, or a trap saying "python exception" for its own.
`make_own_hosts_i32_call(func)` is the call for a caller that keeps its
own record of what its host functions raised (the Example does): it raises the
error wasm itself reported (a `Trap` for the guest's own trap, a `WasmtimeError`
for a host's exception) and never reads the variable; `forget_host_exception`
then takes the caller's own exception out of it, so no other call gets it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from ctypes import POINTER, addressof, byref, c_int, memset, sizeof
from typing import Any

import wasmtime

# The private pieces used here change without notice between wasmtime-py
# majors; widen this only after tests/test_fastcall.py passes on the new one.
TESTED_MAJORS = (50,)

FastCall = Callable[[wasmtime.Store, int, int], int]


@functools.cache
def wasmtime_version() -> str | None:
    """The installed wasmtime-py version, or None if it cannot be told."""
    global _version_looked_up
    _version_looked_up = True
    # An ordinary install keeps its metadata in `wasmtime-X.Y.Z.dist-info` beside the package:
    # one listdir, where importlib.metadata costs ~20 ms to import, more than a one-call
    # command line spends on everything else of ours.
    beside = _dist_info_version(os.path.dirname(os.path.dirname(wasmtime.__file__ or "")))
    if beside is not None:
        return beside
    import importlib.metadata  # an egg, a zip, two dist-info folders: ask the slow, thorough way

    try:
        return importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:
        return None


def _dist_info_version(folder: str) -> str | None:
    """The version in the one `wasmtime-*.dist-info` folder inside `folder`, or None if there is not exactly one."""
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return None
    found = [name[9:-10] for name in names if name.startswith("wasmtime-") and name.endswith(".dist-info")]
    return found[0] if len(found) == 1 else None


_version_looked_up = False


def version_known() -> bool:
    """Tell whether wasmtime_version() has been looked up in this process already (so it costs nothing now)."""
    return _version_looked_up


def version_supported(version: str | None) -> bool:
    """Tell whether a wasmtime-py version is one the fast path was tested on."""
    try:
        return int((version or "").split(".")[0]) in TESTED_MAJORS
    except ValueError:
        return False


def _private_parts() -> dict[str, Any] | None:
    """wasmtime's private pieces the fast path needs, or None if any is missing."""
    try:
        from wasmtime import _bindings, _ffi, _func

        if not hasattr(_func, "LAST_EXCEPTION"):
            return None
        return dict(
            # The raw ctypes function skips _ffi's one-line Python wrapper.
            raw_call=getattr(_bindings, "_wasmtime_func_call", _ffi.wasmtime_func_call),
            val_t=_ffi.wasmtime_val_t,
            trap_t=_ffi.wasm_trap_t,
            i32_kind=_ffi.WASMTIME_I32.value,
            func_module=_func,
            error_from_ptr=wasmtime.WasmtimeError._from_ptr,
            trap_from_ptr=wasmtime.Trap._from_ptr,
            error_exit_status=getattr(_bindings, "_wasmtime_error_exit_status", _ffi.wasmtime_error_exit_status),
        )
    except (ImportError, AttributeError):
        return None


def _usable_parts(func: wasmtime.Func) -> dict[str, Any] | None:
    """The private pieces, when this wasmtime is a tested one and `func` has its raw handle; else None."""
    if not version_supported(wasmtime_version()):
        return None
    parts = _private_parts()
    if parts is None or getattr(func, "_func", None) is None:
        return None
    return parts


def make_fast_i32_call(func: wasmtime.Func) -> FastCall | None:
    """A call(store, x, y) for an export already checked to be (i32, i32) -> i32, or None.

    As `Func.__call__` does, it raises a host function's exception as itself.
    """
    return _make_i32_call(func, own_hosts=False)


def make_own_hosts_i32_call(func: wasmtime.Func) -> FastCall | None:
    """As make_fast_i32_call, but a host's exception comes out as the WasmtimeError that carried it.

    For a caller that records what its own host functions raised (see the module's docstring).
    """
    return _make_i32_call(func, own_hosts=True)


def _make_i32_call(func: wasmtime.Func, *, own_hosts: bool) -> FastCall | None:
    """The fast call of make_fast_i32_call (`own_hosts` False) or make_own_hosts_i32_call (True)."""
    parts = _usable_parts(func)
    if parts is None:
        return None
    raw_call = parts["raw_call"]
    new_buffers, failed = _buffer_maker(parts), _failure_maker(parts, own_hosts)
    # Made once: byref() keeps the struct alive and costs a little per call.
    func_ref = byref(func._func)
    # Buffers not in use. A call takes one set and gives it back, so a host
    # function that calls `run` again (re-entry), or another thread, never
    # shares a set with a call still in flight; list.pop/append are atomic.
    free = [new_buffers()]

    def call(store: wasmtime.Store, x: int, y: int) -> int:
        try:
            buffers = free.pop()
        except IndexError:
            buffers = new_buffers()
        params, param_x, param_y, results, result, trap, trap_ref = buffers
        # The C API still checks kinds and counts against the function type,
        # so a wrong signature is an error, not memory corruption. Values
        # must be i32 already: ctypes would wrap a larger int silently.
        param_x.i32 = x
        param_y.i32 = y
        error = raw_call(store._context(), func_ref, params, 2, results, 1, trap_ref)
        # enter_wasm's two checks, inline: an error (a host's exception) or a trap.
        if error or trap:
            failure = failed(error, trap)  # before the buffers go back: it reads and resets their trap
            free.append(buffers)
            raise failure
        free.append(buffers)
        # An i32 result owns no GC root, so there is nothing to unroot.
        return result.i32

    return call


def _buffer_maker(parts: dict[str, Any]) -> Callable[[], tuple]:
    """A function that makes one set of a call's buffers: parameters, results and the trap pointer."""
    val_t, i32_kind, trap_pointer = parts["val_t"], parts["i32_kind"], POINTER(parts["trap_t"])

    def new_buffers() -> tuple:
        params = (val_t * 2)()
        params[0].kind = params[1].kind = i32_kind
        results = (val_t * 1)()
        trap = trap_pointer()  # NULL; wasmtime sets it when the guest traps
        # Keep views of the unions so a call sets and reads plain fields.
        return params, params[0].of, params[1].of, results, results[0].of, trap, byref(trap)

    return new_buffers


def _failure_maker(parts: dict[str, Any], own_hosts: bool) -> Callable[[Any, Any], BaseException]:
    """A function that tells what a call raises when wasmtime reported an error or a trap."""
    trap_from_ptr, func_module, error_from_ptr = parts["trap_from_ptr"], parts["func_module"], _error_maker(parts)

    def failed(error: Any, trap: Any) -> BaseException:
        if trap:
            return trap_from_ptr(_take_pointer(trap))
        wasm_error = error_from_ptr(error)
        if own_hosts:
            return wasm_error
        # As enter_wasm does: the host's own exception, if the trampoline left one, carrying wasmtime's error.
        host_error = func_module.LAST_EXCEPTION
        if host_error is None:
            return wasm_error
        func_module.LAST_EXCEPTION = None
        host_error.__context__ = wasm_error
        return host_error

    return failed


def _error_maker(parts: dict[str, Any]) -> Callable[[Any], wasmtime.WasmtimeError]:
    """WasmtimeError._from_ptr, minus its per-call import and pointer-type check (the pointer is wasmtime's own)."""
    from_ptr, exit_status = parts["error_from_ptr"], parts["error_exit_status"]
    error_type = wasmtime.WasmtimeError
    new = error_type.__new__
    code = c_int(0)
    code_ref = byref(code)

    def error_from(pointer: Any) -> wasmtime.WasmtimeError:
        if exit_status(pointer, code_ref):
            return from_ptr(pointer)  # WASI's proc_exit: wasmtime-py makes its ExitTrap
        error = new(error_type)
        error._set_ptr(pointer)
        error._WasmtimeError__message = None  # type: ignore[attr-defined]  # read by str(): fetched then
        return error

    return error_from


def forget_host_exception(error: BaseException) -> None:
    """Take `error` out of wasmtime-py's host-exception global if it is there, so no other call raises it."""
    func_module = _func_module()
    # Only our own: another thread's exception, left there for its caller, stays.
    if func_module is not None and func_module.LAST_EXCEPTION is error:
        func_module.LAST_EXCEPTION = None


@functools.cache
def _func_module() -> Any:
    """wasmtime-py's module that holds the host-exception global, or None if it has none."""
    parts = _private_parts()
    return None if parts is None else parts["func_module"]


def _take_pointer(pointer: Any) -> Any:
    """A copy of a ctypes pointer for a new owner (a Trap), the original set back to NULL for the next call."""
    taken = type(pointer).from_buffer_copy(pointer)
    memset(addressof(pointer), 0, sizeof(pointer))
    return taken
