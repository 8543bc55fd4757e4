"""Value types wasmtime-py cannot pass (v128, typed references) refused when the Example is built, by name.

Asked about such a type, wasmtime-py's C API aborts the whole process: so the
cases that would have aborted run in a child process, and a regression shows
as its death rather than the test run's.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import wasmtime

from earlyexit_tutorial import Example, Returned
from earlyexit_tutorial._support.wasm_types import find_unconvertible

RUN = '(func (export "run") (param i32 i32) (result i32) i32.const 0)'
CANNOT = "and wasmtime-py cannot pass a {} between Python and wasm"


def refused_in_a_child(wat: str, imports: str = "None") -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "from earlyexit_tutorial import Example, ModuleError\n"
        "try:\n"
        f"    Example(sys.argv[1], imports={imports})\n"
        "except ModuleError as error:\n"
        "    print(error)\n"
        "else:\n"
        "    print('accepted')\n"
    )
    return subprocess.run([sys.executable, "-c", code, wat], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("wat", "imports", "message"),
    [
        # Offered: every call failed with wasmtime-py's "Unkown `ffi.wasmtime_valkind_t`: 4".
        (
            f'(module (import "env" "t" (func (param v128))) {RUN})',
            "{'env': {'t': lambda v: None}}",
            "the given WAT text imports env.t as (v128) -> (), " + CANNOT.format("v128"),
        ),
        # Offered with a v128 result: the first call aborted the process.
        (
            '(module (import "env" "t" (func (result v128)))'
            ' (func (export "run") (param i32 i32) (result i32) call 0 drop i32.const 0))',
            "{'env': {'t': lambda: None}}",
            "the given WAT text imports env.t as () -> v128, " + CANNOT.format("v128"),
        ),
        # Not offered: describing the missing import to the learner aborted the process.
        (
            f'(module (import "env" "t" (func (param i32 v128) (result i32))) {RUN})',
            "None",
            "the given WAT text imports env.t as (i32, v128) -> i32, " + CANNOT.format("v128"),
        ),
        # `run` itself with a v128: comparing its type with (i32, i32) -> i32 aborted the process.
        (
            '(module (func (export "run") (param v128 i32) (result i32) i32.const 0))',
            "None",
            "the given WAT text exports run as (v128, i32) -> i32, "
            + CANNOT.format("v128")
            + ": keep v128 values inside the module",
        ),
        (
            f'(module (global (export "g") v128 (v128.const i64x2 1 2)) {RUN})',
            "None",
            "the given WAT text exports g as a global of type v128, "
            + CANNOT.format("v128")
            + ": keep v128 values inside the module",
        ),
        (
            f'(module (type $s (struct)) (import "env" "t" (func (param (ref null $s)))) {RUN})',
            "{'env': {'t': lambda r: None}}",
            "the given WAT text imports env.t as ((ref null $0)) -> (), " + CANNOT.format("(ref null $0)"),
        ),
    ],
    ids=["v128-param-offered", "v128-result-offered", "v128-not-offered", "v128-in-run", "v128-global", "typed-ref"],
)
def test_an_unconvertible_type_is_refused_naming_the_import_or_export(wat, imports, message):
    done = refused_in_a_child(wat, imports)
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-500:]}"
    assert done.stdout.strip() == message


def test_a_binary_module_is_read_the_same_way():
    wasm = bytes(wasmtime.wat2wasm(f'(module (import "env" "t" (func (param v128))) {RUN})'))
    code = (
        "import sys, wasmtime\n"
        "from earlyexit_tutorial import ModuleError, load_module\n"
        "try:\n"
        "    load_module(wasmtime.Engine(), bytes.fromhex(sys.argv[1]))\n"
        "except ModuleError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, wasm.hex()], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-500:]}"
    assert done.stdout.strip() == "the module in the given bytes imports env.t as (v128) -> (), " + CANNOT.format(
        "v128"
    )


@pytest.mark.parametrize(
    "wat",
    [
        # v128 inside the module's own functions, and every type wasmtime-py converts at its edges.
        '(module (func (export "run") (param i32 i32) (result i32) (local v128)'
        " (i32x4.extract_lane 0 (i32x4.splat (local.get 0)))))",
        '(module (import "env" "t" (func (param i32 i64 f32 f64 externref funcref) (result f64)))'
        ' (table 1 funcref) (global (export "n") funcref (ref.null func))'
        ' (func (export "run") (param i32 i32) (result i32) local.get 0))',
    ],
    ids=["v128-inside", "all-convertible"],
)
def test_what_wasmtime_py_can_pass_is_accepted(wat):
    imports = {"env": {"t": lambda *args: 0.0}} if '"t"' in wat else None
    assert Example(wat, imports=imports).run(5, 7) == Returned(5)


def test_bytes_the_reader_does_not_know_mean_cannot_tell_never_a_crash():
    assert find_unconvertible(b"\0asm\x01\0\0\0") is None
    assert find_unconvertible(b"\0asm\x01\0\0\0\x01\x05\x01\x60\x01") is None  # cut short
    assert find_unconvertible(b"\0asm\x01\0\0\0\x01\x03\x01\x99\x00") is None  # an unknown type form
