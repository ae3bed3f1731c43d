"""Shared pytest fixtures and hooks for comptoir's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.webtools import LIGHTHOUSE_RESULTS, launch_browser

# --- Browser (Debian's chromium through playwright; see tests/webtools.py) ---------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The playwright driver, for the whole session.

    While it runs, ``asyncio.run`` cannot be called in the main thread: modules that use it run
    last (see ``pytest_collection_modifyitems``).
    """
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless chromium for the session; give each test its own context."""
    launched = launch_browser(playwright)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no shared storage), 1280×800."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests using the browser ``browser``; run their modules last, each kept together."""
    browser_modules = set()
    for item in items:
        if "playwright" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            browser_modules.add(item.nodeid.split("::")[0])
    items.sort(key=lambda item: item.nodeid.split("::")[0] in browser_modules)


# --- Reporting -----------------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show every Lighthouse score measured, so CI logs keep them even when tests pass."""
    if LIGHTHOUSE_RESULTS:
        terminalreporter.section("Lighthouse scores (mobile)")
        for url, scores in LIGHTHOUSE_RESULTS:
            line = "  ".join(f"{name} {score:.2f}" for name, score in scores.items())
            terminalreporter.write_line(f"{url}: {line}")
