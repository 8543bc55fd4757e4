"""The package's layout shows its architecture, and the house rules hold for every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "earlyexit_tutorial"
MODULES = sorted(path for path in PACKAGE.rglob("*.py") if "tutorial_notebooks" not in path.parts)

# The layers, bottom first: a module may import from its own layer and the ones below.
# The notebook aids sit above the command lines: the self-check runs the command line to check an answer.
LAYERS = ["_support", "interrupting", "guide", "commands", "aids"]
TOP = len(LAYERS)  # __init__, __main__ and _entry sit above every layer


def layer_of(path: Path) -> int:
    parts = path.relative_to(PACKAGE).parts
    return LAYERS.index(parts[0]) if len(parts) > 1 else TOP


def imported_layers(path: Path) -> set[int]:
    """The layers a module imports from, read from its relative imports."""
    here = path.relative_to(PACKAGE).parent.parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(here[: len(here) - (node.level - 1)])
            target = base + (node.module.split(".") if node.module else [])
            if not target and node.names:
                target = [node.names[0].name]
            if target and target[0] in LAYERS:
                found.add(LAYERS.index(target[0]))
            elif target:
                found.add(TOP)
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_layer_above_its_own(path: Path) -> None:
    assert max(imported_layers(path), default=0) <= layer_of(path)


def test_the_layer_check_reads_real_imports_across_layers() -> None:
    # Without this, a reader that found no import at all would pass the test above.
    assert LAYERS.index("interrupting") in imported_layers(PACKAGE / "guide" / "outcome.py")
    assert LAYERS.index("guide") in imported_layers(PACKAGE / "aids" / "widgets.py")
    assert LAYERS.index("commands") in imported_layers(PACKAGE / "_entry.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_at_most_350_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 350


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_function_is_at_most_60_lines(path: Path) -> None:
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long == []


@pytest.mark.parametrize("path", sorted((ROOT / "tests").rglob("test_*.py")), ids=lambda p: p.name)
def test_every_test_file_is_at_most_600_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 600


def test_the_readme_layout_table_names_every_module() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Layout") : readme.index("## The command line")]
    named = set(re.findall(r"`([\w/]+\.py)`", table))
    missing = []
    for path in MODULES:
        relative = path.relative_to(PACKAGE)
        if relative.name == "__init__.py" and len(relative.parts) > 1:
            continue  # a subpackage's own row names its folder
        candidates = {str(relative), f"earlyexit_tutorial/{relative}", relative.name}
        if not candidates & named:
            missing.append(str(relative))
    assert missing == []


def import_graph() -> dict[str, set[str]]:
    """Each module (dotted, relative to the package) -> the package modules it imports, anywhere in it."""
    names = {".".join(path.relative_to(PACKAGE).with_suffix("").parts): path for path in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        package = name.split(".")[:-1] if not name.endswith("__init__") else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
                for alias in node.names:  # `from . import _calls` names a module
                    dotted = ".".join([*target, alias.name])
                    found.add(dotted if dotted in names else ".".join(target) or "__init__")
        graph[name] = {t if t in names else f"{t}.__init__" if f"{t}.__init__" in names else t for t in found} - {name}
    return graph


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif len(path) < 12:
                visit(nxt, [*path, nxt])

    for start in graph:
        if start != "__init__":  # the public surface imports every module, lazily, and none imports it
            visit(start, [start])
    assert cycles == []


def test_the_cycle_check_reads_real_imports() -> None:
    graph = import_graph()
    assert "interrupting._calls" in graph["interrupting._watcher"]
    assert "guide.outcome" in graph["guide.running"]
