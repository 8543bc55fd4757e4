"""tools/normalize_notebooks.py: the committed form of a notebook, what a JupyterLab save keeps."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("normalize_notebooks", ROOT / "tools" / "normalize_notebooks.py")
normalizer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(normalizer)

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
TIMESTAMPS = {
    "iopub.execute_input": "2026-01-01T00:00:00.000001Z",
    "iopub.status.busy": "2026-01-01T00:00:00.000000Z",
    "iopub.status.idle": "2026-01-01T00:00:00.000002Z",
    "shell.execute_reply": "2026-01-01T00:00:00.000003Z",
}


def _model(name: str, **state: object) -> dict:
    return {
        "model_module": "@jupyter-widgets/controls",
        "model_name": name,
        "model_module_version": "2.0.0",
        "state": state,
    }


def _notebook() -> dict:
    """A notebook as `jupyter execute` leaves it: timestamps, split streams, the state of every widget made."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "a",
                "metadata": {"execution": dict(TIMESTAMPS), "tags": ["nbval-ignore-output"]},
                "outputs": [
                    {"name": "stdout", "output_type": "stream", "text": ["one\n", "tw"]},
                    {"name": "stdout", "output_type": "stream", "text": ["o\n"]},
                    {"name": "stderr", "output_type": "stream", "text": ["warn\n"]},
                    {"name": "stdout", "output_type": "stream", "text": ["three\n"]},
                    {
                        "data": {
                            "text/plain": ["VBox()"],
                            VIEW: {"model_id": "id-box", "version_major": 2, "version_minor": 0},
                        },
                        "metadata": {},
                        "output_type": "display_data",
                    },
                ],
                "source": ["panel()"],
            }
        ],
        "metadata": {
            "widgets": {
                STATE: {
                    "state": {
                        "id-box": _model("VBoxModel", children=["IPY_MODEL_id-button"], layout="IPY_MODEL_id-layout"),
                        "id-button": _model("ButtonModel", description="Run", style="IPY_MODEL_id-style"),
                        "id-layout": _model("LayoutModel"),
                        "id-style": _model("ButtonStyleModel"),
                        "id-stale": _model("ButtonModel", description="from an earlier run"),
                    },
                    "version_major": 2,
                    "version_minor": 0,
                }
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_timestamps_go_and_tags_stay():
    (cell,) = normalizer.normalize(_notebook())["cells"]
    assert cell["metadata"] == {"tags": ["nbval-ignore-output"]}


def test_consecutive_outputs_of_one_stream_become_one():
    outputs = normalizer.normalize(_notebook())["cells"][0]["outputs"]
    streams = [(o["name"], o["text"]) for o in outputs if o["output_type"] == "stream"]
    assert streams == [("stdout", ["one\n", "two\n"]), ("stderr", ["warn\n"]), ("stdout", ["three\n"])]


def test_the_widget_state_keeps_the_shown_models_and_what_they_link_to_and_nothing_else():
    notebook = normalizer.normalize(_notebook())
    state = notebook["metadata"]["widgets"][STATE]["state"]
    names = {model_id: model["model_name"] for model_id, model in state.items()}
    # Numbered breadth first from the output: the box, then what it links to in key order.
    assert names == {
        f"{1:032x}": "VBoxModel",
        f"{2:032x}": "ButtonModel",
        f"{3:032x}": "LayoutModel",
        f"{4:032x}": "ButtonStyleModel",
    }
    assert notebook["cells"][0]["outputs"][-1]["data"][VIEW]["model_id"] == f"{1:032x}"
    assert state[f"{1:032x}"]["state"] == {"children": [f"IPY_MODEL_{2:032x}"], "layout": f"IPY_MODEL_{3:032x}"}
    assert state[f"{2:032x}"]["state"]["style"] == f"IPY_MODEL_{4:032x}"


def test_a_rerun_with_new_random_model_ids_normalizes_to_the_same_text():
    first = _notebook()
    rerun = json.loads(json.dumps(first).replace('"id-', '"new-').replace("IPY_MODEL_id-", "IPY_MODEL_new-"))
    assert rerun != first
    assert normalizer.dumps(normalizer.normalize(rerun)) == normalizer.dumps(normalizer.normalize(first))


def test_a_notebook_showing_no_widget_keeps_no_widget_metadata():
    notebook = _notebook()
    notebook["cells"][0]["outputs"].pop()  # the panel's view
    assert "widgets" not in normalizer.normalize(notebook)["metadata"]


def test_normal_form_is_reached_in_one_step_and_the_input_is_left_alone():
    before = _notebook()
    once = normalizer.normalize(before)
    assert before == _notebook()
    assert normalizer.normalize(once) == once


def test_the_text_is_laid_out_as_jupyter_writes_it():
    notebook = normalizer.normalize(_notebook())
    text = normalizer.dumps(notebook)
    assert text.endswith("}\n") and text.startswith('{\n "cells": [\n')
    assert json.loads(text) == notebook


def test_check_reports_and_rewrites_nothing_then_the_rewrite_makes_it_pass(tmp_path, capsys):
    path = tmp_path / "nb.ipynb"
    original = json.dumps(_notebook())
    path.write_text(original, encoding="utf-8")
    assert normalizer.main(["--check", str(path)]) == 1
    assert path.read_text(encoding="utf-8") == original
    assert capsys.readouterr().out == f"not in normal form: {path}\n"
    assert normalizer.main([str(path)]) == 0
    assert normalizer.main(["--check", str(path)]) == 0
    assert "iopub.status.busy" not in path.read_text(encoding="utf-8")
