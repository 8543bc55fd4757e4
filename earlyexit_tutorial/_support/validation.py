"""Checks on the numbers a learner hands the tutorial, one checker per kind.

Each follows Python's own convention: a value of the wrong type is a TypeError,
a value of the right type out of range a ValueError. Each value is checked once,
at the public entry that takes it; the layers inside trust it.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from .printable import clip

I32_MIN = -(2**31)
I32_MAX = 2**31 - 1

# Longer numbers are described, not printed: Python refuses to turn an int of
# more than 4,300 digits into text, and nobody reads one in a message anyway.
_SHOWN_DIGITS = 40
_SHOWN_CHARS = 80


def shown(value: Any) -> str:
    """A value for a one-line message: its repr cut to fit, or for a very long integer, its size."""
    if isinstance(value, int) and abs(value).bit_length() > _SHOWN_DIGITS * 3.33:
        digits = int(abs(value).bit_length() * 0.30103) + 1
        return f"a {'negative ' if value < 0 else ''}number of about {digits:,} digits"
    return clip(repr(value), _SHOWN_CHARS)


def check_int(name: str, value: Any, low: int, high: int, range_name: str = "") -> int:
    """`value` as a plain int if it is an integer in low..high, else a TypeError or ValueError naming `name`."""
    if type(value) is int:  # the common case, first: this runs on every call of `run`
        number = value
    else:
        try:
            # bool is an int subclass, but True as a number is almost surely a mistake.
            if isinstance(value, bool):
                raise TypeError
            number = operator.index(value)  # any integer type, numpy's too, as a plain int
        except TypeError:
            raise TypeError(f"{name} must be an integer, got {type(value).__name__} {shown(value)}") from None
    if not low <= number <= high:
        where = f"{range_name} {low}..{high}" if range_name else f"{low}..{high}"
        raise ValueError(f"{name} must be in {where}, got {shown(number)}")
    return number


def check_i32(name: str, value: Any) -> int:
    """`value` as an int if it is an integer in the i32 range, else a TypeError or ValueError naming `name`."""
    # wasmtime silently wraps an out-of-range int (2**31 becomes -2**31),
    # so the tutorial never hands it one.
    return check_int(name, value, I32_MIN, I32_MAX, "the i32 range")


# wasmtime takes each store limit as a signed 64-bit number, and a negative one as "no limit":
# -1, or 2**64 - 1 wrapped, would silently lift the tutorial's cap.
LIMIT_MAX = 2**63 - 1


def check_store_limits(limits: Any, defaults: Mapping[str, int]) -> dict[str, int]:
    """`defaults` with a learner's `limits` over them, each a checked int; a TypeError or ValueError names the key."""
    if limits is None:
        return dict(defaults)
    if not isinstance(limits, Mapping):
        raise TypeError(f"limits must be a dict such as {{'memory_size': 2**20}}, or None, got {type(limits).__name__}")
    checked = dict(defaults)
    for key, value in limits.items():
        if not isinstance(key, str):
            raise TypeError(f"limits takes keys that are names, such as 'memory_size', got {shown(key)}")
        if key not in defaults:
            raise ValueError(f"limits has no key {shown(key)}: it takes {', '.join(defaults)}")
        checked[key] = check_int(f"limits[{key!r}]", value, 0, LIMIT_MAX)
    return checked


def parse_int(name: str, text: str) -> int:
    """Parse a learner's text (a widget's field, a command-line argument) as a decimal integer."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be text, got {type(text).__name__}")
    try:
        return int(text.strip(), 10)
    except ValueError:
        if text.strip().lstrip("+-").replace("_", "").isdecimal():
            # A whole number Python will not convert: more digits than its limit.
            raise ValueError(
                f"{name} is out of range: {clip(text.strip(), 13)} has {len(text.strip()):,} digits"
            ) from None
        raise ValueError(f"{name} must be a whole number, got {shown(text)}") from None
