"""The committed notebooks: executed, arced like a tutorial (overview first, summary last), few ignored cells,
widget state saved."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
SECTIONS = [
    "## Overview",
    "## Prerequisites",
    "## Imports",
    "## Summary",
    "### What's next",
    "## Resources and references",
]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_was_executed_in_order(path):
    cells = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, "a code cell was saved without running"
    assert counts == list(range(1, len(cells) + 1)), "outputs are not from one Restart & Run All"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_arc_of_a_tutorial(path):
    text = "\n".join("".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "markdown")
    assert text.lstrip().startswith("# ")
    positions = [text.find(s) for s in SECTIONS]
    assert -1 not in positions, [s for s, p in zip(SECTIONS, positions, strict=True) if p == -1]
    assert positions == sorted(positions)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_widget_or_timing_cells_ignore_their_output(path):
    ignored = [
        "".join(cell["source"])
        for cell in load(path)["cells"]
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", [])
    ]
    for source in ignored:
        # A live widget, the live cost measurement (timings differ on every run), or a
        # cell whose output depends on what the learner does (pressing the stop button).
        assert "panel(" in source or "costs" in source or source.startswith("# Your turn:"), source
    assert len(ignored) <= 3, "keep the unchecked cells few"


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MODEL_LINK = re.compile(r"IPY_MODEL_([0-9a-f]+)")


def missing_widget_models(nb: dict) -> list[str]:
    """The models a static renderer would not find: shown by an output, or linked from a shown model."""
    state = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = state.get("state", {})
    todo = [
        output["data"][WIDGET_VIEW]["model_id"]
        for cell in nb["cells"]
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    ]
    seen, missing = set(), []
    while todo:
        model_id = todo.pop()
        if model_id in seen:
            continue
        seen.add(model_id)
        if model_id not in models:
            missing.append(model_id)
            continue
        todo.extend(MODEL_LINK.findall(json.dumps(models[model_id]["state"])))
    return missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_widget_an_output_shows_is_in_the_saved_widget_state(path):
    # What GitHub, nbviewer and the site render a panel from; a save from JupyterLab without its
    # saveState setting leaves the outputs pointing at models of a kernel that is gone.
    nb = load(path)
    has_widgets = any("panel(" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    if not has_widgets:
        pytest.skip("no widgets in this notebook")
    shown = [o for c in nb["cells"] for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
    assert shown, "a panel is displayed but no output shows a widget"
    assert missing_widget_models(nb) == []


def test_a_panel_shown_from_a_newer_kernel_than_the_saved_state_is_caught():
    # As after Run All and a save in JupyterLab: the output names the new model, the state is the old one.
    nb = load(NOTEBOOKS[0])
    output = next(o for c in nb["cells"] for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {}))
    output["data"][WIDGET_VIEW]["model_id"] = "0123456789abcdef0123456789abcdef"
    assert missing_widget_models(nb) == ["0123456789abcdef0123456789abcdef"]


def _normalizer():
    import importlib.util

    path = NOTEBOOKS_DIR.parent / "tools" / "normalize_notebooks.py"
    spec = importlib.util.spec_from_file_location("normalize_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_committed_notebook_is_in_normal_form(path):
    # No execution timestamps, streams merged, only the widget models shown: what a save keeps.
    in_normal_form = _normalizer().normal_text(path) == path.read_text(encoding="utf-8")
    assert in_normal_form, "run `make notebooks` (or `python tools/normalize_notebooks.py`) and commit the result"


NB02 = Path(__file__).resolve().parents[1] / "notebooks" / "02-interrupting-from-outside.ipynb"


KERNEL_STOP_TAG = "kernel-stop"


def kernel_stop_cell() -> str:
    """Notebook 02's cell that does what the kernel's stop button does, from a timer: the one tagged kernel-stop."""
    cells = load(NB02)["cells"]
    found = ["".join(c["source"]) for c in cells if KERNEL_STOP_TAG in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"expected one cell tagged {KERNEL_STOP_TAG}, found {len(found)}"
    return found[0]


def test_the_kernel_stop_cell_is_the_one_that_raises_sigint_from_a_timer():
    source = kernel_stop_cell()
    assert "threading.Timer(0.2, signal.raise_signal, args=(signal.SIGINT,))" in source
    assert "spinner.run" in source and "timer.cancel()" in source


@pytest.mark.skipif(os.name != "posix", reason="the cell sends SIGINT")
@pytest.mark.parametrize(
    "before",
    ["", "class spinner:\n    def run(*args, **kwargs):\n        raise RuntimeError('refused at once')"],
    ids=["spinner-not-defined", "call-fails-at-once"],
)
def test_the_kernel_stop_cell_run_out_of_order_leaves_no_interrupt_behind(before):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    imports = "import os\nimport signal\nimport threading"
    later = "import time\ntime.sleep(0.6)  # three times the cell's timer\nprint('no interrupt')"
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(s) for s in (imports, before or "pass", kernel_stop_cell(), later)]
    )
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True).execute()
    failed, after = notebook.cells[2], notebook.cells[3]
    assert [o.get("ename") for o in failed.outputs if o.output_type == "error"] == [
        "NameError" if not before else "RuntimeError"
    ]
    assert [o.output_type for o in after.outputs] == ["stream"], after.outputs
    assert after.outputs[0].text == "no interrupt\n"


# --- folded answers, links and words ------------------------------------------------

NB01 = Path(__file__).resolve().parents[1] / "notebooks" / "01-early-exit.ipynb"
ANSWER_MARKERS = ("# WORKED SOLUTION", "# THE ANSWERS")
LINK = re.compile(r"\]\(([^)\s]*)\)")


def markdown(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "markdown"]


def heading_ids(path: Path) -> set[str]:
    """The ids JupyterLab gives a notebook's headings: the heading's text, spaces turned into '-'."""
    ids = set()
    for text in markdown(path):
        for line in text.splitlines():
            match = re.match(r"#{1,6} (.+)", line)
            if match:
                shown = re.sub(r"`([^`]*)`", r"\1", match.group(1)).replace("*", "").strip()
                ids.add(shown.replace(" ", "-"))
    return ids


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_answer_cells_are_folded_in_jupyterlab_and_on_the_site(path):
    cells = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    answers = [c for c in cells if "".join(c["source"]).startswith(ANSWER_MARKERS)]
    folded = [c for c in cells if "hide-cell" in c.get("metadata", {}).get("tags", [])]
    assert answers == folded
    for cell in folded:
        # An answer's output gives it away as much as its code: both are folded, in JupyterLab and on the site.
        hidden = cell["metadata"].get("jupyter", {})
        assert hidden.get("source_hidden") is hidden.get("outputs_hidden") is True, "".join(cell["source"])[:80]
        assert "hide-input" not in cell["metadata"]["tags"], "hide-cell folds code and output under one toggle"


def test_notebook_01_folds_its_worked_solution_and_its_self_check_answers():
    sources = ["".join(c["source"]) for c in load(NB01)["cells"] if c["cell_type"] == "code"]
    for marker in ANSWER_MARKERS:
        assert sum(s.startswith(marker) for s in sources) == 1, marker


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_link_to_a_heading_leads_to_one(path):
    for text in markdown(path):
        for target in LINK.findall(text):
            if urlparse(target).scheme:
                continue
            page, _, anchor = target.partition("#")
            linked = path.parent / page if page else path
            assert linked.is_file(), f"{target}: no such notebook"
            if anchor:
                assert anchor in heading_ids(linked), f"{target}: no heading with id {anchor!r}"


GLOSSARY_TERMS = [
    "trap",
    "trap code",
    "epoch",
    "epoch deadline",
    "fuel",
    "guard",
    "watcher",
    "trampoline",
    "WASI",
    "typed run",
]


def test_notebook_01_explains_each_word_near_the_top_and_links_to_it():
    texts = markdown(NB01)
    glossary = [t for t in texts if t.startswith("### Words used here")]
    assert len(glossary) == 1
    position = texts.index(glossary[0])
    assert position < next(i for i, t in enumerate(texts) if t.startswith("## Imports"))
    for term in GLOSSARY_TERMS:
        assert f"**{term}**" in glossary[0], term
    assert sum("(#Words-used-here)" in t for t in texts) >= 3


def test_the_notebooks_agree_on_what_an_outcome_leaves_behind():
    nb02 = NOTEBOOKS_DIR / "02-interrupting-from-outside.ipynb"
    assert "What-each-outcome-leaves-behind" in heading_ids(nb02)
    table = next(t for t in markdown(nb02) if "### What each outcome leaves behind" in t)
    for remedy in ("store.set_epoch_deadline(n)", "store.set_fuel(n)", "memory as the guest left it"):
        assert remedy in table, remedy
    assert any("02-interrupting-from-outside.ipynb#What-each-outcome-leaves-behind" in t for t in markdown(NB01))
    # Claims the table contradicts: a store needs nothing after *every* outcome.
    for path in NOTEBOOKS:
        for text in markdown(path):
            assert "as often as you like" not in text and "usable after every outcome" not in text, text[:120]
