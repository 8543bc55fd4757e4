"""Build the tutorial's site once per test session, as `make site` does (warnings are errors)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE_BUILD_TIMEOUT = 300  # the first build also fetches the widget bundle with npm

_built: dict[str, object] = {}  # "html": the built folder, or "error": why the build failed


def build_site(out: Path) -> subprocess.CompletedProcess:
    """Run Sphinx on docs/ into `out` with -W, as `make site` does."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(out / ".doctrees"),
            str(ROOT / "docs"),
            str(out / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=SITE_BUILD_TIMEOUT,
        cwd=ROOT,
    )


def built_site(tmp_path_factory) -> Path:
    """The folder of the built site; the build runs on first use, and a failed build fails every caller."""
    fetched = any((ROOT / "build" / "docs-cache").glob("*/widgets/embed.js"))
    if (
        not fetched
        and shutil.which("npm") is None
        and os.environ.get("CI", "").strip().lower() not in {"1", "true", "yes"}
    ):
        # As for Chromium: skipped on a learner's machine, a failure in CI.
        pytest.skip("the site build fetches one npm package once, and npm is not on PATH (apt-get install npm)")
    if not _built:
        done = build_site(tmp_path_factory.mktemp("site"))
        if done.returncode == 0:
            _built["html"] = Path(done.args[-1])
        else:
            _built["error"] = f"the site build failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
    if "error" in _built:
        raise AssertionError(_built["error"])
    return _built["html"]
