"""Bad input never breaks the tutorial.

Every bad value, module or guest gets a clear, specific error, and the same
Example (same engine, store and instance) still answers run(1, 7) afterwards.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import wasmtime

from earlyexit_tutorial import (
    GUEST_WAT,
    I32_MAX,
    I32_MIN,
    Example,
    ExitCode,
    ExitedEarly,
    OtherError,
    HostFailure,
    Interrupted,
    ModuleError,
    Returned,
    check_i32,
    load_module,
    run_example,
)
from earlyexit_tutorial.guide.exit_code import U32_MAX
from earlyexit_tutorial.guide.running import DEFAULT_LIMITS

PAGE = 64 * 1024
LIMIT_PAGES = DEFAULT_LIMITS["memory_size"] // PAGE  # 1024 pages = 64 MiB

# One guest with every kind of trouble, chosen by x; any other x behaves like
# the tutorial's guest (call early_exit, then return x + y). So one store can
# go through every failure and must still answer run(1, 7) afterwards.
TROUBLE_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (memory (export "memory") 1)

  (func $recurse (param $n i32) (result i32)
    (call $recurse (i32.add (local.get $n) (i32.const 1))))

  (func $run (export "run") (param $x i32) (param $y i32) (result i32)
    ;; -1: unreachable
    (if (i32.eq (local.get $x) (i32.const -1)) (then unreachable))
    ;; -2: integer divide by zero (divisor x + 2 = 0)
    (if (i32.eq (local.get $x) (i32.const -2))
      (then (drop (i32.div_s (local.get $y) (i32.add (local.get $x) (i32.const 2))))))
    ;; -3: unbounded recursion
    (if (i32.eq (local.get $x) (i32.const -3))
      (then (drop (call $recurse (i32.const 0)))))
    ;; -4: grow memory until the store refuses (memory.grow gives -1), then trap
    (if (i32.eq (local.get $x) (i32.const -4))
      (then
        (loop $grow
          (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
        unreachable))
    ;; -5: loop forever
    (if (i32.eq (local.get $x) (i32.const -5))
      (then (loop $forever (br $forever))))
    ;; -6: grow memory until refused, then return the size in pages
    (if (i32.eq (local.get $x) (i32.const -6))
      (then
        (loop $grow
          (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        (return (memory.size))))
    call $early_exit
    (i32.add (local.get $x) (local.get $y)))
)
"""

HEAD = '(module (import "env" "early_exit" (func $early_exit))'
RUN_OK = '(func (export "run") (param i32 i32) (result i32) call $early_exit (i32.add (local.get 0) (local.get 1)))'


def assert_still_works(example: Example, code: int = 1) -> None:
    """The example's store and instance still give the guide's answer for run(1, 7)."""
    example.set_host("exit", code)
    assert example.run(1, 7) == ExitedEarly(ExitCode(code))
    example.set_host("return")
    assert example.run(1, 7) == Returned(8)
    example.set_host("exit", code)


@pytest.fixture
def trouble() -> Example:
    return Example(TROUBLE_WAT)


# --- x and y -----------------------------------------------------------------


OUT_OF_I32 = [2**31, -(2**31) - 1, 2**32, 2**63, -(2**64)]
NOT_INTEGERS = [1.0, 7.5, math.nan, "1", b"1", None, True, False, [1], 1 + 0j]


@pytest.mark.parametrize("value", OUT_OF_I32)
@pytest.mark.parametrize("which", ["x", "y"])
def test_out_of_i32_is_refused_not_wrapped(value: int, which: str) -> None:
    example = Example(behaviour="return")
    args = {"x": 1, "y": 7, which: value}
    with pytest.raises(ValueError) as info:
        example.run(args["x"], args["y"])
    message = str(info.value)
    assert message.startswith(f"{which} must be in the i32 range")
    assert str(value) in message and str(I32_MIN) in message and str(I32_MAX) in message
    # The typed function refuses it too: wasmtime alone would wrap 2**31 to -2**31.
    with pytest.raises(ValueError, match=f"^{which} must be in the i32 range"):
        example.run_func(example.store, args["x"], args["y"])
    with pytest.raises(ValueError, match=f"^{which} must be in the i32 range"):
        run_example(args["x"], args["y"])
    assert example.run(1, 7) == Returned(8)


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
@pytest.mark.parametrize("which", ["x", "y"])
def test_non_integers_are_refused(value: object, which: str) -> None:
    example = Example()
    args = {"x": 1, "y": 7, which: value}
    with pytest.raises(TypeError) as info:
        example.run(args["x"], args["y"])
    assert str(info.value).startswith(f"{which} must be an integer, got {type(value).__name__}")
    with pytest.raises(TypeError, match=f"^{which} must be an integer"):
        example.run_func(example.store, args["x"], args["y"])
    assert_still_works(example)


