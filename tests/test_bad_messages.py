"""Messages in the learner's terms, one printable bounded line, whatever a module or a learner's code holds."""

from __future__ import annotations

import pytest
import wasmtime

from earlyexit_tutorial import Example, Interrupted, ModuleError, OtherError, Returned, call_diagram, trap_report

from .helpers import cli

RUN = '(func (export "run") (param i32 i32) (result i32) i32.const 0)'
TICK_WAT = '(module (import "env" "tick" (func $t (param i32) (result i32)))'
TICK_WAT += ' (func (export "run") (param i32 i32) (result i32) (call $t (local.get 0))))'


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def with_names(wasm: bytes, function: str, module: str) -> bytes:
    """`wasm` with a name section naming the module and function 1 (WAT cannot write control characters)."""
    raw_module, raw_function = module.encode(), function.encode()
    module_names = _leb(len(raw_module)) + raw_module
    function_names = _leb(1) + _leb(1) + _leb(len(raw_function)) + raw_function
    subsections = (
        b"\x00" + _leb(len(module_names)) + module_names + b"\x01" + _leb(len(function_names)) + function_names
    )
    payload = _leb(4) + b"name" + subsections
    return wasm + b"\x00" + _leb(len(payload)) + payload


# A function name that clears the screen, sets the window title, and forges a "Caused by:" reason.
EVIL_NAME = "evil\x1b]0;PWNED\x07\x1b[2J\nCaused by:\n    \x1b[31mforged reason" + "A" * 3000
EVIL_MODULE = "mod\x1b[2J\nname"
TRAPPING = bytes(
    wasmtime.wat2wasm(
        '(module (import "env" "early_exit" (func)) (func (export "run") (param i32 i32) (result i32) unreachable))'
    )
)


def assert_one_safe_line(text: str, most: int) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\n" not in text, repr(text[:300])
    assert len(text) <= most, len(text)


# --- names from the module's name section --------------------------------------------------------


def test_a_forged_reason_in_a_function_name_does_not_replace_wasmtimes_own():
    outcome = Example(with_names(TRAPPING, EVIL_NAME, EVIL_MODULE)).run(1, 7)
    assert (
        outcome.message
        == "Unknown error `wasm trap: wasm `unreachable` instruction executed` found. expected `ExitCode`"
    )
    report = trap_report(outcome.error)
    for line in report.splitlines():
        assert_one_safe_line(line, 200)
    assert report.splitlines()[2].startswith("  frame 0: evil\\x1b]0;PWNED\\x07\\x1b[2J\\nCaused by:")
    assert report.splitlines()[2].endswith(" in mod\\x1b[2J\\nname")


def test_verbose_writes_the_modules_names_escaped_and_bounded(tmp_path):
    module = tmp_path / "evil.wasm"
    module.write_bytes(with_names(TRAPPING, EVIL_NAME, EVIL_MODULE))
    done = cli("--module", str(module), "--verbose")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("Unknown error `wasm trap: wasm `unreachable` instruction")
    lines = done.stderr.splitlines()
    assert lines[:2] == ["trap code: UNREACHABLE", "message:   wasm trap: wasm `unreachable` instruction executed"]
    assert len(lines) == 3  # one line per frame: the name's newlines do not split it
    for line in lines:
        assert_one_safe_line(line, 200)


def test_verbose_tracebacks_are_escaped_line_by_line(tmp_path):
    module = tmp_path / "evil.wat"
    module.write_text('(module (import "env\\1b[2J" "x\\0aforged line\\07" (func)) ' + RUN + ")")
    done = cli("--module", str(module), "--verbose")
    assert done.returncode == 2
    assert "Traceback" in done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "forged line" not in [line.strip() for line in done.stderr.splitlines()]
    last = done.stderr.splitlines()[-1]  # the one-line summary, after the traceback
    assert last.startswith("error: ") and " imports env\\x1b[2J.x\\nforged line\\x07, which " in last


# --- import names in ModuleError ----------------------------------------------------------------


def test_ten_thousand_names_offered_and_not_imported_are_one_short_line():
    with pytest.raises(ModuleError) as refused:
        Example(f"(module {RUN})", imports={"env": {f"n{i}": (lambda: None) for i in range(10_000)}})
    assert str(refused.value) == (
        "imports= offers env.n0, env.n1, env.n2 and 9,997 more, which the given WAT text does not import "
        "(it imports nothing)"
    )


def test_ten_thousand_imports_are_listed_as_three_and_how_many_more():
    imports = "".join(f'(import "env" "f{i}" (func))' for i in range(10_000))
    with pytest.raises(ModuleError) as refused:
        Example(f"(module {imports} {RUN})", imports={"env": {"tock": lambda: None}})
    message = str(refused.value)
    assert message.endswith("imports= offers env.tock, which the module does not import")
    assert_one_safe_line(message, 400)


