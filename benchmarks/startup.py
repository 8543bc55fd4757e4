"""Running the notebooks headless, and the command line's cold start."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def notebook_seconds(path: Path | None, *, runs: int = 3, timeout: int = 120) -> list[float]:
    """Seconds nbclient takes to execute a notebook headless (None: an empty one)."""
    import nbclient
    import nbformat

    times = []
    for _ in range(runs):
        notebook = nbformat.v4.new_notebook() if path is None else nbformat.read(path, as_version=4)
        cwd = str((path or NOTEBOOKS / "empty.ipynb").parent)
        client = nbclient.NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}}
        )
        start = time.perf_counter()
        # A kernel starts even for no cells: that is the baseline. Its own
        # stderr only carries start-up warnings; cell output comes as messages.
        client.execute(stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


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


def ratio(numerator: list[float], denominator: list[float]) -> float:
    """Ratio of the medians of two lists of times."""
    return statistics.median(numerator) / statistics.median(denominator)