def test_i32_bounds_themselves_are_accepted() -> None:
    example = Example(behaviour="return")
    assert example.run(I32_MAX, 0) == Returned(I32_MAX)
    assert example.run(I32_MIN, 0) == Returned(I32_MIN)
    assert example.run(I32_MAX, 1) == Returned(I32_MIN)  # the guest's i32.add wraps; the host does not
    assert check_i32("x", I32_MIN) == I32_MIN


# --- exit codes --------------------------------------------------------------


@pytest.mark.parametrize("code", [-1, 2**32, -(2**63), 2**64])
def test_exit_code_outside_u32(code: int) -> None:
    with pytest.raises(ValueError, match=rf"^exit code must be in 0\.\.{U32_MAX}, got {code}$"):
        ExitCode(code)
    with pytest.raises(ValueError, match="exit code must be in"):
        Example(exit_code=code)
    example = Example(exit_code=3)
    for behaviour in ("exit", "return", "error"):
        with pytest.raises(ValueError, match="exit code must be in"):
            example.set_host(behaviour, code)
    # The failed set_host changed nothing.
    assert (example.behaviour.value, example.exit_code) == ("exit", 3)
    assert example.run(1, 7) == ExitedEarly(ExitCode(3))


@pytest.mark.parametrize("code", [1.0, "1", None, True, [1]], ids=repr)
def test_exit_code_not_an_int(code: object) -> None:
    with pytest.raises(TypeError, match=f"^exit code must be an integer, got {type(code).__name__} "):
        ExitCode(code)  # type: ignore[arg-type]
    example = Example()
    with pytest.raises(TypeError, match="exit code must be an integer"):
        example.set_host("exit", code)  # type: ignore[arg-type]
    assert_still_works(example)


def test_u32_bounds_are_accepted() -> None:
    example = Example(exit_code=0)
    assert example.run(1, 7) == ExitedEarly(ExitCode(0))
    example.set_host("exit", U32_MAX)
    assert example.run(1, 7).code == U32_MAX


def test_unknown_behaviour() -> None:
    example = Example()
    with pytest.raises(ValueError, match=r"host behaviour must be one of .exit., .return., .error., got .bogus."):
        example.set_host("bogus")
    assert_still_works(example)


# --- deadlines and fuel ------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, -1, math.nan, -math.inf, -10**400], ids=repr)
def test_bad_timeout(timeout: object) -> None:
    example = Example()
    with pytest.raises(ValueError, match="^timeout must be a positive number of seconds"):
        example.run(1, 7, timeout=timeout)  # type: ignore[arg-type]
    assert_still_works(example)


@pytest.mark.parametrize("timeout", ["1", True], ids=repr)
def test_a_timeout_that_is_no_number_is_a_type_error(timeout: object) -> None:
    example = Example()
    with pytest.raises(TypeError, match="^timeout must be a number of seconds or None"):
        example.run(1, 7, timeout=timeout)  # type: ignore[arg-type]
    assert_still_works(example)


@pytest.mark.parametrize("fuel", [-1, 2**63], ids=repr)
def test_bad_fuel(fuel: object) -> None:
    example = Example()
    with pytest.raises(ValueError, match="^fuel must be an integer in 0.."):
        example.run(1, 7, fuel=fuel)  # type: ignore[arg-type]
    assert_still_works(example)


@pytest.mark.parametrize("fuel", [1.5, "10", True], ids=repr)
def test_a_fuel_that_is_no_integer_is_a_type_error(fuel: object) -> None:
    example = Example()
    with pytest.raises(TypeError, match="^fuel must be an integer or None"):
        example.run(1, 7, fuel=fuel)  # type: ignore[arg-type]
    assert_still_works(example)


@pytest.mark.parametrize("timeout", [math.inf, 1e300, 10**400], ids=repr)
def test_huge_timeout_means_no_deadline(timeout: float) -> None:
    # threading's join() refuses waits this long with OverflowError; the wait must not.
    example = Example()
    assert example.run(1, 7, timeout=timeout) == ExitedEarly(ExitCode(1))
    assert_still_works(example)


# --- modules that cannot be loaded --------------------------------------------


def load(source: object) -> wasmtime.Module:
    return load_module(wasmtime.Engine(), source)  # type: ignore[arg-type]


def test_wat_that_does_not_parse_says_where() -> None:
    wat = '(module\n  (import "env" "early_exit" (func))\n  (func (export "run") (param i32 i32) (result i32)\n    i32.ad))\n'
    with pytest.raises(ModuleError) as info:
        load(wat)
    assert str(info.value) == (
        "cannot compile the given WAT text: unknown operator or unexpected token at line 4, column 5"
    )


def test_wat_text_with_a_typo_before_the_first_paren_is_still_wat() -> None:
    # Not "module file not found: <the whole text>": text over several lines is never a path.
    for wat, column in (("module\n  (func))", 1), ("j" + GUEST_WAT, 1)):
        with pytest.raises(ModuleError) as info:
            load(wat)
        message = str(info.value)
        assert message.startswith("cannot compile the given WAT text: ")
        assert message.endswith(f"at line 1, column {column}")
        assert "\n" not in message


