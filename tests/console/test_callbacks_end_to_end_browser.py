"""A callback request from the first ring to the purge: a family calls, finds scheduling busy, asks to
be called back and leaves a message (signed webhooks, Twilio's Record action and recording status
callback); a scheduler enrols a second factor in Chromium, signs out and in again with a code, plays
the message through the app from the fake Twilio, takes and closes the request; a viewer gets 403 on
its addresses; `ivr callbacks purge` deletes it and its recording at the fake Twilio."""

from __future__ import annotations

import time

import pytest
from browser_helpers import (
    ENROLLED,
    axe_violations,
    keyboard_password,
    keyboard_second_factor,
    keyboard_sign_in,
    press,
    serving,
)
from conftest import ACCOUNT, CALLER, Call, environment
from console_helpers import add_account, console_app
from cryptography.fernet import Fernet
from fake_twilio import recording_sid, silent_mp3
from test_callbacks_voice import message_left, recording_callback, to_busy_line

from ivr import cli
from ivr.console.auth import EXTENSION
from ivr.storage.callbacks import Callbacks

pytestmark = pytest.mark.browser

KEY = Fernet.generate_key().decode()
# The console's clock runs a month behind the purge's, so the request the scheduler closes is due.
BEHIND = 31 * 86400.0


@pytest.fixture
def fake(twilio):
    return twilio  # the root conftest's fake Twilio REST API


def test_a_family_asks_by_phone_a_scheduler_with_a_code_calls_back_and_the_purge_forgets(
        fake, browser, page, monkeypatch, capsys):
    app = console_app(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url)
    console_clock = app.extensions[EXTENSION]
    console_clock.clock = lambda: time.time() - BEHIND
    callbacks = Callbacks.for_store(app.extensions["ivr"].store, [KEY])

    # The family: scheduling is busy, they press 3, keep their own number and leave a message.
    client = app.test_client()
    call: Call = to_busy_line(client, "busy")
    assert "press 3" in call.heard
    call.press("3")
    assert "number ending in 0, 1, 2, 3" in call.heard
    call.press("1")
    rec = recording_sid()
    message_left(call, rec)
    fake.recordings[rec] = silent_mp3(80)  # about two seconds, at Twilio
    assert recording_callback(client, call, rec).status_code in (200, 204)
    (summary,) = callbacks.newest()
    assert (summary.reason, summary.recording_sid, summary.status) == ("busy", rec, "new")
    request_id = summary.id

    add_account(app, "sam", "scheduler")
    add_account(app, "vera", "viewer")
    with serving(app) as base:
        # First sign-in: the password, then the enrolment page with the secret as text.
        keyboard_password(page, base, "sam")
        assert page.url.startswith(base + "/console/two-factor")
        assert page.locator("#totp-secret").count() == 1 and page.locator("svg.qr").count() == 1
        keyboard_second_factor(page, base, "sam", console_clock.clock)
        assert (base, "sam") in ENROLLED
        press(page, "Sign out")
        # Second sign-in: asked for a code, not for enrolment.
        keyboard_sign_in(page, base, "sam", clock=console_clock.clock)
        assert "/console/two-factor" not in page.url and "/console/sign-in" not in page.url

        page.goto(base + "/console/callbacks")
        row = page.locator(f"#request-{request_id}")
        assert "New" in row.inner_text() and "Scheduling was busy" in row.inner_text()
        assert CALLER[2:] not in page.content()
        page.get_by_role("link", name=f"Request {request_id}").click()
        page.wait_for_url(f"{base}/console/callbacks/{request_id}")
        assert page.locator("#number").get_attribute("href") == f"tel:{CALLER}"
        assert "api.twilio.com" not in page.content() and fake.base_url not in page.content()
        page.evaluate("() => { const a = document.querySelector('#message'); a.preload = 'auto'; a.load(); }")
        page.wait_for_function("() => document.querySelector('#message').readyState >= 1", timeout=15000)
        assert 1.5 < page.evaluate("() => document.querySelector('#message').duration") < 2.5
        assert axe_violations(page) == []
        press(page, "Take it (I am calling)")
        page.locator("#note").fill("Called back; visit booked")
        press(page, "Close: done")
        assert f"Callback request {request_id} is closed: done." in page.locator(".notice").inner_text()
        assert callbacks.summary(request_id).status == "done"

        # A viewer: 403 on every address of the request, the message included.
        viewer = browser.new_context().new_page()
        keyboard_sign_in(viewer, base, "vera")
        for path in ("/console/callbacks", f"/console/callbacks/{request_id}",
                     f"/console/callbacks/{request_id}/recording"):
            assert viewer.goto(base + path).status == 403, path
            assert CALLER[2:] not in viewer.content()
        viewer.context.close()

        # The daily purge removes the request and deletes its recording at Twilio.
        database = app.extensions["ivr"].settings.database_url.removeprefix("sqlite:///")
        for name, value in environment(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url,
                                       IVR_DATABASE=database).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        assert cli.main(["callbacks", "purge"]) == 0
        assert capsys.readouterr().out.startswith("deleted 1 callback request(s) and 1 recording(s)")
        assert [r.path for r in fake.requests if r.method == "DELETE"] == [
            f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec}.json"]
        assert rec not in fake.recordings
        assert page.goto(f"{base}/console/callbacks/{request_id}").status == 404
