"""The scripts in examples/ run on wasmtime and the standard library alone, and do what they say.

Each runs in a fresh, isolated interpreter (`python -I`) in which importing the
package fails, as on a machine that only ran `pip install wasmtime`.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .helpers import BLOCKER, default_sigint

ROOT = Path(__file__).resolve().parents[1]
EARLY_EXIT = ROOT / "examples" / "early_exit.py"
STOP_A_GUEST = ROOT / "examples" / "stop_a_guest.py"
NB01 = ROOT / "notebooks" / "01-early-exit.ipynb"
PACKAGE = "earlyexit_tutorial"
MARKER = "# plain wasmtime: copy this cell"

GUIDE_LINES = [
    "Compiling module...",
    "Instantiating module...",
    "Calling `run` function...",
    "Exited early with exit code: 1",
]
RUNNING = "Running `spin`, a guest that never returns (Ctrl-C stops it)..."
STOPPED_BY_CTRL_C = "Stopped by Ctrl-C."
START_UP = 60.0  # seconds for a script to reach its guest, on a busy machine
AFTER_SIGINT = 10.0  # seconds a stopped script may take to exit; a lost Ctrl-C never exits

# Run as `python -I -c RUNNER script args...`: block the package, then run the
# script as __main__ with its own argv.
RUNNER = "import runpy\n" + BLOCKER + 'sys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name="__main__")\n'

posix_only = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT with os.kill")


def command(script: Path, *args: str) -> list[str]:
    return [sys.executable, "-I", "-c", RUNNER, str(script), *args]


def run_script(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command(script, *args), cwd=cwd, capture_output=True, text=True, timeout=120)


# --- the package really is out of reach -------------------------------------------


def test_the_runner_refuses_to_import_the_package(tmp_path):
    script = tmp_path / "imports_the_package.py"
    script.write_text(f"import {PACKAGE}\n")
    result = run_script(script, cwd=tmp_path)
    assert result.returncode == 1
    assert f"ModuleNotFoundError: No module named '{PACKAGE}'" in result.stderr


# --- examples/early_exit.py ----------------------------------------------------------


def test_early_exit_prints_the_guides_four_lines(tmp_path):
    result = run_script(EARLY_EXIT, cwd=tmp_path)
    assert (result.returncode, result.stdout.splitlines(), result.stderr) == (0, GUIDE_LINES, "")


def code_lines(text: str) -> list[str]:
    """The lines that carry code or comments: no blank lines, no copy-marker lines."""
    return [line.rstrip() for line in text.splitlines() if line.strip() and line.strip() != MARKER]


def script_body(path: Path) -> str:
    """The script's text after its module docstring."""
    text = path.read_text(encoding="utf-8")
    first = ast.parse(text).body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant), "the script starts with a docstring"
    return "\n".join(text.splitlines()[first.end_lineno :])


def notebook_01_plain_cells() -> str:
    cells = json.loads(NB01.read_text(encoding="utf-8"))["cells"]
    return "\n".join(
        "".join(cell["source"])
        for cell in cells
        if cell["cell_type"] == "code" and "plain-wasmtime" in cell.get("metadata", {}).get("tags", [])
    )


def test_early_exit_is_notebook_01s_plain_cells_in_order():
    # The rule: after its docstring, the script holds exactly the lines of notebook 01's
    # cells tagged plain-wasmtime, in order, comments included; only blank lines and the
    # cells' copy-marker line may differ.
    script, notebook = code_lines(script_body(EARLY_EXIT)), code_lines(notebook_01_plain_cells())
    assert script == notebook, "\n".join(
        difflib.unified_diff(
            notebook, script, "notebook 01's plain cells", str(EARLY_EXIT.relative_to(ROOT)), lineterm=""
        )
    )


# --- examples/stop_a_guest.py --------------------------------------------------------


def test_stop_a_guest_stops_at_its_deadline_with_one_line_and_status_1(tmp_path):
    began = time.monotonic()
    result = run_script(STOP_A_GUEST, "--timeout", "0.5", cwd=tmp_path)
    took = time.monotonic() - began
    # The command line's rule: 1 for a guest that was called and did not finish, 2 for bad input.
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [RUNNING]
    assert result.stderr == "Stopped: the guest was still running at its 0.5 s deadline (--timeout).\n"
    assert took >= 0.5  # it really waited for the deadline


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_stop_a_guest_refuses_a_timeout_that_is_no_positive_finite_number(tmp_path, value):
    result = run_script(STOP_A_GUEST, f"--timeout={value}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("stop_a_guest.py: error: argument --timeout: ")
    assert "Traceback" not in result.stderr


def _interpreter_start_up() -> float:
    """The slowest of three start-ups of this interpreter, as the scripts start it, running nothing."""
    spans = []
    for _ in range(3):
        began = time.monotonic()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True, timeout=60)
        spans.append(time.monotonic() - began)
    return max(spans)