def test_wat_file_that_does_not_parse_says_where(tmp_path: Path) -> None:
    path = tmp_path / "broken.wat"
    path.write_text("(module\n  (func $f (result i32)\n    (i32.const 1)\n  ) )) \n")
    with pytest.raises(ModuleError, match=rf"^cannot compile {path}: .* at line 4, column 6$"):
        load(path)
    with pytest.raises(ModuleError, match=r"at line 4, column 6$"):
        load(str(path))


def test_wat_that_does_not_validate_names_the_problem() -> None:
    wat = HEAD + '(func (export "run") (param i32 i32) (result i32) i64.const 0))'
    with pytest.raises(ModuleError, match=r"type mismatch: expected i32, found i64"):
        load(wat)


# Comments, a type definition and an export also hold "(func": none of them is a function.
TRICKY_WAT = """(module
  ;; (func in a comment
  (; a (func in a block comment ;)
  (type $t (func (param i32)))
  (import "env" "early_exit" (func $early_exit))
  (func $helper (result i32) i32.const 1)
  (export "helper" (func $helper))
  (func (export "run") (param i32 i32) (result i32)
    i64.const 1))
"""


def test_a_validation_error_in_wat_names_the_function_and_its_line() -> None:
    # wasmtime points into the compiled binary ("at offset 83"), useless to someone reading WAT.
    with pytest.raises(ModuleError) as caught:
        load(TRICKY_WAT)
    assert str(caught.value) == (
        "cannot compile the given WAT text: type mismatch: expected i32, found i64, "
        "in function 2, which begins on line 8"
    )


# "(func" in strings and in nested block comments, where a comment's first ";)" is not its end.
HIDDEN_FUNC_WAT = """(module
  (import "env" "early_exit" (func $early_exit))
  (; an old version, commented out:
    (; (func $old (result i32) i32.const 0) ;)
    (func $older (result i32) i32.const 1)
  ;)
  (data "(func in a string \\" (func")
  (memory 1)
  (func $helper (result i32) i32.const 1) ;; (func
  (func (export "run") (param i32 i32) (result i32)
    i64.const 1))
"""


def test_a_validation_error_skips_func_in_strings_and_nested_comments() -> None:
    with pytest.raises(ModuleError) as caught:
        load(HIDDEN_FUNC_WAT)
    assert str(caught.value) == (
        "cannot compile the given WAT text: type mismatch: expected i32, found i64, "
        "in function 2, which begins on line 10"
    )


def test_a_validation_error_in_a_binary_names_the_function_and_the_offset() -> None:
    with pytest.raises(ModuleError, match=r"^cannot compile the module in the given bytes: type mismatch: "
                       r"expected i32, found i64, in function 2, at byte offset \d+$"):
        load(bytes(wasmtime.wat2wasm(TRICKY_WAT)))


def test_a_validation_error_in_a_wat_file_through_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "typo.wat"
    path.write_text(TRICKY_WAT)
    result = subprocess.run(
        [sys.executable, "-m", "earlyexit_tutorial", "--module", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: cannot compile {path}: type mismatch: expected i32, found i64, in function 2, which begins on line 8\n"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the module in the given bytes is empty"),
        (b"\x00abc", r"the module in the given bytes is not a WebAssembly binary: no \\0asm magic"),
        (b"\x00asm\x01\x00\x00\x00\xff", r"cannot compile the module in the given bytes: .*malformed section id"),
        (b"\x00asm\x02\x00\x00\x00", r"cannot compile the module in the given bytes: .*unknown binary version"),
        (b"\x00asm", r"cannot compile the module in the given bytes: .*unexpected end-of-file"),
        (b"\xff\xfe\x00\x01", "the module in the given bytes is neither a WebAssembly binary nor UTF-8 WAT text"),
        (b"hello world", r"cannot compile the module in the given bytes: expected `\(` at line 1, column 1"),
    ],
    ids=["empty", "nul-not-magic", "bad-section", "bad-version", "truncated", "not-utf8", "text"],
)
def test_bytes_that_are_not_wasm(data: bytes, expected: str) -> None:
    with pytest.raises(ModuleError, match=f"^{expected}"):
        load(data)
    # One line, no wasmtime byte dumps spread over many lines.
    with pytest.raises(ModuleError) as info:
        load(data)
    assert "\n" not in str(info.value)


def test_text_that_cannot_be_utf8() -> None:
    with pytest.raises(ModuleError, match="cannot be encoded as UTF-8"):
        load("(module \ud800)")


def test_bytes_like_modules_are_accepted() -> None:
    # wasmtime.wat2wasm returns a bytearray, an ipywidgets FileUpload gives a memoryview.
    binary = wasmtime.wat2wasm(GUEST_WAT)
    assert isinstance(binary, bytearray)
    for source in (binary, memoryview(binary), bytes(binary), GUEST_WAT.encode(), "\ufeff" + GUEST_WAT):
        assert isinstance(load(source), wasmtime.Module)
    assert Example(memoryview(binary)).run(1, 7) == ExitedEarly(ExitCode(1))


