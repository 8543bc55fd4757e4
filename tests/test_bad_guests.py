"""Guests that trap or never end, and host functions that misbehave: a failed outcome; the store still works."""

from __future__ import annotations

import threading
import time

import pytest
import wasmtime

from earlyexit_tutorial import (
    LOOPING_WAT,
    Example,
    ExitCode,
    ExitedEarly,
    HostFailure,
    Interrupted,
    OtherError,
    Returned,
)
from earlyexit_tutorial.guide.exit_code import U32_MAX

from .helpers import (
    LIMIT_PAGES,
    PAGE,
    TROUBLE_WAT,
    assert_still_works,
)


@pytest.fixture
def trouble() -> Example:
    return Example(TROUBLE_WAT)


# --- guests that trap -----------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "trap_code", "text"),
    [
        (-1, wasmtime.TrapCode.UNREACHABLE, "wasm trap: wasm `unreachable` instruction executed"),
        (-2, wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO, "wasm trap: integer divide by zero"),
        (-3, wasmtime.TrapCode.STACK_OVERFLOW, "wasm trap: call stack exhausted"),
        (-4, wasmtime.TrapCode.UNREACHABLE, "wasm trap: wasm `unreachable` instruction executed"),
    ],
    ids=["unreachable", "divide-by-zero", "stack-overflow", "memory-grow"],
)
def test_traps_are_failed_outcomes(trouble: Example, x: int, trap_code: wasmtime.TrapCode, text: str) -> None:
    for _ in range(2):  # the same trap twice: nothing is left half-done
        outcome = trouble.run(x, 0)
        assert isinstance(outcome, OtherError)
        assert isinstance(outcome.error, wasmtime.Trap)
        assert outcome.error.trap_code == trap_code
        assert outcome.message == f"Unknown error `{text}` found. expected `ExitCode`"
        assert_still_works(trouble)


def test_memory_grow_stops_at_the_64_mib_limit(trouble: Example) -> None:
    memory = trouble.instance.exports(trouble.store)["memory"]
    assert memory.size(trouble.store) == 1
    trouble.set_host("return")
    outcome = trouble.run(-6, 0)
    assert outcome == Returned(LIMIT_PAGES)  # memory.grow said -1 exactly at 64 MiB
    assert memory.size(trouble.store) == LIMIT_PAGES
    # Growing in steps of 16 pages also ends at the limit, with the trap the guest chose.
    outcome = trouble.run(-4, 0)
    assert isinstance(outcome, OtherError) and outcome.error.trap_code == wasmtime.TrapCode.UNREACHABLE
    assert memory.size(trouble.store) == LIMIT_PAGES
    assert_still_works(trouble)


def test_a_smaller_memory_limit_is_honoured() -> None:
    example = Example(TROUBLE_WAT, behaviour="return", limits={"memory_size": 16 * PAGE})
    assert example.run(-6, 0) == Returned(16)
    assert_still_works(example)


def test_endless_loop_is_stopped_by_the_deadline() -> None:
    looping = Example(LOOPING_WAT)  # run(0, y) loops forever
    for _ in range(2):
        start = time.monotonic()
        outcome = looping.run(0, 0, timeout=0.3)
        elapsed = time.monotonic() - start
        assert isinstance(outcome, Interrupted)
        assert outcome.reason == "deadline"
        assert outcome.error.trap_code == wasmtime.TrapCode.INTERRUPT
        assert outcome.message == "Interrupted: the guest ran past its 0.3 s deadline"
        assert 0.3 <= elapsed < 5
        assert_still_works(looping)


def test_endless_loop_is_stopped_by_fuel() -> None:
    looping = Example(LOOPING_WAT)
    outcome = looping.run(0, 0, fuel=100_000)
    assert isinstance(outcome, Interrupted) and outcome.reason == "fuel"
    assert outcome.fuel_consumed == 100_000
    assert_still_works(looping)


def test_stop_from_another_thread() -> None:
    looping = Example(LOOPING_WAT)
    timer = threading.Timer(0.2, looping.stop)
    timer.start()
    outcome = looping.run(0, 0, timeout=30)
    timer.join()
    assert isinstance(outcome, Interrupted) and outcome.reason == "stop"
    assert_still_works(looping)


# --- host functions that misbehave ------------------------------------------------


class LearnerStop(BaseException):
    """A learner's own BaseException, not an Exception."""


class LearnerError(Exception):
    pass


@pytest.mark.parametrize(
    "error",
    [LearnerError("oops"), ValueError("bad value"), ZeroDivisionError("division by zero")],
    ids=lambda e: type(e).__name__,
)
def test_host_raising_something_else(error: BaseException) -> None:
    example = Example()

    def host() -> None:
        raise error

    for _ in range(3):
        example.host = host
        outcome = example.run(1, 7)
        assert isinstance(outcome, OtherError)
        assert outcome.error is error  # the original exception, kept for inspection
        assert type(error).__name__ in repr(outcome)
        # The next call still works, in the same store.
        example.set_host("exit", 1)
        assert example.run(1, 7) == ExitedEarly(ExitCode(1))


@pytest.mark.parametrize(
    "error",
    [KeyboardInterrupt("raised by the host, no Ctrl-C"), SystemExit(3), GeneratorExit(), LearnerStop()],
    ids=lambda e: type(e).__name__,
)
def test_a_base_exception_from_a_host_leaves_run_as_it_came(error: BaseException) -> None:
    # Not an outcome: a host's sys.exit(3) ends the program, as it would outside wasm.
    example = Example()

    def host() -> None:
        raise error

    for _ in range(3):
        example.host = host
        with pytest.raises(type(error)) as caught:
            example.run(1, 7)
        assert caught.value is error
        example.set_host("exit", 1)
        assert example.run(1, 7) == ExitedEarly(ExitCode(1))


def test_host_behaviour_error_is_the_guides_third_arm() -> None:
    example = Example(behaviour="error")
    outcome = example.run(1, 7)
    assert isinstance(outcome, OtherError) and isinstance(outcome.error, HostFailure)
    assert outcome.message == "Unknown error `the host function failed on purpose` found. expected `ExitCode`"
    assert_still_works(example)


def test_host_raising_its_own_exit_code() -> None:
    example = Example()

    def host() -> None:
        raise ExitCode(U32_MAX)

    example.host = host
    assert example.run(1, 7) == ExitedEarly(ExitCode(U32_MAX))
    assert_still_works(example)


@pytest.mark.parametrize(
    ("host", "error_type", "text"),
    [
        (lambda: 5, TypeError, "host function env.early_exit returned 5, expected None"),
        (None, TypeError, "not callable"),
        (lambda extra: None, TypeError, "argument"),
    ],
    ids=["returns-a-value", "not-callable", "wrong-arity"],
)
def test_host_that_is_not_a_proper_function(host: object, error_type: type, text: str) -> None:
    example = Example()
    example.host = host  # type: ignore[assignment]
    outcome = example.run(1, 7)
    assert isinstance(outcome, OtherError)
    assert isinstance(outcome.error, error_type)
    assert text in str(outcome.error)
    assert_still_works(example)
