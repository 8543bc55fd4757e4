"""The static site: it builds with warnings as errors, from the committed notebooks, and needs nothing off-site."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

import earlyexit_tutorial
from earlyexit_tutorial import cli
from earlyexit_tutorial import copy_notebooks as notebooks_command

from . import _site

ROOT = _site.ROOT
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WITH_WIDGETS = [
    nb for nb in NOTEBOOKS if "application/vnd.jupyter.widget-view+json" in nb.read_text(encoding="utf-8")
]
LOADED_LINKS = {"stylesheet", "icon", "preload", "modulepreload", "manifest", "prefetch"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return _site.built_site(tmp_path_factory)


class _Page(HTMLParser):
    """What a page loads (scripts, styles, images) and links to, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[str] = []
        self.links: list[str] = []
        self.script_types: list[str] = []
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag in ("script", "img", "iframe", "source", "video", "audio") and attrs.get("src"):
            self.loads.append(attrs["src"])
        if tag == "script":
            self.script_types.append(attrs.get("type") or "text/javascript")
        # <link rel="search|index|next|..."> only names other pages; these make the browser fetch.
        if tag == "link" and attrs.get("href") and set((attrs.get("rel") or "").split()) & LOADED_LINKS:
            self.loads.append(attrs["href"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def read_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.text = " ".join("".join(page.text).split())  # type: ignore[assignment]
    return page


def _title(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    first = "".join(next(c for c in cells if c["cell_type"] == "markdown")["source"])
    return next(line for line in first.splitlines() if line.startswith("# "))[2:].strip()


def test_every_page_is_built(site):
    for page in ["index", "command-line", "api"] + [f"notebooks/{nb.stem}" for nb in NOTEBOOKS]:
        assert (site / f"{page}.html").is_file(), f"{page}.html is missing"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_pages_show_the_committed_notebook_and_its_outputs(site, notebook):
    page = read_page(site / "notebooks" / f"{notebook.stem}.html")
    assert _title(notebook) in page.text
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    streams = ["".join(o["text"]) for c in cells if c["cell_type"] == "code" for o in c["outputs"] if o["output_type"] == "stream"]
    first_line = streams[0].strip().splitlines()[0]
    assert " ".join(first_line.split()) in page.text


def test_the_guide_line_and_the_diagram_are_on_notebook_01(site):
    path = site / "notebooks" / "01-early-exit.html"
    page = read_page(path)
    assert "Exited early with exit code: 1" in page.text
    pictures = [src for src in page.loads if src.endswith(".svg")]
    assert pictures, "no diagram picture on the page"
    for src in pictures:
        assert (path.parent / src).resolve().is_file(), f"{src} is not in the site"


def test_no_page_loads_anything_from_outside_the_site(site):
    for path in site.rglob("*.html"):
        if path.relative_to(site).parts[0] == "_static":
            continue  # the theme's template fragments, not pages
        page = read_page(path)
        off_site = [url for url in page.loads if urlparse(url).scheme or url.startswith("//")]
        assert off_site == [], f"{path.relative_to(site)} loads {off_site}"
        for url in page.loads:
            local = (path.parent / urlparse(url).path).resolve()
            assert local.is_file(), f"{path.relative_to(site)} loads {url}, which the site lacks"


@pytest.mark.parametrize("notebook", WITH_WIDGETS, ids=lambda p: p.name)
def test_widget_views_come_with_their_saved_state_and_a_local_embed_script(site, notebook):
    path = site / "notebooks" / f"{notebook.stem}.html"
    page = read_page(path)
    assert "application/vnd.jupyter.widget-state+json" in page.script_types
    assert "application/vnd.jupyter.widget-view+json" in page.script_types
    embed = [src for src in page.loads if urlparse(src).path.endswith("/widgets/embed.js")]
    assert len(embed) == 1
    assert (path.parent / urlparse(embed[0]).path).resolve().stat().st_size > 100_000


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_pages_launch_binder_on_that_notebook_and_offer_it_for_download(site, notebook):
    path = site / "notebooks" / f"{notebook.stem}.html"
    links = read_page(path).links
    assert any(
        "mybinder.org/v2/gh/" in url and url.endswith(f"?urlpath=lab/tree/notebooks/{notebook.name}") for url in links
    )
    (download,) = [url for url in links if url.endswith(".ipynb") and not urlparse(url).scheme]
    assert (path.parent / download).read_bytes() == notebook.read_bytes()


def test_landing_page_says_how_to_run_it(site):
    page = read_page(site / "index.html")
    assert "make lab" in page.text and "make test" in page.text
    assert any(url.endswith("?urlpath=lab/tree/notebooks/01-early-exit.ipynb") for url in page.links)
    assert "earlyexit-tutorial-notebooks" in page.text


def test_command_line_page_lists_every_option_of_both_commands(site):
    page = read_page(site / "command-line.html")
    for parser in (cli.build_parser(), notebooks_command.build_parser()):
        for action in parser._actions:
            if action.dest == "help":
                continue  # every command has it; the page does not list it
            for option in action.option_strings:
                assert option in page.text, f"{parser.prog} {option} is not on the command-line page"
    for status in (cli.EXPECTED, cli.UNEXPECTED, cli.BAD_INPUT, cli.OUTPUT_FAILED, cli.CTRL_C, cli.CLOSED_PIPE):
        assert f"| {status} |" in (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8")


def test_api_page_documents_every_public_name(site):
    page = read_page(site / "api.html")
    missing = [name for name in earlyexit_tutorial.__all__ if f"earlyexit_tutorial.{name}" not in page.ids]
    assert missing == []
