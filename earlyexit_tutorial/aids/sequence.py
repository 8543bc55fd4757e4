"""What happened in one call to the guest's `run`, as a list of steps for a sequence diagram.

The steps are built from the outcome of the call (and from the wasm frames of
the trap behind it), not from what the guide says should happen, so a learner
who changes the host or the guest sees their own call. `drawing.py` lays them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import wasmtime

from .._support.printable import clip, printable
from ..guide.exit_code import ExitCode
from ..guide.outcome import ExitedEarly, Interrupted, Outcome, Returned, fuel_units, stop_label
from ..interrupting.guard import Reason

HOST = "Python host"
GUEST = "wasm guest (run)"
EXIT_FN = "early_exit (host)"

# What the guide's guest (GUEST_WAT) does after `call $early_exit`.
GUIDE_AFTER_CALL: tuple[str, ...] = ("local.get $x", "local.get $y", "i32.add")

# Said instead of the instructions when we do not know them (a trap, an
# interrupt, or a learner's own module).
REST_OF_RUN = "the rest of run"

MAX_FRAMES = 3  # distinct frames named in the picture; deep call chains get "(+N more)"


@dataclass(frozen=True)
class Message:
    """An arrow from one lifeline to another."""

    source: str
    target: str
    label: str
    tone: str = "plain"  # plain, error (an unwinding exception) or stop (interrupted from outside)
    dashed: bool = False  # a return or an unwind rather than a call

    def text(self) -> str:
        return f"{self.source} {'-->' if self.dashed else '->'} {self.target}: {self.label}"


@dataclass(frozen=True)
class Note:
    """Something that happens on one lifeline."""

    at: str
    label: str
    tone: str = "plain"

    def text(self) -> str:
        return f"{self.at}: {self.label}"


@dataclass(frozen=True)
class Instructions:
    """Instructions of the guest that ran, or (greyed and struck) never ran."""

    at: str
    instructions: tuple[str, ...]
    ran: bool

    @property
    def code(self) -> str:
        return " · ".join(self.instructions)

    def text(self) -> str:
        return f"{self.at}: {'ran' if self.ran else 'never ran'}: {self.code}"


Step = Message | Note | Instructions


def wasm_frames(error: BaseException | None) -> tuple[str, ...]:
    """The names of the wasm functions an error unwound, innermost first."""
    if isinstance(error, wasmtime.Trap):
        return tuple(frame.func_name or f"<wasm function {frame.func_index}>" for frame in error.frames or [])
    if isinstance(error, wasmtime.WasmtimeError):
        # A host function's exception reaches Python as a WasmtimeError with no
        # frames API, only the backtrace in its text: "0: 0x3a - <unknown>!run".
        names = []
        for line in str(error).splitlines():
            match = _BACKTRACE_LINE.match(line)
            if match:
                names.append(match.group(1).partition("!")[2] or match.group(1))
        return tuple(names)
    return ()


_BACKTRACE_LINE = re.compile(r"^\s*\d+:\s+0x[0-9a-fA-F]+ - (.+?)\s*$")


def _through_wasm(error: BaseException) -> BaseException | None:
    """The wasmtime error behind a host function's exception, if it crossed wasm."""
    # wasmtime-py re-raises the host's own exception while handling the
    # WasmtimeError that carried it out of wasm, so that error is its context.
    context = error.__context__
    return context if isinstance(context, (wasmtime.WasmtimeError, wasmtime.Trap)) else None


def _frames_label(frames: tuple[str, ...], verb: str) -> str:
    if not frames:
        return f"{verb} the guest's frames"
    # Recursion repeats one name many times: say "deep ×20" rather than list it.
    groups: list[list[Any]] = []
    for name in frames:
        if groups and groups[-1][0] == name:
            groups[-1][1] += 1
        else:
            groups.append([name, 1])
    # Function names come from the module's name section: the learner's text.
    shown = ", ".join(
        clip(printable(name), 24) + (f" ×{count}" if count > 1 else "") for name, count in groups[:MAX_FRAMES]
    )
    hidden = sum(count for _, count in groups[MAX_FRAMES:])
    more = f" (+{hidden} more)" if hidden else ""
    return f"{verb} wasm frame{'s' if len(frames) > 1 else ''} {shown}{more}"


def _trap_name(trap: wasmtime.Trap) -> str:
    code = trap.trap_code
    return code.name.lower().replace("_", " ") if code is not None else "no trap code"


def _error_name(error: BaseException) -> str:
    # ExitCode's repr carries the code the learner chose; other errors' reprs
    # can be long, and the caption already gives their message.
    return repr(error) if isinstance(error, ExitCode) else printable(type(error).__name__)


