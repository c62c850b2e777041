"""Trying a stored version on the browser phone and texting simulator, with Flask's test client: a
draft's changed words heard and texted on that version, the live menu unchanged beside it, calls
that go different ways, an unknown version, one that cannot load, roles and CSRF; nothing sent,
dialled or recorded."""

from __future__ import annotations

import re
import sqlite3

import pytest
import sim_helpers
from conftest import MENUS
from console_helpers import add_account, console_app, sign_in, token_in
from sim_helpers import MONDAY_10, buttons, last_turn, submit, text_of

from ivr.storage.versions import Drafts, Versions
from ivr.usage import EXTENSION as USAGE

SAID = "Oral baclofen is a medication that can help relax certain muscles in the body."
SAID_NOW = "Oral baclofen is a medicine taken by mouth that relaxes tight muscles."
TEXTED = "Intrathecal baclofen pump: a pump placed in the abdomen"
TEXTED_NOW = "Baclofen pump, in the draft's words: a pump placed in the abdomen"
DRAFT = (MENUS.read_text() + sim_helpers.HOURS).replace(SAID, SAID_NOW).replace(TEXTED, TEXTED_NOW)
LIVE_LABEL = "The live menu (version 1)"
DRAFT_LABEL = "Version 2 (draft, by eddie)"


@pytest.fixture
def app(twilio, tmp_path):
    """The console on a line with hours (version 1, live), texts going to a local fake of Twilio."""
    app = console_app(TWILIO_API_BASE_URL=twilio.base_url,
                      IVR_MENUS_FILE=sim_helpers.menus_with_hours(tmp_path))
    add_account(app, "vera", "viewer")
    return app


@pytest.fixture
def client(app):
    client = app.test_client()
    sign_in(client, "vera")
    return client


def draft(app, text: str = DRAFT, by: str = "eddie"):
    """A draft saved from the live version, as the editor saves one."""
    versions = Versions.for_store(app.extensions["ivr"].store)
    return Drafts(versions).start(text.encode(), by=by, now=1_000.0, base_id=1)


