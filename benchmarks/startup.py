"""Running the notebooks headless, and the command line's cold start."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .stats import wall_times

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def compile_package() -> None:
    """Write the package's bytecode (__pycache__), as installing it with pip does."""
    import compileall

    # A learner's Python reads the package from cached bytecode: pip compiles it
    # on install, and an editable install caches it on first import. With
    # PYTHONDONTWRITEBYTECODE set (some CI images set it) nothing is cached, and
    # every start would compile the package's source again (~13 ms here), a cost
    # no learner pays; so the start-up rows measure with the bytecode in place.
    compileall.compile_dir(str(ROOT / "earlyexit_tutorial"), quiet=1)


def floor_notebook(notebook: Any) -> Any:
    """The notebook with every code cell's source replaced by `pass`: the same kernel and cell count, no work."""
    import copy

    floor = copy.deepcopy(notebook)
    for cell in floor.cells:
        if cell.cell_type == "code":
            cell.source = "pass"
            cell.outputs = []
    return floor


def execute_seconds(notebook: Any, cwd: Path, *, timeout: int = 120) -> float:
    """Seconds nbclient takes to execute a notebook headless, kernel start-up included."""
    import nbclient

    client = nbclient.NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    start = time.perf_counter()
    # Its own stderr only carries start-up warnings; cell output comes as messages.
    client.execute(stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def notebook_times(path: Path, *, runs: int = 3, timeout: int = 120) -> dict[str, list[float]]:
    """Seconds per headless run of a notebook and of its floor notebook (code cells of `pass`), interleaved."""
    import nbformat

    original = nbformat.read(path, as_version=4)
    times: dict[str, list[float]] = {"notebook": [], "floor": []}
    for _ in range(runs):
        times["floor"].append(execute_seconds(floor_notebook(original), path.parent, timeout=timeout))
        times["notebook"].append(execute_seconds(nbformat.read(path, as_version=4), path.parent, timeout=timeout))
    return times


def code_cells(path: Path) -> int:
    """How many code cells a notebook has."""
    import nbformat

    return sum(cell.cell_type == "code" for cell in nbformat.read(path, as_version=4).cells)


def notebook_paths() -> list[Path]:
    """The tutorial's notebooks, in order."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def cold_starts(*, runs: int = 10) -> dict[str, list[float]]:
    """Seconds per cold `python -m earlyexit_tutorial` (with and without --help), `import wasmtime` and bare Python."""
    commands = {
        "module": [sys.executable, "-m", "earlyexit_tutorial"],
        "import": [sys.executable, "-c", "import wasmtime"],
        "help": [sys.executable, "-m", "earlyexit_tutorial", "--help"],
        "bare": [sys.executable, "-c", "pass"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    # Interleaved, so that a busy moment on the machine hits both alike.
    for _ in range(runs):
        for name, argv in commands.items():
            times[name] += wall_times(argv, runs=1, cwd=str(ROOT))
    return times