def start_and_wait_for_the_guest(cwd: Path) -> subprocess.Popen:
    """Start stop_a_guest.py without a timeout and return once it says the guest is running."""
    proc = subprocess.Popen(
        command(STOP_A_GUEST),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    first_line: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: first_line.put(proc.stdout.readline()), daemon=True).start()
    try:
        line = first_line.get(timeout=START_UP)
    except queue.Empty:
        proc.kill()
        proc.communicate()
        pytest.fail(f"stop_a_guest.py did not start its guest within {START_UP} s")
    assert line.rstrip("\n") == RUNNING, (line, proc.poll())
    return proc


@posix_only
def test_ctrl_c_at_random_moments_stops_the_guest_with_one_line_and_status_130(tmp_path):
    rng = random.Random()
    for trial in range(24):
        # From the moment it says so (the guest may not be in wasm yet) to well inside the loop.
        delay = rng.uniform(0.0, 0.5)
        proc = start_and_wait_for_the_guest(tmp_path)
        try:
            time.sleep(delay)
            assert proc.poll() is None, "the endless guest ended by itself"
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=AFTER_SIGINT)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"trial {trial}: SIGINT after {delay * 1000:.0f} ms was lost: still running {AFTER_SIGINT} s later"
            )
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        where = f"trial {trial}, SIGINT {delay * 1000:.0f} ms after the guest started"
        assert (proc.returncode, stdout, stderr) == (130, "", STOPPED_BY_CTRL_C + "\n"), where


def _script_lines_in_traceback(stderr: str) -> list[str]:
    """The source lines of stop_a_guest.py that a traceback passes through."""
    lines = stderr.splitlines()
    return [
        lines[i + 1].strip()
        for i, line in enumerate(lines[:-1])
        if line.strip().startswith("File ") and STOP_A_GUEST.name in line
    ]


@posix_only
def test_ctrl_c_at_any_moment_of_start_up_is_never_lost(tmp_path):
    # How long the script takes to reach its guest: the Ctrl-Cs land anywhere in that span.
    began = time.monotonic()
    proc = start_and_wait_for_the_guest(tmp_path)
    span = time.monotonic() - began
    proc.kill()
    proc.communicate()
    # Not before the interpreter itself is up: a Ctrl-C while site.py runs the .pth files of
    # site-packages is reported by Python as "Error processing line 1 of ...pth" and dropped,
    # before any line of the script exists to take it.
    interpreter_up = _interpreter_start_up()
    rng = random.Random()
    for trial in range(16):
        delay = rng.uniform(min(interpreter_up, span), span)
        proc = subprocess.Popen(
            command(STOP_A_GUEST),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        try:
            time.sleep(delay)
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=AFTER_SIGINT)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"trial {trial}: SIGINT {delay * 1000:.0f} ms after the start was lost: "
                f"still running {AFTER_SIGINT} s later"
            )
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        where = (
            f"trial {trial}, SIGINT {delay * 1000:.0f} ms after the start: status {proc.returncode}, stderr {stderr!r}"
        )
        if proc.returncode == 130:
            # The script's code saw it: one line, whether the guest had started or not.
            assert stderr == STOPPED_BY_CTRL_C + "\n" and stdout in ("", RUNNING + "\n"), where
        else:
            # Before the script's first statements had run (the interpreter starting, or the
            # script's imports loading wasmtime), Python ends the program its own way: killed by
            # the signal, a KeyboardInterrupt traceback, or a "Fatal Python error" during site.
            interpreters_own = (
                proc.returncode == -signal.SIGINT
                and (stderr == "" or stderr.rstrip().endswith("KeyboardInterrupt"))
                or proc.returncode == 1
                and stderr.startswith("Fatal Python error: ")
            )
            assert interpreters_own, where
            assert all(line.startswith(("import ", "from ")) for line in _script_lines_in_traceback(stderr)), where