@pytest.mark.parametrize("source", [12, None, 1.5, ["(module)"]], ids=repr)
def test_module_of_the_wrong_type(source: object) -> None:
    with pytest.raises(TypeError, match=f"^a module must be WAT text, wasm bytes or a file path, got {type(source).__name__}$"):
        load(source)


@pytest.mark.parametrize("source", ["", "   ", "\n\t", "\ufeff"], ids=repr)
def test_empty_module_source(source: str) -> None:
    with pytest.raises(ModuleError, match="^the module source is empty"):
        load(source)
    with pytest.raises(ModuleError, match="^the module source is empty"):
        Example(source)


def test_wasm_file_that_is_not_wasm(tmp_path: Path) -> None:
    path = tmp_path / "guest.wasm"
    path.write_text(GUEST_WAT)  # WAT text with a .wasm name
    with pytest.raises(ModuleError, match=r"guest\.wasm is not a WebAssembly binary: it does not start with the \\0asm magic bytes$"):
        load(path)


def test_files_that_are_not_modules(tmp_path: Path) -> None:
    (tmp_path / "empty.wat").write_bytes(b"")
    (tmp_path / "latin1.wat").write_bytes("(module) ;; caf\xe9".encode("latin-1"))
    (tmp_path / "nul.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ModuleError, match=r"empty\.wat is empty"):
        load(tmp_path / "empty.wat")
    with pytest.raises(ModuleError, match=r"latin1\.wat is neither a WebAssembly binary nor UTF-8 WAT text"):
        load(tmp_path / "latin1.wat")
    with pytest.raises(ModuleError, match=r"nul\.bin is not a WebAssembly binary"):
        load(tmp_path / "nul.bin")


def test_good_module_files_load(tmp_path: Path) -> None:
    (tmp_path / "guest.wat").write_text(GUEST_WAT)
    (tmp_path / "bom.wat").write_text(GUEST_WAT, encoding="utf-8-sig")  # as Windows Notepad saves it
    (tmp_path / "guest.wasm").write_bytes(wasmtime.wat2wasm(GUEST_WAT))
    for name in ("guest.wat", "bom.wat", "guest.wasm"):
        assert Example(tmp_path / name).run(1, 7) == ExitedEarly(ExitCode(1))


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "guest.wasm"
    with pytest.raises(ModuleError, match=f"^module file not found: {path}$"):
        load(path)
    with pytest.raises(ModuleError, match="^module file not found"):
        Example(str(path))


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ModuleError, match=f"^module path is a directory, not a file: {tmp_path}$"):
        load(tmp_path)


def test_path_with_nul() -> None:
    with pytest.raises(ModuleError, match="^module path is not a valid file name"):
        load("guest\x00.wasm")


# --- modules of the wrong shape ------------------------------------------------


SHAPES = {
    "no-run": (HEAD + ")", "^the (given WAT text|module in the given bytes) does not export a function named `run`$"),
    "run-misspelt": (
        HEAD + '(func (export "Run") (param i32 i32) (result i32) i32.const 0))',
        "does not export a function named `run`",
    ),
    "run-one-param": (
        HEAD + '(func (export "run") (param i32) (result i32) local.get 0))',
        r"exports `run` as \(i32\) -> i32, expected \(i32, i32\) -> i32",
    ),
    "run-i64": (
        HEAD + '(func (export "run") (param i64 i64) (result i64) local.get 0))',
        r"exports `run` as \(i64, i64\) -> i64, expected \(i32, i32\) -> i32",
    ),
    "run-no-result": (
        HEAD + '(func (export "run") (param i32 i32)))',
        r"exports `run` as \(i32, i32\) -> \(\), expected \(i32, i32\) -> i32",
    ),
    "run-memory": (HEAD + '(memory (export "run") 1))', r"exports `run` as a memory, not a function, expected \(i32, i32\) -> i32"),
    "run-global": (
        HEAD + '(global (export "run") i32 (i32.const 0)))',
        r"exports `run` as a global, not a function, expected \(i32, i32\) -> i32",
    ),
    "run-table": (HEAD + '(table (export "run") 1 funcref))', "exports `run` as a table, not a function"),
    "wasi-import": (
        '(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))' + RUN_OK.replace("call $early_exit ", "") + ")",
        r"imports wasi_snapshot_preview1\.fd_write, which the tutorial's host does not provide \(it provides only env\.early_exit\)",
    ),
    "env-memory-import": (
        HEAD + '(import "env" "memory" (memory 1))' + RUN_OK + ")",
        r"imports env\.memory, which the tutorial's host does not provide",
    ),
    "early-exit-with-param": (
        '(module (import "env" "early_exit" (func (param i32)))' + RUN_OK.replace("call $early_exit ", "") + ")",
        r"imports env\.early_exit as \(i32\) -> \(\), expected \(\) -> \(\)",
    ),
    "early-exit-with-result": (
        '(module (import "env" "early_exit" (func (result i32)))' + RUN_OK.replace("call $early_exit ", "") + ")",
        r"imports env\.early_exit as \(\) -> i32, expected \(\) -> \(\)",
    ),
    "early-exit-as-global": (
        '(module (import "env" "early_exit" (global i32))' + RUN_OK.replace("call $early_exit ", "") + ")",
        r"imports env\.early_exit as a global, not a function, expected \(\) -> \(\)",
    ),
}


