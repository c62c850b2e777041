"""The browser phone and texting simulator with Flask's test client: calls reaching a summary and a
transfer, closed hours at a chosen time, speech, timeouts, Spanish, texts with their segments, junk
forms, roles and CSRF; and that nothing is sent, dialled or recorded."""

from __future__ import annotations

import re
import sqlite3

import pytest
import sim_helpers
from conftest import ACCOUNT, CALLER, TOKEN, Call, Texter
from console_helpers import add_account, console_app, post_form, sign_in, token_in
from sim_helpers import MONDAY_10, SATURDAY_10, buttons, last_turn, start_call, submit, text_of

from ivr.usage import EXTENSION as USAGE

SUMMARY = "Oral baclofen is a medication that can help relax certain muscles in the body."
GENERAL_INFO = "This is general information."
PUMP = "Rather than high doses of oral baclofen"
NOTICE = "If this is a medical emergency, please hang up and dial 9 1 1."


@pytest.fixture
def twilio_app(twilio, tmp_path):
    """The console on a line with hours whose texts would go to a local fake of Twilio's API."""
    app = console_app(TWILIO_API_BASE_URL=twilio.base_url,
                      IVR_MENUS_FILE=sim_helpers.menus_with_hours(tmp_path))
    add_account(app, "vera", "viewer")
    return app


@pytest.fixture
def client(twilio_app):
    client = twilio_app.test_client()
    sign_in(client, "vera")
    return client


