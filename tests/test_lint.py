"""The code stays as clean as it was left: ruff (lint and format) and mypy, as `make lint` runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed beside this Python (pip install -e '.[test]')")
    return subprocess.run([str(path), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    done = tool("ruff", "check", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout[-3000:]


def test_ruff_would_reformat_nothing() -> None:
    done = tool("ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_finds_nothing_in_the_package() -> None:
    done = tool("mypy")
    assert done.returncode == 0, done.stdout[-3000:]
