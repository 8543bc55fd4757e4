"""Setting up: the error a host function raises to stop the guest."""

from __future__ import annotations

import operator

from .validation import shown

U32_MAX = 2**32 - 1


class ExitCode(Exception):
    """An early-exit request carrying an unsigned 32-bit exit code."""

    def __init__(self, code: int) -> None:
        # bool is an int subclass; ExitCode(True) is almost surely a mistake.
        if isinstance(code, bool) or not hasattr(type(code), "__index__"):
            raise TypeError(f"exit code must be an integer, got {type(code).__name__}")
        code = operator.index(code)  # any integer type, numpy's too, as a plain int
        if not 0 <= code <= U32_MAX:
            raise ValueError(f"exit code must be in 0..{U32_MAX}, got {shown(code)}")
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return str(self.code)

    def __repr__(self) -> str:
        return f"ExitCode({self.code})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ExitCode):
            return self.code == other.code
        return NotImplemented

    def __hash__(self) -> int:
        return hash((ExitCode, self.code))
