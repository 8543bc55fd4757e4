"""In a real IPython kernel: the kernel's interrupt ends an endless guest within 1 s.

Starts an ipykernel on this interpreter with jupyter_client, runs an endless
guest in a cell, interrupts the kernel the way JupyterLab's stop button does
(KernelManager.interrupt_kernel, SIGINT to the kernel's process group), and
checks that the cell finishes quickly with the interrupted message and that the
kernel then answers normally. Twenty cycles in one kernel. Every wait has a
deadline, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import queue
import random
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")
psutil = pytest.importorskip("psutil")

from jupyter_client import KernelManager  # noqa: E402
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the kernel is interrupted with SIGINT")

ROOT = Path(__file__).resolve().parents[1]
KERNEL_NAME = "earlyexit-test"
CYCLES = 20
INTERRUPT_AFTER = 0.3  # seconds the guest spins before the interrupt
FINISH_WITHIN = 1.0  # a learner who presses the stop button gets the kernel back within 1 s
STARTUP_TIMEOUT = 60.0
CELL_TIMEOUT = 30.0  # any one request, generous; only reached when something is broken
ENDLESS = (
    '(module (import "env" "early_exit" (func))'
    ' (func (export "run") (param i32 i32) (result i32) (loop br 0) i32.const 0))'
)
KERNEL_MESSAGE = "Interrupted: stopped by a keyboard interrupt (Ctrl-C or the kernel's stop button)"
STARTED = "guest-starting"


@dataclass
class Execution:
    """One execute request and what came back for it."""

    msg_id: str
    stdout: str = ""
    stderr: str = ""
    results: list = field(default_factory=list)  # text/plain of execute_result
    errors: list = field(default_factory=list)  # (ename, evalue) of error messages
    reply: dict | None = None
    reply_time: float | None = None  # time.monotonic() when the reply came in
    idle: bool = False


class Kernel:
    """A started kernel with a blocking client, and helpers that never wait forever."""

    def __init__(self, km: KernelManager, kc) -> None:
        self.km = km
        self.kc = kc

    def submit(self, code: str) -> Execution:
        return Execution(self.kc.execute(code, store_history=False, allow_stdin=False))

    def _iopub(self, ex: Execution, until) -> None:
        """Read iopub messages for `ex` until `until()` is true; fail at the deadline."""
        end = time.monotonic() + CELL_TIMEOUT
        while not until():
            remaining = end - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no progress from the kernel within {CELL_TIMEOUT} s; so far {ex}")
            try:
                msg = self.kc.get_iopub_msg(timeout=remaining)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != ex.msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    ex.stdout += content["text"]
                else:
                    ex.stderr += content["text"]
            elif kind == "execute_result":
                ex.results.append(content["data"].get("text/plain"))
            elif kind == "error":
                ex.errors.append((content["ename"], content["evalue"]))
            elif kind == "status" and content["execution_state"] == "idle":
                ex.idle = True

    def wait_for_stdout(self, ex: Execution, text: str) -> None:
        self._iopub(ex, lambda: text in ex.stdout or ex.idle)
        assert text in ex.stdout, f"the cell finished without printing {text!r}: {ex}"

    def wait_reply(self, ex: Execution, timeout: float = CELL_TIMEOUT) -> dict:
        """Wait for the shell reply to `ex`; record when it came."""
        end = time.monotonic() + timeout
        while ex.reply is None:
            remaining = end - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no execute_reply within {timeout} s; so far {ex}")
            try:
                msg = self.kc.get_shell_msg(timeout=remaining)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == ex.msg_id:
                ex.reply_time = time.monotonic()
                ex.reply = msg["content"]
        return ex.reply

    def finish(self, ex: Execution) -> Execution:
        """Wait for the reply and for all output (status idle)."""
        self.wait_reply(ex)
        self._iopub(ex, lambda: ex.idle)
        return ex

    def run(self, code: str) -> Execution:
        ex = self.finish(self.submit(textwrap.dedent(code)))
        assert ex.reply["status"] == "ok", ex
        assert not ex.errors, ex
        return ex


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    # A kernelspec of our own that runs *this* interpreter (the project's
    # venv), whatever other python3 kernelspecs the machine has.
    kernels = tmp_path_factory.mktemp("kernels")
    spec = kernels / KERNEL_NAME
    spec.mkdir()
    spec.joinpath("kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "earlyexit test kernel",
                "language": "python",
                "interrupt_mode": "signal",
            }
        )
    )
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    km.start_kernel(cwd=str(ROOT))
    kc = None
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        yield Kernel(km, kc)
    finally:
        if kc is not None:
            kc.stop_channels()
        try:
            km.shutdown_kernel(now=True)
        finally:
            # Never leave a spinning kernel behind, whatever shutdown did.
            process = getattr(km.provisioner, "process", None) if km.provisioner else None
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)


def test_kernel_runs_this_interpreter(kernel):
    ex = kernel.run("import sys; print(sys.executable); print(sys.prefix)")
    executable, prefix = ex.stdout.split()
    assert os.path.realpath(executable) == os.path.realpath(sys.executable)
    assert os.path.realpath(prefix) == os.path.realpath(sys.prefix)
    pid = kernel.km.provisioner.process.pid
    assert os.path.realpath(psutil.Process(pid).cmdline()[0]) == os.path.realpath(sys.executable)


def test_kernel_interrupt_ends_the_endless_guest(kernel):
    kernel.run(
        f"""
        import signal, threading
        from earlyexit_tutorial import Example
        ex = Example({ENDLESS!r})
        ex2 = Example()
        _threads = threading.active_count()
        """
    )
    cell = textwrap.dedent(
        f"""
        _handler = signal.getsignal(signal.SIGINT)
        print({STARTED!r}, flush=True)
        outcome = ex.run(1, 7, timeout=None); print(outcome.message)
        print("reason:", outcome.reason)
        print("handler restored:", signal.getsignal(signal.SIGINT) is _handler)
        print("no thread left behind:", threading.active_count() == _threads)
        """
    )
    latencies = []
    for cycle in range(CYCLES):
        ex = kernel.submit(cell)
        kernel.wait_for_stdout(ex, STARTED)
        time.sleep(INTERRUPT_AFTER)
        assert ex.reply is None and not ex.idle, f"cycle {cycle}: the endless guest ended by itself: {ex}"
        sent = time.monotonic()
        kernel.km.interrupt_kernel()
        kernel.wait_reply(ex, timeout=CELL_TIMEOUT)
        latency = ex.reply_time - sent
        latencies.append(latency)
        kernel.finish(ex)

        assert latency < FINISH_WITHIN, f"cycle {cycle}: the cell took {latency:.3f} s after the interrupt"
        assert ex.reply["status"] == "ok", f"cycle {cycle}: {ex}"
        assert not ex.errors, f"cycle {cycle}: {ex}"
        assert "Traceback" not in ex.stderr and "KeyboardInterrupt" not in ex.stderr, ex.stderr
        assert ex.stdout.splitlines() == [
            STARTED,
            KERNEL_MESSAGE,
            "reason: ctrl-c",
            "handler restored: True",
            "no thread left behind: True",
        ], f"cycle {cycle}: {ex}"

        # The kernel answers the next requests normally.
        assert kernel.run("1+1").results == ["2"], f"cycle {cycle}"
        normal = kernel.run("print(ex2.run(1, 7).message)")
        assert normal.stdout == "Exited early with exit code: 1\n", f"cycle {cycle}: {normal}"

    median = statistics.median(latencies)
    print(
        f"\nkernel interrupt -> execute_reply over {CYCLES} cycles: "
        f"median {median * 1000:.1f} ms, min {min(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    assert median < FINISH_WITHIN


def test_call_interruptibly_restores_sigint_handler_in_the_kernel(kernel):
    # Inside a cell (main thread, ipykernel's handler set); also when the call fails.
    ex = kernel.run(
        f"""
        import signal, threading
        from earlyexit_tutorial import Example
        before = signal.getsignal(signal.SIGINT)
        checks = []
        ex = Example({ENDLESS!r})
        ex3 = Example()
        o = ex.run(1, 7, timeout=0.1); checks.append(("deadline", o.reason, signal.getsignal(signal.SIGINT) is before))
        o = ex.run(1, 7, fuel=100); checks.append(("fuel", o.reason, signal.getsignal(signal.SIGINT) is before))
        threading.Timer(0.1, ex.stop).start()
        o = ex.run(1, 7, timeout=None); checks.append(("stop", o.reason, signal.getsignal(signal.SIGINT) is before))
        ex3.set_host("error")
        o = ex3.run(1, 7); checks.append(("failed", type(o).__name__, signal.getsignal(signal.SIGINT) is before))
        try:
            ex3.run(1, 7, timeout=-1)
        except ValueError:
            checks.append(("rejected", "ValueError", signal.getsignal(signal.SIGINT) is before))
        for check in checks:
            print(*check)
        """
    )
    assert ex.stdout.splitlines() == [
        "deadline deadline True",
        "fuel fuel True",
        "stop stop True",
        "failed OtherError True",
        "rejected ValueError True",
    ], ex


START_LOOP = """(module (import "env" "early_exit" (func $h)) (func $s (loop $l (call $h) (br $l))) (start $s)
  (func (export "run") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""


def interrupt_cell(kernel, code: str, *, delay: float) -> Execution:
    """Run `code` (which prints STARTED first), interrupt the kernel after `delay` seconds, return the cell."""
    ex = kernel.submit(textwrap.dedent(code))
    kernel.wait_for_stdout(ex, STARTED)
    time.sleep(delay)
    assert ex.reply is None, f"the cell ended by itself: {ex}"
    kernel.km.interrupt_kernel()
    return kernel.finish(ex)


def test_kernel_interrupt_during_a_start_function_that_loops_through_the_host(kernel):
    kernel.run("from earlyexit_tutorial import Example, Interrupted, StartStopped")
    for cycle in range(8):
        ex = interrupt_cell(
            kernel,
            f"""
            print({STARTED!r}, flush=True)
            try:
                Example({START_LOOP!r}, behaviour="return", timeout=None)
            except StartStopped as error:
                print("stopped:", error.reason)
            """,
            delay=random.uniform(0.05, 0.3),
        )
        assert ex.reply["status"] in ("ok", "error"), ex
        if ex.reply["status"] == "ok":
            assert ex.stdout.splitlines() == [STARTED, "stopped: ctrl-c"], f"cycle {cycle}: {ex}"
        else:  # the Ctrl-C came just before or after the start function: an ordinary KeyboardInterrupt
            assert [name for name, _ in ex.errors] == ["KeyboardInterrupt"], f"cycle {cycle}: {ex}"
        assert "Exception ignored" not in ex.stderr and "Traceback" not in ex.stderr, ex.stderr
        assert kernel.run("print(Example().run(1, 7).message)").stdout == "Exited early with exit code: 1\n"


def test_kernel_interrupt_during_a_long_loop_of_quick_calls(kernel):
    kernel.run("from earlyexit_tutorial import Example, Interrupted; quick = Example()")
    for cycle in range(8):
        ex = interrupt_cell(
            kernel,
            f"""
            print({STARTED!r}, flush=True)
            calls = 0
            while True:
                outcome = quick.run(1, 7)
                calls += 1
                if isinstance(outcome, Interrupted):
                    print("interrupted:", outcome.reason)
                    break
            """,
            delay=random.uniform(0.05, 0.3),
        )
        if ex.reply["status"] == "ok":
            assert ex.stdout.splitlines() == [STARTED, "interrupted: ctrl-c"], f"cycle {cycle}: {ex}"
        else:  # the Ctrl-C landed between two calls
            assert [name for name, _ in ex.errors] == ["KeyboardInterrupt"], f"cycle {cycle}: {ex}"
        assert "Exception ignored" not in ex.stderr, ex.stderr
        assert kernel.run("print(quick.run(1, 7).message, calls > 0)").stdout == "Exited early with exit code: 1 True\n"
