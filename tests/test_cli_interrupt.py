"""Command line: Ctrl-C, --timeout and --fuel end an endless guest with one clear line.

Bad limits are refused in test_cli_bad_input.py, with every other bad value.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .helpers import CLI, cli, default_sigint

ROOT = Path(__file__).resolve().parents[1]
CALLING = "Calling `run` function..."
KERNEL_MESSAGE = "Interrupted: stopped by a keyboard interrupt (Ctrl-C or the kernel's stop button)"
STARTUP = 60.0  # seconds for the CLI to reach the call, on a busy machine


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_exits_130_with_one_line(endless_wat_file):
    proc = subprocess.Popen(
        [*CLI, "--module", str(endless_wat_file), "--timeout", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        cwd=ROOT,
        preexec_fn=default_sigint,
    )
    lines: queue.Queue = queue.Queue()
    errors: list[str] = []

    def pump_stdout():
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def pump_stderr():
        errors.append(proc.stderr.read())

    readers = [threading.Thread(target=pump_stdout, daemon=True), threading.Thread(target=pump_stderr, daemon=True)]
    for reader in readers:
        reader.start()
    try:
        before = []
        end = time.monotonic() + STARTUP
        while True:
            try:
                line = lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the CLI did not reach the call within {STARTUP} s; printed {before}")
            assert line is not None, f"the CLI ended before calling run: {before}, stderr {errors}"
            before.append(line)
            if line == CALLING:
                break
        time.sleep(0.3)  # let it get into the guest's loop
        assert proc.poll() is None, "the endless guest ended by itself"
        proc.send_signal(signal.SIGINT)
        try:
            status = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pytest.fail("the CLI did not exit within 2 s of SIGINT")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for reader in readers:
            reader.join(5)
    after = []
    while (line := lines.get(timeout=5)) is not None:
        after.append(line)
    stderr = errors[0] if errors else ""

    assert status == 130
    assert before == ["Compiling module...", "Instantiating module...", CALLING]
    assert after == [KERNEL_MESSAGE]
    assert stderr == ""
    assert "Traceback" not in stderr and not any("Traceback" in line for line in before + after)


def test_timeout_ends_the_endless_guest(endless_wat_file):
    start = time.monotonic()
    done = cli("--module", str(endless_wat_file), "--timeout", "0.3")
    assert done.returncode == 1, done
    assert done.stdout.splitlines()[-2:] == [CALLING, "Interrupted: the guest ran past its 0.3 s deadline"]
    assert done.stderr == ""
    assert time.monotonic() - start >= 0.3


def test_fuel_ends_the_endless_guest(endless_wat_file):
    done = cli("--module", str(endless_wat_file), "--fuel", "1000")
    assert done.returncode == 1, done
    assert done.stdout.splitlines()[-2:] == [CALLING, "Interrupted: the guest ran out of fuel after 1000 units"]
    assert done.stderr == ""


def test_fuel_and_timeout_on_a_normal_guest_still_exit_early():
    done = cli("--timeout", "5", "--fuel", "100000")
    assert done.returncode == 0, done
    assert done.stdout.splitlines()[-1] == "Exited early with exit code: 1"


@pytest.mark.parametrize("value", ["inf", "1e300", "1e400", "none", "None"])
def test_an_unbounded_timeout_is_no_deadline_and_fuel_still_ends_the_guest(endless_wat_file, value):
    # inf, a number too large for a float and "none" all mean no deadline, as in the package's API.
    done = cli("--module", str(endless_wat_file), f"--timeout={value}", "--fuel", "1000")
    assert done.returncode == 1, done
    assert done.stdout.splitlines()[-1] == "Interrupted: the guest ran out of fuel after 1000 units"
    assert done.stderr == ""


# --- started with Ctrl-C ignored -------------------------------------------------------

BIN = Path(sys.executable).parent


def ignore_sigint() -> None:
    """In the child before it starts: SIGINT ignored, as `cmd &` in a script or `nohup cmd` leaves it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def storm_of_sigints(command: list[str], within: float = 60.0) -> tuple[subprocess.CompletedProcess, int]:
    """Run `command` with SIGINT ignored, send it a SIGINT every few milliseconds until it ends; also count them."""
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        cwd=ROOT,
        preexec_fn=ignore_sigint,
    )
    output: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda name=name: output.setdefault(name, getattr(proc, name).read()), daemon=True)
        for name in ("stdout", "stderr")
    ]
    for reader in readers:
        reader.start()
    sent, end = 0, time.monotonic() + within
    try:
        while proc.poll() is None and time.monotonic() < end:
            proc.send_signal(signal.SIGINT)  # a no-op once the process is reaped
            sent += 1
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for reader in readers:
            reader.join(5)
    return subprocess.CompletedProcess(
        command, proc.returncode, output.get("stdout", ""), output.get("stderr", "")
    ), sent


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
@pytest.mark.parametrize(
    "command", [[*CLI], [str(BIN / "earlyexit-tutorial")]], ids=["python -m earlyexit_tutorial", "earlyexit-tutorial"]
)
def test_started_with_ctrl_c_ignored_the_command_ignores_it_from_start_to_end(endless_wat_file, command):
    done, sent = storm_of_sigints([*command, "--module", str(endless_wat_file), "--timeout", "1"])
    assert sent > 20  # SIGINTs came during start-up, the call and the exit alike
    assert (done.returncode, done.stderr) == (1, ""), done
    assert done.stdout.splitlines() == [
        "Compiling module...",
        "Instantiating module...",
        CALLING,
        "Interrupted: the guest ran past its 1 s deadline",
    ]


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_started_with_ctrl_c_ignored_the_notebook_copier_ignores_it(tmp_path):
    done, sent = storm_of_sigints([str(BIN / "earlyexit-tutorial-notebooks"), str(tmp_path / "copies")])
    assert sent > 0
    assert (done.returncode, done.stderr) == (0, ""), done
    shipped = len(list((ROOT / "notebooks").glob("*.ipynb")))
    assert done.stdout.startswith(f"Copied {shipped} notebooks into ")
    assert len(list((tmp_path / "copies").glob("*.ipynb"))) == shipped
