"""The menu editor in headless Chromium: CodeMirror with line numbers, a mistake typed is marked at
its line within a moment, fixing it clears it; keyboard, CSP and axe-core."""

from __future__ import annotations

import pytest
from browser_helpers import axe_violations, keyboard_sign_in
from console_helpers import add_account

pytestmark = pytest.mark.browser


def test_a_mistake_typed_is_marked_at_its_line_and_fixing_it_clears_it(served, page):
    app, base = served
    add_account(app, "eddie", "editor")
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    keyboard_sign_in(page, base, "eddie")
    page.goto(base + "/console/editor")
    page.wait_for_selector(".cm-editor .cm-lineNumbers")
    page.locator("#editor-form[data-checked]").wait_for(state="attached")
    assert page.get_by_text("No problems: the line could serve this draft.").is_visible()
    # At the end of the file, type a section the line does not know, as a staff member might.
    page.locator(".cm-content").focus()
    page.keyboard.press("Control+End")
    last = page.evaluate("document.getElementById('draft').value.split('\\n').length")
    page.keyboard.type("\nbogus: 1")
    page.wait_for_selector(".cm-lint-marker-error", state="attached")
    problems = page.locator("#problems")
    assert "error(s)" in problems.inner_text()
    first = page.locator("#problems li.error").first.inner_text()
    assert first.startswith(f"Line {last + 1}, column 1: error:") and "bogus" in first
    for _ in range(len("\nbogus: 1")):
        page.keyboard.press("Backspace")
    page.get_by_text("No problems: the line could serve this draft.").wait_for()
    assert page.locator(".cm-lint-marker-error").count() == 0
    assert page.locator("#replies td", has_text="GSM-7").count() > 5
    assert refused == []


def test_the_editor_lets_the_keyboard_out_and_passes_axe(served, page):
    app, base = served
    add_account(app, "eddie", "editor")
    keyboard_sign_in(page, base, "eddie")
    page.goto(base + "/console/editor")
    page.wait_for_selector(".cm-editor")
    page.locator(".cm-content").focus()
    page.keyboard.press("Tab")  # Tab leaves the editor: it moves the focus, it does not indent
    assert page.evaluate("document.activeElement.id") == "note"  # the field after the editor
    assert axe_violations(page) == []


def test_a_draft_too_large_to_check_says_so(served, page):
    app, base = served
    add_account(app, "eddie", "editor")
    keyboard_sign_in(page, base, "eddie")
    page.goto(base + "/console/editor")
    page.locator("#editor-form[data-checked]").wait_for(state="attached")
    page.locator(".cm-content").focus()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text("# " + "x" * (900 * 1024))  # over the request limit, not only the draft's
    page.get_by_text("This draft is too large to check: a menu file is at most 256 KiB.").wait_for()
