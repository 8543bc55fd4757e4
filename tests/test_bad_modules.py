"""Modules that cannot be loaded, or have the wrong shape, get one clear line saying why."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from earlyexit_tutorial import (
    GUEST_WAT,
    Example,
    ExitCode,
    ExitedEarly,
    ModuleError,
    Returned,
)

from .helpers import (
    HEAD,
    LIMIT_PAGES,
    RUN_OK,
    SHAPES,
    assert_still_works,
    cli,
    load,
)

# --- modules that cannot be loaded --------------------------------------------


def test_wat_that_does_not_parse_says_where() -> None:
    wat = (
        '(module\n  (import "env" "early_exit" (func))\n'
        '  (func (export "run") (param i32 i32) (result i32)\n    i32.ad))\n'
    )
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
    with pytest.raises(
        ModuleError,
        match=r"^cannot compile the module in the given bytes: type mismatch: "
        r"expected i32, found i64, in function 2, at byte offset \d+$",
    ):
        load(bytes(wasmtime.wat2wasm(TRICKY_WAT)))


def test_a_validation_error_in_a_wat_file_through_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "typo.wat"
    path.write_text(TRICKY_WAT)
    result = cli("--module", str(path))
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
    with pytest.raises(
        TypeError, match=f"^a module must be WAT text, wasm bytes or a file path, got {type(source).__name__}$"
    ):
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
    with pytest.raises(
        ModuleError, match=r"guest\.wasm is not a WebAssembly binary: it does not start with the \\0asm magic bytes$"
    ):
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
    example = Example(
        '(module (func (export "run") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1))))'
    )
    assert example.run(6, 7) == Returned(42)


def test_memory_declared_above_the_limit_fails_at_instantiation() -> None:
    wat = HEAD + f"(memory {LIMIT_PAGES + 1})" + RUN_OK + ")"
    assert isinstance(load(wat), wasmtime.Module)  # the module itself is fine...
    with pytest.raises(
        ModuleError,
        match=f"^cannot instantiate the module: memory minimum size of {LIMIT_PAGES + 1} pages exceeds memory limits$",
    ):
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
        (
            "call $early_exit",
            r"^cannot instantiate the module: its start function called env\.early_exit, which exited with code 1$",
        ),
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