@pytest.mark.parametrize("name", SHAPES)
def test_module_of_the_wrong_shape(name: str) -> None:
    wat, expected = SHAPES[name]
    with pytest.raises(ModuleError, match=expected):
        load(wat)
    with pytest.raises(ModuleError, match=expected):
        load(wasmtime.wat2wasm(wat))  # the same module as a binary
    with pytest.raises(ModuleError, match=expected):
        Example(wat)


def test_module_without_imports_is_fine() -> None:
    # Importing nothing is allowed: the guest just cannot exit early.
    example = Example('(module (func (export "run") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1))))')
    assert example.run(6, 7) == Returned(42)


def test_memory_declared_above_the_limit_fails_at_instantiation() -> None:
    wat = HEAD + f"(memory {LIMIT_PAGES + 1})" + RUN_OK + ")"
    assert isinstance(load(wat), wasmtime.Module)  # the module itself is fine...
    with pytest.raises(ModuleError, match=f"^cannot instantiate the module: memory minimum size of {LIMIT_PAGES + 1} pages exceeds memory limits$"):
        Example(wat)  # ...but not under the tutorial's 64 MiB limit
    # Exactly at the limit is allowed.
    assert Example(HEAD + f"(memory {LIMIT_PAGES})" + RUN_OK + ")").run(1, 7) == ExitedEarly(ExitCode(1))


def test_memory_above_what_wasm_allows_fails_at_compilation() -> None:
    with pytest.raises(ModuleError, match=r"^cannot compile the given WAT text: .*memory size must be at most"):
        load(HEAD + "(memory 70000)" + RUN_OK + ")")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("unreachable", r"^cannot instantiate the module: wasm trap: wasm `unreachable` instruction executed$"),
        ("(loop $l (br $l))", r"^cannot instantiate the module: its start function ran past its 0\.2 s deadline$"),
        ("call $early_exit", r"^cannot instantiate the module: its start function called env\.early_exit, which exited with code 1$"),
    ],
    ids=["trap", "endless", "early-exit"],
)
def test_start_function_that_fails(body: str, expected: str) -> None:
    wat = HEAD + f"(func $start {body}) (start $start)" + RUN_OK + ")"
    before = Example()
    with pytest.raises(ModuleError, match=expected):
        Example(wat, timeout=0.2)
    assert_still_works(before)


def test_start_function_with_failing_host() -> None:
    wat = HEAD + "(func $start call $early_exit) (start $start)" + RUN_OK + ")"
    with pytest.raises(ModuleError, match=r"which raised HostFailure: the host function failed on purpose$"):
        Example(wat, behaviour="error")
    assert Example(wat, behaviour="return").run(1, 7) == Returned(8)


# --- guests that trap -----------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "trap_code", "text"),
    [
        (-1, wasmtime.TrapCode.UNREACHABLE, "wasm trap: wasm `unreachable` instruction executed"),
        (-2, wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO, "wasm trap: integer divide by zero"),
        (-3, wasmtime.TrapCode.STACK_OVERFLOW, "wasm trap: call stack exhausted"),
        (-4, wasmtime.TrapCode.UNREACHABLE, "wasm trap: wasm `unreachable` instruction executed"),
    ],
    ids=["unreachable", "divide-by-zero", "stack-overflow", "memory-grow"],
)
def test_traps_are_failed_outcomes(trouble: Example, x: int, trap_code: wasmtime.TrapCode, text: str) -> None:
    for _ in range(2):  # the same trap twice: nothing is left half-done
        outcome = trouble.run(x, 0)
        assert isinstance(outcome, OtherError)
        assert isinstance(outcome.error, wasmtime.Trap)
        assert outcome.error.trap_code == trap_code
        assert outcome.message == f"Unknown error `{text}` found. expected `ExitCode`"
        assert_still_works(trouble)


def test_memory_grow_stops_at_the_64_mib_limit(trouble: Example) -> None:
    memory = trouble.instance.exports(trouble.store)["memory"]
    assert memory.size(trouble.store) == 1
    trouble.set_host("return")
    outcome = trouble.run(-6, 0)
    assert outcome == Returned(LIMIT_PAGES)  # memory.grow said -1 exactly at 64 MiB
    assert memory.size(trouble.store) == LIMIT_PAGES
    # Growing in steps of 16 pages also ends at the limit, with the trap the guest chose.
    outcome = trouble.run(-4, 0)
    assert isinstance(outcome, OtherError) and outcome.error.trap_code == wasmtime.TrapCode.UNREACHABLE
    assert memory.size(trouble.store) == LIMIT_PAGES
    assert_still_works(trouble)


