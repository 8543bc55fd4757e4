"""The test tiers: every test is marked by where it lives, and `--fast` runs exactly the unmarked ones."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest

from . import conftest

ROOT = Path(__file__).resolve().parents[1]


def test_every_tier_marker_is_registered_and_every_registered_marker_is_a_tier():
    registered = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    names = {line.split(":", 1)[0] for line in registered["markers"]}
    assert names == conftest.TIER_MARKERS
    assert "--strict-markers" in registered["addopts"].split()  # a mistyped marker is an error, not a new tier


@pytest.mark.parametrize(
    "path, function, markers",
    [
        ("tests/test_core.py", "test_anything", set()),
        ("notebooks/01-early-exit.ipynb", "Cell 3", {"notebooks"}),
        ("tests/browser/test_lab_notebooks.py", "test_anything", {"browser"}),
        ("tests/browser/test_site.py", "test_anything", {"browser", "site"}),
        ("tests/test_kernel_interrupt.py", "test_anything", {"kernel"}),
        ("tests/test_guard.py", "test_ctrl_c_at_random_moments_always_ends_the_call_cleanly", {"slow"}),
        ("tests/test_guard.py", "test_an_ignored_ctrl_c_stays_ignored", set()),
        ("tests/test_sitemap.py", "test_anything", set()),  # a prefix of a file name is not that file
    ],
)
def test_a_test_gets_the_markers_of_every_key_that_covers_it(path, function, markers):
    assert conftest.tier_markers(path, function) == markers


def test_a_table_entry_for_a_missing_file_or_test_stops_the_run(monkeypatch):
    monkeypatch.setattr(conftest, "TIERS", {"tests/test_gone.py": ("slow",)})
    with pytest.raises(pytest.UsageError, match="tests/test_gone.py, which does not exist"):
        conftest._check_table([])
    monkeypatch.setattr(conftest, "TIERS", {"tests/test_core.py::test_renamed_since": ("slow",)})
    collected = types.SimpleNamespace(path=ROOT / "tests" / "test_core.py", module=types.ModuleType("test_core"))
    with pytest.raises(pytest.UsageError, match="test_core.py::test_renamed_since, which does not exist"):
        conftest._check_table([collected])


def _collect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"},
    )


def test_fast_keeps_the_unmarked_tests_and_collects_no_notebook_cell():
    done = _collect("--fast", "tests/test_core.py", "tests/test_kernel_interrupt.py", "notebooks")
    assert done.returncode == 0, done.stdout + done.stderr
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids and all(i.startswith("tests/test_core.py::") for i in ids), ids
    without = _collect("tests/test_kernel_interrupt.py", "notebooks")
    assert "notebooks/01-early-exit.ipynb::Cell 0" in without.stdout  # nbval collects them without --fast


def test_fast_with_nothing_left_to_run_fails_with_pytests_no_tests_status():
    done = _collect("--fast", "tests/test_kernel_interrupt.py")
    assert done.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, done.stdout + done.stderr
