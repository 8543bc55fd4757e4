"""Notebook 03 in a real JupyterLab, in headless Chromium: the C guest compiles in the kernel and stops as taught.

The test opens the notebook, waits for a connected idle kernel, runs all cells
(notebook:run-all-cells), checks that no cell shows an error, then reads what a
learner reads: the early exit, the C frames of the backtrace, the half-written
buffer, and the package's cells (Example with the learner's tick, guard around a plain call). A
screenshot goes to screenshots/03-a-guest-in-c.png.
"""

from __future__ import annotations

import os

import pytest

from .test_lab_notebooks import cell_at, full_screenshot, index_of, open_notebook, problems, run_all, scroll_to_top

pytestmark = pytest.mark.skipif(os.name != "posix", reason="as the other notebooks' browser tests")

NB03 = "03-a-guest-in-c.ipynb"

EARLY_EXIT_LINE = "Exited early with exit code: 1"
C_FRAMES = "['guest.wasm!finish', 'guest.wasm!work', 'guest.wasm!run']"
BUDGET_WITH_EXAMPLE = "Exited early with exit code: 2 | steps the host heard of: [0, 1, 2]"
GUARD_DEADLINE = "spin trapped with TrapCode.INTERRUPT"
HALF_WRITTEN = "stopped at step 13, code 3: ABCDEFGHIJKLMnopqrstuvwxyz   stack pointer: top - 16"


def shown(page, index: int) -> list[str]:
    """The text a learner sees under the code cell at `index`."""
    return cell_at(page, index).locator(".jp-OutputArea-output").all_inner_texts()


def test_notebook_03_compiles_its_c_guest_and_shows_the_early_exit_and_the_half_written_buffer(
    page, lab_server, sync_api
):
    expect = sync_api.expect
    open_notebook(page, lab_server, NB03)
    all_cells = run_all(page)

    # The compile cell ran in the kernel, next to the notebook the server serves.
    assert (lab_server.root_dir / "c-guest" / "guest.wasm").read_bytes().startswith(b"\0asm")

    early_exit = index_of(all_cells, lambda source: "value = run(store, 1, 7)" in source)
    expect(cell_at(page, early_exit).locator(".jp-OutputArea-output")).to_have_text(EARLY_EXIT_LINE)

    frames = index_of(all_cells, lambda source: source.endswith("print(wasm_frames(backtrace))"))
    assert [text.strip() for text in shown(page, frames)] == [C_FRAMES]

    # Section 3's stopped call (the snapshot cell of section 4 stops at step 13 too).
    stopped = index_of(all_cells, lambda source: "stop_at = 13" in source and "snapshot" not in source)
    assert [text.strip() for text in shown(page, stopped)] == [HALF_WRITTEN]

    # The package's cells: the learner's tick through Example, and the guard around a plain call.
    example = index_of(all_cells, lambda source: 'Example(wasm, imports={"env": {"tick": tick}})' in source)
    expect(cell_at(page, example).locator(".jp-OutputArea-output").last).to_contain_text(BUDGET_WITH_EXAMPLE)
    guarded = index_of(all_cells, lambda source: "with guard(" in source)
    expect(cell_at(page, guarded).locator(".jp-OutputArea-output").first).to_contain_text(GUARD_DEADLINE)

    assert not problems(page)
    scroll_to_top(cell_at(page, stopped - 1))
    full_screenshot(page, "03-a-guest-in-c")
