"""Setting up: the error a host function raises to stop the guest."""

from __future__ import annotations

from .._support.validation import check_int

U32_MAX = 2**32 - 1


class ExitCode(Exception):
    """An early-exit request carrying an unsigned 32-bit exit code."""

    def __init__(self, code: int) -> None:
        code = check_int("exit code", code, 0, U32_MAX)
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