def page_of(response, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def nothing_kept(app, database) -> None:
    """No usage event, no text and no opt-out in the line's database."""
    app.extensions[USAGE].flush()
    with sqlite3.connect(database) as connection:
        for table in ("events", "texts", "opt_outs", "sending"):
            assert connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table


def test_the_phone_page_offers_a_call_at_the_clinics_time(client):
    page = page_of(client.get("/console/phone"))
    assert re.search(r'<label for="when">As if it were \(clinic time, America/Kentucky/Louisville\)</label>',
                     page)
    assert re.search(r'id="when" name="when" type="datetime-local" value="\d{4}-\d\d-\d\dT\d\d:\d\d"', page)
    assert ("call", "1", None) in buttons(page)


def test_a_call_reaches_a_summary_and_texting_it_is_only_pretended(twilio_app, client, twilio, own_database):
    page = page_of(start_call(client, MONDAY_10))
    first = last_turn(page)
    assert first.startswith("Turn 1: the call starts")
    assert "Thank you for calling the Spasticity Clinic. (en-US)" in first
    assert f"{NOTICE} (en-US)" in first
    assert "Para español, oprima 8. (es-US, while listening)" in first
    assert "Listening for a key or a word, at the main menu, for up to 6 seconds" in first
    assert "Monday 30 November 2026, 10:00 (America/Kentucky/Louisville): scheduling is open." \
        in text_of(page)
    # The keypad: every key, star and pound by name.
    keys = [(value, label) for name, value, label in buttons(page) if name == "key"]
    assert keys == [(k, None) for k in "123456789"] + [("*", "star"), ("0", None), ("#", "pound")]

    page = page_of(submit(client, page, "key", "1"))
    turn = last_turn(page)
    assert turn.startswith("Turn 2: You pressed 1.")
    assert SUMMARY in turn and GENERAL_INFO in turn
    assert turn.index(SUMMARY) < turn.index(GENERAL_INFO) \
        < turn.index("To get this by text message, press 1.")
    assert "Turn 1: the call starts" in text_of(page)  # the transcript so far, again

    page = page_of(submit(client, page, "key", "1"))
    turn = last_turn(page)
    assert "I have sent it to the phone you are calling from." in turn
    assert "The line would text the summary of oral baclofen to the caller's phone (nothing is sent)." in turn
    assert twilio.requests == []
    nothing_kept(twilio_app, own_database)


@pytest.mark.parametrize("outcome, heard", [
    ("answered", "The line hangs up: the call ends."),
    ("busy", "Sorry, our scheduling team cannot take your call right now."),
    ("no-answer", "Sorry, our scheduling team cannot take your call right now."),
    ("failed", "Sorry, our scheduling team cannot take your call right now."),
])
def test_a_transfer_with_each_outcome(twilio_app, client, twilio, own_database, outcome, heard):
    page = page_of(submit(client, page_of(start_call(client, MONDAY_10)), "key", "0"))
    turn = last_turn(page)
    assert "Please hold while I connect you with our scheduling team." in turn
    assert ("The line would put the call through to the scheduling line, (502) 635-6397, letting it "
            "ring 25 seconds (nothing is dialled).") in turn
    offered = [value for name, value, _ in buttons(page) if name == "transfer"]
    assert offered == ["answered", "busy", "no-answer", "failed"]
    assert not [b for b in buttons(page) if b[0] == "key"]  # no keypad while it rings

    page = page_of(submit(client, page, "transfer", outcome))
    turn = last_turn(page)
    assert turn.startswith(f"Turn 3: The scheduling line: {outcome.replace('-', ' ')}.")
    assert heard in turn
    if outcome == "answered":
        assert "The call has ended." in text_of(page)
        assert [b[0] for b in buttons(page)] == [None, "call"]  # sign out, and Call again
    else:
        assert "To hear the number again, press 1." in turn
        assert [v for n, v, _ in buttons(page) if n == "key"]
    assert twilio.requests == []
    nothing_kept(twilio_app, own_database)


def test_closed_hours_at_a_chosen_time(client):
    page = page_of(start_call(client, SATURDAY_10))
    assert "Saturday 28 November 2026, 10:00 (America/Kentucky/Louisville): scheduling is closed." \
        in text_of(page)
    page = page_of(submit(client, page, "key", "0"))
    turn = last_turn(page)
    assert "Our scheduling team is closed right now. They are open Monday to Friday, 8 AM to 5 PM." in turn
    assert ("Scheduling is closed at this time: the line gives its hours instead of putting the call "
            "through.") in turn
    assert "would put the call through" not in turn
    assert not [b for b in buttons(page) if b[0] == "transfer"]
    # The time stays with the call: the next step is still on Saturday.
    page = page_of(submit(client, page, "key", "1"))
    assert "Our scheduling team is closed right now." in last_turn(page)
    # Open on Monday at ten.
    page = page_of(submit(client, page_of(start_call(client, MONDAY_10)), "key", "0"))
    assert "would put the call through" in last_turn(page)


def test_speech_and_an_emergency_said(client):
    page = page_of(start_call(client, MONDAY_10))
    page = page_of(submit(client, page, None, speech="the pump please"))
    turn = last_turn(page)
    assert turn.startswith("Turn 2: You said “the pump please”.") and PUMP in turn
    page = page_of(submit(client, page, None, speech="my child is not breathing"))
    turn = last_turn(page)
    assert turn.index(NOTICE) < turn.index("To hear this again, press 9.")
    page = page_of(submit(client, page, None, speech="   "), 400)
    assert "Type what the caller says in the Say box, then press Say." in text_of(page)
    assert last_turn(page).startswith("Turn 3")  # the call as it was


def test_waiting_lets_the_prompt_time_out_until_the_line_puts_the_call_through(client):
    page = page_of(start_call(client, MONDAY_10))
    page = page_of(submit(client, page, "do", "wait"))
    turn = last_turn(page)
    assert turn.startswith("Turn 2: You pressed nothing for 6 seconds.")
    assert "Sorry, I did not hear a choice." in turn and "Listening for" in turn
    page = page_of(submit(client, page, "do", "wait"))
    page = page_of(submit(client, page, "do", "wait"))
    assert "would put the call through" in last_turn(page)


def test_a_call_in_spanish(client):
    page = page_of(submit(client, page_of(start_call(client, MONDAY_10)), "key", "8"))
    turn = last_turn(page)
    assert "The call goes on in es-US." in turn
    assert re.search(r'<li lang="es-US" data-sentence>Gracias por llamar', page)
    page = page_of(submit(client, page, None, speech="bomba"))
    assert "(es-US" in last_turn(page) and "(en-US" not in last_turn(page)


def test_hanging_up_ends_the_call(client):
    page = page_of(submit(client, page_of(start_call(client, MONDAY_10)), "do", "hangup"))
    assert "You hung up." in last_turn(page) and "The call has ended." in text_of(page)
    assert [b[0] for b in buttons(page)] == [None, "call"]  # sign out, and Call again


def test_junk_and_missing_fields_get_a_clear_message(client):
    page = page_of(start_call(client, MONDAY_10))
    token = token_in(page)
    cases = [
        ({}, "Choose what the caller does"),
        ({"moment": MONDAY_10, "key": "x"}, "That input is not one this page makes"),
        ({"moment": MONDAY_10, "transfer": "maybe"}, "The line is not putting the call through now"),
        ({"moment": MONDAY_10, "step": "key:0", "key": "1"}, "The line is putting the call through"),
        ({"moment": MONDAY_10, "step": "hangup", "key": "1"}, "The call has ended"),
        ({"moment": MONDAY_10, "step": "launch:rockets", "do": "wait"},
         "That input is not one this page makes"),
        ({"moment": "saturday", "do": "wait"}, "Choose the day and time"),
        ({"when": "", "call": "1"}, "Choose the day and time"),
        ({"moment": "9999-12-31T23:59", "do": "wait"}, "Choose the day and time"),
        ({"moment": MONDAY_10, "step": ["wait"] * 41, "do": "wait"}, "keeps calls to 40 short steps"),
        ({"moment": MONDAY_10, "step": ["say:" + "ñ" * 200] * 10, "do": "wait"},
         "keeps calls to 40 short steps"),
    ]
    for data, message in cases:
        response = client.post("/console/phone", data={"csrf_token": token, **data})
        assert message in text_of(page_of(response, 400)), data
    for data, message in [({"when": MONDAY_10}, "Type a message to send."),
                          ({"when": MONDAY_10, "message": "x" * 481}, "up to 480 characters"),
                          ({"when": "never", "message": "pump"}, "Choose the day and time"),
                          ({"when": MONDAY_10, "message": "pump", "sent": [""]}, "Type a message to send."),
                          ({"when": MONDAY_10, "message": "pump", "sent": ["é" * 480] * 4},
                           "keeps conversations to 20 short messages")]:
        response = client.post("/console/texting", data={"csrf_token": token, **data})
        assert message in text_of(page_of(response, 400)), data


def test_a_text_gets_a_summary_with_its_segments_and_encoding(twilio_app, client, twilio, own_database):
    page = page_of(client.get("/console/texting"))
    assert '<label for="message">Message</label>' in page
    page = page_of(submit(client, page, None, message="menu", when=MONDAY_10))
    assert "The line replies (2 segments, GSM-7): Spasticity Clinic: reply with a number or a word." \
        in text_of(page)
    page = page_of(submit(client, page, None, message="2", when=MONDAY_10))
    thread = text_of(page)
    assert "You: 2 The line replies (2 segments, GSM-7): Intrathecal baclofen pump: a pump placed" in thread
    assert "Reply MENU for more topics. To make an appointment, call (502) 635-6397." in thread
    assert re.findall(r'name="sent" value="([^"]*)"', page) == ["menu", "2"]
    page = page_of(submit(client, page, "new", "1"))
    assert "The conversation" not in text_of(page)
    assert twilio.requests == []
    nothing_kept(twilio_app, own_database)


def test_texts_in_spanish_and_an_emergency_first(client):
    page = page_of(client.get("/console/texting"))
    page = page_of(submit(client, page, None, message="ESPAÑOL", when=MONDAY_10))
    assert re.search(r"The line replies \(\d segments, UCS-2\): Clínica de Espasticidad\. Elija:",
                     text_of(page))
    assert '<div class="from-line" lang="es-US">' in page
    page = page_of(submit(client, page, None, message="mi hijo no respira", when=MONDAY_10))
    last = text_of(page).split("You: mi hijo no respira")[1]
    assert re.match(r" The line replies \(\d segments?, UCS-2\): Si es una emergencia, llame al 911 "
                    r"ahora\.", last)
    page = page_of(submit(client, page_of(client.get("/console/texting")), None,
                          message="my child is not breathing", when=MONDAY_10))
    assert "GSM-7): If this is an emergency, call 911 now. " in text_of(page)


def test_stop_and_start_behave_as_on_the_line_but_nothing_is_kept(twilio_app, client, own_database):
    page = page_of(client.get("/console/texting"))
    page = page_of(submit(client, page, None, message="STOP", when=MONDAY_10))
    assert "A real line would put the number on its opt-out list" in text_of(page)
    assert "The line replies" not in text_of(page)
    page = page_of(submit(client, page, None, message="pump", when=MONDAY_10))
    assert "Twilio would not deliver this reply until it texts START." in text_of(page)
    page = page_of(submit(client, page, None, message="START", when=MONDAY_10))
    assert "take the number off its opt-out list" in text_of(page)
    page = page_of(submit(client, page, None, message="help", when=MONDAY_10))
    assert "information about spasticity treatments" in text_of(page).split("You: help")[1]
    nothing_kept(twilio_app, own_database)


def test_roles_and_signing_in(twilio_app):
    stranger = twilio_app.test_client()
    for path in ("/console/phone", "/console/texting"):
        response = stranger.get(path)
        assert response.status_code == 302 and "/console/sign-in" in response.headers["Location"]
        assert stranger.post(path, data={"call": "1"}).status_code in (400, 401)
    for role in ("viewer", "editor", "clinician", "admin"):
        add_account(twilio_app, f"user-{role}", role)
        client = twilio_app.test_client()
        sign_in(client, f"user-{role}")
        assert client.get("/console/phone").status_code == 200
        assert client.get("/console/texting").status_code == 200
        assert start_call(client, MONDAY_10).status_code == 200


def test_a_post_without_the_csrf_token_is_refused(client):
    for path, data in [("/console/phone", {"when": MONDAY_10, "call": "1"}),
                       ("/console/texting", {"when": MONDAY_10, "message": "pump"})]:
        response = client.post(path, data=data)
        assert response.status_code == 400 and "Form expired" in text_of(response.get_data(as_text=True))
    accepted = post_form(client, "/console/phone", "/console/phone", {"when": MONDAY_10, "call": "1"})
    assert accepted.status_code == 200


def test_no_page_shows_a_real_callers_number_or_words(twilio_app, client):
    line = twilio_app.test_client()
    call = Call(line, token=TOKEN)
    call.start()
    call.press("1")
    Texter(line).send("my daughter Xanthippe needs her pump refilled")
    for path in ("/console/phone", "/console/texting"):
        page = page_of(client.get(path))
        for secret in (CALLER, CALLER[2:], "Xanthippe", ACCOUNT):
            assert secret not in page
    page = page_of(submit(client, page_of(start_call(client, MONDAY_10)), "key", "1"))
    assert CALLER[2:] not in page and "Xanthippe" not in page
    assert not re.search(r"\+1\d{10}", page)  # no number in E.164 form: the caller has none