def test_an_import_name_with_escapes_and_newlines_is_one_bounded_line():
    name = "x\x1b[2J\n" * 10_000
    wat = f'(module (import "env\\1b]0;t\\07" "{name.encode().hex()}" (func)) {RUN})'
    with pytest.raises(ModuleError) as refused:
        Example(wat.replace(name.encode().hex(), "".join(f"\\{b:02x}" for b in name.encode())))
    message = str(refused.value)
    assert message.startswith("the given WAT text imports env\\x1b]0;t\\x07.x\\x1b[2J\\nx\\x1b[2J\\n")
    assert_one_safe_line(message, 400)
    with pytest.raises(ModuleError) as refused:
        Example(f"(module {RUN})", imports={"env": {name: lambda: None}})
    assert_one_safe_line(str(refused.value), 400)


# --- values and errors in messages ----------------------------------------------------------------


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


def raises(error: BaseException):
    def tick(n: int) -> int:
        raise error

    return tick


def test_an_exception_whose_str_fails_still_has_a_message_and_a_diagram():
    outcome = Example(TICK_WAT, imports={"env": {"tick": raises(Unprintable())}}).run(1, 7)
    assert isinstance(outcome, OtherError) and isinstance(outcome.error, Unprintable)
    assert outcome.message == (
        "Unknown error `Unprintable (its text could not be read: RuntimeError)` found. expected `ExitCode`"
    )
    assert "Unprintable (its text could not be read: RuntimeError)" in call_diagram(outcome, 1, 7).text


def test_a_str_that_returns_no_str_is_no_crash_either():
    class NotText(Exception):
        def __str__(self):  # type: ignore[override]
            return 42

    assert OtherError(NotText()).message == (
        "Unknown error `NotText (its text could not be read: TypeError)` found. expected `ExitCode`"
    )


def test_a_huge_number_in_an_error_is_shortened():
    outcome = Example(TICK_WAT, imports={"env": {"tick": raises(ValueError(2**1000))}}).run(1, 7)
    assert outcome.message == "Unknown error `10715086071862673209… (302 digits)` found. expected `ExitCode`"
    assert OtherError(ValueError("x" * 100_000)).message.endswith("xxx…` found. expected `ExitCode`")
    assert len(OtherError(ValueError("x" * 100_000)).message) < 260


def test_a_huge_value_in_a_hand_made_outcome_is_shortened():
    assert (
        Returned(2**1000).message == "Expected early termination with `ExitCode`, found: a number of about 302 digits"
    )
    assert Returned(7).message == "Expected early termination with `ExitCode`, found: 7"
    stopped = Interrupted("a reason\x1b[2J of my own" * 100, RuntimeError())
    assert_one_safe_line(stopped.message, 250)


def test_hand_made_deadline_and_fuel_outcomes_without_their_amounts_have_messages():
    assert Interrupted("deadline", RuntimeError()).message == "Interrupted: the guest ran past its deadline"
    assert Interrupted("fuel", RuntimeError()).message == "Interrupted: the guest ran out of fuel"
    assert Interrupted("deadline", RuntimeError(), timeout=0.5).message == (
        "Interrupted: the guest ran past its 0.5 s deadline"
    )


def test_an_out_of_bounds_load_says_out_of_bounds_memory_access_first():
    wat = '(module (memory 1) (func (export "run") (param i32 i32) (result i32) (i32.load (i32.const 70000))))'
    message = Example(wat).run(1, 7).message
    assert message.startswith("Unknown error `wasm trap: out of bounds memory access (memory fault at wasm address ")
    assert message.endswith(" in linear memory of size 0x10000)` found. expected `ExitCode`")


@pytest.mark.parametrize(
    ("wat", "reason"),
    [
        ('(func (export "run") (param i32 i32) (result i32) unreachable)', "wasm `unreachable` instruction executed"),
        (
            '(func (export "run") (param i32 i32) (result i32) (i32.div_s (i32.const 1) (i32.const 0)))',
            "integer divide by zero",
        ),
        (
            '(func $f (call $f)) (func (export "run") (param i32 i32) (result i32) call $f i32.const 0)',
            "call stack exhausted",
        ),
    ],
    ids=["unreachable", "divide-by-zero", "stack-overflow"],
)
def test_a_single_cause_trap_is_its_reason_alone(wat, reason):
    assert (
        Example(f"(module {wat})").run(1, 7).message
        == f"Unknown error `wasm trap: {reason}` found. expected `ExitCode`"
    )


def test_the_command_line_prints_the_shortened_message(tmp_path):
    module = tmp_path / "oob.wat"
    module.write_text(
        '(module (import "env" "early_exit" (func)) (memory 1)'
        ' (func (export "run") (param i32 i32) (result i32) (i32.load (i32.const 70000))))'
    )
    done = cli("--module", str(module))
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("Unknown error `wasm trap: out of bounds memory access (")
