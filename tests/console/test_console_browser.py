"""The console end to end in headless Chromium (Playwright), against the real app served on
127.0.0.1: keyboard-only sign-in and out, lock-out, roles, adding an account, and axe-core."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from console_helpers import PASSWORD, add_account, console_app

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent.parent / "vendor" / "axe-core"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_the_vendored_axe_core_matches_its_manifest():
    manifest = json.loads((AXE / "manifest.json").read_text())
    assert manifest["package"] == "axe-core" and manifest["licence"] == "MPL-2.0"
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((AXE / name).read_bytes()).hexdigest() == digest, name
    assert "Mozilla Public License" in (AXE / "LICENSE").read_text()


@pytest.fixture
def served():
    """The console's app, served by werkzeug on 127.0.0.1 in a thread: (app, base URL)."""
    from werkzeug.serving import make_server

    app = console_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is."""
    # Evaluated through the DevTools protocol, which the page's CSP (no inline script) does not block.
    page.evaluate((AXE / "axe.min.js").read_text() + "\n;0")
    results = page.evaluate("async () => await axe.run(document)")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def keyboard_sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "/console/sign-in")
    # The username field has the focus (autofocus); Tab to the password, Enter submits.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_sign_in_and_out_by_keyboard_only(served, page):
    app, base = served
    add_account(app, "alice", "viewer")
    keyboard_sign_in(page, base, "alice")
    assert page.url == base + "/console/"
    assert page.get_by_role("heading", name="Overview").is_visible()
    # Tab to the sign-out button and press it.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Sign out":
            break
    else:
        pytest.fail("the Sign out button is not reachable by Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.startswith(base + "/console/sign-in")
    assert page.get_by_text("You are signed out.").is_visible()


def test_lock_out(served, page):
    app, base = served
    add_account(app, "alice", "viewer")
    for _ in range(5):
        keyboard_sign_in(page, base, "alice", "not the password at all")
    keyboard_sign_in(page, base, "alice")
    assert "/console/sign-in" in page.url
    assert page.get_by_role("alert").inner_text().startswith("The username or password is not right")


def test_a_viewer_gets_403_on_an_admin_page(served, page):
    app, base = served
    add_account(app, "vera", "viewer")
    keyboard_sign_in(page, base, "vera")
    response = page.goto(base + "/console/accounts")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()


def test_an_admin_adds_an_account(served, page):
    app, base = served
    add_account(app, "root", "admin")
    keyboard_sign_in(page, base, "root")
    page.goto(base + "/console/accounts")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Role").select_option("editor")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Add account").click()
    assert page.get_by_text("Account bob added, role editor.").is_visible()
    assert page.get_by_role("cell", name="bob", exact=True).is_visible()


def test_no_serious_or_critical_axe_violation_on_any_page(served, page):
    app, base = served
    add_account(app, "root", "admin")
    add_account(app, "bob", "viewer")
    page.goto(base + "/console/sign-in")
    assert axe_violations(page) == [], "/console/sign-in"
    keyboard_sign_in(page, base, "root")
    for path in ("/console/", "/console/accounts", "/console/audit", "/console/nothing-here"):
        page.goto(base + path)
        assert axe_violations(page) == [], path
