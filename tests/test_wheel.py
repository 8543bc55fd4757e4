"""The wheel carries the notebooks: installed into a fresh virtual environment, its command copies them
and they pass strict nbval."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
# What a pip user adds to run the notebooks' checks. The wheel is installed as the README says,
# with its `lab` extra: notebook 03 compiles C with ziglang.
CHECK_TOOLS = ["pytest>=8", "nbval>=0.11", "ipykernel>=6.29"]
# Not part of the package's source: a copy without them builds the same wheel, faster.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "screenshots", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis"
)


def _run(args: list, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    # No source tree on the path: only what the virtual environment installed.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy of the tree, so no stale build/ folder of the checkout can slip into it.
    source = tmp_path_factory.mktemp("source") / "earlyexit-tutorial"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    shutil.rmtree(source / "docs" / "notebooks", ignore_errors=True)
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, source], cwd=out)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("earlyexit_tutorial-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel, its `lab` extra and the notebook-checking tools installed."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    done = _run([sys.executable, "-m", "venv", home], cwd=home.parent)
    assert done.returncode == 0, done.stderr
    done = _run(
        [home / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[lab]", *CHECK_TOOLS],
        cwd=home.parent,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return home


def test_the_wheel_holds_the_notebooks_and_the_licence(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for notebook in NOTEBOOKS:
            assert archive.read(f"earlyexit_tutorial/tutorial_notebooks/{notebook.name}") == notebook.read_bytes()
        assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
        assert (
            "earlyexit-tutorial-notebooks = earlyexit_tutorial._entry:notebooks"
            in archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
        )


def test_the_wheel_holds_the_examples_the_notebooks_point_to(wheel):
    with zipfile.ZipFile(wheel) as archive:
        for script in EXAMPLES:
            assert archive.read(f"earlyexit_tutorial/tutorial_examples/{script.name}") == script.read_bytes()


def test_copied_notebooks_pass_strict_nbval_in_the_fresh_environment(venv, tmp_path):
    where = _run(
        [venv / "bin" / "python", "-c", "import earlyexit_tutorial; print(earlyexit_tutorial.__file__)"], cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), f"imported from {where.stdout.strip()}"

    done = _run([venv / "bin" / "earlyexit-tutorial-notebooks", "class"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "jupyter lab 01-early-exit.ipynb" in done.stdout
    folder = tmp_path / "class"
    assert sorted(p.name for p in folder.iterdir()) == sorted([p.name for p in NOTEBOOKS] + ["examples"])
    assert sorted(p.name for p in (folder / "examples").iterdir()) == [p.name for p in EXAMPLES]

    again = _run([venv / "bin" / "python", "-m", "earlyexit_tutorial.commands.copy_notebooks", "class"], cwd=tmp_path)
    assert again.returncode == 2 and "nothing copied" in again.stderr

    checked = _run(
        [
            venv / "bin" / "python",
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            "--nbval-cell-timeout=120",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            folder,
            folder,
        ],
        cwd=folder,
        timeout=600,
    )
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert " passed" in checked.stdout and "failed" not in checked.stdout


def test_the_guide_run_and_its_exit_statuses_are_unchanged(venv, tmp_path):
    python = venv / "bin" / "python"
    guide = _run([python, "-m", "earlyexit_tutorial"], cwd=tmp_path, timeout=60)
    assert (guide.returncode, guide.stdout.splitlines()) == (
        0,
        [
            "Compiling module...",
            "Instantiating module...",
            "Calling `run` function...",
            "Exited early with exit code: 1",
        ],
    )
    assert _run([python, "-m", "earlyexit_tutorial", "--host", "return"], cwd=tmp_path, timeout=60).returncode == 1
    assert _run([python, "-m", "earlyexit_tutorial", "--exit-code", "-1"], cwd=tmp_path, timeout=60).returncode == 2