def test_a_smaller_memory_limit_is_honoured() -> None:
    example = Example(TROUBLE_WAT, behaviour="return", limits={"memory_size": 16 * PAGE})
    assert example.run(-6, 0) == Returned(16)
    assert_still_works(example)


def test_endless_loop_is_stopped_by_the_deadline(trouble: Example) -> None:
    for _ in range(2):
        start = time.monotonic()
        outcome = trouble.run(-5, 0, timeout=0.3)
        elapsed = time.monotonic() - start
        assert isinstance(outcome, Interrupted)
        assert outcome.reason == "deadline"
        assert outcome.error.trap_code == wasmtime.TrapCode.INTERRUPT
        assert outcome.message == "Interrupted: the guest ran past its 0.3 s deadline"
        assert 0.3 <= elapsed < 5
        assert_still_works(trouble)


def test_endless_loop_is_stopped_by_fuel(trouble: Example) -> None:
    outcome = trouble.run(-5, 0, fuel=100_000)
    assert isinstance(outcome, Interrupted) and outcome.reason == "fuel"
    assert outcome.fuel_consumed == 100_000
    assert_still_works(trouble)


def test_stop_from_another_thread(trouble: Example) -> None:
    import threading

    timer = threading.Timer(0.2, trouble.stop)
    timer.start()
    outcome = trouble.run(-5, 0, timeout=30)
    timer.join()
    assert isinstance(outcome, Interrupted) and outcome.reason == "stop"
    assert_still_works(trouble)


# --- host functions that misbehave ------------------------------------------------


class LearnerError(Exception):
    pass


