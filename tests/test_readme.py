"""Every code block in the README runs as written.

Each Python block runs in a fresh interpreter, in a folder that holds the files the
block names as "yours": `your_module.wasm` and `guest.wasm`, guests that loop
(so the guard has something to stop). Each shell block's commands are known ones:
a `make` target the Makefile has, a file that exists, a command that prints what
the block says it prints.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import wasmtime

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# "Your module" for the guard's block: run(x, y) loops for ever and never calls anything.
YOUR_MODULE_WAT = """\
(module
  (func (export "run") (param i32 i32) (result i32)
    (loop $forever (br $forever))
    i32.const 0))
"""
# The same exports, returning at once: the Ctrl-C then lands in the block's Python code.
YOUR_QUICK_MODULE_WAT = """\
(module
  (func (export "run") (param $x i32) (param $y i32) (result i32)
    (i32.add (local.get $x) (local.get $y))))
"""
# The guest of the Example(imports=...) block: it imports env.tick as (i32) -> () and
# calls tick(0), tick(1), ... in a loop until a tick stops it.
GUEST_WAT = """\
(module
  (import "env" "tick" (func $tick (param i32)))
  (func (export "run") (param $x i32) (param $y i32) (result i32)
    (local $step i32)
    (loop $steps
      (call $tick (local.get $step))
      (local.set $step (i32.add (local.get $step) (i32.const 1)))
      (br $steps))
    i32.const 0))
