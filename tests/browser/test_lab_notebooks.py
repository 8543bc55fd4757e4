"""Both notebooks in a real JupyterLab, in headless Chromium, used the way a learner would.

Each test opens a notebook, waits for a connected idle kernel, runs all cells
(notebook:run-all-cells), checks that no cell shows an error, then uses the
widgets and JupyterLab's own stop button and checks what the learner reads.
A screenshot of each notebook goes to screenshots/<notebook>.png.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from . import _lab

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the kernel is interrupted with SIGINT")

NB01 = "01-early-exit.ipynb"
NB02 = "02-interrupting-from-outside.ipynb"

KERNEL_TIMEOUT = 90_000  # ms: page load, kernel start and connect (2-cores, busy machine)
RUN_ALL_TIMEOUT = 120_000  # ms: notebook 02 alone waits out a 5 s deadline on purpose
WIDGET_TIMEOUT = 20_000  # ms: a widget round trip through the kernel

STOP_BUTTON_MESSAGE = "Interrupted: stopped by the Stop button"
KERNEL_STOP_MESSAGE = "Interrupted: stopped by a keyboard interrupt (Ctrl-C or the kernel's stop button)"
LEARNER_STOP_CELL = "print(spinner.run(0, 0, timeout=5).message)"  # the last line of the "Your turn" cell


# --- helpers ----------------------------------------------------------------------


def open_notebook(page, server, name: str) -> None:
    page.goto(f"{server.url}/lab/tree/{name}?reset")
    # Run All before the kernel is connected would silently run nothing.
    page.wait_for_function(_lab.KERNEL_READY_JS, arg=name, timeout=KERNEL_TIMEOUT, polling=200)


def cells(page) -> list[dict]:
    return page.evaluate(_lab.CELLS_JS)


def problems(page) -> list[str]:
    """Everything a learner would read as something gone wrong: error outputs and stderr text."""
    found = []
    for cell in cells(page):
        for output in cell["outputs"]:
            if output.get("output_type") == "error":
                found.append(f"cell {cell['index']}: {output.get('ename')}: {output.get('evalue')}")
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {cell['index']} stderr: {''.join(output.get('text', ''))[:500]}")
    # Rendered stderr, including inside widget Output areas (which the notebook model does not hold).
    for text in page.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    ).all_inner_texts():
        found.append(f"stderr shown: {text[:500]}")
    return found


def run_all(page) -> list[dict]:
    """Run all cells as a learner would and wait until every cell has finished."""
    page.evaluate(_lab.RUN_ALL_JS)
    page.wait_for_function(_lab.RUN_ALL_DONE_JS, timeout=RUN_ALL_TIMEOUT, polling=250)
    status = page.evaluate("window.__runAll")
    found = problems(page)
    assert status == "ok" and not found, f"Run All: {status}; {found}"
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").all_inner_texts()
    # The stderr check above looks outputs up by data-mime-type: make sure that attribute is there at all.
    assert page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]').count() > 0
    result = cells(page)
    code = [cell for cell in result if cell["type"] == "code"]
    # A fresh kernel numbers the cells 1..N when all of them ran, in order.
    assert [cell["count"] for cell in code] == list(range(1, len(code) + 1))
    return result


def index_of(all_cells: list[dict], predicate) -> int:
    matches = [cell["index"] for cell in all_cells if cell["type"] == "code" and predicate(cell["source"].strip())]
    assert len(matches) == 1, f"expected one such code cell, found {matches}"
    return matches[0]


def cell_at(page, index: int):
    return page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)


def scroll_to_top(cell) -> None:
    cell.evaluate("(node) => node.scrollIntoView({block: 'start'})")


def text_input(panel, label: str):
    field = panel.locator(".widget-text").filter(
        has=panel.page.locator("label", has_text=re.compile(rf"^\s*{label}\s*$"))
    )
    return field.locator("input")


def button(panel, label: str):
    return panel.locator(".widget-button").filter(has_text=re.compile(rf"^\s*{label}\s*$"))


def type_value(field, value: str) -> None:
    field.fill(value)
    field.press("Enter")


def run_cell_from_keyboard(page, index: int) -> int:
    """Click into the cell's editor and press Shift+Enter; return its execution count from before."""
    before = cells(page)[index]["count"] or 0
    cell_at(page, index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    return before


def wait_cell_finished(page, index: int, after_count: int) -> None:
    page.wait_for_function(
        """([index, after]) => {
            const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(index);
            return cell.executionCount !== null && cell.executionCount > after;
        }""",
        arg=[index, after_count],
        timeout=WIDGET_TIMEOUT,
        polling=100,
    )


def full_screenshot(page, name: str) -> None:
    """The learner's view, taller than the test's viewport so the panel and its results fit."""
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.wait_for_timeout(300)  # one layout pass after the resize; nothing is asserted on it
    _lab.screenshot(page, name)


# --- notebook 01 ------------------------------------------------------------------


def test_notebook_01_run_all_then_the_run_panel(page, lab_server, sync_api):
    expect = sync_api.expect
    open_notebook(page, lab_server, NB01)
    answers = ("# WORKED SOLUTION", "# THE ANSWERS")

    # On first open the worked solution and the self-check's answers are folded: their code, and their
    # output (the checker's verdict gives the answer away too).
    before = cells(page)
    for marker in answers:
        folded = cell_at(page, index_of(before, lambda source, marker=marker: source.startswith(marker)))
        expect(folded.locator(".jp-InputPlaceholder")).to_be_visible()
        # With code and output folded, JupyterLab shows the cell as one line: the code's placeholder.
        expect(folded.locator(".jp-Cell-outputWrapper")).to_be_hidden()

    all_cells = run_all(page)
    # Running a cell shows its output again (JupyterLab's own rule); its code stays folded.
    for marker in answers:
        folded = cell_at(page, index_of(all_cells, lambda source, marker=marker: source.startswith(marker)))
        expect(folded.locator(".jp-InputPlaceholder")).to_be_visible()
        expect(folded.locator(".jp-InputArea-editor")).to_be_hidden()

    # A link to the glossary leads to its heading: the links name JupyterLab's own heading ids.
    heading = page.locator('[data-jupyter-id="Words-used-here"]')  # JupyterLab 4 keeps a heading's id here
    expect(heading).to_have_count(1)
    links = page.locator('.jp-RenderedMarkdown a[href="#Words-used-here"]')
    assert links.count() >= 3
    links.last.scroll_into_view_if_needed()
    expect(heading).not_to_be_in_viewport()
    links.last.click()
    expect(heading).to_be_in_viewport(timeout=WIDGET_TIMEOUT)

    index = index_of(all_cells, lambda source: "run_panel()" in source)
    cell = cell_at(page, index)
    scroll_to_top(cell_at(page, index - 1))  # the "Try it yourself" text, then the panel
    panel = cell.locator(".jp-OutputArea-output .widget-vbox").first
    expect(panel).to_be_visible(timeout=WIDGET_TIMEOUT)

    x, y, code = text_input(panel, "x"), text_input(panel, "y"), text_input(panel, "exit code")
    behaviour = panel.locator(".widget-dropdown select")
    run = button(panel, "Run")
    feedback = panel.locator(".widget-html")
    out = panel.locator(".widget-output")
    for widget in (x, y, code, behaviour, run, out):
        expect(widget).to_be_visible()
    expect(x).to_have_value("1")
    expect(y).to_have_value("7")
    expect(code).to_have_value("1")
    expect(behaviour.locator("option")).to_have_text(
        ["exit early with the code", "return normally", "raise another error"]
    )

    type_value(x, "4")
    type_value(y, "5")
    type_value(code, "3")
    expected = {
        "exit early with the code": "Exited early with exit code: 3",
        "return normally": "Expected early termination with `ExitCode`, found: 9",
        "raise another error": "Unknown error `the host function failed on purpose` found. expected `ExitCode`",
    }
    for label, message in expected.items():
        behaviour.select_option(label=label)
        expect(run).to_be_enabled()
        run.click()
        # The output also holds a diagram of the call, drawn after the message line.
        expect(out).to_contain_text(message, timeout=WIDGET_TIMEOUT)
        shown = out.inner_text()
        stale = [other for other in expected.values() if other != message and other in shown]
        assert not stale, f"the previous result was not cleared: {shown!r}"
        assert "error:" not in shown and "Traceback" not in shown, shown

    # Out of the i32 range: flagged in red, and Run refuses.
    type_value(x, "2147483648")
    expect(feedback).to_contain_text(
        "x must be in the i32 range -2147483648..2147483647, got 2147483648", timeout=WIDGET_TIMEOUT
    )
    expect(run).to_be_disabled(timeout=WIDGET_TIMEOUT)
    red, green, blue = page.evaluate(
        """(node) => getComputedStyle(node).color.match(/\\d+/g).slice(0, 3).map(Number)""",
        feedback.locator("span").element_handle(),
    )
    assert red > 150 and red > 2 * green and red > 2 * blue, f"feedback colour rgb({red}, {green}, {blue}) is not red"
    _lab.SCREENSHOTS.mkdir(exist_ok=True)
    panel.screenshot(path=str(_lab.SCREENSHOTS / "01-early-exit-out-of-range.png"))

    # Back in range: the flag goes, Run works again.
    type_value(x, "4")
    expect(run).to_be_enabled(timeout=WIDGET_TIMEOUT)
    expect(feedback).to_have_text("")
    behaviour.select_option(label="exit early with the code")
    run.click()
    expect(out).to_contain_text(expected["exit early with the code"], timeout=WIDGET_TIMEOUT)
    assert expected["raise another error"] not in out.inner_text()

    assert not problems(page)
    scroll_to_top(cell_at(page, index - 1))
    full_screenshot(page, "01-early-exit")


# --- notebook 02 ------------------------------------------------------------------


def test_notebook_02_stop_panel_and_the_kernel_stop_button(page, lab_server, sync_api):
    expect = sync_api.expect
    open_notebook(page, lab_server, NB02)
    all_cells = run_all(page)

    # The Stop panel: Start, let the guest spin, Stop.
    index = index_of(all_cells, lambda source: "stop_panel(spinner)" in source)
    cell = cell_at(page, index)
    scroll_to_top(cell)
    panel = cell.locator(".jp-OutputArea-output .widget-vbox").first
    expect(panel).to_be_visible(timeout=WIDGET_TIMEOUT)
    start, stop = button(panel, "Start"), button(panel, "Stop")
    status, out = panel.locator(".widget-label"), panel.locator(".widget-output")
    expect(status).to_have_text("idle")
    expect(stop).to_be_disabled()

    start.click()
    expect(status).to_contain_text("running", timeout=WIDGET_TIMEOUT)
    expect(stop).to_be_enabled(timeout=WIDGET_TIMEOUT)
    page.wait_for_timeout(500)  # the guest spins for a while, as when a learner waits
    stop.click()
    expect(out).to_contain_text("Interrupted", timeout=WIDGET_TIMEOUT)  # the default deadline is 10 s
    assert out.inner_text().strip() == STOP_BUTTON_MESSAGE
    expect(status).to_have_text("idle", timeout=WIDGET_TIMEOUT)
    expect(start).to_be_enabled()
    expect(stop).to_be_disabled()

    # "Your turn": run the cell, then press JupyterLab's own stop button within its 5 s deadline.
    learner = index_of(all_cells, lambda source: source.strip().endswith(LEARNER_STOP_CELL))
    after = next(c["index"] for c in all_cells if c["index"] > learner and c["type"] == "code")
    assert all_cells[after]["source"].strip() == "print(spinner.run(1, 7).message)"
    learner_cell = cell_at(page, learner)

    before = run_cell_from_keyboard(page, learner)
    expect(learner_cell.locator(".jp-InputPrompt")).to_contain_text("*", timeout=WIDGET_TIMEOUT)
    # The kernel has picked the request up (an interrupt before that would hit some other code).
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'busy'",
        timeout=WIDGET_TIMEOUT,
        polling=50,
    )
    started = time.monotonic()
    page.wait_for_timeout(1000)  # the learner takes a moment to find the button
    interrupt = page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]')
    expect(interrupt).to_have_attribute("title", "Interrupt the kernel")
    interrupt.click()
    wait_cell_finished(page, learner, before)
    finished = time.monotonic() - started
    output = learner_cell.locator(".jp-OutputArea-output")
    # Not "ran past its 5 s deadline": the stop button, not the deadline, ended the guest.
    expect(output).to_have_text(KERNEL_STOP_MESSAGE)
    print(f"interrupted cell finished {finished:.2f} s after the wait began (1 s of it waiting)")

    # The kernel still works: the next code cell.
    before = run_cell_from_keyboard(page, after)
    wait_cell_finished(page, after, before)
    expect(cell_at(page, after).locator(".jp-OutputArea-output")).to_have_text("Exited early with exit code: 1")

    assert not problems(page)
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    scroll_to_top(cell_at(page, index - 1))  # section 4's text, the Stop panel, then section 5
    full_screenshot(page, "02-interrupting-from-outside")
