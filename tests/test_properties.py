"""Property tests: for any i32 arguments and any u32 code, the outcomes are exactly the guide's.

One Example (one store) serves every generated case: set_host changes the
host's behaviour without re-instantiating, so the store sees thousands of
calls with every kind of outcome mixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import wasmtime
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from earlyexit_tutorial import (
    I32_MAX,
    I32_MIN,
    Example,
    ExitCode,
    ExitedEarly,
    HostFailure,
    Interrupted,
    ModuleError,
    OtherError,
    Returned,
    load_module,
)
from earlyexit_tutorial.guide.exit_code import U32_MAX

from .helpers import wrap_i32

i32s = st.integers(I32_MIN, I32_MAX)
u32s = st.integers(0, U32_MAX)

SETTINGS = settings(
    max_examples=200,
    deadline=None,  # each call runs a guest under a guard: timing varies on a busy machine
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def shared() -> Example:
    return Example()


@SETTINGS
@given(x=i32s, y=i32s, code=u32s)
@example(x=I32_MAX, y=I32_MAX, code=U32_MAX)
@example(x=I32_MIN, y=I32_MIN, code=0)
def test_early_exit_yields_exactly_the_code(shared: Example, x: int, y: int, code: int) -> None:
    shared.set_host("exit", code)
    outcome = shared.run(x, y)
    assert outcome == ExitedEarly(ExitCode(code))
    assert outcome.code == code
    assert outcome.message == f"Exited early with exit code: {code}"


@SETTINGS
@given(x=i32s, y=i32s)
@example(x=I32_MAX, y=1)
@example(x=I32_MIN, y=-1)
@example(x=I32_MAX, y=I32_MAX)
@example(x=I32_MIN, y=I32_MIN)
def test_normal_return_is_the_wrapping_i32_sum(shared: Example, x: int, y: int) -> None:
    shared.set_host("return")
    outcome = shared.run(x, y)
    assert outcome == Returned(wrap_i32(x + y))
    assert I32_MIN <= outcome.value <= I32_MAX


def test_wrap_i32_reference() -> None:
    # The oracle itself, against wasm's own arithmetic at the edges.
    assert wrap_i32(I32_MAX + 1) == I32_MIN
    assert wrap_i32(I32_MIN - 1) == I32_MAX
    assert wrap_i32(I32_MAX + I32_MAX) == -2
    assert wrap_i32(-3 + 5) == 2


# A guest whose x picks a trap; any other x is the guide's guest.
MIXED_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (memory 1)
  (func $recurse (param i32) (result i32) (call $recurse (local.get 0)))
  (func $run (export "run") (param $x i32) (param $y i32) (result i32)
    (if (i32.eq (local.get $x) (i32.const -1)) (then unreachable))
    (if (i32.eq (local.get $x) (i32.const -2))
      (then (drop (i32.div_u (local.get $y) (i32.const 0)))))
    (if (i32.eq (local.get $x) (i32.const -3)) (then (drop (call $recurse (i32.const 0)))))
    (if (i32.eq (local.get $x) (i32.const -4))
      (then (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 64)) (i32.const -1)))) unreachable))
    (if (i32.eq (local.get $x) (i32.const -5)) (then (loop $forever (br $forever))))
    call $early_exit
    (i32.add (local.get $x) (local.get $y)))
)
"""

TRAPS = {
    -1: wasmtime.TrapCode.UNREACHABLE,
    -2: wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO,
    -3: wasmtime.TrapCode.STACK_OVERFLOW,
    -4: wasmtime.TrapCode.UNREACHABLE,
}
SENTINELS = {-1, -2, -3, -4, -5}


@dataclass(frozen=True)
class SetHost:
    behaviour: str
    code: int


@dataclass(frozen=True)
class Call:
    x: int
    y: int


@dataclass(frozen=True)
class Trap:
    x: int


@dataclass(frozen=True)
class OutOfFuel:
    fuel: int


@dataclass(frozen=True)
class BadArgument:
    x: object


@dataclass(frozen=True)
class BadExitCode:
    code: object


@dataclass(frozen=True)
class RaisingHost:
    error: BaseException


Step = SetHost | Call | Trap | OutOfFuel | BadArgument | BadExitCode | RaisingHost

steps = st.one_of(
    st.builds(SetHost, st.sampled_from(["exit", "return", "error"]), u32s),
    st.builds(Call, i32s.filter(lambda x: x not in SENTINELS), i32s),
    st.builds(Trap, st.sampled_from(sorted(TRAPS))),
    st.builds(OutOfFuel, st.integers(0, 5_000)),
    st.builds(
        BadArgument,
        st.one_of(
            st.integers(I32_MAX + 1, 2**64),
            st.integers(-(2**64), I32_MIN - 1),
            st.floats(allow_nan=False),
            st.text(max_size=5),
            st.none(),
            st.booleans(),
        ),
    ),
    st.builds(
        BadExitCode, st.one_of(st.integers(U32_MAX + 1, 2**70), st.integers(max_value=-1), st.floats(), st.none())
    ),
    st.builds(
        RaisingHost,
        st.sampled_from([RuntimeError("boom"), KeyboardInterrupt(), SystemExit(2), LookupError("missing")]),
    ),
)


@pytest.fixture(scope="module")
def mixed() -> Example:
    return Example(MIXED_WAT)


