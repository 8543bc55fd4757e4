"""The built site in Chromium, offline: every request outside the site is blocked."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from pathlib import Path

import pytest

from .. import _site
from . import _lab

GUIDE_LINE = "Exited early with exit code: 1"
PAGE = "notebooks/01-early-exit.html"


def _saved_text_values(notebook: Path) -> dict[str, str]:
    """The saved value of each Text widget, by its description, from the notebook's widget state."""
    state = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["widgets"]
    models = state["application/vnd.jupyter.widget-state+json"]["state"].values()
    return {m["state"]["description"]: m["state"]["value"] for m in models if m["model_name"] == "TextModel"}


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    """The built site, served over HTTP on 127.0.0.1 by a thread of this process."""
    handler = functools.partial(_QuietHandler, directory=str(_site.built_site(tmp_path_factory)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def offline_page(browser, site_url):
    """A page that may load only from the site; what it tried to fetch elsewhere is in page.blocked."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(30_000)
    blocked: list[str] = []

    def only_the_site(route):
        if route.request.url.startswith(site_url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_site)
    page = context.new_page()
    errors: list[str] = []
    missing: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The browser asks every site for /favicon.ico on its own; the pages do not.
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico") and missing.append(r.url))
    page.blocked, page.errors, page.missing = blocked, errors, missing
    try:
        yield page
    finally:
        context.close()


def test_notebook_01_page_works_offline(offline_page, site_url, sync_api):
    page = offline_page
    page.goto(site_url + PAGE, wait_until="load")

    guide_line = page.locator(".cell_output pre", has_text=GUIDE_LINE).first
    guide_line.scroll_into_view_if_needed()
    assert guide_line.is_visible()

    diagrams = page.locator(".cell_output img[src$='.svg']")
    assert diagrams.count() >= 1
    diagrams.first.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete", arg=diagrams.first.element_handle())
    assert diagrams.first.evaluate("img => img.naturalWidth") > 0
    assert all(width > 0 for width in diagrams.evaluate_all("imgs => imgs.map(img => img.naturalWidth)"))

    _lab.SCREENSHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollBy(0, -250)")  # the guide's line sits just above the diagram
    page.screenshot(path=str(_lab.SCREENSHOTS / "site-01-diagram.png"))

    # The run panel, rendered from the saved state by the site's own copy of the widget-embedding script.
    saved = _saved_text_values(_lab.NOTEBOOKS / "01-early-exit.ipynb")
    for name in ("x", "y"):
        field = page.locator(".widget-text").filter(has=page.locator("label", has_text=re.compile(f"^{name}$")))
        field.first.locator("input").wait_for(state="visible")
        assert field.first.locator("input").input_value() == saved[name]
    field.first.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -300)")
    page.screenshot(path=str(_lab.SCREENSHOTS / "site-01-run-panel.png"))

    # The worked solution is folded: hidden until the learner opens it.
    solution = page.locator("details.hide", has_text="WORKED SOLUTION")
    expect = sync_api.expect
    expect(solution).to_have_count(1)
    code = solution.locator("pre", has_text="WORKED SOLUTION")
    expect(code).to_be_hidden()
    verdict = solution.locator(".cell_output", has_text="all 19 cases pass")
    expect(verdict).to_be_hidden()  # the checker's verdict gives the answer away too
    solution.locator("summary").click()
    expect(code).to_be_visible()
    expect(verdict).to_be_visible()

    # Every code cell has a copy button, from the site's own copy of sphinx-copybutton.
    first_cell = page.locator(".cell_input div.highlight").first
    first_cell.hover()
    expect(first_cell.locator("button.copybtn")).to_have_count(1)

    assert page.blocked == [], f"the page fetched from outside the site: {page.blocked}"
    assert page.missing == [], f"the site lacks what the page asked for: {page.missing}"
    assert page.errors == [], f"errors in the page: {page.errors}"
