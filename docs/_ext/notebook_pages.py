"""The tutorial's notebooks as pages of the site, each with "launch in Binder" and "download" links.

The notebooks are read from the repository's notebooks/ folder (copied into
the Sphinx source tree at build time, never by hand) and shown with the
outputs they were committed with: nothing is executed.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path
from urllib.parse import quote

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

PAGES_DIR = "notebooks"  # the pages' folder, in the Sphinx source tree and on the site
BINDER = "https://mybinder.org/v2/gh"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LANDING = "index"


def jupyterlab_heading_id(title: str) -> str:
    """The id JupyterLab gives a heading: its text, each space turned into "-"."""
    return title.replace(" ", "-")


def binder_url(repository: str, notebook: str, ref: str = "HEAD") -> str:
    """A Binder link that opens `notebook` (a path in the repository) in JupyterLab."""
    owner_and_name = repository.removeprefix("https://github.com/").strip("/")
    return f"{BINDER}/{owner_and_name}/{ref}?urlpath={quote('lab/tree/' + notebook, safe='/')}"


def has_panels(notebook: Path) -> bool:
    """Whether a notebook shows widget panels (an output that is a widget's view)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return any(WIDGET_VIEW in output.get("data", {}) for cell in cells for output in cell.get("outputs", []))


def _notebooks_source(app: Sphinx) -> Path:
    return Path(app.confdir).parent / "notebooks"


def _copy_notebooks_in(app: Sphinx, config) -> None:
    source, pages = _notebooks_source(app), Path(app.srcdir) / PAGES_DIR
    pages.mkdir(exist_ok=True)
    wanted = {path.name: path for path in source.glob("*.ipynb")}
    for stale in pages.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
    for name, path in wanted.items():
        # Copy only what changed, so an unchanged notebook is not read again.
        if not (pages / name).exists() or not filecmp.cmp(path, pages / name, shallow=False):
            shutil.copyfile(path, pages / name)


def _add_links(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not docname.startswith(PAGES_DIR + "/"):
        return
    name = docname.rpartition("/")[2] + ".ipynb"
    para = nodes.paragraph(classes=["notebook-links"])
    para += nodes.reference(
        "", "Launch in Binder", refuri=binder_url(app.config.tutorial_repository, f"notebooks/{name}")
    )
    para += nodes.Text(" · ")
    para += nodes.reference("", "Download the notebook", refuri=name)
    if has_panels(_notebooks_source(app) / name):
        para += nodes.Text(
            ". The panels on this page show the state they were saved with; "
            "to press their buttons, run the notebook in JupyterLab."
        )
    else:
        para += nodes.Text(".")
    top = next(iter(doctree.findall(nodes.section)), None)
    if top is None:
        doctree.insert(0, para)
    else:
        top.insert(1, para)  # right under the notebook's title


class DropRuleUnderTitle(SphinxTransform):
    """Drop the `---` rule that follows a notebook's title: the page's header already sets it apart.

    Docutils refuses a section that begins with a rule (a warning, so an error
    under -W), and the notebooks open with one, as the tutorial template asks.
    """

    default_priority = 820  # before docutils checks transitions (830)

    def apply(self) -> None:
        if not self.env.docname.startswith(PAGES_DIR + "/"):
            return
        for section in self.document.findall(nodes.section):
            children = section.children
            if len(children) > 1 and isinstance(children[0], nodes.title) and isinstance(children[1], nodes.transition):
                section.remove(children[1])


def _check_landing_names_every_notebook(app: Sphinx, doctree: nodes.document) -> None:
    # "What you will learn" is written by hand; a new notebook missing from it is a warning
    # (an error under -W), so the landing cannot fall behind the notebooks folder.
    if app.env.docname != LANDING:
        return
    text = doctree.astext()
    for notebook in sorted(_notebooks_source(app).glob("*.ipynb")):
        number = int(notebook.name.split("-", 1)[0]) if notebook.name[:2].isdigit() else notebook.stem
        if f"Notebook {number}," not in text:
            logger.warning(
                "the landing page's 'What you will learn' has no line for %s ('Notebook %s, ...')",
                notebook.name,
                number,
                location=LANDING,
            )


def _copy_notebooks_out(app: Sphinx, exception) -> None:
    # The download links point next to each page: the committed notebook, as is.
    if exception is None and app.builder.format == "html":
        out = Path(app.outdir) / PAGES_DIR
        out.mkdir(exist_ok=True)
        for path in _notebooks_source(app).glob("*.ipynb"):
            shutil.copyfile(path, out / path.name)


def setup(app: Sphinx) -> dict:
    """Register the extension with Sphinx."""
    app.add_config_value("tutorial_repository", "", "env")
    app.connect("config-inited", _copy_notebooks_in)
    app.add_transform(DropRuleUnderTitle)
    app.connect("doctree-read", _add_links)
    app.connect("doctree-read", _check_landing_names_every_notebook)
    app.connect("build-finished", _copy_notebooks_out)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