def page_of(response, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    return response.get_data(as_text=True)


def call_on(client, query: str, when: str = MONDAY_10):
    """Open the browser phone with `query` and press Call."""
    page = page_of(client.get("/console/phone" + query))
    return page_of(submit(client, page, "call", "1", when=when))


def rows(page: str) -> list[dict]:
    """The side-by-side table's rows: the row's heading, each column's words, and the Differs mark."""
    found = []
    for row in re.findall(r'<tr class="(?:turn|message)-row[^"]*">(.*?)</tr>', page, flags=re.S):
        cells = dict(re.findall(r'<td[^>]*data-column="(\w+)"[^>]*>(.*?)</td>', row, flags=re.S))
        heading = text_of(re.search(r"<th[^>]*>(.*?)</th>", row, flags=re.S).group(1))
        found.append({"heading": heading, "tried": text_of(cells["tried"]), "live": text_of(cells["live"]),
                      "differs": heading.endswith("Differs")})
    return found


def trying(page: str) -> str:
    """The page's sentence naming the menu tried (and the one beside it)."""
    return re.sub(r"<[^>]+>", "", re.search(r'<p class="trying">(.*?)</p>', page, flags=re.S).group(1))


def nothing_kept(app, database) -> None:
    """No usage event, no text and no opt-out in the line's database."""
    app.extensions[USAGE].flush()
    with sqlite3.connect(database) as connection:
        for table in ("events", "texts", "opt_outs", "sending"):
            assert connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table


def test_the_pages_name_the_menu_tried_and_list_the_versions(app, client):
    draft(app)
    for path in ("/console/phone", "/console/texting"):
        page = page_of(client.get(path))
        assert trying(page) == f"Trying: {LIVE_LABEL}."
        assert '<label for="version">Menu to try</label>' in page
        options = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', page)
        assert options == [("", " selected", LIVE_LABEL), ("2", "", DRAFT_LABEL),
                           ("1", "", "Version 1 (published, from the deployed file)")]
        assert '<label for="compare">Compare with the live menu</label>' in page
        page = page_of(client.get(path + "?version=2"))
        assert trying(page) == f"Trying: {DRAFT_LABEL}."
        assert '<option value="2" selected>' in page


def test_a_draft_is_heard_on_the_phone_and_the_live_menu_is_unchanged(app, client, twilio, own_database):
    draft(app)
    page = call_on(client, "?version=2")
    assert trying(page) == f"Trying: {DRAFT_LABEL}."
    # Every form keeps the version: pressing 1 goes on on the draft.
    page = page_of(submit(client, page, "key", "1"))
    assert SAID_NOW in last_turn(page) and SAID not in page
    assert trying(page) == f"Trying: {DRAFT_LABEL}."
    page = page_of(submit(client, page, "key", "1"))  # text me this: pretended, to no number
    assert "would text the summary of oral baclofen" in last_turn(page)
    # The live menu still says what it said.
    page = page_of(submit(client, call_on(client, ""), "key", "1"))
    assert SAID in last_turn(page) and SAID_NOW not in page
    assert twilio.requests == []
    nothing_kept(app, own_database)


def test_a_draft_texts_its_words(app, client, twilio, own_database):
    draft(app)
    page = page_of(client.get("/console/texting?version=2"))
    page = page_of(submit(client, page, None, message="pump", when=MONDAY_10))
    assert f"You: pump The line replies (2 segments, GSM-7): {TEXTED_NOW}" in text_of(page)
    assert re.findall(r'name="version" value="(\d+)"', page) == ["2"]
    page = page_of(client.get("/console/texting"))
    page = page_of(submit(client, page, None, message="pump", when=MONDAY_10))
    assert TEXTED in text_of(page) and TEXTED_NOW not in text_of(page)
    assert twilio.requests == []
    nothing_kept(app, own_database)


def test_side_by_side_on_the_phone(app, client, twilio, own_database):
    draft(app)
    page = call_on(client, "?version=2&compare=1")
    assert trying(page) == f"Trying: {DRAFT_LABEL}, side by side with {LIVE_LABEL}."
    assert re.findall(r'<th scope="col">([^<]*)</th>', page) == ["Turn", DRAFT_LABEL, LIVE_LABEL]
    [start] = rows(page)
    assert start["heading"] == "Turn 1: the call starts" and not start["differs"]
    assert "0 of 1 turn differs." in text_of(page)
    page = page_of(submit(client, page, "key", "1"))
    start, summary = rows(page)
    assert summary["heading"] == "Turn 2: You pressed 1. Differs"
    assert SAID_NOW in summary["tried"] and SAID not in summary["tried"]
    assert SAID in summary["live"] and SAID_NOW not in summary["live"]
    assert "1 of 2 turns differ." in text_of(page)
    # Back to the main menu: the same words on both.
    page = page_of(submit(client, page, "key", "*"))
    assert [row["differs"] for row in rows(page)] == [False, True, False]
    assert text_of(page).count("The line is listening for the caller.") == 2  # the Now row, both columns
    assert twilio.requests == []
    nothing_kept(app, own_database)


def test_side_by_side_texts(app, client, twilio, own_database):
    draft(app)
    page = page_of(client.get("/console/texting?version=2&compare=1"))
    page = page_of(submit(client, page, None, message="menu", when=MONDAY_10))
    page = page_of(submit(client, page, None, message="2", when=MONDAY_10))
    menu, pump = rows(page)
    assert menu["heading"] == "You: menu" and not menu["differs"]
    assert menu["tried"].startswith(DRAFT_LABEL + " The line replies (2 segments, GSM-7): Spasticity Clinic:")
    assert menu["live"] == LIVE_LABEL + menu["tried"][len(DRAFT_LABEL):]
    assert pump["heading"] == "You: 2 Differs"
    assert TEXTED_NOW in pump["tried"] and TEXTED not in pump["tried"]
    assert TEXTED in pump["live"] and TEXTED_NOW not in pump["live"]
    assert "1 of 2 replies differ." in text_of(page)
    assert re.findall(r'name="sent" value="([^"]*)"', page) == ["menu", "2"]
    assert twilio.requests == []
    nothing_kept(app, own_database)


def test_when_the_calls_go_different_ways_the_live_column_says_so(app, client):
    # The draft puts a caller through at the first silence; the live menu asks twice more.
    draft(app, DRAFT.replace("no_input_retries: 2", "no_input_retries: 0"))
    page = page_of(submit(client, call_on(client, "?version=2&compare=1"), "do", "wait"))
    waited = rows(page)[1]
    assert waited["differs"] and "would put the call through" in waited["tried"]
    assert "Sorry, I did not hear a choice." in waited["live"]
    # The buttons follow the draft's call, which is being put through.
    assert [v for n, v, _ in buttons(page) if n == "transfer"] == ["answered", "busy", "no-answer", "failed"]
    page = page_of(submit(client, page, "transfer", "busy"))
    busy = rows(page)[2]
    assert "Sorry, our scheduling team cannot take your call right now." in busy["tried"]
    assert busy["live"].endswith("Not replayed: This call was not being put through, so it could not take "
                                 "the scheduling line's answer: it and the inputs after it are not "
                                 "replayed here.")
    assert "Not replayed from turn 3. The line is listening for the caller." in text_of(page)
    page = page_of(submit(client, page, "do", "hangup"))
    assert rows(page)[3]["live"].endswith(LIVE_LABEL + " Not replayed")
    assert "The call has ended." in text_of(page)


def test_an_unknown_version_is_a_404_page(app, client):
    for path in ("/console/phone?version=7", "/console/texting?version=7", "/console/phone?version=x",
                 "/console/phone?version=99999999999999999999"):
        page = page_of(client.get(path), 404)
        assert "No such menu version" in text_of(page)
    token = token_in(page_of(client.get("/console/phone")))
    for path, data in [("/console/phone", {"call": "1", "when": MONDAY_10}),
                       ("/console/texting", {"message": "pump", "when": MONDAY_10})]:
        response = client.post(path, data={"csrf_token": token, "version": "7", **data})
        assert "There is no menu version 7 to try." in text_of(page_of(response, 404))


def test_a_version_that_cannot_load_shows_its_problems(app, client):
    Versions.for_store(app.extensions["ivr"].store).add(
        DRAFT.replace("key_timeout: 6", "key_timeout: 60").encode(), source="console", by="eddie",
        now=1_000.0)
    line = next(n for n, text in enumerate(DRAFT.splitlines(), 1) if "key_timeout" in text)
    for path in ("/console/phone?version=2", "/console/texting?version=2&compare=1"):
        page = page_of(client.get(path))
        words = text_of(page)
        assert f"{DRAFT_LABEL} cannot be loaded, so it cannot be tried." in words
        assert f"menu version 2:{line} , column 16: " in words
        assert 'href="/console/editor"' in page
        assert buttons(page) == [(None, None, None)]  # only Sign out: no Call, no Send
        assert 'name="message"' not in page and 'name="when"' not in page
    token = token_in(page_of(client.get("/console/phone")))
    response = client.post("/console/phone", data={"csrf_token": token, "version": "2", "call": "1",
                                                   "when": MONDAY_10})
    assert f"menu version 2:{line} , column 16: " in text_of(page_of(response))


def test_every_role_may_try_a_draft_and_strangers_may_not(app):
    draft(app)
    stranger = app.test_client()
    response = stranger.get("/console/phone?version=2")
    assert response.status_code == 302 and "/console/sign-in" in response.headers["Location"]
    for role in ("viewer", "editor", "clinician", "admin"):
        add_account(app, f"user-{role}", role)
        client = app.test_client()
        sign_in(client, f"user-{role}")
        assert SAID_NOW in page_of(submit(client, call_on(client, "?version=2&compare=1"), "key", "1"))
        assert page_of(client.get("/console/texting?version=2&compare=1"))


def test_a_post_on_a_version_without_the_csrf_token_is_refused(app, client):
    draft(app)
    for path, data in [("/console/phone", {"when": MONDAY_10, "call": "1"}),
                       ("/console/texting", {"when": MONDAY_10, "message": "pump"})]:
        response = client.post(path, data={"version": "2", "compare": "1", **data})
        assert response.status_code == 400 and "Form expired" in text_of(response.get_data(as_text=True))
