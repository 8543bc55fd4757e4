"""Checks on the values a learner passes to the guest, before wasmtime sees them."""

from __future__ import annotations

from typing import Any

I32_MIN = -(2**31)
I32_MAX = 2**31 - 1


def check_i32(name: str, value: Any) -> int:
    """Return `value` if it is an int in the i32 range, else raise a clear error."""
    # wasmtime silently wraps an out-of-range int (2**31 becomes -2**31),
    # so the tutorial never hands it one.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if not I32_MIN <= value <= I32_MAX:
        raise ValueError(f"{name} must be in the i32 range {I32_MIN}..{I32_MAX}, got {value}")
    return value


def parse_int(name: str, text: str) -> int:
    """Parse a learner's text as a decimal integer, with a clear error."""
    try:
        return int(text.strip(), 10)
    except (ValueError, AttributeError):
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None
