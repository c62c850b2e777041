"""Changing what the line says, end to end in headless Chromium: an editor types a mistake and sees it
at its line, fixes it, changes a sentence, saves the draft and tries it on the browser phone; a
clinician approves it; an editor publishes it; a call through the webhooks then hears the new words."""

from __future__ import annotations

import pytest
from browser_helpers import axe_violations, keyboard_sign_in, serving
from conftest import MENUS, Call
from console_helpers import add_account, console_app

pytestmark = pytest.mark.browser

OLD = "Oral baclofen is a medication that can help relax certain muscles in the body."
NEW = "Oral baclofen is a medicine taken by mouth that can help relax certain muscles in the body."


@pytest.fixture
def line():
    app = console_app(IVR_RELOAD_SECONDS="0")
    add_account(app, "eddie", "editor")
    add_account(app, "claire", "clinician")
    with serving(app) as base:
        yield app, base


def heard_after_pressing_1(app) -> str:
    call = Call(app.test_client())
    call.start()
    call.press("1")
    return call.heard


def test_an_edit_is_checked_saved_tried_approved_published_and_heard(line, browser):
    app, base = line
    assert OLD in heard_after_pressing_1(app)
    editor = browser.new_context().new_page()
    keyboard_sign_in(editor, base, "eddie")
    editor.goto(base + "/console/editor")
    editor.locator("#editor-form[data-checked]").wait_for(state="attached")
    # A mistake typed at the end of the file is marked at its line, and goes when it is undone.
    editor.locator(".cm-content").focus()
    editor.keyboard.press("Control+End")
    lines = MENUS.read_text().count("\n") + 1  # the editor's lines: the last one is empty
    editor.keyboard.type("\nbogus: 1")
    first = editor.locator("#problems li.error").first
    first.wait_for()
    assert first.inner_text().startswith(f"Line {lines + 1}, column 1: error:")
    for _ in range(len("\nbogus: 1")):
        editor.keyboard.press("Backspace")
    editor.get_by_text("No problems: the line could serve this draft.").wait_for()
    # The new sentence, put in as a paste would.
    editor.keyboard.press("Control+a")
    editor.keyboard.insert_text(MENUS.read_text().replace(OLD, NEW))
    editor.get_by_label("Note for reviewers (what and why)").fill("plainer words for oral baclofen")
    with editor.expect_navigation():
        editor.get_by_role("button", name="Save draft").click()
    assert editor.get_by_text("Draft version 2 is saved.").is_visible()
    assert axe_violations(editor) == []
    # Tried on the browser phone, on the draft.
    editor.goto(base + "/console/versions/2")
    with editor.expect_navigation():
        editor.get_by_role("link", name="Try it on the browser phone").click()
    with editor.expect_navigation():
        editor.get_by_role("button", name="Call").click()
    with editor.expect_navigation():
        editor.get_by_role("button", name="1", exact=True).click()
    assert NEW in editor.locator("li.turn").last.inner_text()
    assert OLD in heard_after_pressing_1(app)  # a draft is not served

    clinician = browser.new_context().new_page()
    keyboard_sign_in(clinician, base, "claire")
    clinician.goto(base + "/console/versions/2")
    assert "medicine taken by mouth" in clinician.locator("pre.diff").first.inner_text()
    assert axe_violations(clinician) == []
    with clinician.expect_navigation():
        clinician.get_by_role("button", name="Approve version 2").click()
    assert clinician.get_by_text("Version 2 is approved").is_visible()

    editor.goto(base + "/console/versions/2")
    with editor.expect_navigation():
        editor.get_by_role("button", name="Publish version 2").click()
    assert editor.get_by_text("Version 2 is published.").is_visible()
    assert NEW in heard_after_pressing_1(app)
    editor.context.close()
    clinician.context.close()
