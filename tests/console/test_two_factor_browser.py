"""The second factor in headless Chromium: a scheduler enrols by keyboard alone (reading the secret the
page shows as text, as someone typing it into an app would), signs out, and signs in with a code;
the enrolment and code pages are clean for axe-core."""

from __future__ import annotations

import time

import pytest
from browser_helpers import axe_violations, keyboard_password, keyboard_second_factor, press, tab_to
from console_helpers import add_account

from ivr.console import two_factor
from ivr.console.auth import EXTENSION

pytestmark = pytest.mark.browser


def test_a_scheduler_enrols_by_keyboard_then_signs_in_with_a_code(served, page):
    app, base = served
    add_account(app, "sam", "scheduler")
    keyboard_password(page, base, "sam")
    assert page.url == base + "/console/two-factor"
    assert page.get_by_role("heading", name="Set up your second factor", level=1).is_visible()
    qr = page.locator("svg.qr")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert 150 <= box["width"] <= 300 and box["width"] == box["height"]
    assert page.get_by_role("img", name="QR code to add the account sam to an authenticator app").count() \
        or qr.locator("title").inner_text().startswith("QR code to add the account sam")
    assert page.locator("ul.recovery-codes li").count() == 10
    assert axe_violations(page) == []

    # A wrong code first: the page says so, in an alert, and is still clean.
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    right = two_factor.code_at(secret, two_factor.current_step(time.time()))
    tab_to(page, "Code")
    page.keyboard.type("000000" if right != "000000" else "111111")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("alert").inner_text().startswith("That code is not right")
    assert page.locator("#totp-secret").inner_text().replace(" ", "") == secret
    assert axe_violations(page) == []

    keyboard_second_factor(page, base, "sam")  # reads the secret on the page, types now's code
    assert page.url == base + "/console/"
    assert page.get_by_text("Your second factor is set up").is_visible()
    state = app.extensions[EXTENSION]
    assert state.second_factors.get(state.accounts.find_user("sam").id).enrolled
    press(page, "Sign out")
    assert page.get_by_text("You are signed out.").is_visible()

    keyboard_password(page, base, "sam")
    assert page.url == base + "/console/two-factor"
    assert page.get_by_role("heading", name="Code from your app", level=1).is_visible()
    assert page.locator("#totp-secret").count() == 0
    assert axe_violations(page) == []
    # Half signed in: the overview sends the browser back to the sign-in page.
    page.goto(base + "/console/")
    assert page.url.startswith(base + "/console/sign-in")
    page.goto(base + "/console/two-factor")
    keyboard_second_factor(page, base, "sam")  # a code of a step not used yet
    assert page.url == base + "/console/"
    assert page.get_by_text("Signed in as sam (scheduler)").is_visible()
    details = [e.detail for e in state.accounts.audit_log() if e.action == "sign-in"]
    assert details == ["with a code", "with a code, just enrolled"]
