"""Many calls in one store: the same outcome every time, and no memory growth.

Every Example.run goes through the guard; the 10,000-call test prints how
long that takes (`pytest -s` shows it).
"""

from __future__ import annotations

import time

import pytest
import wasmtime

from earlyexit_tutorial import Example, ExitCode, ExitedEarly, HostFailure, OtherError

from .helpers import rss

CALLS = 10_000
WARM_UP = 500
MAX_GROWTH = 5 * 2**20  # bytes of resident memory
MAX_SECONDS = 60.0  # far above the ~2-4 s measured; catches a pathological slowdown only


def traceback_depth(error: BaseException) -> int:
    """How many frames an exception's traceback holds."""
    depth, tb = 0, error.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    return depth


def test_ten_thousand_early_exits_in_one_store() -> None:
    example = Example(exit_code=42)
    expected = ExitedEarly(ExitCode(42))
    for _ in range(WARM_UP):
        assert example.run(1, 7) == expected
    before = rss()
    start = time.perf_counter()
    different = [i for i in range(CALLS) if example.run(1, 7) != expected]
    elapsed = time.perf_counter() - start
    growth = rss() - before
    print(
        f"\n{CALLS} early exits in one store: {elapsed:.2f} s ({elapsed / CALLS * 1e6:.0f} us per call, "
        f"each through the guard), resident memory growth {growth / 2**20:.2f} MiB"
    )
    assert different == []
    assert growth < MAX_GROWTH
    assert elapsed < MAX_SECONDS
    # The exit code the host raises again and again carries only its last call's frames.
    last = example.run(1, 7)
    assert traceback_depth(last.exit_code) < 50


@pytest.mark.parametrize("prepared", [ExitCode(7), HostFailure("prepared once")], ids=["ExitCode", "HostFailure"])
def test_reraised_host_exception_does_not_pile_up_frames(prepared: BaseException) -> None:
    # A learner's host may raise one prepared exception object on every call
    # (`stop = ExitCode(7)` ... `raise stop`). Each raise puts its frames in
    # front of that object's old traceback: without a cut, 2,000 calls keep
    # ~18,000 frames alive.
    example = Example()

    def host() -> None:
        raise prepared

    example.host = host
    outcomes = [example.run(1, 7) for _ in range(2_000)]
    errors = [o.exit_code if isinstance(o, ExitedEarly) else o.error for o in outcomes]
    assert all(e is prepared for e in errors)  # really the same object every time
    assert traceback_depth(prepared) < 50
    # What is left is the last call's own frames, down to the host's raise.
    tb = prepared.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code is host.__code__


def test_mixed_failures_do_not_leak() -> None:
    wat = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (func $run (export "run") (param $x i32) (param $y i32) (result i32)
    (if (i32.eqz (local.get $x)) (then unreachable))
    call $early_exit
    (i32.add (local.get $x) (local.get $y)))
)
"""
    example = Example(wat, behaviour="error")

    def cycle(n: int) -> None:
        for _ in range(n):
            trap = example.run(0, 7)
            assert isinstance(trap, OtherError) and trap.error.trap_code == wasmtime.TrapCode.UNREACHABLE
            failure = example.run(1, 7)
            assert isinstance(failure, OtherError) and isinstance(failure.error, HostFailure)

    cycle(300)
    before = rss()
    cycle(3_000)
    growth = rss() - before
    print(f"\n6000 failing calls (traps and host errors): resident memory growth {growth / 2**20:.2f} MiB")
    assert growth < MAX_GROWTH
    example.set_host("exit", 1)
    assert example.run(1, 7) == ExitedEarly(ExitCode(1))
