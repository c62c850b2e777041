"""The console end to end in headless Chromium (Playwright), against the real app served on
127.0.0.1: keyboard-only sign-in and out, lock-out, roles, adding an account, and axe-core."""

from __future__ import annotations

import hashlib
import json

import pytest
from browser_helpers import AXE, axe_violations, keyboard_sign_in
from console_helpers import PASSWORD, add_account

from ivr.console.auth import EXTENSION

pytestmark = pytest.mark.browser


def test_the_vendored_axe_core_matches_its_manifest():
    manifest = json.loads((AXE / "manifest.json").read_text())
    assert manifest["package"] == "axe-core" and manifest["licence"] == "MPL-2.0"
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((AXE / name).read_bytes()).hexdigest() == digest, name
    assert "Mozilla Public License" in (AXE / "LICENSE").read_text()


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
    state = app.extensions[EXTENSION]
    start = state.clock()
    for attempt in range(5):
        state.clock = lambda at=start + attempt * 60: at  # past each pause after a wrong password
        keyboard_sign_in(page, base, "alice", "not the password at all")
    keyboard_sign_in(page, base, "alice")
    assert [e.action for e in state.accounts.audit_log()][:2] == ["failed sign-in", "lock-out"]
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
