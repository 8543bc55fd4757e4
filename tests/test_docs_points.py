"""What a new reader of the notebooks and the README relies on is said, where and before it is needed.

Each test checks one thing a reader tripped over: a claim one notebook makes about another,
a package a cell needs, the oldest wasmtime, a helper that must read every backtrace, and what
the guard does when a call is stopped.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from earlyexit_tutorial import LOOPING_WAT, Example, Interrupted
from earlyexit_tutorial.interrupting.limits import DEFAULT_TIMEOUT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NB01, NB02, NB03 = (
    ROOT / "notebooks" / name
    for name in ("01-early-exit.ipynb", "02-interrupting-from-outside.ipynb", "03-a-guest-in-c.ipynb")
)
README = (ROOT / "README.md").read_text(encoding="utf-8")
FLOOR = re.fullmatch(
    r"wasmtime>=(\d+)",
    next(
        d
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
        if d.startswith("wasmtime")
    ),
)[1]


def cells(path: Path) -> list[dict]:
    return [
        {**cell, "source": "".join(cell["source"])} for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
    ]


def markdown_before(path: Path, index: int) -> str:
    return "\n".join(cell["source"] for cell in cells(path)[:index] if cell["cell_type"] == "markdown")


def first_code_cell(path: Path, predicate) -> int:
    return next(i for i, cell in enumerate(cells(path)) if cell["cell_type"] == "code" and predicate(cell["source"]))


def outputs_text(cell: dict) -> str:
    return "".join("".join(output.get("text", "")) for output in cell.get("outputs", []))


def imported_modules(source: str) -> set[str]:
    """The top-level modules a cell imports, and those it runs with `-m` (as a compiler is)."""
    found = set(re.findall(r'"-m", "([A-Za-z_]\w*)"', source))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.partition(".")[0])
    return found


# --- a notebook names what it relies on before it uses it ----------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_package_a_cell_needs_is_named_before_that_cell(path):
    named_as = {"earlyexit_tutorial": ("`earlyexit_tutorial`", "the tutorial's package", "The tutorial's package")}
    for module in sorted(
        set().union(*(imported_modules(c["source"]) for c in cells(path) if c["cell_type"] == "code"))
    ):
        if module in sys.stdlib_module_names:
            continue
        where = first_code_cell(path, lambda source, module=module: module in imported_modules(source))
        before = markdown_before(path, where)
        assert any(name in before for name in named_as.get(module, (f"`{module}`",))), (
            f"{path.name} uses {module} in cell {where} before any text names it"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_names_the_oldest_wasmtime_next_to_its_plain_imports(path):
    where = first_code_cell(path, lambda source: "wasmtime" in imported_modules(source))
    (imports_text,) = [c["source"] for c in cells(path)[:where] if c["cell_type"] == "markdown"][-1:]
    assert f"`wasmtime` {FLOOR} or newer" in imports_text, imports_text


def test_notebook_03s_imports_say_the_compile_cell_needs_ziglang():
    where = first_code_cell(NB03, lambda source: "ziglang" in imported_modules(source))
    imports_text = markdown_before(NB03, where).split("## Imports", 1)[1]
    assert "ziglang" in imports_text and "nothing else but" not in imports_text
    assert "Every other plain cell runs with `wasmtime` alone" in imports_text


def test_notebook_01_shows_the_exceptions_context_that_notebook_03_refers_to():
    where = first_code_cell(NB01, lambda source: ".__context__" in source)
    assert "WasmtimeError | a WasmtimeError: True" in outputs_text(cells(NB01)[where])
    assert " - <unknown>!run" in outputs_text(cells(NB01)[where])
    claim = [c["source"] for c in cells(NB03) if "As notebook 01 showed, the exception's `__context__`" in c["source"]]
    assert claim, "notebook 03 no longer refers to notebook 01 here: drop this test's second half"


def test_notebook_01_tells_a_first_time_reader_to_run_all_cells_and_why():
    first_code = first_code_cell(NB01, lambda source: True)
    before = markdown_before(NB01, first_code)
    assert "Run ▸ Run All Cells" in before
    assert "untrusted" in before and "VBox(children=(HBox(" in before


def test_notebook_01_announces_the_fourth_outcome_in_its_overview():
    (overview,) = [c["source"] for c in cells(NB01) if c["source"].startswith("## Overview")]
    assert "the guide's three outcomes" in overview and "**fourth outcome**" in overview


def test_define_and_define_func_are_told_apart_before_notebook_03_uses_define_func():
    for path in (NB01, NB03):
        where = first_code_cell(path, lambda source: "define_func(" in source or "linker.define(" in source)
        text = markdown_before(path, where + 1)
        assert "`linker.define_func(module, name, type, function)`" in text, path.name
    where = first_code_cell(NB03, lambda source: "define_func(" in source)
    assert "`Func(store, ...)` belongs to the one store" in markdown_before(NB03, where)


def test_notebook_03_shows_that_the_plain_exit_code_is_an_other_error_to_example():
    where = first_code_cell(NB03, lambda source: "raise ExitCode(2)" in source and "Example(" in source)
    assert outputs_text(cells(NB03)[where]).startswith("OtherError | Unknown error `2` found.")


def test_no_notebook_calls_the_wakeup_a_pipe():
    # The guard wakes up through a socket pair (a pipe does not work on Windows); its help says so too.
    for path in NOTEBOOKS:
        text = " ".join(c["source"] for c in cells(path) if c["cell_type"] == "markdown")
        assert not re.search(r"wakeup pipe|at a pipe", text), path.name
    assert "wakeup socket" in " ".join(c["source"] for c in cells(NB02))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_table_has_more_than_four_columns(path):
    # Five columns are squeezed to a word or two a line on the site's page.
    for cell in cells(path):
        if cell["cell_type"] != "markdown":
            continue
        for line in cell["source"].splitlines():
            if re.fullmatch(r"\|( *-+ *\|)+", line.strip()):
                assert line.count("|") - 1 <= 4, f"{path.name}: {line}"


# --- wasm_frames reads every backtrace, stripped ones too ----------------------------------------


def notebook_wasm_frames():
    (source,) = [c["source"] for c in cells(NB03) if "def wasm_frames(" in c["source"]]
    namespace: dict = {"re": re}  # the notebook's imports cell brings re
    exec(compile(source.split("\n\n\nprint(", 1)[0], "notebook 03", "exec"), namespace)
    return namespace["wasm_frames"]


def backtrace_of(wasm: bytes, export: str) -> str:
    """The text of the wasmtime error that carried a host exception out of `export`."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, wasm)
    linker = wasmtime.Linker(engine)

    def stop(*args):
        raise LookupError("stop")

    for item in module.imports:
        linker.define_func(item.module, item.name, item.type, stop)
    function = linker.instantiate(store, module).exports(store)[export]
    try:
        function(store, *([1] * len(function.type(store).params)))
    except LookupError as error:
        return str(error.__context__)
    raise AssertionError("the host function did not stop the guest")


