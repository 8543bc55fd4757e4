"""Checks on the values a learner passes to the guest, before wasmtime sees them."""

from __future__ import annotations

import operator
from typing import Any

I32_MIN = -(2**31)
I32_MAX = 2**31 - 1

# Longer numbers are described, not printed: Python refuses to turn an int of
# more than 4,300 digits into text, and nobody reads one in a message anyway.
_SHOWN_DIGITS = 40


def as_integer(name: str, value: Any) -> int:
    """`value` as a plain int if it is any integer type (numpy's too), else a clear TypeError."""
    # bool is an int subclass; True as an argument is almost surely a mistake.
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {_repr(value)}") from None


def shown(value: Any) -> str:
    """A number for a message: itself, or its size when it has too many digits to read."""
    if isinstance(value, int) and abs(value).bit_length() > _SHOWN_DIGITS * 3.33:
        digits = int(abs(value).bit_length() * 0.30103) + 1
        return f"a {'negative ' if value < 0 else ''}number of about {digits:,} digits"
    return str(value)


def check_i32(name: str, value: Any) -> int:
    """Return `value` as an int if it is an integer in the i32 range, else raise a clear error."""
    # wasmtime silently wraps an out-of-range int (2**31 becomes -2**31),
    # so the tutorial never hands it one.
    number = value if type(value) is int else as_integer(name, value)
    if not I32_MIN <= number <= I32_MAX:
        raise ValueError(f"{name} must be in the i32 range {I32_MIN}..{I32_MAX}, got {shown(number)}")
    return number


def parse_int(name: str, text: str) -> int:
    """Parse a learner's text as a decimal integer, with a clear error."""
    try:
        return int(text.strip(), 10)
    except (ValueError, AttributeError):
        if isinstance(text, str) and text.strip().lstrip("+-").replace("_", "").isdecimal():
            # A whole number Python will not convert: more digits than its limit.
            raise ValueError(f"{name} is out of range: {text.strip()[:12]}... has {len(text.strip()):,} digits") from None
        raise ValueError(f"{name} must be a whole number, got {_repr(text)}") from None


def _repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text):,} characters)"
