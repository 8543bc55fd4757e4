"""The notebooks' plain-wasmtime cells are a program a learner can copy: it runs without this package."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import earlyexit_tutorial

from .helpers import BLOCKER

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
NB01 = NOTEBOOKS_DIR / "01-early-exit.ipynb"
NB02 = NOTEBOOKS_DIR / "02-interrupting-from-outside.ipynb"
TAG = "plain-wasmtime"
MARKER = "# plain wasmtime: copy this cell"  # the first line a learner sees on each cell to copy
PACKAGE = "earlyexit_tutorial"
GUIDE_OUTPUT = [
    "Compiling module...",
    "Instantiating module...",
    "Calling `run` function...",
    "Exited early with exit code: 1",
]


def code_cells(path: Path) -> list[dict]:
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tagged(cell: dict) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])


def plain_cells(path: Path) -> list[str]:
    """The sources of the cells a learner copies, in notebook order."""
    return [source(cell) for cell in code_cells(path) if tagged(cell)]


def plain_program(path: Path) -> str:
    """What a learner copies: every cell tagged plain-wasmtime, in order, and nothing else."""
    return "\n\n".join(plain_cells(path)) + "\n"


def is_plain_import(node: ast.stmt) -> bool:
    """An import of wasmtime or of the standard library (never of the package)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
        names = [node.module or ""]
    else:
        return False
    tops = {name.partition(".")[0] for name in names}
    return tops <= set(sys.stdlib_module_names) | {"wasmtime"}


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_plain_cells_name_nothing_of_the_package(path):
    cells = plain_cells(path)
    assert cells, f"no cell tagged {TAG}"
    for text in cells:
        assert PACKAGE not in text, text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_cell_to_copy_says_so_on_its_first_line_and_only_those_do(path):
    for cell in code_cells(path):
        first_line = source(cell).partition("\n")[0]
        assert (first_line == MARKER) == tagged(cell), source(cell)[:200]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_cell_to_copy_holds_the_plain_imports_and_only_imports(path):
    first = ast.parse(plain_cells(path)[0]).body
    assert first and all(is_plain_import(node) for node in first), plain_cells(path)[0]
    assert any(isinstance(node, ast.Import) and node.names[0].name == "wasmtime" for node in first)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_cells_to_copy_import_nothing_outside_their_imports_cell(path):
    for text in plain_cells(path)[1:]:
        imports = [node for node in ast.walk(ast.parse(text)) if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert imports == [], text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_cells_to_copy_run_alone_in_order_without_the_package(path, tmp_path):
    result = run_without_package(plain_program(path), tmp_path)
    assert result.returncode == 0, result.stderr
    if path == NB01:
        # The guide's output, line for line: the copied program prints nothing more.
        assert result.stdout.splitlines() == GUIDE_OUTPUT


def package_imports(text: str) -> list[ast.stmt]:
    """The statements of `text` that import the package or one of its modules."""
    found = []
    for node in ast.walk(ast.parse(text)):
        imports_it = isinstance(node, ast.Import) and any(a.name.partition(".")[0] == PACKAGE for a in node.names)
        imports_from_it = isinstance(node, ast.ImportFrom) and (node.module or "").partition(".")[0] == PACKAGE
        if imports_it or imports_from_it:
            found.append(node)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_package_is_imported_in_one_cell_by_top_level_names_only(path):
    importing = [source(cell) for cell in code_cells(path) if package_imports(source(cell))]
    assert len(importing) <= 1, importing
    for text in importing:
        for node in package_imports(text):
            assert isinstance(node, ast.ImportFrom) and node.module == PACKAGE, ast.unparse(node)
            for alias in node.names:
                assert hasattr(earlyexit_tutorial, alias.name), f"{alias.name} is not a top-level name"
                assert alias.name in earlyexit_tutorial.__all__, f"{alias.name} is missing from __all__"


def test_notebook_02_epoch_fuel_and_wasi_cells_run_as_a_plain_program(tmp_path):
    result = run_without_package(plain_program(NB02), tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "spin trapped with TrapCode.INTERRUPT" in lines
    assert "spin trapped with TrapCode.OUT_OF_FUEL | fuel left: 0" in lines
    assert "add(1, 7) on the empty tank trapped with TrapCode.OUT_OF_FUEL" in lines
    assert "after set_fuel: add(1, 7) = 8" in lines
    assert lines[-2:] == ["the program called proc_exit with status 3", "a Trap? False | a WasmtimeError? True"]


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
