"""Fork-safe: an Example or a guard() call in a forked child works and never hangs.

wasmtime's parallel-compilation pool does not survive fork(), so engines made in
a forked child compile on one thread. Each test forks after the parent has
compiled, the case that used to hang; a generous timeout is the hang detector.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forks")

PRELUDE = textwrap.dedent(
    """
    import faulthandler, multiprocessing, os, sys, time
    faulthandler.dump_traceback_later(100, exit=True)
    import wasmtime
    from earlyexit_tutorial import Example, guard, interruptible_engine
    from earlyexit_tutorial.aids.endless import LOOPING_WAT

    def in_child(n):
        # A fresh Example (a compile) and a guard() call of one's own, in the child.
        example = Example(LOOPING_WAT)
        stopped = example.run(0, 0, timeout=0.2).message
        returned = Example().run(1, 7).message
        engine = interruptible_engine()
        store = wasmtime.Store(engine)
        ADD = '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))'
        add = wasmtime.Instance(store, wasmtime.Module(engine, ADD), []).exports(store)["add"]
        with guard(store) as call:
            total = add(store, n, 1)
        return f"{stopped} | {returned} | {total} {call.reason}"

    Example().run(1, 7)  # the parent compiles first: its compile threads exist, and a fork does not copy them
    """
)

EXPECTED = "Interrupted: the guest ran past its 0.2 s deadline | Exited early with exit code: 1 | {n} None"


def child(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT, timeout=150
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def test_a_fork_start_process_pool_of_examples_finishes_within_seconds() -> None:
    lines = child(
        """
        with multiprocessing.get_context("fork").Pool(2) as pool:
            for line in pool.map_async(in_child, range(4)).get(timeout=90):
                print(line)
        """
    )
    assert lines == [EXPECTED.format(n=n + 1) for n in range(4)]


def test_a_raw_fork_works_in_the_child() -> None:
    lines = child(
        """
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, in_child(6).encode())
            os._exit(0)
        os.close(write)
        print(os.read(read, 4096).decode())
        os.waitpid(pid, 0)
        """
    )
    assert lines == [EXPECTED.format(n=7)]


def test_a_fork_inside_a_host_function_works_in_the_child() -> None:
    lines = child(
        """
        read, write = os.pipe()
        def forking_host():
            pid = os.fork()
            if pid == 0:  # the child is inside the parent's guarded call, in this host function
                os.write(write, in_child(9).encode())
                os._exit(0)
            os.waitpid(pid, 0)
        Example(behaviour="return", imports={"env": {"early_exit": forking_host}}).run(1, 7)
        os.close(write)
        print(os.read(read, 4096).decode())
        """
    )
    assert lines == [EXPECTED.format(n=10)]


def test_the_parent_keeps_compiling_in_parallel_and_a_child_does_not() -> None:
    lines = child(
        """
        from earlyexit_tutorial.interrupting import engines
        print("parent", engines._FORKED)
        pid = os.fork()
        if pid == 0:
            print("child", engines._FORKED, flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        """
    )
    assert lines == ["parent False", "child True"]
