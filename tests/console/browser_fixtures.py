"""Fixtures of the console's browser tests: the app served on 127.0.0.1, Chromium and a fresh page."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import ARGS, CHROMIUM, serving
from conftest import IN_CI
from console_helpers import console_app


@pytest.fixture
def served():
    """The console's app (IVR_CONSOLE=1, the test's own database) served on 127.0.0.1: (app, base URL)."""
    app = console_app()
    with serving(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright; skipped where it is not installed, except in
    CI (CI=true), where a missing browser fails the browser tests instead of passing them unseen."""
    if not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(missing + "; .ci/run installs it")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page in a fresh browser context (no cookies from another test)."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
