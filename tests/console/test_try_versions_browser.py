"""Trying a draft in headless Chromium, by keyboard alone: the draft chosen from the list with the
comparison ticked, a call and a text replayed on both menus, the draft's words in one column and
the live menu's in the other, stacked on a narrow screen; axe-core on every state."""

from __future__ import annotations

import pytest
from browser_helpers import axe_violations, keyboard_sign_in, press, tab_to
from conftest import MENUS
from console_helpers import add_account

from ivr.storage.versions import Drafts, Versions

pytestmark = pytest.mark.browser

SAID = "Oral baclofen is a medication that can help relax certain muscles in the body."
SAID_NOW = "Oral baclofen is a medicine taken by mouth that relaxes tight muscles."
TEXTED = "Intrathecal baclofen pump: a pump placed in the abdomen"
TEXTED_NOW = "Baclofen pump, in the draft's words: a pump placed in the abdomen"
DRAFT_LABEL = "Version 2 (draft, by eddie)"
LIVE_LABEL = "The live menu (version 1)"


def choose_the_draft_side_by_side(page) -> None:
    """In the Menu to try list, the draft (by arrow key), Compare ticked (Space), then Try."""
    tab_to(page, "Menu to try")
    page.keyboard.press("ArrowDown")  # the list: the live menu, then the newest version first
    assert page.locator("#version").input_value() == "2"
    tab_to(page, "Compare with the live menu")
    page.keyboard.press("Space")
    assert page.locator("#compare").is_checked()
    press(page, "Try this menu")


@pytest.fixture
def signed_in(served, page):
    app, base = served
    add_account(app, "vera", "viewer")
    draft = MENUS.read_text().replace(SAID, SAID_NOW).replace(TEXTED, TEXTED_NOW)
    Drafts(Versions.for_store(app.extensions["ivr"].store)).start(draft.encode(), by="eddie",
                                                                   now=1_000.0, base_id=1)
    keyboard_sign_in(page, base, "vera")
    return app, base


def test_a_draft_compared_with_the_live_menu_on_the_phone(signed_in, page):
    app, base = signed_in
    page.goto(base + "/console/phone")
    assert page.locator(".trying").inner_text() == f"Trying: {LIVE_LABEL}."
    choose_the_draft_side_by_side(page)
    assert page.locator(".trying").inner_text() == f"Trying: {DRAFT_LABEL}, side by side with {LIVE_LABEL}."
    assert axe_violations(page) == []
    press(page, "Call")
    press(page, "1")
    headings = page.locator("table.compare thead th").all_inner_texts()
    assert headings == ["Turn", DRAFT_LABEL, LIVE_LABEL]
    row = page.locator("table.compare tr.turn-row").last
    assert row.locator("th").inner_text() == "Turn 2: You pressed 1. Differs"
    assert page.evaluate("document.activeElement.id") == "turn-2"  # the newest turn has the focus
    draft, live = row.locator('[data-column="tried"]'), row.locator('[data-column="live"]')
    assert SAID_NOW in draft.inner_text() and SAID not in draft.inner_text()
    assert SAID in live.inner_text() and SAID_NOW not in live.inner_text()
    # Side by side on a wide screen; the column's name is in the heading, not repeated in the cell.
    assert draft.bounding_box()["y"] == live.bounding_box()["y"]
    assert draft.bounding_box()["x"] < live.bounding_box()["x"]
    assert not draft.locator(".column-name").is_visible()
    assert page.get_by_text("1 of 2 turns differ.").is_visible()
    assert axe_violations(page) == []
    # On a narrow screen the columns stack, each cell saying which menu it is.
    page.set_viewport_size({"width": 400, "height": 900})
    assert live.bounding_box()["y"] >= draft.bounding_box()["y"] + draft.bounding_box()["height"]
    assert draft.locator(".column-name").inner_text() == DRAFT_LABEL
    assert live.locator(".column-name").inner_text() == LIVE_LABEL
    assert axe_violations(page) == []
    # The inputs go on on both menus.
    press(page, "star")
    assert page.locator("table.compare tr.turn-row").count() == 3
    assert "Differs" not in page.locator("table.compare tr.turn-row").last.locator("th").inner_text()


def test_a_draft_compared_with_the_live_menu_by_text(signed_in, page):
    app, base = signed_in
    page.goto(base + "/console/texting")
    choose_the_draft_side_by_side(page)
    tab_to(page, "Message")
    page.keyboard.type("pump")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    row = page.locator("table.compare tr.message-row").last
    assert row.locator("th").inner_text() == "You: pump Differs"
    draft, live = row.locator('[data-column="tried"]'), row.locator('[data-column="live"]')
    assert TEXTED_NOW in draft.inner_text() and TEXTED not in draft.inner_text()
    assert TEXTED in live.inner_text() and TEXTED_NOW not in live.inner_text()
    assert axe_violations(page) == []
