"""Put the tutorial's notebooks in the form they are committed in, the form a save from JupyterLab keeps.

    python tools/normalize_notebooks.py [NOTEBOOK ...]          rewrite them (default: notebooks/*.ipynb)
    python tools/normalize_notebooks.py --check [NOTEBOOK ...]  only say which ones are not in that form

The normal form is what `make notebooks` leaves (re-execute, then this script), chosen so
that opening a notebook in JupyterLab, running all and saving changes nothing but outputs:

- no cell carries nbclient's execution timestamps (`metadata.execution`), which JupyterLab
  drops on save unless its `recordTiming` setting is on;
- consecutive stream outputs of one stream are one output, as JupyterLab shows and saves them;
- the saved widget state holds exactly the widget models the outputs display and the models
  those refer to, so GitHub, nbviewer and the site render every panel and nothing stale;
- those models are numbered in the order the notebook shows them, in place of the kernel's
  random ids, so re-running a notebook whose outputs are the same changes nothing at all;
- the JSON is laid out as Jupyter writes it (one-space indent, sorted keys, a final newline).

Only the standard library: pre-commit and a fresh clone can run it before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MODEL_PREFIX = "IPY_MODEL_"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _coalesce_streams(outputs: list[dict]) -> list[dict]:
    merged: list[dict] = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and output.get("output_type") == "stream"
            and last.get("output_type") == "stream"
            and output.get("name") == last.get("name")
        ):
            last["text"] = _lines(_text(last["text"]) + _text(output["text"]))
        else:
            merged.append(output)
    return merged


def _model_references(value: object) -> Iterator[str]:
    """Every widget model id a piece of notebook JSON points at: displayed views and IPY_MODEL_ links."""
    if isinstance(value, str):
        if value.startswith(MODEL_PREFIX):
            yield value[len(MODEL_PREFIX) :]
    elif isinstance(value, list):
        for item in value:
            yield from _model_references(item)
    elif isinstance(value, dict):
        view = value.get(WIDGET_VIEW)
        if isinstance(view, dict) and isinstance(view.get("model_id"), str):
            yield view["model_id"]
        for key in sorted(value):
            yield from _model_references(value[key])


def displayed_models(notebook: dict) -> list[str]:
    """The widget model ids the notebook's outputs display, in order, each once."""
    seen: dict[str, None] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            for model_id in _model_references(output.get("data", {})):
                seen.setdefault(model_id, None)
    return list(seen)


def needed_models(notebook: dict) -> list[str]:
    """The models a static renderer needs: the displayed ones and every model they refer to, transitively.

    In a stable order: breadth first from the outputs, in the order the notebook shows them.
    """
    state = _widget_state(notebook).get("state", {})
    needed: dict[str, None] = {}
    todo = deque(displayed_models(notebook))
    while todo:
        model_id = todo.popleft()
        if model_id in needed:
            continue
        needed[model_id] = None
        todo.extend(_model_references(state.get(model_id, {}).get("state", {})))
    return list(needed)


def _renamed(value: object, names: dict[str, str]) -> object:
    """`value` with every widget model id in it (a view's model_id, an IPY_MODEL_ link) renamed."""
    if isinstance(value, str):
        if value.startswith(MODEL_PREFIX) and value[len(MODEL_PREFIX) :] in names:
            return MODEL_PREFIX + names[value[len(MODEL_PREFIX) :]]
        return value
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    if isinstance(value, dict):
        renamed = {key: _renamed(item, names) for key, item in value.items()}
        view = renamed.get(WIDGET_VIEW)
        if isinstance(view, dict) and view.get("model_id") in names:
            renamed[WIDGET_VIEW] = {**view, "model_id": names[view["model_id"]]}
        return renamed
    return value


def _widget_state(notebook: dict) -> dict:
    return notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {})


def normalize(notebook: dict) -> dict:
    """The notebook in normal form (a new dict; the argument is left as it was)."""
    notebook = json.loads(json.dumps(notebook))
    for cell in notebook.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)
        if "outputs" in cell:
            cell["outputs"] = _coalesce_streams(cell["outputs"])
    widgets = _widget_state(notebook)
    if "state" in widgets:
        # Numbered as uuid4().hex ids are written (32 hex digits), so nothing that expects one trips.
        names = {model_id: f"{number:032x}" for number, model_id in enumerate(needed_models(notebook), start=1)}
        kept = {names[k]: v for k, v in widgets["state"].items() if k in names}
        widgets["state"] = _renamed(kept, names)
        for cell in notebook.get("cells", []):
            if "outputs" in cell:
                cell["outputs"] = _renamed(cell["outputs"], names)
    if not widgets.get("state"):
        # No widget shown: no widget metadata at all (JupyterLab saves none either).
        notebook.get("metadata", {}).pop("widgets", None)
    return notebook


def dumps(notebook: dict) -> str:
    """The notebook's text as Jupyter writes it (nbformat's layout, with its final newline)."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def normal_text(path: Path) -> str:
    """The text the notebook at `path` has in normal form."""
    return dumps(normalize(json.loads(path.read_text(encoding="utf-8"))))


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or, with --check, only report) the notebooks not in normal form; 1 if --check found any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in notebooks/")
    parser.add_argument("--check", action="store_true", help="change nothing; exit with 1 if a notebook would change")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    changed = []
    for path in paths:
        text = normal_text(path)
        if text != path.read_text(encoding="utf-8"):
            changed.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8", newline="\n")
    for path in changed:
        print(f"{'not in normal form' if args.check else 'normalized'}: {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
