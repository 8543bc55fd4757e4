"""Numbers that look valid are taken, numbers too large to hold say they are out of range."""

from __future__ import annotations

from fractions import Fraction

import pytest

from earlyexit_tutorial import Example, ExitCode, ExitedEarly, Interrupted, Returned, check_i32
from earlyexit_tutorial._support.validation import parse_int

from .helpers import ENDLESS_WAT


class Int32:
    """An integer type that is not int, as numpy's int32 is: it has __index__ and nothing else."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"int32({self.value})"


HUGE = 10**5000  # more digits than Python will turn into text


def test_any_integer_type_is_taken_for_x_y_fuel_and_the_exit_code() -> None:
    example = Example(behaviour="return", exit_code=Int32(3))
    assert example.run(Int32(5), Int32(7)) == Returned(12)
    assert example.run(1, 7, fuel=Int32(100_000)) == Returned(8)
    assert check_i32("x", Int32(-4)) == -4 and type(check_i32("x", Int32(-4))) is int
    assert ExitCode(Int32(9)) == ExitCode(9) and type(ExitCode(Int32(9)).code) is int
    example.set_host("exit", Int32(4))
    assert example.run(1, 7) == ExitedEarly(ExitCode(4))


def test_a_real_number_is_taken_for_the_timeout() -> None:
    assert Example().run(1, 7, timeout=Fraction(1, 2)) == ExitedEarly(ExitCode(1))
    outcome = Example(ENDLESS_WAT).run(1, 7, timeout=Fraction(1, 5))
    assert isinstance(outcome, Interrupted) and outcome.message == "Interrupted: the guest ran past its 0.2 s deadline"


def test_a_timeout_beyond_what_a_float_holds_means_no_deadline() -> None:
    # As float("inf") does: longer than any run. Only its negative is out of range.
    assert Example().run(1, 7, timeout=10**309) == ExitedEarly(ExitCode(1))
    assert Example().run(1, 7, timeout=HUGE) == ExitedEarly(ExitCode(1))
    with pytest.raises(
        ValueError, match=r"^timeout must be a positive number of seconds, got a negative number of about 5,001 digits$"
    ):
        Example().run(1, 7, timeout=-HUGE)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: Example().run(HUGE, 7),
            r"^x must be in the i32 range -2147483648\.\.2147483647, got a number of about 5,001 digits$",
        ),
        (
            lambda: Example().run(1, -HUGE),
            r"^y must be in the i32 range .*, got a negative number of about 5,001 digits$",
        ),
        (lambda: ExitCode(HUGE), r"^exit code must be in 0\.\.4294967295, got a number of about 5,001 digits$"),
        (
            lambda: Example().run(1, 7, fuel=HUGE),
            r"^fuel must be an integer in 0\.\.\d+, got a number of about 5,001 digits$",
        ),
        (lambda: parse_int("x", "9" * 5000), r"^x is out of range: 999999999999… has 5,000 digits$"),
    ],
    ids=["x", "y", "exit code", "fuel", "typed text"],
)
def test_a_5000_digit_number_is_out_of_range_not_unreadable(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