def test_wasm_frames_reads_frames_without_a_name_section():
    # No $names: the module has no name section, as a C guest compiled with -s.
    stripped = wasmtime.wat2wasm(
        '(module (import "env" "early_exit" (func)) (func (call 0)) (func (export "run") (call 1)))'
    )
    text = backtrace_of(stripped, "run")
    assert notebook_wasm_frames()(text) == ["<unknown>!<wasm function 1>", "<unknown>!<wasm function 2>"]


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("ziglang") is None, reason="compiling C needs the ziglang package"
)
def test_wasm_frames_reads_the_c_guest_compiled_with_s(tmp_path):
    (source,) = [
        c["source"] for c in cells(NB03) if c["source"].startswith("# plain wasmtime: copy this cell\nGUEST_C_SOURCE")
    ]
    namespace: dict = {}
    exec(source, namespace)
    (tmp_path / "guest.c").write_text(namespace["GUEST_C_SOURCE"], encoding="utf-8")
    (compile_cell,) = [
        c["source"] for c in cells(NB03) if c["source"].startswith("# plain wasmtime: copy this cell\nCOMPILE = [")
    ]
    flags = ast.literal_eval(
        compile_cell.split("COMPILE = ", 1)[1].split("\n]", 1)[0].replace("sys.executable,", "") + "\n]"
    )
    done = subprocess.run(
        [sys.executable, *flags, "-s", "-o", "guest.wasm", "guest.c"], cwd=tmp_path, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    frames = notebook_wasm_frames()(backtrace_of((tmp_path / "guest.wasm").read_bytes(), "run"))
    # tick stops the guest in work's loop: two frames, work and run, each without its name.
    assert len(frames) == 2 and all(re.fullmatch(r"<unknown>!<wasm function \d+>", f) for f in frames), frames


# --- the guard's behaviour, said one way ----------------------------------------------------------


def test_a_fuel_stop_keeps_the_deadline_that_applied():
    example = Example(LOOPING_WAT)
    outcome = example.run(0, 0, fuel=10_000)
    assert isinstance(outcome, Interrupted) and outcome.reason == "fuel"
    assert outcome.timeout == DEFAULT_TIMEOUT
    assert example.run(0, 0, fuel=10_000, timeout=3).timeout == 3


def test_the_texts_say_a_stop_ends_its_own_call_and_ctrl_c_comes_out_as_keyboard_interrupt():
    texts = {
        path.name: " ".join(c["source"] for c in cells(path) if c["cell_type"] == "markdown") for path in NOTEBOOKS
    }
    texts["README.md"] = README
    for name, text in texts.items():
        flat = " ".join(text.split())
        # The engine-wide stop is said once, in the README, as what an older wasmtime does.
        if name != "README.md":
            assert "every guarded call on" not in flat, name
    for name in ("README.md", NB02.name, NB03.name):
        assert "KeyboardInterrupt" in texts[name], name
    for name in ("README.md", NB01.name, NB02.name, NB03.name):
        flat = " ".join(texts[name].split())
        assert re.search(r"A stop ends only (its own|the|this) call", flat), name
    assert README.count("every guarded call on that engine") == 1
