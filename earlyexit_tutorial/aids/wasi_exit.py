"""WASI's way out: a guest that ends itself with proc_exit, seen by the host as ExitTrap."""

from __future__ import annotations

import wasmtime

from .._support.validation import check_int

WASI_MAX_STATUS = 125

# A WASI command whose _start calls proc_exit with the code in its global.
WASI_EXIT_WAT = """\
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $code (mut i32) (i32.const 0))
  (func (export "set_code") (param i32) (global.set $code (local.get 0)))
  (func (export "_start")
    (call $proc_exit (global.get $code))
    unreachable)
)
"""


def wasi_exit(code: int) -> wasmtime.ExitTrap:
    """Run a WASI guest that calls proc_exit(code) and return the ExitTrap the host catches."""
    # wasmtime accepts WASI exit statuses below 126 only (126 and up mean
    # "could not run" to a shell); anything else would be a different error.
    code = check_int("a WASI exit status", code, 0, WASI_MAX_STATUS)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module(engine, WASI_EXIT_WAT))
    exports = instance.exports(store)
    set_code, start = exports["set_code"], exports["_start"]
    if not (isinstance(set_code, wasmtime.Func) and isinstance(start, wasmtime.Func)):
        raise AssertionError("WASI_EXIT_WAT exports set_code and _start as functions")
    set_code(store, code)
    try:
        start(store)
    except wasmtime.ExitTrap as trap:
        return trap
    raise AssertionError("proc_exit returned, which WASI forbids")
