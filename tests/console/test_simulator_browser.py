"""The browser phone and texting simulator in headless Chromium, by keyboard alone: a call reaching a
summary, read aloud in its language, then put through and answered; a text getting a summary with its
segments; closed hours at a time typed in; axe-core on every state of both pages; no real caller's
number or words on them."""

from __future__ import annotations

import re

import pytest
import sim_helpers
from browser_helpers import NAME_OF_FOCUS, axe_violations, keyboard_sign_in, press, serving, tab_to
from conftest import CALLER, Call, Texter
from console_helpers import add_account, console_app

pytestmark = pytest.mark.browser

SUMMARY = "Oral baclofen is a medication that can help relax certain muscles in the body."
# Every utterance the page asks the browser to speak, kept for the test to read (the browser's
# own API, wrapped: headless Chromium has no voices to hear).
RECORD_SPEECH = """
window.__spoken = [];
if (window.speechSynthesis) {
  window.speechSynthesis.speak = function (u) { window.__spoken.push([u.text, u.lang]); };
}
"""


def last_turn(page) -> str:
    return page.locator("li.turn").last.inner_text()


@pytest.fixture
def signed_in(served, page):
    app, base = served
    add_account(app, "vera", "viewer")
    page.add_init_script(RECORD_SPEECH)
    keyboard_sign_in(page, base, "vera")
    return app, base


def test_a_call_by_keyboard_reaches_a_summary_and_a_transfer(signed_in, page):
    app, base = signed_in
    page.goto(base + "/console/phone")
    assert axe_violations(page) == []
    press(page, "Call")
    assert "Thank you for calling the Spasticity Clinic." in last_turn(page)
    assert axe_violations(page) == []
    press(page, "1")
    turn = last_turn(page)
    assert turn.startswith("Turn 2: You pressed 1.") and SUMMARY in turn
    # The newest turn has the focus; reading it aloud speaks every sentence in its language.
    assert page.evaluate("document.activeElement.id") == "turn-2"
    tab_to(page, "Read turn 2 aloud")
    page.keyboard.press("Enter")
    spoken = page.evaluate("window.__spoken")
    assert spoken[0] == [SUMMARY + " It can help relieve spasms, cramps and tightness in the muscles. "
                         "To treat spasticity, health care providers need to give very high doses of oral "
                         "baclofen to get the effect they want. Your child's health care provider may "
                         "recommend it together with other treatments.", "en-US"]
    assert all(lang == "en-US" for _, lang in spoken) and len(spoken) > 3
    press(page, "1")
    assert "The line would text the summary of oral baclofen" in last_turn(page)
    # Say a word: type it in the Say box and press Enter.
    tab_to(page, "Say")
    page.keyboard.type("pump")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "You said “pump”." in last_turn(page)
    press(page, "0")
    assert "would put the call through to the scheduling line" in last_turn(page)
    assert page.get_by_role("button", name="Busy").is_visible()
    assert axe_violations(page) == []
    press(page, "Answered")
    assert "The line hangs up: the call ends." in last_turn(page)
    assert page.get_by_text("The call has ended.").is_visible()
    assert axe_violations(page) == []


def test_star_pound_and_spanish_by_keyboard(signed_in, page):
    app, base = signed_in
    page.goto(base + "/console/phone")
    press(page, "Call")
    press(page, "8")  # Spanish
    assert "The call goes on in es-US." in last_turn(page)
    tab_to(page, "Read turn 2 aloud")
    page.keyboard.press("Enter")
    assert {lang for _, lang in page.evaluate("window.__spoken")} == {"es-US"}
    press(page, "pound")
    assert "Turn 3: You pressed pound." in last_turn(page)
    press(page, "star")
    assert "Turn 4: You pressed star." in last_turn(page)


def test_the_texting_simulator_by_keyboard_gets_a_summary(signed_in, page):
    app, base = signed_in
    page.goto(base + "/console/texting")
    assert axe_violations(page) == []
    # The Message box has the focus: type and press Enter.
    assert page.evaluate(NAME_OF_FOCUS) == "Message"
    page.keyboard.type("pump")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    thread = page.locator("ol.thread").inner_text()
    assert re.search(r"The line replies \(2 segments, GSM-7\):\n+Intrathecal baclofen pump: a pump placed",
                     thread)
    page.keyboard.type("ESPAÑOL")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    thread = page.locator("ol.thread").inner_text()
    assert re.search(r"\(\d segments, UCS-2\):\n+Clínica de Espasticidad", thread)
    assert axe_violations(page) == []


def test_no_page_shows_a_real_callers_number_or_words(signed_in, page):
    app, base = signed_in
    line = app.test_client()
    call = Call(line)
    call.start()
    call.press("2")
    Texter(line).send("my son Bartholomew needs his pump checked")
    for path in ("/console/", "/console/phone", "/console/texting"):
        page.goto(base + path)
        content = page.content()
        for secret in (CALLER, CALLER[2:], "502-555-0123", "(502) 555-0123", "Bartholomew"):
            assert secret not in content, (path, secret)
    # A simulated call shows no caller number at all: only the clinic's scheduling line.
    page.goto(base + "/console/phone")
    press(page, "Call")
    press(page, "2")
    press(page, "1")  # text me this: pretended, to no number
    content = page.content()
    assert "The line would text the summary" in content
    assert CALLER[2:] not in content and not re.search(r"\+1\d{10}", content)


def test_closed_hours_on_a_saturday_morning_chosen_by_keyboard(browser, tmp_path):
    app = console_app(IVR_MENUS_FILE=sim_helpers.menus_with_hours(tmp_path))
    add_account(app, "vera", "viewer")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        with serving(app) as base:
            keyboard_sign_in(page, base, "vera")
            page.goto(base + "/console/phone")
            tab_to(page, "As if it were (clinic time, America/Kentucky/Louisville)")
            page.keyboard.type("11282026")  # month, day, year: Saturday 28 November 2026
            page.keyboard.press("Tab")
            page.keyboard.type("1000AM")
            assert page.locator("#when").input_value() == sim_helpers.SATURDAY_10
            press(page, "Call")
            assert page.get_by_text("As if it were Saturday 28 November 2026, 10:00").is_visible()
            assert "scheduling is closed." in page.locator("section.call").inner_text()
            press(page, "0")
            assert "Our scheduling team is closed right now." in last_turn(page)
            assert page.get_by_role("button", name="Answered").count() == 0
            # An empty Say: a clear message, focused, and the call as it was.
            tab_to(page, "Say")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            alert = page.get_by_role("alert")
            assert alert.inner_text() == "Type what the caller says in the Say box, then press Say."
            assert page.evaluate("document.activeElement.getAttribute('role')") == "alert"
            assert last_turn(page).startswith("Turn 2: You pressed 0.")
            assert axe_violations(page) == []
    finally:
        context.close()
