"""The package's public names are the ones the notebooks and the tests use, and each one imports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import earlyexit_tutorial

ROOT = Path(__file__).resolve().parents[1]


def users_text() -> str:
    """The code of the notebooks and of the tests (this file aside)."""
    parts = [p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != Path(__file__).name]
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text())["cells"]
        parts += ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return "\n".join(parts)


def test_every_public_name_is_used_by_a_notebook_or_a_test():
    text = users_text()
    unused = [name for name in earlyexit_tutorial.__all__ if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert not unused, f"in __all__ but used by no notebook and no test: {unused}"


def test_every_public_name_imports():
    for name in earlyexit_tutorial.__all__:
        assert getattr(earlyexit_tutorial, name) is not None, name