def expected_call(behaviour: str, code: int, x: int, y: int) -> object:
    """What run(x, y) must give for a host of this behaviour."""
    if behaviour == "exit":
        return ExitedEarly(ExitCode(code))
    if behaviour == "return":
        return Returned(wrap_i32(x + y))
    return HostFailure


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=st.lists(steps, min_size=1, max_size=12))
def test_any_mix_of_outcomes_keeps_the_store_working(mixed: Example, program: list[Step]) -> None:
    behaviour, code = "exit", 1
    mixed.set_host(behaviour, code)
    for step in program:
        if isinstance(step, SetHost):
            mixed.set_host(step.behaviour, step.code)
            behaviour, code = step.behaviour, step.code
        elif isinstance(step, Call):
            outcome = mixed.run(step.x, step.y)
            expected = expected_call(behaviour, code, step.x, step.y)
            if expected is HostFailure:
                assert isinstance(outcome, OtherError) and isinstance(outcome.error, HostFailure)
            else:
                assert outcome == expected
        elif isinstance(step, Trap):
            outcome = mixed.run(step.x, 0)
            assert isinstance(outcome, OtherError), outcome
            assert outcome.error.trap_code == TRAPS[step.x]
        elif isinstance(step, OutOfFuel):
            outcome = mixed.run(-5, 0, fuel=step.fuel)
            assert isinstance(outcome, Interrupted) and outcome.reason == "fuel"
            assert outcome.fuel_consumed == step.fuel
        elif isinstance(step, BadArgument):
            with pytest.raises((TypeError, ValueError), match="^x must be"):
                mixed.run(step.x, 0)  # type: ignore[arg-type]
        elif isinstance(step, BadExitCode):
            with pytest.raises((TypeError, ValueError), match="^exit code must be"):
                mixed.set_host("exit", step.code)  # type: ignore[arg-type]
            assert (mixed.behaviour.value, mixed.exit_code) == (behaviour, code)  # nothing changed
        else:
            error = step.error

            def host(error: BaseException = error) -> None:  # bound now: this step's error
                raise error

            mixed.host = host
            if isinstance(error, Exception):
                outcome = mixed.run(1, 7)
                assert isinstance(outcome, OtherError) and outcome.error is error
            else:  # SystemExit, a host's own KeyboardInterrupt: they leave run() as they came
                with pytest.raises(BaseException) as raised:
                    mixed.run(1, 7)
                assert raised.value is error
            mixed.set_host(behaviour, code)
    # Whatever happened, the store still gives the guide's answers.
    mixed.set_host("exit", 1)
    assert mixed.run(1, 7) == ExitedEarly(ExitCode(1))
    mixed.set_host("return")
    assert mixed.run(1, 7) == Returned(8)


# --- where a WAT validation error points ----------------------------------------------------

# Text that holds "(func" but defines no function: comments (nested ones too), strings, types, exports.
DECOYS = [
    ";; (func $commented)",
    "(; (func $a) ;)",
    "(; outer (; (func $inner) ;) (func $still_in_the_comment) ;)",
    "(;\n  (func $over_two_lines)\n;)",
    '(data (i32.const 0) "(func in a string \\" (func")',
    '(data (i32.const 0) "(; not a comment")',
    "(type (func (param i32)))",
    '(export "again" (func $helper))',
]


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(st.sampled_from(DECOYS), max_size=4),
    helpers=st.integers(0, 3),
    between=st.lists(st.sampled_from(DECOYS), max_size=4),
    broken=st.data(),
)
def test_a_validation_error_names_the_line_of_the_broken_function(
    before: list[str], helpers: int, between: list[str], broken: st.DataObject
) -> None:
    lines = ["(module", '  (import "env" "early_exit" (func $early_exit))', "  (memory 1)"]
    lines += ["  " + decoy for decoy in before]
    bad = broken.draw(st.integers(0, helpers), label="broken helper")  # helpers == bad: run itself is broken
    for i in range(helpers + 1):
        body = "i64.const 1" if i == bad else "i32.const 1"
        if i < helpers:
            name = "$helper" if i == 0 else f"$h{i}"
            lines.append(f"  (func {name} (result i32) {body})")
        else:
            lines.append(f'  (func (export "run") (param i32 i32) (result i32) {body})')
        lines += ["  " + decoy for decoy in between]
    if helpers == 0:
        lines.append("  (func $helper)")  # the exports among the decoys name it
    lines.append(")")
    wat = "\n".join(lines)
    for k in range(wat.count('"again"')):  # export names must differ
        wat = wat.replace('"again"', f'"again{k}"', 1)
    expected_line = next(n for n, line in enumerate(wat.splitlines(), 1) if "i64.const 1" in line)
    with pytest.raises(ModuleError) as caught:
        load_module(wasmtime.Engine(), wat)
    assert str(caught.value).endswith(f"in function {bad + 1}, which begins on line {expected_line}"), wat


# --- any text from outside draws a well-formed diagram ------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    message=st.text(st.characters(exclude_categories=()), max_size=60), reason=st.text(max_size=20)
)  # surrogates too
def test_any_error_text_draws_well_formed_svg(message: str, reason: str) -> None:
    import xml.etree.ElementTree as ET

    from earlyexit_tutorial import OtherError, call_diagram

    for outcome in (OtherError(RuntimeError(message)), Interrupted(reason or "x", RuntimeError(message))):
        diagram = call_diagram(outcome, 1, 7)
        ET.fromstring(diagram.svg.encode("utf-8"))  # encodable (no lone surrogate) and well-formed
        diagram.text.encode("utf-8")