def sequence(outcome: Outcome, call: str, rest: tuple[str, ...]) -> list[Step]:
    """The steps of the call that ended in `outcome`, in order."""
    if isinstance(outcome, Returned):
        return [
            Message(HOST, GUEST, call),
            Message(GUEST, EXIT_FN, "early_exit()"),
            Message(EXIT_FN, GUEST, "returns normally", dashed=True),
            Instructions(GUEST, rest, ran=True),
            Message(GUEST, HOST, f"returns {outcome.value}", dashed=True),
            Note(HOST, f"got {outcome.value}: no early exit (the guide's failure)", "error"),
        ]
    if isinstance(outcome, ExitedEarly):
        return _host_raised(outcome.exit_code, call, rest, "except ExitCode: ExitedEarly")
    if isinstance(outcome, Interrupted):
        return _interrupted(outcome, call)
    error = outcome.error
    if isinstance(error, wasmtime.Trap):
        return [
            Message(HOST, GUEST, call),
            Note(GUEST, f"traps: {_trap_name(error)}", "error"),
            Note(GUEST, _frames_label(wasm_frames(error), "unwinds"), "error"),
            Instructions(GUEST, (REST_OF_RUN,), ran=False),
            Message(GUEST, HOST, f"Trap ({_trap_name(error)})", "error", dashed=True),
            Note(HOST, "except Exception: OtherError"),
        ]
    if _through_wasm(error) is not None:
        return _host_raised(error, call, rest, "except Exception: OtherError")
    # It failed before or outside wasm: we cannot say what the guest did.
    return [
        Message(HOST, GUEST, call),
        Message(GUEST, HOST, f"raises {_error_name(error)}", "error", dashed=True),
        Note(HOST, "except Exception: OtherError"),
    ]


def _host_raised(error: BaseException, call: str, rest: tuple[str, ...], caught: str) -> list[Step]:
    """The early_exit path: the host function raises and the exception unwinds the guest."""
    name = _error_name(error)
    return [
        Message(HOST, GUEST, call),
        Message(GUEST, EXIT_FN, "early_exit()"),
        Note(EXIT_FN, f"raise {name}", "error"),
        Message(EXIT_FN, GUEST, f"{name} unwinds", "error", dashed=True),
        Note(GUEST, _frames_label(wasm_frames(_through_wasm(error)), "through"), "error"),
        Instructions(GUEST, rest, ran=False),
        Message(GUEST, HOST, f"re-raised: {name}", "error", dashed=True),
        Note(HOST, caught),
    ]


def _interrupted(outcome: Interrupted, call: str) -> list[Step]:
    """The guest stopped from outside: an epoch bump, or its fuel running out."""
    frames = wasm_frames(outcome.error)
    error = outcome.error
    trap = _trap_name(error) if isinstance(error, wasmtime.Trap) else printable(type(error).__name__)
    if outcome.reason is Reason.FUEL:
        stop: list[Step] = [
            Message(HOST, GUEST, f"{call} with a fuel budget"),
            Note(GUEST, f"out of fuel{_after_units(outcome.fuel_consumed)}: traps", "stop"),
        ]
    else:
        why = _what_stopped(outcome)
        # The host's waiting thread moves the engine's epoch; the guest notices
        # at its next loop header or function entry and traps.
        stop = [
            Message(HOST, GUEST, call),
            Message(HOST, GUEST, f"{why}: increment_epoch()", "stop"),
            Note(GUEST, "next epoch check traps", "stop"),
        ]
    return stop + [
        Note(GUEST, _frames_label(frames, "unwinds"), "error"),
        Instructions(GUEST, (REST_OF_RUN,), ran=False),
        Message(GUEST, HOST, f"Trap ({trap})", "error", dashed=True),
        Note(HOST, f"Interrupted ({printable(outcome.reason)})", "stop"),
    ]


def _what_stopped(outcome: Interrupted) -> str:
    """The label on the host's stop arrow: who moved the epoch."""
    if isinstance(outcome.reason, Reason):
        return stop_label(outcome.reason, outcome.timeout)
    return printable(outcome.reason)  # a reason of the learner's own, kept as text


def _after_units(fuel: int | None) -> str:
    return "" if fuel is None else f" after {fuel_units(fuel)}"


def involves(step: Step, participant: str) -> bool:
    """Whether `step` touches `participant`'s lifeline."""
    if isinstance(step, Message):
        return participant in (step.source, step.target)
    return step.at == participant
