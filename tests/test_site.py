"""The static site: it builds with warnings as errors, from the committed notebooks, and needs nothing off-site."""

from __future__ import annotations

import contextlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest

import earlyexit_tutorial
from earlyexit_tutorial.commands import cli
from earlyexit_tutorial.commands import copy_notebooks as notebooks_command
from earlyexit_tutorial.guide import running

from . import _site

ROOT = _site.ROOT
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WITH_WIDGETS = [nb for nb in NOTEBOOKS if "application/vnd.jupyter.widget-view+json" in nb.read_text(encoding="utf-8")]
WASMER_GUIDE = "https://docs.wasmer.io/integrations/examples/exit-early"
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
    streams = [
        "".join(o["text"])
        for c in cells
        if c["cell_type"] == "code"
        for o in c["outputs"]
        if o["output_type"] == "stream"
    ]
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


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_the_cost_table_renders_as_an_html_table(site):
    html = _html(site / "notebooks" / "01-early-exit.html")
    tables = re.findall(r"<table.*?</table>", html, flags=re.DOTALL)
    cost = [t for t in tables if "what was timed" in t and "µs per call" in t]
    assert len(cost) == 1, "the cost table is not an HTML table (markdown outputs need the gfm format)"
    assert "Func.__call__" in cost[0] and cost[0].count("<tr") >= 9


def test_the_worked_solution_and_the_self_check_answers_are_folded_with_their_outputs(site):
    html = _html(site / "notebooks" / "01-early-exit.html")
    folded = re.findall(r"<details[^>]*\bhide\b[^>]*>.*?</details>", html, flags=re.DOTALL)
    # An answer's output gives it away as much as its code: the checker's verdict is folded with it.
    for marker, verdict in (("WORKED SOLUTION", "all 19 cases pass"), ("THE ANSWERS", "5 of 5 right.")):
        assert sum(marker in block and verdict in block for block in folded) == 1, f"{marker} is not folded whole"
        assert html.count(verdict) == 1, f"{verdict!r} shows outside its folded block"


def test_every_notebook_is_a_page_listed_on_the_landing_page(site):
    links = read_page(site / "index.html").links
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook.stem}.html" in links, f"{notebook.name} is not listed on the landing page"


def test_what_you_will_learn_names_and_links_every_notebook(site):
    html = _html(site / "index.html")
    learn = html.split('id="what-you-will-learn"', 1)[1].split("<section", 1)[0]
    for number, notebook in enumerate(NOTEBOOKS, start=1):
        assert f'href="notebooks/{notebook.stem}.html"' in learn, f"{notebook.name} is not in What you will learn"
        assert f"Notebook {number}," in learn


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_only_a_page_with_panels_says_its_panels_show_their_saved_state(site, notebook):
    text = read_page(site / "notebooks" / f"{notebook.stem}.html").text
    assert ("The panels on this page show the state they were saved with" in text) == (notebook in WITH_WIDGETS)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_picture_says_what_it_shows(site, notebook):
    html = _html(site / "notebooks" / f"{notebook.stem}.html")
    for tag in re.findall(r"<img\b[^>]*>", html):
        alt = re.search(r'\balt="([^"]*)"', tag)
        assert alt and len(alt[1].split()) >= 5, tag  # a sentence, not a file name
        assert not re.fullmatch(r"[0-9a-f]{64}(\.\w+)?", alt[1]), tag


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_a_cells_printed_text_is_one_box(site, notebook):
    # A cell that printed in bursts saved several stream outputs; the page merges them (nb_merge_streams).
    html = _html(site / "notebooks" / f"{notebook.stem}.html")
    for output in html.split('<div class="cell_output docutils container">')[1:]:
        output = output.split('<div class="cell', 1)[0]
        assert output.count('class="output stream') <= 1, output[:300]


def test_the_landing_page_and_notebook_01_link_to_wasmers_guide(site):
    for page in ("index.html", "notebooks/01-early-exit.html"):
        assert WASMER_GUIDE in read_page(site / page).links, page


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_have_a_copy_button_served_from_the_site(site, notebook):
    path = site / "notebooks" / f"{notebook.stem}.html"
    loads = [urlparse(url).path for url in read_page(path).loads]
    for script in ("copybutton.js", "clipboard.min.js"):
        local = [url for url in loads if url.endswith("/" + script)]
        assert len(local) == 1, f"{script} is not loaded from the site"
        assert (path.parent / local[0]).resolve().is_file()


def test_links_to_headings_land_on_a_heading_of_the_linked_page(site):
    for path in (site / "notebooks").glob("*.html"):
        page = read_page(path)
        for url in page.links:
            parsed = urlparse(url)
            if parsed.scheme or not parsed.fragment:
                continue
            target = path if not parsed.path else (path.parent / parsed.path).resolve()
            assert parsed.fragment in read_page(target).ids, f"{path.name}: {url} leads nowhere"


def test_the_limits_example_of_the_api_page_prints_what_it_says(tmp_path):
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## Capping a guest's resources", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    for key in running.DEFAULT_LIMITS:
        assert f"| `{key}` |" in section, key
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "api.md", "exec"), {})
    said = [line.split("# found: ")[1].split()[0] for line in example.splitlines() if "# found: " in line]
    assert out.getvalue().splitlines() == [f"Expected early termination with `ExitCode`, found: {v}" for v in said]
