"""The line status pages end to end in headless Chromium (Playwright): the diagram drawn as SVG by the
vendored mermaid with no CSP violation, the script's print layout, keyboard-only use and axe-core."""

from __future__ import annotations

import time

import pytest
from browser_helpers import axe_violations, keyboard_sign_in, tab_to
from console_helpers import add_account

from ivr.heartbeat import EXTENSION as HEARTBEAT
from ivr.storage.workers import Worker

pytestmark = pytest.mark.browser

# Listens before any script of the page runs (Playwright injects it through DevTools, not the page,
# so the page's CSP does not apply to it).
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def watch(page) -> list[str]:
    """Console errors and warnings of `page` from now on (a missing favicon aside)."""
    messages: list[str] = []
    page.add_init_script(WATCH_CSP)
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") and "favicon" not in (m.location or {}).get("url", "")
            and "status of 404" not in m.text else None)
    return messages


def test_the_diagram_is_drawn_as_svg_with_no_csp_violation(served, page):
    app, base = served
    add_account(app, "vera", "viewer")
    messages = watch(page)
    keyboard_sign_in(page, base, "vera")
    response = page.goto(base + "/console/status/diagram")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self' 'unsafe-inline'" in csp
    svg = page.locator("#diagram svg")
    svg.wait_for()
    assert page.locator("#diagram").get_attribute("role") == "img"
    # Every menu and summary is a node of the drawing, with its label.
    labels = page.locator("#diagram svg .node").all_text_contents()
    assert any("Main menu" in label for label in labels) and any("Casting" in label for label in labels)
    assert len(labels) == 10  # the fixture's nine nodes and "any menu or summary"
    assert page.locator("#diagram-wait").count() == 0
    assert page.evaluate("window.__violations") == []
    assert messages == []


def test_the_other_pages_keep_the_strict_csp_and_report_no_violation(served, page):
    app, base = served
    add_account(app, "vera", "viewer")
    messages = watch(page)
    keyboard_sign_in(page, base, "vera")
    for path in ("/console/status", "/console/status/script"):
        response = page.goto(base + path)
        assert "style-src 'self';" in response.headers["content-security-policy"]
        assert page.evaluate("window.__violations") == [], path
    assert messages == []


def test_keyboard_alone_from_the_status_page_to_the_script_and_the_diagram(served, page):
    app, base = served
    add_account(app, "vera", "viewer")
    keyboard_sign_in(page, base, "vera")
    tab_to(page, "Line status")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == base + "/console/status"
    tab_to(page, "Clinician script")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name="Clinician script", level=1).is_visible()
    tab_to(page, "Back to the line status")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "Menu diagram")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == base + "/console/status/diagram"
    page.locator("#diagram svg").wait_for()
    # The Mermaid source opens from the keyboard too.
    assert not page.locator("#diagram-source").is_visible()
    tab_to(page, "Mermaid source")
    page.keyboard.press("Enter")
    assert page.locator("#diagram-source").is_visible()
    assert page.locator("#diagram-source").inner_text().startswith("flowchart TD")


def test_the_script_prints_without_navigation_and_each_language_on_its_own_page(served, page):
    app, base = served
    add_account(app, "vera", "viewer")
    keyboard_sign_in(page, base, "vera")
    page.goto(base + "/console/status/script")
    assert page.locator("header.top").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.get_by_role("heading", name="Clinician script", level=1).is_visible()
    breaks = page.evaluate("""[...document.querySelectorAll('article.script')].map(
        a => [a.lang, getComputedStyle(a).breakBefore])""")
    assert breaks == [["en-US", "auto"], ["es-US", "page"]]
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")


def test_no_serious_or_critical_axe_violation_on_the_status_pages(served, page):
    app, base = served
    add_account(app, "vera", "viewer")
    # A stale worker on another version, so the flags are on the page axe sees.
    now = time.time()
    app.extensions[HEARTBEAT].workers.beat(Worker("f" * 16, "other-host", 4242, now - 3600, now - 600,
                                                  "0" * 64, "2026-01-01T00:00:00+00:00", "menus.yaml:1:1"))
    keyboard_sign_in(page, base, "vera")
    for path in ("/console/status", "/console/status/script", "/console/status/diagram"):
        page.goto(base + path)
        if path.endswith("diagram"):
            page.locator("#diagram svg").wait_for()
        assert axe_violations(page) == [], path
    page.goto(base + "/console/status")
    assert page.get_by_text("Stale: not seen for 10 min").is_visible()
