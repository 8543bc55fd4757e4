"""Floors: the least a call, a host call or a Ctrl-C can cost, written by hand for the benchmark.

Each figure of bench.py is a ratio to one of these, measured in the same run:
the package's path against the same work done lean.

- `ctypes_floor`: wasmtime's C `wasmtime_func_call` through ctypes with every
  argument built once, and on an early exit only what must happen (the error
  freed, the host's exception re-raised). It reaches into wasmtime-py's
  private `_bindings`, `_ffi` and `_func`, so it is feature-checked: None when
  they are missing, and the rows that need it print "n/a".
- `WakeupFloor`: Ctrl-C stopping a guest with nothing but a wakeup fd, a socket
  and a watcher thread that moves the epoch.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import wasmtime


def export_func(instance: wasmtime.Instance, store: wasmtime.Store, name: str) -> wasmtime.Func:
    """The exported function `name`, through wasmtime's public API."""
    func = instance.exports(store)[name]
    if not isinstance(func, wasmtime.Func):
        raise TypeError(f"export {name!r} is not a function")
    return func


def _private_parts() -> dict[str, Any] | None:
    """wasmtime-py's private pieces the ctypes floor needs, or None if one is missing."""
    try:
        from wasmtime import _bindings, _ffi
        from wasmtime import _func as func_module

        func_module.LAST_EXCEPTION  # noqa: B018 - where the trampoline leaves a host's exception
        return dict(
            raw_call=_bindings._wasmtime_func_call,
            val_t=_ffi.wasmtime_val_t,
            i32_kind=_ffi.WASMTIME_I32.value,
            trap_t=_ffi.wasm_trap_t,
            trap_delete=_bindings._wasm_trap_delete,
            error_delete=_bindings._wasmtime_error_delete,
            func_module=func_module,
        )
    except (ImportError, AttributeError):
        return None


def ctypes_floor(func: wasmtime.Func, store: wasmtime.Store, x: int, y: int) -> Callable[[], int] | None:
    """`func(x, y)` of an (i32, i32) -> i32 export at wasmtime's C call, arguments pre-built; None if unavailable."""
    parts = _private_parts()
    raw_func = getattr(func, "_func", None)
    context = getattr(store, "_context", None)
    if parts is None or raw_func is None or context is None:
        return None
    raw_call, func_module = parts["raw_call"], parts["func_module"]
    trap_delete, error_delete = parts["trap_delete"], parts["error_delete"]
    params = (parts["val_t"] * 2)()
    params[0].kind = params[1].kind = parts["i32_kind"]
    params[0].of.i32, params[1].of.i32 = x, y
    results = (parts["val_t"] * 1)()
    result = results[0].of
    trap = ctypes.POINTER(parts["trap_t"])()
    trap_ref, func_ref, store_context = ctypes.byref(trap), ctypes.byref(raw_func), context()
    trap_size = ctypes.sizeof(trap)

    def call() -> int:
        error = raw_call(store_context, func_ref, params, 2, results, 1, trap_ref)
        if error or trap:
            # wasmtime 50 reports a host's exception as an error, older ones as a trap:
            # free whichever came, then re-raise the host's exception as wasmtime-py does.
            if trap:
                trap_delete(trap)
                ctypes.memset(trap_ref, 0, trap_size)  # the next call starts with no trap
            exception = func_module.LAST_EXCEPTION
            if exception is None:
                raise wasmtime.WasmtimeError("the floor call failed without a host exception")
            if error:
                error_delete(error)
            func_module.LAST_EXCEPTION = None
            raise exception
        return result.i32

    return call


class WakeupFloor:
    """Ctrl-C by hand: a wakeup fd on a socket, and a watcher thread that moves the epoch when a byte arrives."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self.engine = engine
        # A socket pair, not a pipe: it works as a wakeup fd on every system.
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._closing = False
        self._previous_fd = -1
        self._previous_handler: Any = None
        self._thread = threading.Thread(target=self._watch, name="wakeup-floor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while True:
            data = self._reader.recv(64)
            if self._closing or not data:
                return
            self.engine.increment_epoch()

    def __enter__(self) -> WakeupFloor:
        # A handler that does nothing: the C-level handler's byte on the socket does the work,
        # and Python's own would raise KeyboardInterrupt inside wasmtime's trampoline.
        self._previous_handler = signal.signal(signal.SIGINT, lambda signum, frame: None)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        signal.signal(signal.SIGINT, self._previous_handler)

    def close(self) -> None:
        """Stop the watcher thread and close the sockets."""
        self._closing = True
        self._writer.send(b"\0")
        self._thread.join(5)
        self._reader.close()
        self._writer.close()
