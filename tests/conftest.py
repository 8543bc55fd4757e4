"""Shared fixtures (small guest modules written the way a learner would) and the test tiers.

Every test gets its tier markers here, from where it lives, so test files carry
no tier marks of their own. The quick tier is every test with none of them:
`pytest --fast` (`make test-fast`, and CI's matrix) runs it, and TIERS below is
its only definition.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import ENDLESS_WAT

ROOT = Path(__file__).resolve().parents[1]

# Where a test lives -> its tier markers. A key is a folder (ending in "/"), a
# file, or "file::test function" (every parametrization of it); a test gets the
# markers of every key that covers it. Registered, with their meaning, in
# pyproject.toml.
TIERS: dict[str, tuple[str, ...]] = {
    "notebooks/": ("notebooks",),  # nbval: every notebook cell re-run in a kernel
    "tests/browser/": ("browser",),
    "tests/browser/test_site.py": ("site",),
    "tests/test_site.py": ("site",),
    "tests/test_wheel.py": ("wheel",),
    # Builds the sdist, then runs the quick tier inside it (a minute or two).
    "tests/test_sdist.py": ("wheel",),
    # A fresh virtual environment with JupyterLab in it, then a real server.
    "tests/test_environment.py::test_make_lab_serves_notebook_01_from_the_repository_with_only_the_lab_installed": (
        "wheel",
    ),
    "tests/test_environment.py::test_postbuild_run_for_real_installs_only_the_package_and_trusts_the_notebooks": (
        "wheel",
    ),
    "tests/test_kernel_interrupt.py": ("kernel",),
    "tests/test_notebooks.py::test_the_kernel_stop_cell_run_out_of_order_leaves_no_interrupt_behind": ("kernel",),
    # Stress and property tests: hundreds of runs each, seconds per test.
    "tests/test_fuzz.py": ("slow",),
    "tests/test_properties.py": ("slow",),
    "tests/test_collect.py": ("slow",),
    "tests/test_memory.py": ("slow",),
    # Notebook 04's server: neighbours of a second of wasm each, and pools of worker processes.
    "tests/test_load.py::test_a_request_stopped_next_to_running_neighbours_ends_alone": ("slow",),
    "tests/test_load.py::test_a_process_pool_serves_requests_within_seconds": ("slow",),
    "tests/test_guard.py::test_ctrl_c_at_random_moments_always_ends_the_call_cleanly": ("slow",),
    "tests/test_guard.py::test_ctrl_c_during_a_start_function_through_the_command_line": ("slow",),
    "tests/test_guard_neighbours.py::test_stopping_one_call_leaves_its_neighbour_on_the_same_engine_running": ("slow",),
    "tests/test_guard_lost_tick.py::test_a_stop_next_to_a_neighbours_deadline_tick_always_ends_its_call": ("slow",),
    "tests/test_guard_keyboard_interrupt.py::test_ctrl_c_in_a_sleeping_block_raises_at_once_five_times": ("slow",),
    "tests/test_cli.py::test_ctrl_c_at_any_moment_of_start_up_is_one_line_or_nothing": ("slow",),
    "tests/test_examples.py::test_ctrl_c_at_random_moments_stops_the_guest_with_one_line_and_status_130": ("slow",),
    # mypy takes seconds to check the package from cold.
    "tests/test_lint.py::test_mypy_finds_nothing_in_the_package": ("slow",),
    # A whole pytest collection in a subprocess each.
    "tests/test_tiers.py::test_fast_keeps_the_unmarked_tests_and_collects_no_notebook_cell": ("slow",),
    "tests/test_tiers.py::test_fast_with_nothing_left_to_run_fails_with_pytests_no_tests_status": ("slow",),
}
TIER_MARKERS = frozenset(m for markers in TIERS.values() for m in markers)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="run only the quick tier: the tests with no tier marker (see TIERS in tests/conftest.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("fast"):
        # Every notebook cell is in the `notebooks` tier: don't let nbval collect
        # them at all, which spares the quick tier nbformat's 2 s import.
        config.option.nbval = False


def tier_markers(relpath: str, function: str) -> set[str]:
    """The tier markers of a test, from its path relative to the repository and its function name."""
    found: set[str] = set()
    for key, markers in TIERS.items():
        path, _, name = key.partition("::")
        covers_path = relpath.startswith(path) if path.endswith("/") else relpath == path
        if covers_path and name in ("", function):
            found.update(markers)
    return found


def _check_table(items: list[pytest.Item]) -> None:
    """Fail the run if the table names a file or test that no longer exists: its marks would silently vanish."""
    for key in TIERS:
        path, _, name = key.partition("::")
        if not (ROOT / path).exists():
            raise pytest.UsageError(f"tests/conftest.py TIERS names {path}, which does not exist")
        if name:
            modules = {item.module for item in items if getattr(item, "module", None) and _relpath(item) == path}
            for module in modules:
                if not hasattr(module, name):
                    raise pytest.UsageError(f"tests/conftest.py TIERS names {key}, which does not exist")


def _relpath(item: pytest.Item) -> str:
    try:
        return item.path.resolve().relative_to(ROOT).as_posix()
    except ValueError:  # a test outside the repository (a path given on the command line)
        return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _check_table(items)
    quick: list[pytest.Item] = []
    others: list[pytest.Item] = []
    for item in items:
        function = getattr(item, "originalname", None) or item.name
        markers = tier_markers(_relpath(item), function)
        for marker in sorted(markers):
            item.add_marker(marker)
        (others if markers else quick).append(item)
    if config.getoption("fast") and others:
        config.hook.pytest_deselected(items=others)
        items[:] = quick


# A learner's own module, written independently of GUEST_WAT: same import and
# export, different body (it doubles x before the call, so a normal return is 2x + y).
OWN_WAT = """\
(module
  (import "env" "early_exit" (func $exit))
  (func (export "run") (param i32 i32) (result i32)
    (local $twice i32)
    (local.set $twice (i32.mul (local.get 0) (i32.const 2)))
    (call $exit)
    (i32.add (local.get $twice) (local.get 1))))
"""


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler for one test, as in a terminal, even when the tests run with SIGINT ignored."""
    import signal

    # A shell's `trap '' INT` (or a background job) starts the tests with SIGINT
    # ignored, and the guard rightly leaves an ignored SIGINT alone.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def own_wat_file(tmp_path):
    path = tmp_path / "own.wat"
    path.write_text(OWN_WAT)
    return path


@pytest.fixture
def own_wasm_file(tmp_path):
    import wasmtime

    path = tmp_path / "own.wasm"
    path.write_bytes(wasmtime.wat2wasm(OWN_WAT))
    return path


@pytest.fixture
def endless_wat_file(tmp_path):
    path = tmp_path / "endless.wat"
    path.write_text(ENDLESS_WAT)
    return path


@pytest.fixture(scope="module")
def close_panels():
    """Close a module's panels at its end: ipywidgets keeps every open widget, and a panel its Example."""
    yield
    import ipywidgets

    ipywidgets.Widget.close_all()
