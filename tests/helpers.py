"""What several test files share: the command-line runner, an endless guest, memory measures, i32 wrapping,
and the bad input the bad-input files feed the package."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import wasmtime

from earlyexit_tutorial import Example, ExitCode, ExitedEarly, Returned, load_module
from earlyexit_tutorial.guide.running import DEFAULT_LIMITS

if TYPE_CHECKING:
    import ipywidgets

# The guest that never returns, whatever x and y: `run` loops before it could call the host.
# Where a test can choose x, the package's own LOOPING_WAT (which loops for x == 0) serves too.
ENDLESS_WAT = """\
(module
  (import "env" "early_exit" (func))
  (func $run (export "run") (param i32 i32) (result i32)
    (loop br 0)
    i32.const 0))
"""

CLI = [sys.executable, "-m", "earlyexit_tutorial"]


def default_sigint() -> None:
    """A child's `preexec_fn`: SIGINT as in a terminal, even when the tests run with it ignored (`make test &`)."""
    # A child inherits an ignored SIGINT, and the commands rightly keep it ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(
    *args: str | bytes, timeout: float = 60, text: bool = True, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess:
    """Run `python -m earlyexit_tutorial` with args, unbuffered, and capture its output."""
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=text,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=preexec_fn,
    )


def limited_memory() -> None:
    """In a child process: at most 1 GiB of address space, so reading a file without end fails fast."""
    # 1 GiB, not more: every command-line run (guests included) fits in it, and a
    # run that reads /dev/zero fails sooner and takes less of a shared machine.
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))


def rss() -> int:
    """Resident memory of this process after a full garbage collection, in bytes."""
    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss


def wrap_i32(n: int) -> int:
    """n wrapped to a signed 32-bit integer, as wasm's i32 arithmetic does."""
    return (n + 2**31) % 2**32 - 2**31


def wait_busy(example: Example, within: float = 5.0) -> None:
    """Wait until a call of example has begun on another thread."""
    deadline = time.monotonic() + within
    while not example._busy.locked() and time.monotonic() < deadline:
        time.sleep(0.002)
    assert example._busy.locked(), "the background call did not start"


def stdout_of(out: ipywidgets.Output) -> str:
    """What a widget Output printed to stdout."""
    return "".join(o.get("text", "") for o in out.outputs if o.get("output_type") == "stream")


# Put first in a program run as a learner runs it: any import of the package fails, even
# though it is installed in this environment, as on a machine that only ran `pip install wasmtime`.
BLOCKER = """\
import sys


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "earlyexit_tutorial":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, _NotInstalled())
"""

# --- bad input: one guest with every kind of trouble, modules of every wrong shape ---------------

PAGE = 64 * 1024
LIMIT_PAGES = DEFAULT_LIMITS["memory_size"] // PAGE  # 1024 pages = 64 MiB

