"""Handling the error: the outcomes of calling the guest's `run`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol

import wasmtime

from .._support.printable import one_line
from .._support.validation import shown
from ..interrupting.guard import Reason
from .exit_code import ExitCode

if TYPE_CHECKING:
    from ..interrupting.guard import StopReport


class _Record:
    """Base of the outcomes: compared, printed and matched by their fields, and read-only."""

    # A hand-made frozen dataclass: importing dataclasses would add ~8 ms to the
    # command line's cold start, which runs one call and exits.
    __slots__ = ()
    __match_args__: tuple[str, ...] = ()
    _hidden: tuple[str, ...] = ()  # fields left out of repr()

    def __init__(self, *values: object) -> None:
        for name, value in zip(self.__match_args__, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = (f"{name}={getattr(self, name)!r}" for name in self.__match_args__ if name not in self._hidden)
        return f"{type(self).__name__}({', '.join(shown)})"


class Returned(_Record):
    """`run` returned a value: the guest was not stopped (the guide's failure case)."""

    __slots__ = __match_args__ = ("value",)
    value: int

    def __init__(self, value: int) -> None:
        # The one field set straight: every normal return makes one, so it skips _Record's loop.
        object.__setattr__(self, "value", value)

    @property
    def message(self) -> str:
        return f"Expected early termination with `ExitCode`, found: {shown(self.value)}"


class ExitedEarly(_Record):
    """The host's ExitCode stopped the guest (the guide's success case)."""

    __slots__ = __match_args__ = ("exit_code",)
    exit_code: ExitCode

    def __init__(self, exit_code: ExitCode) -> None:
        object.__setattr__(self, "exit_code", exit_code)

    @property
    def code(self) -> int:
        return self.exit_code.code

    @property
    def message(self) -> str:
        return f"Exited early with exit code: {self.exit_code}"


class OtherError(_Record):
    """The call failed with some other error, kept in `error` for inspection."""

    __slots__ = __match_args__ = ("error",)
    error: BaseException

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)

    @property
    def message(self) -> str:
        return f"Unknown error `{short_error(self.error)}` found. expected `ExitCode`"


class Interrupted(_Record):
    """The host stopped the guest from outside: its deadline, a Stop, a Ctrl-C (or ■ in JupyterLab) or fuel."""

    __slots__ = __match_args__ = ("reason", "error", "timeout", "fuel_consumed")
    _hidden = ("error",)
    reason: Reason  # equal to its text too: outcome.reason == "deadline"
    error: BaseException
    timeout: float | None
    fuel_consumed: int | None

    def __init__(
        self,
        reason: Reason | str,
        error: BaseException,
        timeout: float | None = None,
        fuel_consumed: int | None = None,
    ) -> None:
        # Our own reasons become Reason members; any other text is kept as it is.
        super().__init__(Reason(reason) if reason in _REASONS else reason, error, timeout, fuel_consumed)

    @property
    def message(self) -> str:
        if not isinstance(self.reason, Reason):
            return f"Interrupted: {one_line(_text_of(self.reason), MESSAGE_CHARS)}"
        return f"Interrupted: {stopped_because(self.reason, self.timeout, self.fuel_consumed)}"


Outcome = Returned | ExitedEarly | OtherError | Interrupted
_REASONS = {reason.value for reason in Reason}


class _ReasonWords(NamedTuple):
    because: str  # the end of "Interrupted: ...", the outcome's message
    did: str  # what the guest did, after its subject: "its start function ran past its 0.2 s deadline"
    label: str  # a few words: the label on the diagram's stop arrow


# Why a guest was stopped from outside, in words: the one table of them, so that a new Reason is one
# more row. {deadline} is "0.5 s deadline" (or "deadline"), {timeout} the seconds alone, {after_fuel} and
# {budget} the fuel in words (or nothing, for an outcome made by hand without it).
_WORDS = {
    Reason.DEADLINE: _ReasonWords(
        "the guest ran past its {deadline}", "ran past its {deadline}", "after {timeout:g} s"
    ),
    Reason.STOP: _ReasonWords("stopped by the Stop button", "was stopped by the Stop button", "Stop button"),
    Reason.CTRL_C: _ReasonWords(
        "stopped by a keyboard interrupt (Ctrl-C or the kernel's stop button)",
        "was stopped by a keyboard interrupt (Ctrl-C or the kernel's stop button)",
        "Ctrl-C",
    ),
    # When fuel runs out the guest has spent its whole budget: consumed and budget are one amount.
    Reason.FUEL: _ReasonWords("the guest ran out of fuel{after_fuel}", "ran out of fuel{budget}", "out of fuel"),
}


def stopped_because(reason: Reason, timeout: float | None, fuel_consumed: int | None) -> str:
    """Why a guest was stopped from outside, as the end of a sentence."""
    return _WORDS[reason].because.format(**_amounts(timeout, fuel_consumed))


def what_it_did(reason: Reason, timeout: float | None, fuel: int | None) -> str:
    """What a stopped guest did, as a verb phrase after its subject ("the guest", "its start function")."""
    return _WORDS[reason].did.format(**_amounts(timeout, fuel))


