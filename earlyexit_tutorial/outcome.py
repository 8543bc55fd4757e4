"""Handling the error: the outcomes of calling the guest's `run`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import wasmtime

from .exit_code import ExitCode


@dataclass(frozen=True)
class Returned:
    """`run` returned a value: the guest was not stopped (the guide's failure case)."""

    value: int

    @property
    def message(self) -> str:
        return f"Expected early termination with `ExitCode`, found: {self.value}"


@dataclass(frozen=True)
class ExitedEarly:
    """The host's ExitCode stopped the guest (the guide's success case)."""

    exit_code: ExitCode

    @property
    def code(self) -> int:
        return self.exit_code.code

    @property
    def message(self) -> str:
        return f"Exited early with exit code: {self.exit_code}"


@dataclass(frozen=True)
class Failed:
    """The call failed with some other error, kept in `error` for inspection."""

    error: BaseException

    @property
    def message(self) -> str:
        return f"Unknown error `{short_error(self.error)}` found. expected `ExitCode`"


@dataclass(frozen=True)
class Interrupted:
    """The host stopped the guest from outside: deadline, Stop button, kernel interrupt or fuel."""

    reason: str  # "deadline", "stop", "kernel" or "fuel"
    error: BaseException = field(repr=False)
    timeout: Optional[float] = None
    fuel_consumed: Optional[int] = None

    @property
    def message(self) -> str:
        if self.reason == "deadline":
            return f"Interrupted: the guest ran past its {self.timeout:g} s deadline"
        if self.reason == "stop":
            return "Interrupted: stopped by the Stop button"
        if self.reason == "kernel":
            return "Interrupted: stopped by a keyboard interrupt (Ctrl-C or the kernel's stop button)"
        return f"Interrupted: the guest ran out of fuel after {self.fuel_consumed} units"


Outcome = Union[Returned, ExitedEarly, Failed, Interrupted]


def call_run(run: Callable[..., int], store: wasmtime.Store, x: int, y: int) -> Outcome:
    """Call the guest's run(x, y) and sort the result into the guide's three arms."""
    try:
        value = run(store, x, y)
    except ExitCode as exit_code:
        return ExitedEarly(exit_code)  # the host asked the guest to stop
    except Exception as error:
        return Failed(error)  # a trap, or an error we did not plan for
    return Returned(value)


def short_error(error: BaseException) -> str:
    """One line for an error: a trap's first line, without the wasm backtrace."""
    lines = [line.strip() for line in str(error).strip().splitlines()]
    if "Caused by:" in lines:
        # wasmtime puts the backtrace first and the reason after "Caused by:".
        lines = lines[lines.index("Caused by:") + 1 :]
    first = next((line for line in lines if line), "")
    return first or type(error).__name__


def trap_report(trap: wasmtime.Trap) -> str:
    """Describe a trap readably: its code, its message and the wasm frames it unwound."""
    code = trap.trap_code.name if trap.trap_code is not None else "none (raised by the host)"
    lines = [f"trap code: {code}", f"message:   {short_error(trap)}"]
    frames = trap.frames or []
    for i, frame in enumerate(frames):
        name = frame.func_name or f"<function {frame.func_index}>"
        lines.append(f"  frame {i}: {name} in {frame.module_name or '<module>'}")
    if not frames:
        lines.append("  (no wasm frames)")
    return "\n".join(lines)
