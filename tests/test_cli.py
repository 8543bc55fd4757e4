"""The command line through a subprocess: every option and every exit status."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .helpers import CLI, cli, default_sigint

PROGRESS = ["Compiling module...", "Instantiating module...", "Calling `run` function..."]


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
        (
            ["--host", "return", "--", "-2147483648", "-1"],
            1,
            "Expected early termination with `ExitCode`, found: 2147483647",
        ),
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


def test_help_lists_every_option():
    result = cli("--help")
    assert result.returncode == 0
    for option in ("--exit-code", "--no-early-exit", "--host", "--module", "--timeout", "--fuel", "--verbose"):
        assert option in result.stdout


# --- the command line as a program: signals, pipes and full disks -------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals, pipes and /dev/full")


def test_help_does_not_import_wasmtime():
    # `-m earlyexit_tutorial --help` as runpy runs it, then a look at what got imported.
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['earlyexit-tutorial', '--help']\n"
        "try:\n"
        "    runpy.run_module('earlyexit_tutorial', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('wasmtime', 'ipywidgets')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--module PATH" in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"


def run_writing_to(stdout, args: list[str], unbuffered: str) -> subprocess.CompletedProcess:
    """The command line with its stdout sent to stdout, buffered as Python does by default or unbuffered."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    return subprocess.run([*CLI, *args], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60, env=env)


@posix_only
@pytest.mark.parametrize("args", [[], ["--help"]], ids=["run", "help"])
@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "unbuffered"])
def test_a_closed_pipe_ends_the_program_quietly(args, unbuffered):
    # `earlyexit-tutorial | true`, made certain: the reading end is closed before the program writes.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run_writing_to(write_end, args, unbuffered)
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141  # what a shell reports for a tool ended by SIGPIPE


@posix_only
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [[], ["--help"]], ids=["run", "help"])
@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "unbuffered"])
def test_a_full_disk_is_one_line_and_status_74(args, unbuffered):
    with open("/dev/full", "wb") as full:
        result = run_writing_to(full, args, unbuffered)
    assert result.returncode == 74
    assert result.stderr == "error: cannot write the output: No space left on device\n"


def _frames(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.splitlines() if line.strip().startswith("File ")]


def _caught_entering(stderr: str) -> bool:
    """Whether the innermost frame of a traceback is a function's `def` line.

    There the interpreter checks for a pending signal on entering the function,
    before its first statement (and so before any handler of ours) can run: the
    console script's own call of its entry function is such a moment."""
    lines = [line.strip() for line in stderr.splitlines()]
    entries = [i for i, line in enumerate(lines) if line.startswith("File ")]
    return bool(entries) and lines[entries[-1] + 1].startswith("def ")


KERNEL_OUTCOME = "Interrupted: stopped by a keyboard interrupt (Ctrl-C or the kernel's stop button)"


@posix_only
@pytest.mark.parametrize("how", ["python -m", "console script"])
def test_ctrl_c_at_any_moment_of_start_up_is_one_line_or_nothing(how):
    import random
    import signal
    import time

    script = os.path.join(os.path.dirname(sys.executable), "earlyexit-tutorial")
    command = CLI if how == "python -m" else [script]
    # How long a whole run takes here: the Ctrl-Cs land anywhere from the start to the end.
    begin = time.monotonic()
    assert subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    span = time.monotonic() - begin
    rng = random.Random()
    ours = 0
    for _ in range(48):
        delay = rng.uniform(0, span)
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        where = f"SIGINT after {delay * 1000:.1f} ms: status {proc.returncode}, stderr {stderr!r}"
        package_frames = [frame for frame in _frames(stderr) if f"{os.sep}earlyexit_tutorial{os.sep}" in frame]
        # From our first statement on, no traceback.
        assert not package_frames or _caught_entering(stderr), where
        # A Ctrl-C inside the guarded call is the call's outcome, said on stdout like every outcome.
        outcome_says_so = stdout.splitlines()[-1:] == [KERNEL_OUTCOME]
        if stderr in ("", "Interrupted\n"):
            # Status 130 always comes with its line, on stderr or as the outcome; no line means the
            # run was over (0) or the interpreter had not started Python code yet (killed by the signal).
            expected = (130,) if stderr or outcome_says_so else (0, -signal.SIGINT)
            assert proc.returncode in expected, f"{where}, stdout {stdout!r}"
            assert not (stderr and outcome_says_so), f"said twice: {where}, stdout {stdout!r}"
            ours += proc.returncode == 130
        else:
            # Before our first line runs, the interpreter is starting (site, runpy): it reports the
            # Ctrl-C its own way, a "Fatal Python error" or a traceback of its own frames.
            interpreters_own = (
                "Fatal Python error" in stderr
                or stderr.rstrip().endswith(("KeyboardInterrupt", "KeyboardInterrupt:"))
                # site, reading a .pth file (an editable install's), reports the Ctrl-C and goes on
                or (stderr.startswith("Error processing line") and "Remainder of file ignored" in stderr)
            )
            assert interpreters_own, where
    # Enough Ctrl-Cs landed inside our code for the test to mean something.
    assert ours >= 5, f"only {ours} of 48 Ctrl-Cs reached the command line's code"


