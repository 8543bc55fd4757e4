"""The code stays as clean as it was left: ruff (lint and format) and mypy, as `make lint` runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def find_tool(name: str) -> str | None:
    """The tool installed beside this Python (bin/, or Scripts\\ and .exe on Windows), else the one on PATH."""
    # A venv's python.exe sits in Scripts\ itself; a base install's sits above Scripts\.
    home = Path(sys.executable).parent
    beside = shutil.which(name, path=os.pathsep.join(str(d) for d in (home, home / "Scripts")))
    return beside or shutil.which(name)


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = find_tool(name)
    if path is None:
        pytest.skip(f"{name} is not installed beside this Python or on PATH (pip install --group lint)")
    return subprocess.run([path, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    done = tool("ruff", "check", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout[-3000:]


def test_ruff_would_reformat_nothing() -> None:
    done = tool("ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_finds_nothing_in_the_package() -> None:
    done = tool("mypy")
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_tools_are_found_with_windows_names_and_folders(tmp_path, monkeypatch) -> None:
    # A Windows venv: python.exe and ruff.exe both in Scripts\; a base install: python.exe above it.
    for layout in ("venv", "base"):
        home = tmp_path / layout
        scripts = home / "Scripts"
        scripts.mkdir(parents=True)
        python = (scripts if layout == "venv" else home) / "python.exe"
        python.write_bytes(b"")
        (scripts / "ruff.exe").write_bytes(b"")
        monkeypatch.setattr(sys, "executable", str(python))
        monkeypatch.setenv("PATHEXT", ".COM;.EXE;.BAT")
        monkeypatch.setenv("PATH", "")
        found = find_tool("ruff")
        if os.name == "nt":
            assert found is not None and Path(found).resolve() == (scripts / "ruff.exe").resolve()
        else:  # shutil.which adds no .exe here, and the file is not executable: the folders are what is checked
            (scripts / "ruff").write_bytes(b"")
            (scripts / "ruff").chmod(0o755)
            assert Path(find_tool("ruff")) == scripts / "ruff"
