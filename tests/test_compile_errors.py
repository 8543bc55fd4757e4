"""Naming a compile error's line stays linear: a large broken module is named about as fast as wasmtime refuses it."""

from __future__ import annotations

import time

from benchmarks.error_paths import broken_wat
from earlyexit_tutorial._support.compile_errors import function_line


def test_the_line_of_the_last_function_in_16_mib_of_wat_is_found_within_seconds():
    # A generous bound for a hang check; benchmarks/error_paths.py holds the real target (at most
    # 2x wasmtime's own compile). A step of Python per token took about 0.4 s per MiB.
    wat, index = broken_wat(16)
    start = time.perf_counter()
    line = function_line(wat, index)
    elapsed = time.perf_counter() - start
    assert line == wat.count("\n", 0, wat.index("(func $broken")) + 1
    assert elapsed < 2.0, f"{elapsed:.1f} s"


def test_a_function_among_imports_without_a_module_wrapper_is_found():
    # A bare list of fields is a module too; an imported function counts in the index space first.
    wat = (
        '(import "env" "a" (func))\n'
        '(import "env" "m" (memory 1))\n'
        "(type (func))\n"
        "(func $one)\n"
        "(; (func $commented) ;) (func $two (result i32)\n"
        "  i64.const 0)\n"
    )
    assert [function_line(wat, i) for i in range(4)] == [1, 4, 5, None]
