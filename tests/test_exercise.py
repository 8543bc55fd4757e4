"""The exercise's checker: a right guest passes, each common wrong guest gets its own answer."""

from __future__ import annotations

import pytest
import wasmtime

from earlyexit_tutorial import Example, ModuleError
from earlyexit_tutorial._support.validation import I32_MAX, I32_MIN
from earlyexit_tutorial.aids.exercise import CASES, check_exercise, expected, wrap_i32

HEAD = (
    '(module\n  (import "env" "early_exit" (func $early_exit))\n'
    '  (func (export "run") (param $x i32) (param $y i32) (result i32)\n'
)


def guest(body: str) -> str:
    return HEAD + body + "))\n"


FLAT = guest(
    """    local.get $x
    local.get $y
    i32.gt_s
    if
      call $early_exit
    end
    local.get $x
    local.get $y
    i32.mul"""
)

FOLDED = guest(
    """    (if (i32.gt_s (local.get $x) (local.get $y))
      (then (call $early_exit)))
    (i32.mul (local.get $x) (local.get $y))"""
)

ALL_PASS = f"all {len(CASES)} cases pass: your guest exits early exactly when x > y and returns x * y otherwise"


@pytest.mark.parametrize("source", [FLAT, FOLDED], ids=["flat", "folded"])
def test_a_right_guest_passes_every_case(source):
    assert check_exercise(source) == ALL_PASS


def test_a_right_guest_passes_as_wasm_bytes_too():
    assert check_exercise(wasmtime.wat2wasm(FOLDED)) == ALL_PASS


WRONG = {
    "unsigned comparison": (
        FOLDED.replace("i32.gt_s", "i32.gt_u"),
        "for run(-2, 5) your guest exited early; it should have returned -10. Hint: your guest compares x and y as "
        "unsigned numbers (i32.gt_u), so a negative number counts as larger than any positive one: use i32.gt_s, "
        "the signed comparison",
    ),
    "exits on equal values": (
        FOLDED.replace("i32.gt_s", "i32.ge_s"),
        "for run(3, 3) your guest exited early; it should have returned 9. Hint: your guest also exits early when "
        "x == y (i32.ge_s): use i32.gt_s, which is false for equal values",
    ),
    "comparison the wrong way round": (
        FLAT.replace("local.get $x\n    local.get $y\n    i32.gt_s", "local.get $y\n    local.get $x\n    i32.gt_s"),
        "for run(7, 1) your guest returned 7; it should have exited early. Hint: your guest exits early when x < y: "
        "the comparison is the wrong way round (i32.gt_s compares the value pushed first with the value pushed second)",
    ),
    "adds instead of multiplying": (
        FOLDED.replace("i32.mul", "i32.add"),
        "for run(1, 7) your guest returned 8; it should have returned 7. Hint: your guest returns x + y: multiply "
        "with i32.mul instead of i32.add",
    ),
    "never exits": (
        guest("    (i32.mul (local.get $x) (local.get $y))"),
        "for run(7, 1) your guest returned 7; it should have exited early. Hint: your guest never calls early_exit: "
        "call it when x > y",
    ),
    "always exits": (
        guest("    (call $early_exit)\n    (i32.mul (local.get $x) (local.get $y))"),
        "for run(1, 7) your guest exited early; it should have returned 7. Hint: your guest calls early_exit on every "
        "call: call it only inside (if ... (then ...))",
    ),
    "no import": (
        '(module (func (export "run") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1))))',
        "your guest does not import env.early_exit, so it has no way to exit early: add "
        '(import "env" "early_exit" (func $early_exit))',
    ),
    "wrong only at the i32 extremes": (
        # Multiplies in i64 and saturates instead of wrapping: right everywhere except where i32.mul wraps.
        guest(
            """    (local $p i64)
    (if (i32.gt_s (local.get $x) (local.get $y)) (then (call $early_exit)))
    (local.set $p (i64.mul (i64.extend_i32_s (local.get $x)) (i64.extend_i32_s (local.get $y))))
    (if (i64.gt_s (local.get $p) (i64.const 2147483647)) (then (local.set $p (i64.const 2147483647))))
    (i32.wrap_i64 (local.get $p))"""
        ),
        "for run(65536, 65536) your guest returned 2147483647; it should have returned 0",
    ),
    "traps": (
        guest("    unreachable"),
        "for run(7, 1) your guest failed with `wasm trap: wasm `unreachable` instruction executed`; "
        "it should have exited early",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG), ids=str)
def test_a_wrong_guest_gets_its_own_answer(name):
    source, answer = WRONG[name]
    assert check_exercise(source) == answer


