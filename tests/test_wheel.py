"""The wheel carries the notebooks: installed into a fresh virtual environment, its command copies them
and they pass strict nbval."""

from __future__ import annotations

import importlib.util
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


def test_the_wheels_metadata_is_what_a_pypi_reader_expects(wheel):
    from email.parser import Parser

    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    metadata = Parser().parsestr(text)
    assert metadata["Maintainer"] and metadata["Author"]
    description = metadata.get_payload()
    assert description.lstrip().startswith("```bash\npip install 'earlyexit-tutorial[lab]'\n"), description[:200]
    assert metadata["Description-Content-Type"] == "text/markdown"
    # The development tools are dependency groups: no extra of the published package brings them.
    assert sorted(metadata.get_all("Provides-Extra")) == ["docs", "lab"]
    required = " ".join(metadata.get_all("Requires-Dist")).lower()
    for tool in ("pytest", "ruff", "mypy", "playwright", "xdist", "nbval", "hypothesis"):
        assert tool not in required, tool
    classifiers = metadata.get_all("Classifier")
    assert "Operating System :: OS Independent" not in classifiers
    assert "Operating System :: POSIX :: Linux" in classifiers


def _source_modules() -> set[str]:
    """The .py files of each package pyproject.toml lists, named as the wheel names them."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = setuptools.get("package-dir", {})
    modules = set()
    for package in setuptools["packages"]:
        inside = package.replace(".", "/")
        folder = ROOT / folders.get(package, inside)
        modules |= {f"{inside}/{path.name}" for path in folder.glob("*.py")}
    return modules


def test_the_wheel_holds_each_module_of_the_package_and_no_other(wheel):
    with zipfile.ZipFile(wheel) as archive:
        modules = {name for name in archive.namelist() if name.endswith(".py")}
    assert modules == _source_modules()


@pytest.mark.skipif(shutil.which("make") is None or os.name == "nt", reason="the Makefile needs make and a POSIX shell")
def test_make_wheel_leaves_out_a_module_left_in_build_by_an_earlier_build(tmp_path):
    if importlib.util.find_spec("build") is None:
        pytest.skip("the build frontend is not installed: pip install --group build")
    source = tmp_path / "earlyexit-tutorial"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    # What setuptools' build/lib holds after a module was built once, then deleted from the source.
    stale = source / "build" / "lib" / "earlyexit_tutorial" / "deleted_module.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("GONE = True\n")
    # make's own Python in place of a venv: -o keeps make from installing the build group again.
    stamp = tmp_path / "build-installed"
    done = subprocess.run(
        ["make", "-o", str(stamp), "wheel", f"PY={sys.executable}", f"BUILD_STAMP={stamp}"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (built,) = (source / "dist").glob("earlyexit_tutorial-*.whl")
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
    assert "earlyexit_tutorial/deleted_module.py" not in names
    assert "earlyexit_tutorial/__init__.py" in names


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
