"""Bad values (x and y, exit codes, host behaviours, deadlines, fuel): a clear error; the Example still works."""

from __future__ import annotations

import math

import pytest

from earlyexit_tutorial import (
    I32_MAX,
    I32_MIN,
    Example,
    ExitCode,
    ExitedEarly,
    Returned,
    check_i32,
    run_example,
)
from earlyexit_tutorial.guide.exit_code import U32_MAX

from .helpers import (
    assert_still_works,
)

# --- x and y -----------------------------------------------------------------


OUT_OF_I32 = [2**31, -(2**31) - 1, 2**32, 2**63, -(2**64)]
NOT_INTEGERS = [1.0, 7.5, math.nan, "1", b"1", None, True, False, [1], 1 + 0j]


@pytest.mark.parametrize("value", OUT_OF_I32)
@pytest.mark.parametrize("which", ["x", "y"])
def test_out_of_i32_is_refused_not_wrapped(value: int, which: str) -> None:
    example = Example(behaviour="return")
    args = {"x": 1, "y": 7, which: value}
    with pytest.raises(ValueError) as info:
        example.run(args["x"], args["y"])
    message = str(info.value)
    assert message.startswith(f"{which} must be in the i32 range")
    assert str(value) in message and str(I32_MIN) in message and str(I32_MAX) in message
    # The typed function refuses it too: wasmtime alone would wrap 2**31 to -2**31.
    with pytest.raises(ValueError, match=f"^{which} must be in the i32 range"):
        example.typed_run(example.store, args["x"], args["y"])
    with pytest.raises(ValueError, match=f"^{which} must be in the i32 range"):
        run_example(args["x"], args["y"])
    assert example.run(1, 7) == Returned(8)


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
@pytest.mark.parametrize("which", ["x", "y"])
def test_non_integers_are_refused(value: object, which: str) -> None:
    example = Example()
    args = {"x": 1, "y": 7, which: value}
    with pytest.raises(TypeError) as info:
        example.run(args["x"], args["y"])
    assert str(info.value).startswith(f"{which} must be an integer, got {type(value).__name__}")
    with pytest.raises(TypeError, match=f"^{which} must be an integer"):
        example.typed_run(example.store, args["x"], args["y"])
    assert_still_works(example)


def test_i32_bounds_themselves_are_accepted() -> None:
    example = Example(behaviour="return")
    assert example.run(I32_MAX, 0) == Returned(I32_MAX)
    assert example.run(I32_MIN, 0) == Returned(I32_MIN)
    assert example.run(I32_MAX, 1) == Returned(I32_MIN)  # the guest's i32.add wraps; the host does not
    assert check_i32("x", I32_MIN) == I32_MIN


# --- exit codes --------------------------------------------------------------


@pytest.mark.parametrize("code", [-1, 2**32, -(2**63), 2**64])
def test_exit_code_outside_u32(code: int) -> None:
    with pytest.raises(ValueError, match=rf"^exit code must be in 0\.\.{U32_MAX}, got {code}$"):
        ExitCode(code)
    with pytest.raises(ValueError, match="exit code must be in"):
        Example(exit_code=code)
    example = Example(exit_code=3)
    for behaviour in ("exit", "return", "error"):
        with pytest.raises(ValueError, match="exit code must be in"):
            example.set_host(behaviour, code)
    # The failed set_host changed nothing.
    assert (example.behaviour.value, example.exit_code) == ("exit", 3)
    assert example.run(1, 7) == ExitedEarly(ExitCode(3))


@pytest.mark.parametrize("code", [1.0, "1", None, True, [1]], ids=repr)
def test_exit_code_not_an_int(code: object) -> None:
    with pytest.raises(TypeError, match=f"^exit code must be an integer, got {type(code).__name__} "):
        ExitCode(code)  # type: ignore[arg-type]
    example = Example()
    with pytest.raises(TypeError, match="exit code must be an integer"):
        example.set_host("exit", code)  # type: ignore[arg-type]
    assert_still_works(example)


def test_u32_bounds_are_accepted() -> None:
    example = Example(exit_code=0)
    assert example.run(1, 7) == ExitedEarly(ExitCode(0))
    example.set_host("exit", U32_MAX)
    assert example.run(1, 7).code == U32_MAX


def test_unknown_behaviour() -> None:
    example = Example()
    with pytest.raises(ValueError, match=r"host behaviour must be one of .exit., .return., .error., got .bogus."):
        example.set_host("bogus")
    assert_still_works(example)


# --- deadlines and fuel ------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, -1, math.nan, -math.inf, -(10**400)], ids=repr)
def test_bad_timeout(timeout: object) -> None:
    example = Example()
    with pytest.raises(ValueError, match="^timeout must be a positive number of seconds"):
        example.run(1, 7, timeout=timeout)  # type: ignore[arg-type]
    assert_still_works(example)