def test_the_wrong_guests_get_different_answers():
    answers = [check_exercise(source) for source, _ in WRONG.values()]
    answers += [check_exercise(source) for source in UNLOADABLE.values()]
    assert len(set(answers)) == len(answers)


# Guests the loader refuses: the checker passes the loader's own message on.
UNLOADABLE = {
    "wrong export name": FOLDED.replace('(export "run")', '(export "Run")'),
    "one parameter": (
        '(module (import "env" "early_exit" (func)) (func (export "run") (param i32) (result i32) local.get 0))'
    ),
    "does not compile": guest("    (i32.mul (local.get $x) (local.get $y))").replace("(result i32)", "(result i64)"),
    "mistyped import": FOLDED.replace("(func $early_exit)", "(func $early_exit (param i32))").replace(
        "(call $early_exit)", "(call $early_exit (local.get $x))"
    ),
    "foreign import": FOLDED.replace('"env" "early_exit"', '"env" "log"'),
    "start function exits": FOLDED.replace(
        "  (func (export", "  (func $start (call $early_exit))\n  (start $start)\n  (func (export"
    ),
}


def loaders_message(source: str) -> str:
    with pytest.raises(ModuleError) as refused:
        Example(source)
    return str(refused.value)


@pytest.mark.parametrize("name", sorted(UNLOADABLE), ids=str)
def test_a_guest_the_loader_refuses_gets_the_loaders_message(name):
    source = UNLOADABLE[name]
    assert check_exercise(source) == f"your guest cannot be loaded: {loaders_message(source)}"


def test_the_loaders_messages_name_the_problem():
    assert "does not export a function named `run`" in loaders_message(UNLOADABLE["wrong export name"])
    assert "(i32) -> i32, expected (i32, i32) -> i32" in loaders_message(UNLOADABLE["one parameter"])
    assert "env.log" in loaders_message(UNLOADABLE["foreign import"])
    assert "env.early_exit as (i32) -> ()" in loaders_message(UNLOADABLE["mistyped import"])


def test_a_guest_that_loops_is_stopped_and_named():
    answer = check_exercise(guest("    (loop $forever (br $forever))\n    i32.const 0"))
    assert (
        answer
        == "for run(7, 1) your guest did not finish within 1 s (does it loop forever?); it should have exited early"
    )


def test_the_cases_cover_both_signs_equal_values_and_the_i32_extremes():
    values = {v for case in CASES for v in case}
    assert {I32_MIN, I32_MAX, 0, -1} <= values
    assert any(x == y for x, y in CASES)
    assert any(x > y for x, y in CASES) and any(x < y for x, y in CASES)
    assert any(x < 0 < y for x, y in CASES), "a signed and an unsigned comparison must disagree somewhere"
    assert any(wrap_i32(x * y) != x * y for x, y in CASES if x <= y), "i32.mul must wrap somewhere"


def test_the_expected_product_is_what_i32_mul_computes():
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(
        engine, '(module (func (export "mul") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1))))'
    )
    mul = wasmtime.Instance(store, module, []).exports(store)["mul"]
    for x, y in CASES:
        assert wrap_i32(x * y) == mul(store, x, y), (x, y)
        assert expected(x, y) == (None if x > y else mul(store, x, y))


def test_no_guest_is_refused_rather_than_grading_the_tutorials_own():
    with pytest.raises(TypeError, match="not None"):
        check_exercise(None)


@pytest.mark.parametrize("given_as", ["text", "bytes", "path"])
def test_a_guest_far_larger_than_the_exercise_is_refused_in_one_line_before_compiling(tmp_path, given_as):
    from earlyexit_tutorial.aids.exercise import MAX_SOURCE_BYTES

    # A right guest padded with comments past the limit: the checker must not compile it.
    padding = ";; a long comment line, as a generated file might have\n" * (MAX_SOURCE_BYTES // 50)
    big = FLAT.replace("(module\n", "(module\n" + padding, 1)
    assert len(big) > MAX_SOURCE_BYTES
    source = {"text": big, "bytes": big.encode(), "path": tmp_path / "big.wat"}[given_as]
    if given_as == "path":
        source.write_text(big)
    answer = check_exercise(source)
    assert answer == (
        f"your guest is {len(big) / 2**10:,.0f} KiB, more than the {MAX_SOURCE_BYTES // 2**10} KiB the checker takes: "
        "the exercise needs a dozen lines of WAT"
    )
    assert check_exercise(FLAT) == ALL_PASS  # a guest of a sensible size is still checked
