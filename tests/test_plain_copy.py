"""The notebooks' plain-wasmtime cells are a program a learner can copy: it runs without this package."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import earlyexit_tutorial

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NB01 = NOTEBOOKS / "01-early-exit.ipynb"
NB02 = NOTEBOOKS / "02-interrupting-from-outside.ipynb"
TAG = "plain-wasmtime"
PACKAGE = "earlyexit_tutorial"

# Put first in the copied program: any import of the package fails, even though
# it is installed in this environment, as on a learner's machine that only ran
# `pip install wasmtime`.
BLOCKER = textwrap.dedent(
    f"""\
    import sys


    class _NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] == {PACKAGE!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}")
            return None


    sys.meta_path.insert(0, _NotInstalled())
    """
)


def code_cells(path: Path) -> list[dict]:
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tagged(cell: dict) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])


def plain_imports(imports_cell: str) -> str:
    """The Imports cell's imports of the standard library and wasmtime: everything but the package."""
    kept = [
        node
        for node in ast.parse(imports_cell).body
        if isinstance(node, ast.Import) and all(alias.name.partition(".")[0] != PACKAGE for alias in node.names)
        or isinstance(node, ast.ImportFrom) and (node.module or "").partition(".")[0] != PACKAGE
    ]
    return "\n".join(ast.unparse(node) for node in kept)


def plain_program(path: Path) -> str:
    """What a learner copies: the Imports cell's plain imports, then every cell tagged plain-wasmtime."""
    cells = code_cells(path)
    parts = [plain_imports(source(cells[0]))]
    parts += [source(cell) for cell in cells[1:] if tagged(cell)]
    return "\n\n".join(parts) + "\n"


def run_without_package(program: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run `program` in a fresh, isolated interpreter (-I) from an empty directory, the package blocked."""
    script = tmp_path / "copied.py"
    script.write_text(BLOCKER + "\n\n" + program)
    return subprocess.run(
        [sys.executable, "-I", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_the_blocker_really_hides_the_package(tmp_path):
    result = run_without_package(f"import {PACKAGE}\n", tmp_path)
    assert result.returncode != 0
    assert f"ModuleNotFoundError: No module named '{PACKAGE}'" in result.stderr


@pytest.mark.parametrize("path", [NB01, NB02], ids=lambda p: p.name)
def test_plain_cells_name_nothing_of_the_package(path):
    cells = [source(cell) for cell in code_cells(path) if tagged(cell)]
    assert cells, f"no cell tagged {TAG}"
    for text in cells:
        assert PACKAGE not in text, text


def test_notebook_01_imports_only_wasmtime_and_the_standard_library_up_front():
    first = code_cells(NB01)[0]
    assert tagged(first)
    assert plain_imports(source(first)) == ast.unparse(ast.parse(source(first)))


def test_notebook_01_imports_the_package_in_one_cell():
    importing = [source(cell) for cell in code_cells(NB01) if PACKAGE in source(cell)]
    assert len(importing) == 1, importing
    assert all(line.startswith("from earlyexit_tutorial") for line in importing[0].splitlines() if line)


def test_notebook_01_steps_1_to_4_run_as_a_plain_program(tmp_path):
    result = run_without_package(plain_program(NB01), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Compiling module...",
        "Instantiating module...",
        "run takes [i32, i32] and returns [i32]",
        "Calling `run` function...",
        "Exited early with exit code: 1",
    ]
    assert result.stdout.rstrip().endswith("Exited early with exit code: 1"), result.stdout


def test_notebook_02_epoch_and_fuel_sections_run_as_a_plain_program(tmp_path):
    result = run_without_package(plain_program(NB02), tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "spin trapped with TrapCode.INTERRUPT" in lines
    assert "spin trapped with TrapCode.OUT_OF_FUEL | fuel left: 0" in lines
    assert "add(1, 7) on the empty tank trapped with TrapCode.OUT_OF_FUEL" in lines
    assert lines[-1] == "after set_fuel: add(1, 7) = 8"


def notebook_01_namespace() -> dict:
    """Run notebook 01's plain program in this process and return its globals."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(plain_program(NB01), str(NB01), "exec"), namespace)
    return namespace


def test_the_notebooks_exit_code_behaves_like_the_packages():
    theirs, ours = notebook_01_namespace()["ExitCode"], earlyexit_tutorial.ExitCode
    assert issubclass(theirs, Exception) and issubclass(ours, Exception)
    for code in (0, 1, 42, 2**32 - 1):
        a, b = theirs(code), ours(code)
        assert (str(a), a.code, repr(a)) == (str(b), b.code, repr(b)) == (str(code), code, f"ExitCode({code})")
    for bad in (-1, 2**32):
        for cls in (theirs, ours):
            with pytest.raises(ValueError, match=r"0\.\.4294967295"):
                cls(bad)
    for wrong_type in (1.5, "1", None):
        for cls in (theirs, ours):
            with pytest.raises(TypeError):
                cls(wrong_type)


def test_the_notebooks_guest_is_the_packages_guest():
    # The package's diagram and playground describe GUEST_WAT: the copy in the notebook must not drift.
    assert notebook_01_namespace()["GUEST_WAT"] == earlyexit_tutorial.GUEST_WAT


def test_the_notebooks_host_function_raises_its_exit_code():
    namespace = notebook_01_namespace()
    with pytest.raises(namespace["ExitCode"]) as raised:
        namespace["early_exit"]()
    assert raised.value.code == 1
