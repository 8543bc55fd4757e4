"""Sphinx configuration of the tutorial's site (`make site`)."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

_project = tomllib.loads((HERE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]

project = "Interrupting WebAssembly from Python"
author = "the earlyexit-tutorial authors"
copyright = "the earlyexit-tutorial authors, MIT licence"
release = version = _project["version"]

extensions = [
    "myst_nb",
    "sphinx_copybutton",
    "sphinx.ext.autodoc",
    "sphinxarg.ext",
    "notebook_pages",
    "public_api",
    "offline_widgets",
]

# The pages show the outputs the notebooks were committed with (the ones nbval checks).
nb_execution_mode = "off"
# Markdown outputs (notebook 01's cost table) are GitHub-flavoured, as JupyterLab renders them:
# CommonMark alone would show a table as lines of pipes.
nb_render_markdown_format = "gfm"
# A cell that prints in several bursts (a timer, a flush) saves several stream outputs;
# shown as they are, one print would be two or three boxes on the page.
nb_merge_streams = True

# Links such as [Words used here](#Words-used-here) work in JupyterLab, which gives a heading
# the id of its text with spaces turned into "-"; the site gives its headings the same ids.
myst_heading_anchors = 3
myst_heading_slug_func = "notebook_pages.jupyterlab_heading_id"

tutorial_repository = _project["urls"]["Source"]

# Option names must stay as typed: no "--" turned into a dash, no curly quotes in code-like text.
smartquotes = False
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
autodoc_member_order = "groupwise"
autodoc_typehints = "description"

html_theme = "sphinx_book_theme"
html_title = "Interrupting WebAssembly from Python"
html_static_path = ["_static"]
html_theme_options = {
    "repository_url": tutorial_repository,
    "use_repository_button": True,
    # The notebook pages carry their own Binder and download links, which open
    # the committed notebooks (the theme's would point into the docs folder).
    "use_download_button": False,
    # The book theme keeps search in the sidebar; without this a second search
    # field shows in a top bar (seen with sphinx-book-theme 1.4 on Sphinx 9).
    "navbar_persistent": [],
}
