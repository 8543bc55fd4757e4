"""The sdist is what conda-forge and distributions build from and test: built as they build it
(`python -m build --sdist`), it holds every file the repository tracks, and its quick tier passes
once extracted, with nothing but the extracted tree on the path."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Not part of the source: what builds, runs and editors leave in a checkout.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "screenshots", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis"
)
# Files the sdist must never carry, wherever they are.
NEVER = ("__pycache__/", ".pyc", ".ipynb_checkpoints/")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def _tracked_files() -> list[str]:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout (an extracted sdist has no list of tracked files)")
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return [name for name in done.stdout.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    if importlib.util.find_spec("build") is None:
        pytest.skip("the build frontend is not installed: pip install --group build")
    # Built from a copy, so no egg-info or build/ folder of the checkout can add stale files to it.
    source = tmp_path_factory.mktemp("source") / "earlyexit-tutorial"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    shutil.rmtree(source / "docs" / "notebooks", ignore_errors=True)
    shutil.rmtree(source / "notebooks" / "c-guest", ignore_errors=True)
    out = tmp_path_factory.mktemp("sdist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(source)],
        # The environment as it is: PYTHONPATH may be where `build` itself was found.
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (path,) = out.glob("earlyexit_tutorial-*.tar.gz")
    return path


def _members(sdist: Path) -> tuple[str, set[str]]:
    with tarfile.open(sdist) as archive:
        names = [m.name for m in archive.getmembers() if m.isfile()]
    top = names[0].split("/", 1)[0]
    return top, {name.split("/", 1)[1] for name in names}


def test_the_sdist_holds_every_tracked_file_and_nothing_a_build_leaves(sdist):
    top, members = _members(sdist)
    assert top == sdist.name.removesuffix(".tar.gz")
    missing = sorted(set(_tracked_files()) - members)
    assert not missing, f"the sdist lacks {missing} (MANIFEST.in)"
    # What setuptools adds of its own, and nothing a build, a site build or a notebook run leaves.
    assert "PKG-INFO" in members
    untracked = sorted(
        m for m in members if m.startswith(("build/", "dist/", "docs/notebooks/", "notebooks/c-guest/", ".venv"))
    )
    assert not untracked, untracked
    assert not [m for m in members if any(part in m for part in NEVER)]


def test_the_quick_tier_passes_in_the_extracted_sdist(sdist, tmp_path):
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python 3.10.12 and later
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, **safe)
    (tree,) = tmp_path.iterdir()
    env = _env(PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    where = subprocess.run(
        [sys.executable, "-c", "import earlyexit_tutorial; print(earlyexit_tutorial.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(tree), f"imported from {where.stdout.strip()}"

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--fast", "-n", "auto", "-q", "-p", "no:cacheprovider"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
