"""The command line on bad input: one `error:` line and status 2, or a failed run with status 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from earlyexit_tutorial import (
    GUEST_WAT,
)

from .helpers import (
    HEAD,
    LIMIT_PAGES,
    RUN_OK,
    SHAPES,
    TROUBLE_WAT,
    assert_one_error_line,
    cli,
)

# --- command line -----------------------------------------------------------------


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


RANGE_I32 = "-2147483648..2147483647"
RANGE_U32 = "0..4294967295"
RANGE_FUEL = "0..9223372036854775807"
POSITIVE = "timeout must be a positive number of seconds"

# Every bad value the command line can be given, and the whole line it answers with.
CLI_BAD_INPUT = [
    (["2147483648"], f"x must be in the i32 range {RANGE_I32}, got 2147483648"),
    (["1", "-2147483649"], f"y must be in the i32 range {RANGE_I32}, got -2147483649"),
    (["1.5"], "x must be a whole number, got '1.5'"),
    (["1", "seven"], "y must be a whole number, got 'seven'"),
    (["--exit-code", "-1"], f"exit code must be in {RANGE_U32}, got -1"),
    (["--exit-code", "4294967296"], f"exit code must be in {RANGE_U32}, got 4294967296"),
    (["--exit-code", "1.0"], "--exit-code must be a whole number, got '1.0'"),
    (["--no-early-exit", "--exit-code", "-1"], f"exit code must be in {RANGE_U32}, got -1"),
    (["--timeout", "0"], f"{POSITIVE}, got 0.0"),
    (["--timeout=-1"], f"{POSITIVE}, got -1.0"),
    (["--timeout", "nan"], f"{POSITIVE}, got nan"),
    (["--timeout=1e-400"], f"{POSITIVE}, got 0.0"),  # underflows to 0.0
    (["--timeout", "soon"], "--timeout must be a number of seconds, got 'soon'"),
    (["--timeout="], "--timeout must be a number of seconds, got ''"),
    # argparse alone takes "-inf" after a space for an unknown option and prints its whole usage.
    (["--timeout", "-inf"], f"{POSITIVE}, got -inf"),
    (["--timeout", "-1e3"], f"{POSITIVE}, got -1000.0"),
    (["--timeout", "-nan"], f"{POSITIVE}, got nan"),
    (["--fuel", "-5"], f"fuel must be an integer in {RANGE_FUEL}, got -5"),
    ([f"--fuel={2**63}"], f"fuel must be an integer in {RANGE_FUEL}, got {2**63}"),
    (["--fuel", "lots"], "--fuel must be a whole number, got 'lots'"),
    (["--fuel=1.5"], "--fuel must be a whole number, got '1.5'"),
    (["--fuel="], "--fuel must be a whole number, got ''"),
]


@pytest.mark.parametrize(
    ("args", "expected"), CLI_BAD_INPUT, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_cli_bad_values_are_one_line_and_status_2_before_the_guest_is_called(args: list[str], expected: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr == f"error: bad input: {expected}\n"
    assert "Traceback" not in result.stdout
    # The package checks each value where it uses it, in setting the guest up: never is it called.
    assert "Calling `run` function..." not in result.stdout.splitlines()


CLI_BAD_MODULES = [
    ("broken.wat", "cannot compile {path}: unknown operator or unexpected token at line 3, column 5"),
    ("fake.wasm", "fake.wasm is not a WebAssembly binary"),
    ("missing.wasm", "module file not found: {path}"),
    ("a_directory", "module path is a directory, not a file: {path}"),
    ("one_param.wat", "exports `run` as (i32) -> i32, expected (i32, i32) -> i32"),
    ("wasi.wat", "imports wasi_snapshot_preview1.fd_write, which the tutorial's host does not provide"),
    ("big_memory.wat", "cannot instantiate the module: memory minimum size of 1025 pages exceeds memory limits"),
    ("start_exits.wat", "its start function called env.early_exit, which exited with code 1"),
]


@pytest.mark.parametrize(("name", "expected"), CLI_BAD_MODULES, ids=[name for name, _ in CLI_BAD_MODULES])
def test_cli_bad_modules(module_files: dict[str, Path], name: str, expected: str) -> None:
    result = cli("--module", str(module_files[name]))
    assert result.returncode == 2
    assert_one_error_line(result, expected.format(path=module_files[name]))


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
    assert "invalid choice" in cli("--host", "sideways").stderr


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


def test_cli_host_error_and_good_runs(module_files: dict[str, Path]) -> None:
    result = cli("--host", "error")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "the host function failed on purpose" in result.stdout
    result = cli(
        "--module", str(module_files["trouble.wat"]), "1", "7", "--exit-code", "4294967295", "--timeout", "inf"
    )
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1] == "Exited early with exit code: 4294967295"


@pytest.mark.parametrize("option", [["--timeout", "-inf"], ["--timeout", "0"], ["--fuel", "-1"]])
def test_a_bad_limit_is_refused_before_the_guest_is_compiled(option: list[str]) -> None:
    result = cli(*option)
    assert result.returncode == 2
    assert result.stdout == ""  # not even "Compiling module...": nothing is set up for a call that cannot run
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_a_huge_or_hostile_argument_gives_one_bounded_error_line() -> None:
    for args in (["--timeout", "x" * 100_000], ["--" + "x" * 100_000], ["--timeout", "\x1b[2J\x07"]):
        done = cli(*args)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and len(done.stderr) < 1200, len(done.stderr)
        assert "\x1b" not in done.stderr and "\x07" not in done.stderr
