"""The exercise: write a guest that exits early only when x > y, and returns x * y otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable

from .._support.validation import I32_MAX, I32_MIN
from ..guide.guest import ModuleError, ModuleSource
from ..guide.host import EARLY_EXIT, import_key
from ..guide.outcome import ExitedEarly, Interrupted, OtherError, Outcome, Returned, short_error, what_it_did
from ..guide.running import Example
from ..interrupting.guard import Reason

# What the exercise asks for. None stands for "exit early".
Spec = Callable[[int, int], int | None]

# The inputs every guest is run on, in this order. The first ones are the plain
# cases a learner thinks of; then negatives (where a signed and an unsigned
# comparison disagree), equal values, and the i32 extremes (where i32.mul wraps).
CASES: tuple[tuple[int, int], ...] = (
    (7, 1),
    (1, 7),
    (3, 4),
    (3, 3),
    (0, 0),
    (-2, 5),
    (5, -2),
    (-3, -7),
    (-7, -3),
    (-1, -1),
    (0, -1),
    (-1, 0),
    (65536, 65536),
    (46341, 46341),
    (I32_MIN, -1),
    (I32_MIN, I32_MAX),
    (I32_MAX, I32_MIN),
    (I32_MAX, I32_MAX),
    (I32_MIN, I32_MIN),
)

# A learner's guest may loop forever: each call gets this many seconds.
CALL_TIMEOUT = 1.0

# The exercise needs a dozen lines of WAT. A source far larger is not an attempt at it, and
# compiling one could keep the learner waiting (10 MiB of WAT take wasmtime tens of seconds).
MAX_SOURCE_BYTES = 256 * 2**10


def wrap_i32(value: int) -> int:
    """The i32 that `value` becomes in WebAssembly: the low 32 bits, read as signed."""
    return (value + 2**31) % 2**32 - 2**31


def _unsigned(value: int) -> int:
    return value % 2**32


def expected(x: int, y: int) -> int | None:
    """What the exercise asks run(x, y) to do: None for an early exit, else x * y as an i32."""
    return None if x > y else wrap_i32(x * y)


# Guests that almost do the exercise, each with what the learner should change.
# If a guest behaves exactly like one of these on every case, the checker says so.
_MISTAKES: tuple[tuple[Spec, str], ...] = (
    (
        lambda x, y: None if _unsigned(x) > _unsigned(y) else wrap_i32(x * y),
        "your guest compares x and y as unsigned numbers (i32.gt_u), so a negative number counts as "
        "larger than any positive one: use i32.gt_s, the signed comparison",
    ),
    (
        lambda x, y: None if x >= y else wrap_i32(x * y),
        "your guest also exits early when x == y (i32.ge_s): use i32.gt_s, which is false for equal values",
    ),
    (
        lambda x, y: None if x < y else wrap_i32(x * y),
        "your guest exits early when x < y: the comparison is the wrong way round "
        "(i32.gt_s compares the value pushed first with the value pushed second)",
    ),
    (
        lambda x, y: None if x > y else wrap_i32(x + y),
        "your guest returns x + y: multiply with i32.mul instead of i32.add",
    ),
    (
        lambda x, y: None,
        "your guest calls early_exit on every call: call it only inside (if ... (then ...))",
    ),
    (
        lambda x, y: wrap_i32(x * y),
        "your guest never calls early_exit: call it when x > y",
    ),
)


def _did(outcome: Outcome) -> str:
    """What a guest did, in words."""
    if isinstance(outcome, ExitedEarly):
        return "exited early"
    if isinstance(outcome, Returned):
        return f"returned {outcome.value}"
    if isinstance(outcome, Interrupted) and outcome.reason is Reason.DEADLINE:
        # The exercise's own deadline, with the likely cause: more than the deadline's words.
        return f"did not finish within {CALL_TIMEOUT:g} s (does it loop forever?)"
    if isinstance(outcome, Interrupted) and isinstance(outcome.reason, Reason):
        return what_it_did(outcome.reason, outcome.timeout, outcome.fuel_consumed)
    if isinstance(outcome, Interrupted):
        return "was interrupted"
    if isinstance(outcome, OtherError):
        return f"failed with `{short_error(outcome.error)}`"
    return repr(outcome)


def _should(value: int | None) -> str:
    return "exited early" if value is None else f"returned {value}"


def _agrees(outcome: Outcome, value: int | None) -> bool:
    if value is None:
        return isinstance(outcome, ExitedEarly)
    return isinstance(outcome, Returned) and outcome.value == value


def _mistake_hint(results: list[tuple[tuple[int, int], Outcome]]) -> str | None:
    """The hint for a known mistake that explains every result, if there is one."""
    for spec, hint in _MISTAKES:
        if all(_agrees(outcome, spec(x, y)) for (x, y), outcome in results):
            return hint
    return None


def _source_size(source: ModuleSource) -> int | None:
    """The size of a guest in bytes (characters for WAT text), before anything compiles it; None if unknown."""
    if isinstance(source, (bytes, bytearray)):
        return len(source)
    if isinstance(source, memoryview):
        return source.nbytes
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source):  # a file, as the loader reads it
        try:
            return os.stat(source).st_size
        except OSError:
            return None  # the loader says what is wrong with it
    return len(source) if isinstance(source, str) else None


def check_exercise(source: ModuleSource) -> str:
    """Run a learner's guest on every case and say, in one line, whether it does what the exercise asks."""
    if source is None:  # Example(None) would load the tutorial's own guest and grade that
        raise TypeError("give your guest as WAT text, wasm bytes or a file path, not None")
    size = _source_size(source)
    if size is not None and size > MAX_SOURCE_BYTES:
        return (
            f"your guest is {size / 2**10:,.0f} KiB, more than the {MAX_SOURCE_BYTES // 2**10} KiB the checker takes: "
            "the exercise needs a dozen lines of WAT"
        )
    try:
        example = Example(source)
    except ModuleError as error:  # the loader's own message: parse errors, missing or mistyped `run`
        return f"your guest cannot be loaded: {error}"
    if not any(import_key(imp) == EARLY_EXIT for imp in example.module.imports):
        return (
            "your guest does not import env.early_exit, so it has no way to exit early: add "
            '(import "env" "early_exit" (func $early_exit))'
        )
    results = []
    for x, y in CASES:
        outcome = example.run(x, y, timeout=CALL_TIMEOUT)
        if isinstance(outcome, Interrupted) and outcome.reason is Reason.CTRL_C:
            return f"the check was stopped by a keyboard interrupt at run({x}, {y})"
        results.append(((x, y), outcome))
        if isinstance(outcome, Interrupted):
            break  # a guest that loops would loop again: one wait is enough
    for (x, y), outcome in results:
        want = expected(x, y)
        if not _agrees(outcome, want):
            answer = f"for run({x}, {y}) your guest {_did(outcome)}; it should have {_should(want)}"
            hint = _mistake_hint(results)
            return f"{answer}. Hint: {hint}" if hint else answer
    return f"all {len(CASES)} cases pass: your guest exits early exactly when x > y and returns x * y otherwise"
