"""The command line through a subprocess: every option and every exit status."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROGRESS = ["Compiling module...", "Instantiating module...", "Calling `run` function..."]


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "earlyexit_tutorial", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_default_run_prints_four_lines_and_exits_0():
    result = cli()
    assert result.returncode == 0
    assert result.stdout.splitlines() == PROGRESS + ["Exited early with exit code: 1"]
    assert result.stderr == ""


def test_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "earlyexit-tutorial")
    result = subprocess.run([script, "2", "3"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "Exited early with exit code: 1"


@pytest.mark.parametrize(
    "args, status, last",
    [
        (["4", "5", "--exit-code", "3"], 0, "Exited early with exit code: 3"),
        (["--exit-code", "0"], 0, "Exited early with exit code: 0"),
        (["--exit-code", "4294967295"], 0, "Exited early with exit code: 4294967295"),
        (["4", "5", "--no-early-exit"], 1, "Expected early termination with `ExitCode`, found: 9"),
        (["--host", "return", "--", "-2147483648", "-1"], 1, "Expected early termination with `ExitCode`, found: 2147483647"),
        (["--host", "error"], 1, "Unknown error `the host function failed on purpose` found. expected `ExitCode`"),
        (["--host", "exit", "2147483647", "-2147483648"], 0, "Exited early with exit code: 1"),
    ],
)
def test_options_and_outcomes(args, status, last):
    result = cli(*args)
    assert result.returncode == status, result.stderr
    assert result.stdout.splitlines() == PROGRESS + [last]


def test_own_module_wat_and_wasm(own_wat_file, own_wasm_file):
    for path in (own_wat_file, own_wasm_file):
        result = cli("--module", str(path))
        assert result.returncode == 0
        assert result.stdout.splitlines()[-1] == "Exited early with exit code: 1"
        result = cli("3", "4", "--module", str(path), "--no-early-exit")
        assert result.stdout.splitlines()[-1] == "Expected early termination with `ExitCode`, found: 10"


@pytest.mark.parametrize(
    "args, message",
    [
        (["2147483648"], "error: bad input: x must be in the i32 range -2147483648..2147483647, got 2147483648"),
        (["1", "seven"], "error: bad input: y must be a whole number, got 'seven'"),
        (["--exit-code", "-1"], "error: bad input: exit code must be in 0..4294967295, got -1"),
        (["--exit-code", "4294967296"], "error: bad input: exit code must be in 0..4294967295, got 4294967296"),
        (["--module", "no/such/file.wat"], "error: module file not found: no/such/file.wat"),
        (["--timeout", "soon"], "error: bad input: --timeout must be a number of seconds, got 'soon'"),
        (["--fuel", "-3"], "error: bad input: fuel must be an integer in 0..9223372036854775807, got -3"),
    ],
)
def test_bad_input_is_one_line_and_status_2(args, message):
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stdout + result.stderr


def test_bad_module_is_status_2(tmp_path):
    bad = tmp_path / "bad.wat"
    bad.write_text("(module (func (export \"run\")\n  (i32.bogus)))\n")
    result = cli("--module", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot compile {bad}:")
    assert "at line 2, column" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_are_status_2():
    result = cli("--host", "sideways")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_help_lists_every_option():
    result = cli("--help")
    assert result.returncode == 0
    for option in ("--exit-code", "--no-early-exit", "--host", "--module", "--timeout", "--fuel", "--verbose"):
        assert option in result.stdout


def test_a_trapping_guest_is_status_1_without_traceback(tmp_path):
    trap = tmp_path / "trap.wat"
    trap.write_text('(module (func (export "run") (param i32 i32) (result i32) unreachable))')
    result = cli("--module", str(trap))
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1].startswith("Unknown error `wasm trap: wasm `unreachable`")
    assert "Traceback" not in result.stdout + result.stderr
    verbose = cli("--module", str(trap), "--verbose")
    assert "trap code: UNREACHABLE" in verbose.stderr


def test_timeout_and_fuel_stop_an_endless_guest(endless_wat_file):
    result = cli("--module", str(endless_wat_file), "--timeout", "0.3")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "Interrupted: the guest ran past its 0.3 s deadline"
    result = cli("--module", str(endless_wat_file), "--fuel", "5000")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "Interrupted: the guest ran out of fuel after 5000 units"