@pytest.mark.parametrize(
    "error",
    [
        LearnerError("oops"),
        ValueError("bad value"),
        ZeroDivisionError("division by zero"),
        KeyboardInterrupt("Ctrl-C inside the host"),
        SystemExit(3),
        GeneratorExit(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_host_raising_something_else(error: BaseException) -> None:
    example = Example()

    def host() -> None:
        raise error

    for _ in range(3):
        example.host = host
        outcome = example.run(1, 7)
        assert isinstance(outcome, OtherError)
        assert outcome.error is error  # the original exception, kept for inspection
        assert type(error).__name__ in repr(outcome)
        # The next call still works, in the same store.
        example.set_host("exit", 1)
        assert example.run(1, 7) == ExitedEarly(ExitCode(1))


def test_host_behaviour_error_is_the_guides_third_arm() -> None:
    example = Example(behaviour="error")
    outcome = example.run(1, 7)
    assert isinstance(outcome, OtherError) and isinstance(outcome.error, HostFailure)
    assert outcome.message == "Unknown error `the host function failed on purpose` found. expected `ExitCode`"
    assert_still_works(example)


def test_host_raising_its_own_exit_code() -> None:
    example = Example()

    def host() -> None:
        raise ExitCode(U32_MAX)

    example.host = host
    assert example.run(1, 7) == ExitedEarly(ExitCode(U32_MAX))
    assert_still_works(example)


@pytest.mark.parametrize(
    ("host", "error_type", "text"),
    [
        (lambda: 5, wasmtime.WasmtimeError, "callback produced results"),
        (None, TypeError, "not callable"),
        (lambda extra: None, TypeError, "argument"),
    ],
    ids=["returns-a-value", "not-callable", "wrong-arity"],
)
def test_host_that_is_not_a_proper_function(host: object, error_type: type, text: str) -> None:
    example = Example()
    example.host = host  # type: ignore[assignment]
    outcome = example.run(1, 7)
    assert isinstance(outcome, OtherError)
    assert isinstance(outcome.error, error_type)
    assert text in str(outcome.error)
    assert_still_works(example)


# --- command line -----------------------------------------------------------------


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python -m earlyexit_tutorial` with args and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "earlyexit_tutorial", *args], capture_output=True, text=True, timeout=timeout
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: ")
    assert expected in errors[0], errors[0]


@pytest.fixture(scope="module")
def module_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("modules")
    files = {
        "broken.wat": "(module\n  (func $f\n    i32.ad))\n",
        "fake.wasm": GUEST_WAT,
        "one_param.wat": SHAPES["run-one-param"][0],
        "wasi.wat": SHAPES["wasi-import"][0],
        "trouble.wat": TROUBLE_WAT,
        "big_memory.wat": HEAD + f"(memory {LIMIT_PAGES + 1})" + RUN_OK + ")",
        "start_exits.wat": HEAD + "(func $start call $early_exit) (start $start)" + RUN_OK + ")",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "a_directory").mkdir()
    return {name: folder / name for name in [*files, "a_directory", "missing.wasm"]}


CLI_BAD_INPUT = [
    (["2147483648"], "bad input: x must be in the i32 range -2147483648..2147483647, got 2147483648"),
    (["1", "-2147483649"], "bad input: y must be in the i32 range -2147483648..2147483647, got -2147483649"),
    (["1.5"], "bad input: x must be a whole number, got '1.5'"),
    (["1", "seven"], "bad input: y must be a whole number, got 'seven'"),
    (["--exit-code", "-1"], "bad input: exit code must be in 0..4294967295, got -1"),
    (["--exit-code", "4294967296"], "bad input: exit code must be in 0..4294967295, got 4294967296"),
    (["--exit-code", "1.0"], "bad input: --exit-code must be a whole number, got '1.0'"),
    (["--no-early-exit", "--exit-code", "-1"], "bad input: exit code must be in 0..4294967295, got -1"),
    (["--timeout", "0"], "bad input: timeout must be a positive number of seconds"),
    (["--timeout", "nan"], "bad input: timeout must be a positive number of seconds"),
    (["--timeout", "soon"], "bad input: --timeout must be a number of seconds, got 'soon'"),
    (["--fuel", "-5"], "bad input: fuel must be an integer in 0..9223372036854775807, got -5"),
    (["--fuel", "lots"], "bad input: --fuel must be a whole number, got 'lots'"),
]


@pytest.mark.parametrize(("args", "expected"), CLI_BAD_INPUT, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_cli_bad_values(args: list[str], expected: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert_one_error_line(result, expected)


CLI_BAD_MODULES = [
    ("broken.wat", "broken.wat: unknown operator or unexpected token at line 3, column 5"),
    ("fake.wasm", "fake.wasm is not a WebAssembly binary"),
    ("missing.wasm", "module file not found: "),
    ("a_directory", "module path is a directory, not a file: "),
    ("one_param.wat", "exports `run` as (i32) -> i32, expected (i32, i32) -> i32"),
    ("wasi.wat", "imports wasi_snapshot_preview1.fd_write, which the tutorial's host does not provide"),
    ("big_memory.wat", "cannot instantiate the module: memory minimum size of 1025 pages exceeds memory limits"),
    ("start_exits.wat", "its start function called env.early_exit, which exited with code 1"),
]


@pytest.mark.parametrize(("name", "expected"), CLI_BAD_MODULES, ids=[name for name, _ in CLI_BAD_MODULES])
def test_cli_bad_modules(module_files: dict[str, Path], name: str, expected: str) -> None:
    result = cli("--module", str(module_files[name]))
    assert result.returncode == 2
    assert_one_error_line(result, expected)


def test_cli_empty_module_path() -> None:
    result = cli("--module", "")
    assert result.returncode == 2
    assert_one_error_line(result, "the module source is empty")


def test_cli_usage_errors() -> None:
    for args in (["--host", "bogus"], ["1", "2", "3"], ["--timeout"]):
        result = cli(*args)
        assert result.returncode == 2
        assert "Traceback" not in result.stdout + result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("earlyexit-tutorial: error: ")


def test_cli_verbose_shows_the_traceback_for_bad_input(module_files: dict[str, Path]) -> None:
    result = cli("2147483648", "--verbose")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: bad input: x must be in the i32 range")
    result = cli("--module", str(module_files["broken.wat"]), "--verbose")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "ModuleError" in result.stderr


@pytest.mark.parametrize(
    ("x", "trap_code", "text"),
    [
        ("-1", "UNREACHABLE", "wasm trap: wasm `unreachable` instruction executed"),
        ("-2", "INTEGER_DIVISION_BY_ZERO", "wasm trap: integer divide by zero"),
        ("-3", "STACK_OVERFLOW", "wasm trap: call stack exhausted"),
        ("-4", "UNREACHABLE", "wasm trap: wasm `unreachable` instruction executed"),
    ],
    ids=["unreachable", "divide-by-zero", "stack-overflow", "memory-grow"],
)
def test_cli_trapping_guest(module_files: dict[str, Path], x: str, trap_code: str, text: str) -> None:
    result = cli("--module", str(module_files["trouble.wat"]), x, "0")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr == ""
    assert result.stdout.strip().splitlines()[-1] == f"Unknown error `{text}` found. expected `ExitCode`"
    verbose = cli("--module", str(module_files["trouble.wat"]), x, "0", "--verbose")
    assert verbose.returncode == 1
    assert f"trap code: {trap_code}" in verbose.stderr
    assert "frame 0: run" in verbose.stderr or "frame 0: recurse" in verbose.stderr


def test_cli_endless_guest_is_stopped(module_files: dict[str, Path]) -> None:
    result = cli("--module", str(module_files["trouble.wat"]), "-5", "0", "--timeout", "0.5")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "Interrupted: the guest ran past its 0.5 s deadline"
    result = cli("--module", str(module_files["trouble.wat"]), "-5", "0", "--fuel", "1000")
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1] == "Interrupted: the guest ran out of fuel after 1000 units"


def test_cli_host_error_and_good_runs(module_files: dict[str, Path]) -> None:
    result = cli("--host", "error")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "the host function failed on purpose" in result.stdout
    result = cli("--module", str(module_files["trouble.wat"]), "1", "7", "--exit-code", "4294967295", "--timeout", "inf")
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1] == "Exited early with exit code: 4294967295"


# --- hostile module files and names ---------------------------------------------------------


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX special files")


def _limited_memory() -> None:
    """In a child process: at most 2 GiB of address space, so reading without end fails fast."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))


@posix_only
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_before_it_is_read() -> None:
    # First in a child that could not eat the machine if it did read...
    result = subprocess.run(
        [sys.executable, "-m", "earlyexit_tutorial", "--module", "/dev/zero"],
        capture_output=True, text=True, timeout=60, preexec_fn=_limited_memory,
    )
    assert result.returncode == 2
    assert result.stderr == "error: module path /dev/zero is a character device, not a regular file\n"
    # ...then here, through the API.
    with pytest.raises(ModuleError, match=r"^module path /dev/zero is a character device, not a regular file$"):
        load(Path("/dev/zero"))


@posix_only
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "guest.wat"
    os.mkfifo(fifo)
    errors: list[BaseException] = []
    reader = threading.Thread(target=lambda: errors.append(pytest.raises(ModuleError, load, fifo).value), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # it waits in open() for a writer: give it one, so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("loading a FIFO waited for a writer")
    assert str(errors[0]) == f"module path {fifo} is a named pipe (FIFO), not a regular file"
    result = cli("--module", str(fifo), timeout=30)
    assert result.returncode == 2
    assert result.stderr == f"error: module path {fifo} is a named pipe (FIFO), not a regular file\n"


@posix_only
def test_a_socket_is_refused(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "s.wasm"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(ModuleError, match=r" is a socket, not a regular file$"):
            load(path)


def test_a_file_larger_than_64_mib_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.wasm"
    with open(path, "wb") as file:
        file.truncate(2**40)  # a sparse terabyte: reading it whole would need 1 TiB of memory
    expected = f"^module file {path} is 1048576.0 MiB, larger than the 64 MiB a module may have here$"
    with pytest.raises(ModuleError, match=expected):
        load(path)
    result = cli("--module", str(path))
    assert result.returncode == 2
    assert_one_error_line(result, "is 1048576.0 MiB, larger than the 64 MiB a module may have here")


def test_the_size_limit_is_inclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from earlyexit_tutorial.guide import guest

    monkeypatch.setattr(guest, "MAX_MODULE_BYTES", len(GUEST_WAT) + 10)
    path = tmp_path / "guest.wat"
    path.write_text(GUEST_WAT + " " * 10)
    assert isinstance(load(path), wasmtime.Module)
    path.write_text(GUEST_WAT + " " * 11)
    with pytest.raises(ModuleError, match=r" is 0\.0 MiB, larger than the 0 MiB"):
        load(path)


@pytest.mark.parametrize("name", ["(copy) guest.wasm", "(copy) guest.wat", ";;x", "(module)"])
def test_an_existing_file_wins_over_the_wat_guess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    own = wasmtime.wat2wasm(GUEST_WAT) if name.endswith(".wasm") else GUEST_WAT.encode()
    (tmp_path / name).write_bytes(own)
    monkeypatch.chdir(tmp_path)
    assert isinstance(load(name), wasmtime.Module)  # a relative name, as a learner types it
    assert isinstance(load(str(tmp_path / name)), wasmtime.Module)
    result = cli("--module", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "Exited early with exit code: 1"


def test_a_file_name_taken_as_wat_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModuleError) as info:
        load("(copy) guest.wasm")
    assert str(info.value).startswith("cannot compile the given WAT text (no file is named '(copy) guest.wasm'): ")
    # On the command line --module is always a path: no guess, no WAT error.
    result = cli("--module", "(copy) guest.wasm")
    assert result.returncode == 2
    assert result.stderr == "error: module file not found: (copy) guest.wasm\n"
    result = cli("--module", "(module)")
    assert result.stderr == "error: module file not found: (module)\n"
    # In the API, a Path says the same.
    with pytest.raises(ModuleError, match=r"^module file not found: \(module\)$"):
        load(Path("(module)"))


@posix_only
def test_a_file_name_that_is_not_utf8_is_shown_as_a_terminal_would(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/nope\xff.wat"
    with pytest.raises(ModuleError) as info:
        load(os.fsdecode(raw))
    assert str(info.value) == f"module file not found: {tmp_path}/nope\\xff.wat"
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"earlyexit_tutorial", b"--module", raw], capture_output=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == b"error: module file not found: " + os.fsencode(tmp_path) + b"/nope\\xff.wat\n"


def test_a_file_name_with_a_line_break_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "two\nlines.wasm"
    with pytest.raises(ModuleError) as info:
        load(path)
    assert str(info.value) == f"module file not found: {tmp_path}/two\\nlines.wasm"
    result = cli("--module", str(path))
    assert result.returncode == 2
    assert_one_error_line(result, "two\\nlines.wasm")
