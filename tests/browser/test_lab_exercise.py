"""Notebook 01's exercise in a real JupyterLab: a learner types a wrong guest, then a right one."""

from __future__ import annotations

import os

import pytest

from earlyexit_tutorial.aids.exercise import CASES

from . import _lab
from .test_lab_notebooks import NB01, cell_at, cells, index_of, open_notebook, run_all, wait_cell_finished

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the browser tests run on posix")

HEAD = (
    '(module\n  (import "env" "early_exit" (func $early_exit))\n'
    '  (func (export "run") (param $x i32) (param $y i32) (result i32)\n'
)

# Compares unsigned: right for positive numbers, wrong as soon as one is negative.
UNSIGNED = HEAD + (
    "    (if (i32.gt_u (local.get $x) (local.get $y))\n"
    "      (then (call $early_exit)))\n"
    "    (i32.mul (local.get $x) (local.get $y))))\n"
)
UNSIGNED_ANSWER = (
    "for run(-2, 5) your guest exited early; it should have returned -10. Hint: your guest compares x and y as "
    "unsigned numbers (i32.gt_u)"
)

# The flat style, unlike the notebook's worked solution.
RIGHT = HEAD + (
    "    local.get $x\n    local.get $y\n    i32.gt_s\n    if\n      call $early_exit\n    end\n"
    "    local.get $x\n    local.get $y\n    i32.mul))\n"
)


def exercise_cell_source(wat: str) -> str:
    return f'my_guest = """\\\n{wat}"""\nprint(check_exercise(my_guest))'


def type_into_cell(page, index: int, text: str) -> None:
    """Replace a cell's text the way a learner does: click into it, select all, type."""
    cell_at(page, index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    typed = cells(page)[index]["source"]
    assert typed == text, f"the editor changed what was typed:\n{typed}"


def run_cell_and_read(page, index: int) -> str:
    before = cells(page)[index]["count"] or 0
    page.keyboard.press("Shift+Enter")
    wait_cell_finished(page, index, before)
    return cell_at(page, index).locator(".jp-OutputArea-output").inner_text().strip()


def test_the_exercise_answers_a_wrong_guest_then_passes_a_right_one(page, lab_server, sync_api):
    open_notebook(page, lab_server, NB01)
    all_cells = run_all(page)
    index = index_of(all_cells, lambda source: source.startswith("my_guest = "))
    # As committed: the starting guest never exits early, and the checker says so.
    first = cell_at(page, index).locator(".jp-OutputArea-output").inner_text()
    assert first.startswith("for run(7, 1) your guest returned 7; it should have exited early."), first

    type_into_cell(page, index, exercise_cell_source(UNSIGNED))
    answer = run_cell_and_read(page, index)
    assert answer.startswith(UNSIGNED_ANSWER), answer

    type_into_cell(page, index, exercise_cell_source(RIGHT))
    answer = run_cell_and_read(page, index)
    assert answer.startswith(f"all {len(CASES)} cases pass"), answer

    cell_at(page, index).evaluate("(node) => node.scrollIntoView({block: 'start'})")
    _lab.screenshot(page, "01-early-exit-exercise")
