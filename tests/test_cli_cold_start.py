"""What the command line loads to start: without arguments no argparse, and no regex compiled at import.

Its speed is a benchmark's business (benchmarks/startup.py); these tests hold the
behaviour that speed rests on, and that it changes nothing a user sees.
"""

from __future__ import annotations

import subprocess
import sys

from earlyexit_tutorial.commands import cli

from .helpers import CLI


def imported_by(args: list[str]) -> set[str]:
    """The modules `python -m earlyexit_tutorial ARGS` imports, as -X importtime reports them."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *CLI[1:], *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode in (0, 1), done.stderr
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def test_a_run_without_arguments_loads_no_argument_parser():
    modules = imported_by([])
    assert "earlyexit_tutorial.commands.cli" in modules and "wasmtime" in modules  # the probe sees the run
    assert not {"argparse", "gettext", "shutil", "earlyexit_tutorial.commands._parser"} & modules
    assert "earlyexit_tutorial._support.wasm_types" not in modules  # read for a learner's module only


def test_a_run_with_arguments_parses_them_with_argparse():
    assert {"argparse", "earlyexit_tutorial.commands._parser"} <= imported_by(["2", "3"])


def test_no_arguments_mean_what_the_parser_makes_of_none():
    assert vars(cli.parse_args([])) == vars(cli.build_parser().parse_args([]))
    assert cli.parse_args([]) is not cli.parse_args([])  # a fresh one each time: main may not share it


def test_the_package_compiles_no_regex_at_import():
    # The modules the command line and the guide load; re.compile watched from before they load.
    probe = (
        "import re, sys, wasmtime\n"
        "compiled = []\n"
        "real = re.compile\n"
        "re.compile = lambda pattern, flags=0: compiled.append(pattern) or real(pattern, flags)\n"
        "import earlyexit_tutorial.commands.cli, earlyexit_tutorial.guide.running\n"
        "import earlyexit_tutorial._support.compile_errors, earlyexit_tutorial._support.printable\n"
        "print(compiled)\n"
    )
    assert probe_output(probe) == "[]\n"


def test_a_run_without_arguments_compiles_no_regex():
    # Every regex the package has is for a message or a learner's input: the guide's own run needs none.
    probe = (
        "import re, sys, wasmtime\n"
        "used = []\n"
        "real = re._compile\n"
        "re._compile = lambda pattern, flags: used.append(pattern) or real(pattern, flags)\n"
        "from earlyexit_tutorial._entry import tutorial\n"
        "status = tutorial([])\n"
        "print(used)\n"
        "sys.exit(status)\n"
    )
    assert probe_output(probe).splitlines()[-1] == "[]"


def test_the_command_leaves_its_objects_out_of_the_last_collection_only_at_exit():
    # The interpreter's final collection of what a run leaves alive costs milliseconds for nothing.
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))  # first in, last out\n"
        "from earlyexit_tutorial._entry import tutorial\n"
        "status = tutorial([])\n"
        "print('frozen after the command:', gc.get_freeze_count() > 0)\n"
        "sys.exit(status)\n"
    )
    assert probe_output(probe).splitlines()[-2:] == ["frozen after the command: False", "frozen at exit: True"]


def probe_output(probe: str) -> str:
    """What a fresh interpreter running `probe` prints, once it has exited with status 0."""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
