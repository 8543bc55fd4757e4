"""Ctrl-C while a command is still starting (importing its modules) is one line and status 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import CLI, default_sigint

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")

BIN = Path(sys.executable).parent

# Installed through sitecustomize (found first on PYTHONPATH): importing the module named by
# SLOW_IMPORT takes one second more, and a file marks the moment it begins.
SITECUSTOMIZE = """\
import os, sys, time

class _SlowImport:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["SLOW_IMPORT"]:
            open(os.environ["SLOW_IMPORT_MARK"], "w").close()
            time.sleep(1)
        return None

sys.meta_path.insert(0, _SlowImport())
"""


@pytest.mark.parametrize(
    "command, slowed",
    [
        (CLI, "earlyexit_tutorial.commands.cli"),
        ([str(BIN / "earlyexit-tutorial")], "earlyexit_tutorial.commands.cli"),
        ([str(BIN / "earlyexit-tutorial-notebooks"), "never-created"], "earlyexit_tutorial.commands.copy_notebooks"),
    ],
    ids=["python -m", "console script", "notebooks script"],
)
def test_ctrl_c_during_the_start_up_imports_is_one_line_and_status_130(tmp_path, command, slowed):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    mark = tmp_path / "importing"
    path = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, SLOW_IMPORT=slowed, SLOW_IMPORT_MARK=str(mark))
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=default_sigint,
    )
    try:
        deadline = time.monotonic() + 60
        while not mark.exists():
            assert proc.poll() is None, f"ended before importing {slowed}: {proc.communicate()}"
            assert time.monotonic() < deadline, f"{slowed} was never imported"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)  # within the import's extra second
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert stderr == "Interrupted\n"
    assert proc.returncode == 130
    assert stdout == ""
    assert not (tmp_path / "never-created").exists()