"""


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in `language`, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def block_with(text: str) -> str:
    (block,) = [block for block in blocks("python") if text in block]
    return block


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "your_module.wasm").write_bytes(wasmtime.wat2wasm(YOUR_MODULE_WAT))
    (tmp_path / "guest.wasm").write_bytes(wasmtime.wat2wasm(GUEST_WAT))
    return tmp_path


def run_python(code: str, cwd: Path, prelude: str = "") -> subprocess.CompletedProcess:
    """Run `code` as a script in `cwd`, after `prelude` (which may patch what the block imports)."""
    script = prelude + f"\nexec(compile({code!r}, 'README block', 'exec'), {{'__name__': '__main__'}})\n"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60
    )  # a hang detector: each block ends in a few seconds


def test_the_readme_has_the_blocks_these_tests_run():
    assert len(blocks("python")) == 2
    assert blocks("bash")


def test_every_python_block_runs_as_written(folder):
    for block in blocks("python"):
        result = run_python(block, folder)
        assert (result.returncode, result.stderr) == (0, ""), block


def test_the_guard_block_stops_each_call_at_its_deadline_and_goes_on(folder):
    result = run_python(block_with("guard("), folder)
    assert result.stdout.splitlines() == ["stopped: deadline"] * 3


def test_the_guard_block_prints_what_run_returned_when_nothing_stops_it(folder):
    (folder / "your_module.wasm").write_bytes(wasmtime.wat2wasm(YOUR_QUICK_MODULE_WAT))
    result = run_python(block_with("guard("), folder)
    assert result.stdout.splitlines() == ["run returned 4", "run returned 5", "run returned 6"]


# Ctrl-C while the guest runs: the first guarded call arms a timer that sends this
# process SIGINT 0.2 s later, well inside its 1 s deadline (the guest loops).
CTRL_C_IN_WASM = textwrap.dedent(
    """\
    import signal, threading
    import earlyexit_tutorial
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the tests ignore SIGINT
    _guard = earlyexit_tutorial.guard
    _armed = []
    def guard(*args, **kwargs):
        if not _armed:
            _armed.append(threading.Timer(0.2, signal.raise_signal, args=(signal.SIGINT,)))
            _armed[0].start()
        return _guard(*args, **kwargs)
    earlyexit_tutorial.guard = guard
    """
)
# Ctrl-C while the block's own Python code runs: the first print inside the guarded
# block sends SIGINT to this process, the way a Ctrl-C pressed at that moment would.
CTRL_C_IN_PYTHON = textwrap.dedent(
    """\
    import builtins, signal
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the tests ignore SIGINT
    _print = builtins.print
    def _print_then_ctrl_c(*args, **kwargs):
        _print(*args, **kwargs)
        if args and args[0] == "run returned":
            signal.raise_signal(signal.SIGINT)
    builtins.print = _print_then_ctrl_c
    """
)


def test_ctrl_c_while_the_guest_runs_ends_the_loop(folder):
    result = run_python(block_with("guard("), folder, prelude=CTRL_C_IN_WASM)
    # The Ctrl-C is Python's own KeyboardInterrupt: the loop's `except wasmtime.Trap` does not take it.
    assert (result.returncode, result.stdout.splitlines(), result.stderr) == (0, ["stopped by Ctrl-C"], "")


def test_ctrl_c_while_python_code_in_the_block_runs_ends_the_loop(folder):
    (folder / "your_module.wasm").write_bytes(wasmtime.wat2wasm(YOUR_QUICK_MODULE_WAT))
    result = run_python(block_with("guard("), folder, prelude=CTRL_C_IN_PYTHON)
    assert (result.returncode, result.stdout.splitlines(), result.stderr) == (
        0,
        ["run returned 4", "stopped by Ctrl-C"],
        "",
    )


def test_the_example_block_prints_what_its_comment_says(folder):
    block = block_with("Example(")
    (said,) = re.findall(r"print\(outcome\.message\)  # (.+)", block)
    result = run_python(block, folder)
    assert result.stdout.splitlines() == [said]


# --- shell blocks ------------------------------------------------------------------


def shell_commands() -> list[tuple[str, str]]:
    """(command, the comment lines after it) for every command of every bash block."""
    found: list[tuple[str, str]] = []
    for block in blocks("bash"):
        for line in block.splitlines():
            if line.startswith("#"):  # the output the block shows for the command above it
                found[-1] = (found[-1][0], found[-1][1] + line.removeprefix("# ").removeprefix("#") + "\n")
            elif line.strip():
                found.append((line.split("  #", 1)[0].strip(), ""))
    return found


MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))


@pytest.mark.parametrize("command, shown", shell_commands())
def test_every_shell_command_is_one_that_works(command, shown, tmp_path):
    words = shlex.split(command)
    if words[0] == "make":
        assert words[1] in MAKE_TARGETS
    elif words[:2] == ["python", "-m"] and words[2] == "earlyexit_tutorial":
        result = subprocess.run([sys.executable, *words[1:]], capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stdout) == (0, shown)
    elif words[0] == "earlyexit-tutorial-notebooks":
        module = "earlyexit_tutorial.commands.copy_notebooks"
        result = subprocess.run(
            [sys.executable, "-m", module, *words[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert sorted(path.name for path in (tmp_path / words[1]).glob("*.ipynb")) == sorted(
            path.name for path in (ROOT / "notebooks").glob("*.ipynb")
        )
    elif words[:2] == ["pip", "install"]:
        extras = re.fullmatch(r"\.\[(.+)\]", words[2])
        assert extras, command
        assert f"\n{extras[1]} = [" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    elif words[:2] == ["conda", "env"]:
        assert (ROOT / words[-1]).is_file()
    elif words[:2] == ["conda", "activate"]:
        assert f"name: {words[2]}\n" in (ROOT / "environment.yml").read_text(encoding="utf-8")
    elif words[:2] == ["jupyter", "lab"]:
        assert (ROOT / words[2]).is_file()
    elif words == ["./postBuild"]:
        # Binder's build step; tests/test_environment.py runs it in a fresh environment.
        assert os.access(ROOT / "postBuild", os.X_OK)
    else:
        pytest.fail(f"the README shows a command this test does not know: {command}")


# --- the one rule for exit statuses ------------------------------------------------


def test_the_exit_status_rule_holds_run_stopped_is_1_start_stopped_is_2(tmp_path):
    assert "1 when the guest's `run` was called and did not exit early, 2 when\n`run` was never called." in (
        README.read_text(encoding="utf-8")
    )
    looping_run = tmp_path / "run.wat"
    looping_run.write_text(
        '(module (import "env" "early_exit" (func))'
        ' (func (export "run") (param i32 i32) (result i32) (loop br 0) i32.const 0))'
    )
    looping_start = tmp_path / "start.wat"
    looping_start.write_text(
        '(module (import "env" "early_exit" (func)) (func $forever (loop br 0)) (start $forever)'
        ' (func (export "run") (param i32 i32) (result i32) i32.const 0))'
    )
    statuses = [
        subprocess.run(
            [sys.executable, "-m", "earlyexit_tutorial", "--module", str(module), "--timeout", "0.2"],
            capture_output=True,
            timeout=60,
        ).returncode
        for module in (looping_run, looping_start)
    ]
    assert statuses == [1, 2]
