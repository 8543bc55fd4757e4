"""A module's text shown with show_wat in a real JupyterLab: markup in it stays text, and no script of it runs.

JupyterLab renders what a live session displays as trusted HTML, unsanitized. So the
test shows a valid module whose block comment closes a three-backtick fence and
holds an image with an onerror handler, and checks that the handler never ran. A
control cell shows the same text in a naive fence, to prove the check can fail here.
"""

from __future__ import annotations

import os

import nbformat
import pytest

from .test_lab_notebooks import cell_at, cells, open_notebook, problems

pytestmark = pytest.mark.skipif(os.name != "posix", reason="as the other notebooks' browser tests")

NOTEBOOK = "hostile-wat.ipynb"
RUN_TIMEOUT = 120_000  # ms


def hostile_wat(flag: str) -> str:
    """A module that compiles and runs, with a fence and an image tag in a block comment."""
    return (
        "(module\n"
        "  (; the fence below ends a naive code block\n"
        "```\n"
        f'<img src="no-such-image" onerror="window.{flag} = 1">\n'
        "```\n"
        "  ;)\n"
        '  (import "env" "early_exit" (func $early_exit))\n'
        '  (func (export "run") (param i32 i32) (result i32) call $early_exit local.get 0 local.get 1 i32.add))'
    )


SHOWN = (
    "from earlyexit_tutorial import Example, show_wat\n"
    f"WAT = {hostile_wat('__pwned_by_show_wat')!r}\n"
    "print(Example(WAT).run(1, 7).message)\n"
    "show_wat(WAT)"
)
# What show_wat did before: one fence of three backticks around the text.
NAIVE = (
    "from IPython.display import Markdown\n"
    f"Markdown('```wat\\n' + {hostile_wat('__pwned_by_naive_fence')!r} + '\\n```')"
)


def write_notebook(path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SHOWN), nbformat.v4.new_code_cell(NAIVE)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, str(path))


def test_show_wat_keeps_a_modules_markup_as_text_and_runs_none_of_it(page, lab_server, sync_api):
    write_notebook(lab_server.root_dir / NOTEBOOK)
    open_notebook(page, lab_server, NOTEBOOK)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(1).executionCount !== null",
        timeout=RUN_TIMEOUT,
        polling=200,
    )
    # The control's image fails to load at once; give both handlers the same moment to run.
    page.wait_for_function("() => window.__pwned_by_naive_fence === 1", timeout=RUN_TIMEOUT, polling=100)
    assert not problems(page)
    assert page.evaluate("() => window.__pwned_by_show_wat") is None, "the module's onerror handler ran"
    shown = cell_at(page, 0).locator(".jp-OutputArea-output")
    sync_api.expect(shown.first).to_have_text("Exited early with exit code: 1")
    # The whole module, markup and all, is the text of one code block.
    code = shown.locator("pre code")
    sync_api.expect(code).to_have_count(1)
    assert code.inner_text().strip() == hostile_wat("__pwned_by_show_wat")
    assert shown.locator("img").count() == 0
    # The control did make an image element: the naive fence was closed by the module's text.
    assert cell_at(page, 1).locator(".jp-OutputArea-output img").count() == 1
    assert [cell["count"] for cell in cells(page)] == [1, 2]