def _amounts(timeout: float | None, fuel: int | None) -> dict[str, str]:
    """The deadline and the fuel in words for _WORDS; an outcome made by hand may lack either."""
    try:
        deadline = f"{timeout:g} s deadline"
    except (TypeError, ValueError):  # None, or no number at all
        deadline = "deadline"
    if fuel is None:
        return dict(deadline=deadline, after_fuel="", budget="")
    units = fuel_units(fuel)
    return dict(deadline=deadline, after_fuel=f" after {units}", budget=f" (its budget was {units})")


def stop_label(reason: Reason, timeout: float | None) -> str:
    """A few words for what stopped a guest; without its timeout, a deadline is just "deadline"."""
    words = _WORDS[reason].label
    if timeout is None and "{timeout" in words:
        return reason.value
    return words.format(timeout=timeout)


def fuel_units(amount: int | None) -> str:
    """An amount of fuel in words: "1 unit", "5 units"."""
    return f"{shown(amount)} unit{'' if amount == 1 else 's'}"


class StopReporter(Protocol):
    """A guard, as the outcomes see it: it says what stopped its call."""

    def what_stopped(self, error: BaseException | None) -> StopReport | None:
        """What stopped the call, given the error it ended with; None: nothing did."""


def guarded_outcome(outcome: Outcome, guard: StopReporter) -> Outcome:
    """The outcome of a guarded call: `outcome`, or Interrupted when the guard reports what stopped it."""
    stopped = guard.what_stopped(outcome.error if isinstance(outcome, OtherError) else None)
    if stopped is None:
        return outcome
    return Interrupted(stopped.reason, stopped.error, timeout=stopped.timeout, fuel_consumed=stopped.fuel_consumed)


def call_run(run: Callable[..., int], store: wasmtime.Store, x: int, y: int) -> Outcome:
    """Call the guest's run(x, y) and sort the result into the guide's three arms."""
    try:
        value = run(store, x, y)
    except ExitCode as exit_code:
        return ExitedEarly(exit_code)  # the host asked the guest to stop
    except Exception as error:
        return OtherError(error)  # a trap, or an error we did not plan for
    return Returned(value)


# How much of an error's text an outcome's message shows: one line, read at a glance.
MESSAGE_CHARS = 200
# Longer runs of digits are shortened: nobody reads 2**1000 in a message.
_SHOWN_DIGITS = 20
_LONG_NUMBER = r"\d{21,}"  # more than _SHOWN_DIGITS
_CAUSE_NUMBER = r"^\d+: "  # wasmtime numbers a chain of causes: "0: memory fault ...", "1: wasm trap: ..."


def short_error(error: BaseException) -> str:
    """One printable line for an error: a trap's reason in wasm's terms, without the backtrace."""
    import re  # loaded already (wasmtime imports it); its patterns are compiled on this first use

    lines = [line.strip() for line in _text_of(error).strip().splitlines()]
    if "Caused by:" in lines:
        # wasmtime writes the backtrace first, then the reason after "Caused by:". The backtrace holds
        # names from the module, which may write a "Caused by:" of their own: the last one is wasmtime's.
        last = len(lines) - 1 - lines[::-1].index("Caused by:")
        causes = [re.sub(_CAUSE_NUMBER, "", line) for line in lines[last + 1 :] if line]
        # The root cause last ("wasm trap: out of bounds memory access"): it comes first, the detail after.
        lines = [f"{causes[-1]} ({'; '.join(causes[:-1])})" if len(causes) > 1 else "".join(causes)]
    first = next((line for line in lines if line), "") or type(error).__name__
    first = re.sub(_LONG_NUMBER, lambda run: f"{run.group()[:_SHOWN_DIGITS]}… ({len(run.group()):,} digits)", first)
    return one_line(first, MESSAGE_CHARS)


def _text_of(thing: object) -> str:
    """str(thing), or a few words on its type when its __str__ fails: a message never raises."""
    try:
        # Plain str whatever __str__ returned: a str subclass could override what is done with it next.
        return str.__str__(str(thing))
    except Exception as failure:  # a learner's __str__ that raises, or returns no str
        return f"{type(thing).__name__} (its text could not be read: {type(failure).__name__})"


def trap_report(trap: wasmtime.Trap) -> str:
    """Describe a trap readably: its code, its message and the wasm frames it unwound."""
    code = trap.trap_code.name if trap.trap_code is not None else "none (raised by the host)"
    lines = [f"trap code: {code}", f"message:   {short_error(trap)}"]
    frames = trap.frames or []
    for i, frame in enumerate(frames):
        # The names come from the module's name section: its author's text, which may hold escape sequences.
        name = one_line(frame.func_name) if frame.func_name else f"<function {frame.func_index}>"
        lines.append(f"  frame {i}: {name} in {one_line(frame.module_name) if frame.module_name else '<module>'}")
    if not frames:
        lines.append("  (no wasm frames)")
    return "\n".join(lines)
