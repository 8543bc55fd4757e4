"""Row f: what naming a compile error costs, against wasmtime's own compile of the same module.

A validation error (a type mismatch, say) comes from wasmtime with a byte offset into
the binary; the package names the function and its line in the learner's WAT instead
(compile_errors.function_line). That look-up must stay linear: on a 50 MiB module it
may cost at most ERROR_PATH_RATIO times what wasmtime took to refuse the module.

    .venv/bin/python benchmarks/error_paths.py [--mib 50]     (prints the row on its own)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.report import Report

ERROR_PATH_RATIO = 2.0  # function_line vs wasmtime.Module on the same broken WAT


def broken_wat(mib: float) -> tuple[str, int]:
    """WAT of about `mib` MiB whose last function has a type error, and that function's index."""
    # Each function carries what the look-up must see through: an export name (a string),
    # a comment with parentheses, and nested instructions.
    parts = ["(module\n"]
    size = index = 0
    while size < mib * 2**20:
        part = (
            f'  (func $f{index} (export "f{index}") (param i32 i32) (result i32)\n'
            f"    ;; adds its two (i32) params\n"
            f"    (i32.add (local.get 0) (i32.mul (local.get 1) (i32.const {index}))))\n"
        )
        parts.append(part)
        size += len(part)
        index += 1
    parts.append("  (func $broken (result i32) (i64.const 0))\n)\n")
    return "".join(parts), index


def measure(mib: float = 50.0, runs: int = 1) -> dict[str, list[float]]:
    """Seconds wasmtime takes to refuse a broken WAT of `mib` MiB, and seconds function_line takes to name its line."""
    import wasmtime

    from earlyexit_tutorial._support.compile_errors import function_line

    wat, index = broken_wat(mib)
    engine = wasmtime.Engine()
    times: dict[str, list[float]] = {"wasmtime": [], "function_line": []}
    for _ in range(runs):
        start = time.perf_counter()
        try:
            wasmtime.Module(engine, wat)
        except wasmtime.WasmtimeError:
            pass
        else:
            raise AssertionError("the broken module compiled")
        times["wasmtime"].append(time.perf_counter() - start)
        start = time.perf_counter()
        line = function_line(wat, index)
        times["function_line"].append(time.perf_counter() - start)
        assert line == wat.count("\n", 0, wat.index("(func $broken")) + 1, line
    return times


def row_error_paths(report: Report, mib: float = 50.0, runs: int = 1) -> None:
    """Row f, for bench.py's table: naming a compile error's line against wasmtime refusing the module."""
    times = measure(mib, runs)
    compile_s = statistics.median(times["wasmtime"])
    lookup_s = statistics.median(times["function_line"])
    ratio = lookup_s / compile_s
    rows = [
        [f"wasmtime.Module on {mib:g} MiB of broken WAT", f"{compile_s:.2f}", "1.00x"],
        ["compile_errors.function_line (its line)", f"{lookup_s:.2f}", f"{ratio:.2f}x"],
    ]
    report.section(
        "f. Naming a compile error's line, seconds", ["step", "median", "ratio"], rows, [f"median of {runs} run(s)"]
    )
    report.figure("error_line", "naming a compile error's line vs wasmtime's compile", ratio, ERROR_PATH_RATIO)


def main(argv: Sequence[str] | None = None) -> int:
    """Print row f on its own, with its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=50.0, help="size of the broken WAT (default 50)")
    parser.add_argument("--runs", type=int, default=1, help="runs to take the median of (default 1)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.report import Report

    report = Report()
    row_error_paths(report, args.mib, args.runs)
    report.print_figures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
