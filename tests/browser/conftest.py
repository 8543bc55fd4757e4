"""Fixtures for the browser tests: one JupyterLab server, one headless Chromium, a page per test.

Outside CI a missing Chromium or playwright package skips these tests, with a
note on how to install it; under CI=true it is a failure.
"""

from __future__ import annotations

import re

import pytest

from . import _lab

INSTALL_CHROMIUM = (
    "Debian's Chromium is needed for the browser tests: `apt-get install chromium` "
    "(never `playwright install`; browser downloads are blocked)"
)
INSTALL_PLAYWRIGHT = "the playwright package is needed for the browser tests: `pip install --group browser`"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the page fixture knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _lab.find_chromium()
    if path is None:
        if _lab.in_ci():
            pytest.fail(f"CI=true and no Chromium found. {INSTALL_CHROMIUM}", pytrace=False)
        pytest.skip(f"no Chromium found. {INSTALL_CHROMIUM}")
    return path


@pytest.fixture(scope="session")
def sync_api():
    if _lab.in_ci():
        try:
            import playwright.sync_api as sync_api
        except ImportError as error:
            pytest.fail(f"CI=true and {INSTALL_PLAYWRIGHT} ({error})", pytrace=False)
        return sync_api
    return pytest.importorskip("playwright.sync_api", reason=INSTALL_PLAYWRIGHT)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, chromium_path, sync_api):
    """A `jupyter lab` subprocess serving a temporary copy of notebooks/, stopped by pid at the end."""
    server = _lab.start_lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server
    finally:
        _lab.stop_lab(server)


@pytest.fixture(scope="session")
def browser(chromium_path, sync_api):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=_lab.CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(request, browser, lab_server):
    """A fresh page; on failure a screenshot goes to screenshots/, and the test's kernels are shut down."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            name = "failure-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            try:
                path = _lab.screenshot(page, name)
                print(f"\nscreenshot of the failure: {path}")
            except Exception as error:  # the page may be gone
                print(f"\nno failure screenshot: {error}")
            if console_errors:
                print("\nerrors in the page:\n" + "\n".join(console_errors))
            print(f"\nlast lines of the server log:\n{lab_server.log_tail(3000)}")
        context.close()
        lab_server.shutdown_kernels()