# One guest with every kind of trouble, chosen by x; any other x behaves like
# the tutorial's guest (call early_exit, then return x + y). So one store can
# go through every failure and must still answer run(1, 7) afterwards.
TROUBLE_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (memory (export "memory") 1)

  (func $recurse (param $n i32) (result i32)
    (call $recurse (i32.add (local.get $n) (i32.const 1))))

  (func $run (export "run") (param $x i32) (param $y i32) (result i32)
    ;; -1: unreachable
    (if (i32.eq (local.get $x) (i32.const -1)) (then unreachable))
    ;; -2: integer divide by zero (divisor x + 2 = 0)
    (if (i32.eq (local.get $x) (i32.const -2))
      (then (drop (i32.div_s (local.get $y) (i32.add (local.get $x) (i32.const 2))))))
    ;; -3: unbounded recursion
    (if (i32.eq (local.get $x) (i32.const -3))
      (then (drop (call $recurse (i32.const 0)))))
    ;; -4: grow memory until the store refuses (memory.grow gives -1), then trap
    (if (i32.eq (local.get $x) (i32.const -4))
      (then
        (loop $grow
          (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
        unreachable))
    ;; -6: grow memory until refused, then return the size in pages
    (if (i32.eq (local.get $x) (i32.const -6))
      (then
        (loop $grow
          (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        (return (memory.size))))
    call $early_exit
    (i32.add (local.get $x) (local.get $y)))
)
"""

HEAD = '(module (import "env" "early_exit" (func $early_exit))'
RUN_OK = '(func (export "run") (param i32 i32) (result i32) call $early_exit (i32.add (local.get 0) (local.get 1)))'


def assert_still_works(example: Example, code: int = 1) -> None:
    """The example's store and instance still give the guide's answer for run(1, 7)."""
    example.set_host("exit", code)
    assert example.run(1, 7) == ExitedEarly(ExitCode(code))
    example.set_host("return")
    assert example.run(1, 7) == Returned(8)
    example.set_host("exit", code)


def load(source: object) -> wasmtime.Module:
    """A module loaded by the package from source, on a fresh engine."""
    return load_module(wasmtime.Engine(), source)  # type: ignore[arg-type]


SHAPES = {
    "no-run": (HEAD + ")", "^the (given WAT text|module in the given bytes) does not export a function named `run`$"),
    "run-misspelt": (
        HEAD + '(func (export "Run") (param i32 i32) (result i32) i32.const 0))',
        "does not export a function named `run`",
    ),
    "run-one-param": (
        HEAD + '(func (export "run") (param i32) (result i32) local.get 0))',
        r"exports `run` as \(i32\) -> i32, expected \(i32, i32\) -> i32",
    ),
    "run-i64": (
        HEAD + '(func (export "run") (param i64 i64) (result i64) local.get 0))',
        r"exports `run` as \(i64, i64\) -> i64, expected \(i32, i32\) -> i32",
    ),
    "run-no-result": (
        HEAD + '(func (export "run") (param i32 i32)))',
        r"exports `run` as \(i32, i32\) -> \(\), expected \(i32, i32\) -> i32",
    ),
    "run-memory": (
        HEAD + '(memory (export "run") 1))',
        r"exports `run` as a memory, not a function, expected \(i32, i32\) -> i32",
    ),
    "run-global": (
        HEAD + '(global (export "run") i32 (i32.const 0)))',
        r"exports `run` as a global, not a function, expected \(i32, i32\) -> i32",
    ),
    "run-table": (HEAD + '(table (export "run") 1 funcref))', "exports `run` as a table, not a function"),
    "wasi-import": (
        '(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))'
        + RUN_OK.replace("call $early_exit ", "")
        + ")",
        r"imports wasi_snapshot_preview1\.fd_write, which the tutorial's host does not provide "
        r"\(it provides only env\.early_exit\)",
    ),
    "env-memory-import": (
        HEAD + '(import "env" "memory" (memory 1))' + RUN_OK + ")",
        r"imports env\.memory, which the tutorial's host does not provide",
    ),
    "early-exit-with-param": (
        '(module (import "env" "early_exit" (func (param i32)))' + RUN_OK.replace("call $early_exit ", "") + ")",
        r"imports env\.early_exit as \(i32\) -> \(\), expected \(\) -> \(\)",
    ),
    "early-exit-with-result": (
        '(module (import "env" "early_exit" (func (result i32)))' + RUN_OK.replace("call $early_exit ", "") + ")",
        r"imports env\.early_exit as \(\) -> i32, expected \(\) -> \(\)",
    ),
    "early-exit-as-global": (
        '(module (import "env" "early_exit" (global i32))' + RUN_OK.replace("call $early_exit ", "") + ")",
        r"imports env\.early_exit as a global, not a function, expected \(\) -> \(\)",
    ),
}


def assert_one_error_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    """A command line's stderr is one `error: ` line holding expected, with no traceback anywhere."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: ")
    assert expected in errors[0], errors[0]