def test_an_unexpected_error_is_one_line_unless_verbose(monkeypatch, capsys):
    # A fault of ours that no input should reach: still no traceback without --verbose.
    from earlyexit_tutorial.commands import cli
    from earlyexit_tutorial.guide import running

    def broken(*args, **kwargs):
        raise RuntimeError("something we did not plan for")

    monkeypatch.setattr(running, "Example", broken)
    assert cli.main([]) == cli.UNEXPECTED
    captured = capsys.readouterr()
    assert captured.err == (
        "error: unexpected RuntimeError: something we did not plan for (run with --verbose for details)\n"
    )
    assert cli.main(["--verbose"]) == cli.UNEXPECTED
    captured = capsys.readouterr()
    assert "Traceback" in captured.err and "something we did not plan for" in captured.err


@posix_only
@pytest.mark.parametrize("args", [[], ["--help"]], ids=["run", "help"])
def test_a_closed_stdout_is_no_traceback(args):
    # `earlyexit-tutorial >&-`: Python starts with sys.stdout None.
    result = subprocess.run(
        [*CLI, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(1),
    )
    assert result.stderr == ""
    assert result.returncode == 0


# --- errors, usage, statuses and the version -----------------------------------------------


@posix_only
@pytest.mark.parametrize(
    "args", [["1", "seven"], ["--bogus"], ["--module", "no/such/file.wat"]], ids=["value", "usage", "module"]
)
def test_with_stderr_closed_an_error_is_dropped_not_printed_on_stdout(args):
    # `earlyexit-tutorial 2>&-`: Python starts with sys.stderr None, and print(file=None) writes to stdout.
    result = subprocess.run(
        [*CLI, *args],
        stdout=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(2),
    )
    assert result.returncode == 2
    assert "error" not in result.stdout


@pytest.mark.parametrize(
    "args, where",
    [
        (["--host", "sideways"], "invalid choice: 'sideways'"),
        (["--timeout"], "argument --timeout: expected one argument"),
        (["1", "2", "3"], "unrecognized arguments: 3"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_a_usage_error_is_one_line_not_the_whole_usage(args, where):
    result = cli(*args)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("earlyexit-tutorial: error: ") and where in line, line
    assert result.stdout == ""


def _status_table(markdown: str) -> list[tuple[int, str]]:
    """The rows of the first `| Status | Meaning |` table in a Markdown text."""
    table = markdown.split("| Status | Meaning |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip().strip("|").split("|", 1) for line in table.strip().splitlines()[1:]]
    return [(int(status), meaning.strip().replace("`", "")) for status, meaning in rows]


def test_help_readme_and_docs_list_the_same_exit_statuses_as_the_code():
    from pathlib import Path

    from earlyexit_tutorial.commands import cli as command

    root = Path(__file__).resolve().parents[1]
    constants = sorted(
        {
            command.EXPECTED,
            command.UNEXPECTED,
            command.BAD_INPUT,
            command.OUTPUT_FAILED,
            command.CTRL_C,
            command.CLOSED_PIPE,
        }
    )
    assert constants == [0, 1, 2, 74, 130, 141]
    assert [status for status, _ in command.EXIT_STATUSES] == constants
    help_text = cli("--help").stdout
    epilog = help_text.split("exit status:\n", 1)[1].splitlines()
    assert [tuple(line.split(None, 1)) for line in epilog] == [(str(s), m) for s, m in command.EXIT_STATUSES]
    readme = (root / "README.md").read_text(encoding="utf-8").split("## The command line", 1)[1]
    assert _status_table(readme) == list(command.EXIT_STATUSES)
    docs = (root / "docs" / "command-line.md").read_text(encoding="utf-8")
    assert _status_table(docs) == list(command.EXIT_STATUSES)


@pytest.mark.parametrize("script", ["earlyexit-tutorial", "earlyexit-tutorial-notebooks"])
def test_both_commands_print_the_installed_version(script):
    from importlib.metadata import version

    path = os.path.join(os.path.dirname(sys.executable), script)
    result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{script} {version('earlyexit-tutorial')}\n"


def _complexity(function) -> int:
    """McCabe's number of a function: 1 + its decision points (branches, loops, handlers, and/or)."""
    import ast

    decisions = 0
    for node in ast.walk(function):
        if isinstance(node, (ast.If, ast.IfExp, ast.For, ast.While, ast.ExceptHandler, ast.comprehension)):
            decisions += 1 + (len(node.ifs) if isinstance(node, ast.comprehension) else 0)
        elif isinstance(node, ast.BoolOp):
            decisions += len(node.values) - 1
    return 1 + decisions


def test_no_function_of_the_command_line_is_too_branchy_or_long():
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "earlyexit_tutorial"
    for name in (
        "commands/cli.py",
        "commands/_parser.py",
        "commands/_process.py",
        "_entry.py",
        "commands/copy_notebooks.py",
    ):
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                where = f"{name}:{node.lineno} {node.name}"
                assert _complexity(node) <= 10, f"{where} has complexity {_complexity(node)}"
                assert node.end_lineno - node.lineno + 1 <= 60, f"{where} is {node.end_lineno - node.lineno + 1} lines"