@pytest.mark.parametrize("timeout", ["1", True], ids=repr)
def test_a_timeout_that_is_no_number_is_a_type_error(timeout: object) -> None:
    example = Example()
    with pytest.raises(TypeError, match="^timeout must be a number of seconds or None"):
        example.run(1, 7, timeout=timeout)  # type: ignore[arg-type]
    assert_still_works(example)


@pytest.mark.parametrize("fuel", [-1, 2**63], ids=repr)
def test_bad_fuel(fuel: object) -> None:
    example = Example()
    with pytest.raises(ValueError, match="^fuel must be an integer in 0.."):
        example.run(1, 7, fuel=fuel)  # type: ignore[arg-type]
    assert_still_works(example)


@pytest.mark.parametrize("fuel", [1.5, "10", True], ids=repr)
def test_a_fuel_that_is_no_integer_is_a_type_error(fuel: object) -> None:
    example = Example()
    with pytest.raises(TypeError, match="^fuel must be an integer or None"):
        example.run(1, 7, fuel=fuel)  # type: ignore[arg-type]
    assert_still_works(example)


@pytest.mark.parametrize("timeout", [math.inf, 1e300, 10**400], ids=repr)
def test_huge_timeout_means_no_deadline(timeout: float) -> None:
    # threading's join() refuses waits this long with OverflowError; the wait must not.
    example = Example()
    assert example.run(1, 7, timeout=timeout) == ExitedEarly(ExitCode(1))
    assert_still_works(example)


# --- limits= -----------------------------------------------------------------

ALL_LIMITS = "memory_size, table_elements, instances, tables, memories"


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"memory_size": "1 MiB"}, "limits['memory_size'] must be an integer, got str '1 MiB'"),
        ({"memory_size": None}, "limits['memory_size'] must be an integer, got NoneType None"),
        ({"memory_size": 2.0**20}, "limits['memory_size'] must be an integer, got float 1048576.0"),
        ({"tables": True}, "limits['tables'] must be an integer, got bool True"),
        ({1: 2**20}, "limits takes keys that are names, such as 'memory_size', got 1"),
        ("memory_size=1048576", "limits must be a dict such as {'memory_size': 2**20}, or None, got str"),
        ([("memory_size", 2**20)], "limits must be a dict such as {'memory_size': 2**20}, or None, got list"),
    ],
    ids=repr,
)
def test_limits_of_the_wrong_type_are_a_type_error_naming_the_key(limits: object, message: str) -> None:
    with pytest.raises(TypeError) as info:
        Example(limits=limits)  # type: ignore[arg-type]
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"memory_size": -1}, "limits['memory_size'] must be in 0..9223372036854775807, got -1"),
        (
            {"memory_size": 2**64 - 1},
            "limits['memory_size'] must be in 0..9223372036854775807, got 18446744073709551615",
        ),
        ({"instances": -(2**63)}, "limits['instances'] must be in 0..9223372036854775807, got -9223372036854775808"),
        (
            {"memory": 2**20},
            "limits has no key 'memory': it takes " + ALL_LIMITS,
        ),
        (
            {"memory_size\n\x1b[2J": 1},
            "limits has no key 'memory_size\\n\\x1b[2J': it takes " + ALL_LIMITS,
        ),
    ],
    ids=repr,
)
def test_limits_out_of_range_are_a_value_error_naming_the_key(limits: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        Example(limits=limits)
    assert str(info.value) == message


# run(x, y) grows the memory by x pages of 64 KiB: it returns the old size, or -1 when refused.
GROW_BY_X_WAT = """
(module (memory 0)
  (func (export "run") (param i32 i32) (result i32) (memory.grow (local.get 0))))
"""


def test_a_refused_limit_never_lifts_the_memory_cap() -> None:
    # What -1 did before: wasmtime reads a negative limit as "none", and the guest grew without a cap.
    for sneaky in (-1, 2**64 - 1, 2**64 - 2**20):
        with pytest.raises(ValueError, match=r"^limits\['memory_size'\] must be in 0\.\."):
            Example(GROW_BY_X_WAT, limits={"memory_size": sneaky})


def test_limits_at_their_bounds_are_accepted() -> None:
    assert Example(GROW_BY_X_WAT, limits={"memory_size": 0}).run(1, 0) == Returned(-1)
    assert Example(GROW_BY_X_WAT).run(2000, 0) == Returned(-1)  # 125 MiB: over the default 64 MiB cap
    assert Example(GROW_BY_X_WAT, limits={"memory_size": 2**63 - 1, "instances": 1}).run(2000, 0) == Returned(0)
    assert Example(limits={}).run(1, 7) == ExitedEarly(ExitCode(1))
