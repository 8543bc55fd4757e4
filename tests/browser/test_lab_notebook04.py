"""Notebook 04 in a real JupyterLab, in headless Chromium: the server, the pools and the live load run.

The test opens the notebook, waits for a connected idle kernel, runs all cells
(notebook:run-all-cells), checks that no cell shows an error, then reads what a
learner reads: every request with its own outcome, the neighbours of a stopped
request finishing with their sums, the shared exception's recipe holding, the
process pools answering, Ctrl-C stopping the retry loop and the server's worker calls, and the load panel's
full progress bar and table. A screenshot goes to screenshots/04-guests-in-a-real-program.png.
"""

from __future__ import annotations

import os

import pytest

from .test_lab_notebooks import (
    WIDGET_TIMEOUT,
    cell_at,
    full_screenshot,
    index_of,
    open_notebook,
    problems,
    run_all,
    scroll_to_top,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="as the other notebooks' browser tests")

NB04 = "04-guests-in-a-real-program.ipynb"


def shown(page, index: int) -> str:
    """The text a learner sees under the code cell at `index`."""
    return "\n".join(cell_at(page, index).locator(".jp-OutputArea-output").all_inner_texts())


def test_notebook_04_serves_its_requests_and_shows_the_load_run(page, lab_server, sync_api):
    expect = sync_api.expect
    open_notebook(page, lab_server, NB04)
    all_cells = run_all(page)

    served = index_of(all_cells, lambda source: "pool.map(server.handle, requests)" in source)
    assert "requests with their own outcome: 204/204" in shown(page, served)

    alone = index_of(all_cells, lambda source: "stopped.stop()" in source)
    lines = shown(page, alone).splitlines()
    assert [line.split(": ", 1)[1].split("(its own")[0].strip() for line in lines[:2]] == [
        "returned -1243309312",
        "returned 2051657985",
    ], lines
    assert "stopped: deadline" in lines[2] and "stopped: stop" in lines[3].split("(its own")[0], lines

    recipe = index_of(all_cells, lambda source: "exits_with_a_record, [1, 2, 3]" in source)
    assert shown(page, recipe).strip() == "outcomes that belonged to another thread: 0"

    pools = index_of(all_cells, lambda source: "serve_in_process, jobs" in source)
    assert "fork: ['returned 45', 'exited early 4', 'stopped: deadline', 'returned 4']" in shown(page, pools)

    ctrl_c = index_of(all_cells, lambda source: "retry_forever(time.monotonic() + 5)" in source)
    assert shown(page, ctrl_c).strip() == "Ctrl-C stopped the loop: KeyboardInterrupt"
    server_ctrl_c = index_of(all_cells, lambda source: "stop_every_call(server.engine)" in source)
    assert shown(page, server_ctrl_c).splitlines() == [
        "Ctrl-C: every call on the server's engine stopped",
        "['stopped: stop', 'stopped: stop', 'stopped: stop']",
    ]
    scroll_to_top(cell_at(page, server_ctrl_c))
    full_screenshot(page, "04-server-ctrl-c")

    # The live load run: the bar full, the table filled in, the counts that must be zero.
    panel_cell = cell_at(page, index_of(all_cells, lambda source: source.startswith("report = load_panel(")))
    bar = panel_cell.locator(".widget-hprogress .progress-bar")
    expect(bar).to_be_visible()
    assert bar.evaluate("(node) => node.style.width") == "100%"  # every request served
    table = panel_cell.locator(".widget-html")
    expect(table).to_contain_text("p99 latency")
    expect(table).to_contain_text("calls cut short by a neighbour")
    # "Run again" runs the same load in the background: the table fills in anew (its timings differ).
    before = table.inner_text()
    panel_cell.locator(".widget-button", has_text="Run again").click()
    expect(table).not_to_have_text(before, timeout=WIDGET_TIMEOUT)
    expect(table).to_contain_text("wrong outcomes")
    counts = index_of(all_cells, lambda source: source == "print(report.counts())")
    assert "wrong outcomes: 0\ncalls cut short by a neighbour: 0" in shown(page, counts)

    assert not problems(page)
    scroll_to_top(panel_cell)
    full_screenshot(page, "04-guests-in-a-real-program")
