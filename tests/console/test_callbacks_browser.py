"""The callback queue in real headless Chromium: a scheduler signs in, sees the request, plays its
message through the app (from the fake Twilio's REST API), takes it and closes it with the keyboard;
a viewer gets 403 on its URLs; `ivr callbacks purge` removes it and deletes the recording at the fake
Twilio; axe-core finds nothing serious on the queue or the request's page. A viewer sees the
callback counts on the dashboard, with their chart."""

from __future__ import annotations

import time

import pytest
from browser_helpers import axe_violations, keyboard_sign_in, press, serving
from conftest import ACCOUNT, TOKEN, environment
from console_helpers import add_account, console_app, token_in
from cryptography.fernet import Fernet
from fake_twilio import recording_sid, silent_mp3

from ivr import cli
from ivr.console.auth import EXTENSION
from ivr.storage.callbacks import Callbacks
from ivr.usage import EXTENSION as USAGE

pytestmark = pytest.mark.browser

KEY = Fernet.generate_key().decode()
FAMILY = "+15025550187"
DAY = 86400.0
# The console's clock runs a month behind the purge's, so what the scheduler closes is due at once.
BEHIND = 31 * DAY


@pytest.fixture
def fake(twilio):
    return twilio  # the root conftest's fake Twilio REST API


@pytest.fixture
def line(fake):
    app = console_app(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url)
    app.extensions[EXTENSION].clock = lambda: time.time() - BEHIND
    with serving(app) as base:
        yield app, base


def test_a_scheduler_plays_takes_and_closes_then_the_purge_removes_it(line, fake, browser, page,
                                                                      monkeypatch, capsys):
    app, base = line
    callbacks = Callbacks.for_store(app.extensions["ivr"].store, [KEY])
    now = app.extensions[EXTENSION].clock()
    request_id, _ = callbacks.request(FAMILY, True, "es-US", "no_answer", ["baclofen_pump"], now - 1800)
    sid = recording_sid()
    fake.recordings[sid] = silent_mp3(80)  # about two seconds
    callbacks.set_recording(request_id, sid)
    add_account(app, "sam", "scheduler")
    add_account(app, "vera", "viewer")

    keyboard_sign_in(page, base, "sam", clock=app.extensions[EXTENSION].clock)
    page.goto(base + "/console/callbacks")
    row = page.locator(f"#request-{request_id}")
    assert "New" in row.inner_text() and "No one answered" in row.inner_text()
    assert "Spanish" in row.inner_text() and "30 min ago" in row.inner_text()
    assert FAMILY[2:] not in page.content() and "555-0187" not in page.content()
    assert axe_violations(page) == []

    page.get_by_role("link", name=f"Request {request_id}").click()
    page.wait_for_url(f"{base}/console/callbacks/{request_id}")
    assert page.locator("#number").get_attribute("href") == f"tel:{FAMILY}"
    assert page.locator("#number").inner_text() == "(502) 555-0187"
    assert page.locator("#topics li").all_inner_texts() == ["The intrathecal baclofen pump"]
    assert axe_violations(page) == []

    # The message: the audio element's address is ours, and Chromium loads and decodes it from there.
    audio = page.locator("audio#message")
    assert audio.get_attribute("src") == f"/console/callbacks/{request_id}/recording"
    assert page.evaluate("() => document.querySelector('#message').canPlayType('audio/mpeg')") != ""
    page.evaluate("() => { const a = document.querySelector('#message'); a.preload = 'auto'; a.load(); }")
    page.wait_for_function("() => document.querySelector('#message').readyState >= 1", timeout=15000)
    duration = page.evaluate("() => document.querySelector('#message').duration")
    assert 1.5 < duration < 2.5
    fetched = page.request.get(f"{base}/console/callbacks/{request_id}/recording")
    assert fetched.status == 200 and fetched.headers["content-type"] == "audio/mpeg"
    assert fetched.headers["cache-control"] == "no-store" and fetched.body() == fake.recordings[sid]
    assert all(r.auth == (ACCOUNT, TOKEN) for r in fake.requests if r.method == "GET")
    assert {r.path for r in fake.requests if r.method == "GET"} == {
        f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}.mp3"}

    press(page, "Take it (I am calling)")
    assert "is yours: in progress" in page.locator(".notice").inner_text()
    assert page.locator("#status").inner_text().startswith("In progress: sam took it at ")
    page.locator("#note").fill("Spoke to dad; appointment booked")
    press(page, "Close: done")
    assert page.url == base + "/console/callbacks"
    assert f"Callback request {request_id} is closed: done." in page.locator(".notice").inner_text()
    assert "No family is waiting" in page.content()
    assert "Done" in page.locator(f"#closed #request-{request_id}").inner_text()
    closed = callbacks.summary(request_id)
    assert (closed.status, closed.taken_by, closed.note) == \
        ("done", "sam", "Spoke to dad; appointment booked")

    # A viewer: no link, and 403 on every one of its addresses.
    viewer = browser.new_context().new_page()
    keyboard_sign_in(viewer, base, "vera")
    assert viewer.get_by_role("link", name="Callbacks").count() == 0
    for path in ("/console/callbacks", f"/console/callbacks/{request_id}",
                 f"/console/callbacks/{request_id}/recording"):
        response = viewer.goto(base + path)
        assert response.status == 403, path
        assert FAMILY[2:] not in viewer.content()
    token = token_in(viewer.content())
    refused = viewer.request.post(f"{base}/console/callbacks/{request_id}/note",
                                  form={"csrf_token": token, "note": "x"})
    assert refused.status == 403
    viewer.context.close()

    # The daily purge: the request was closed a month ago by the purge's clock.
    for name, value in environment(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url,
                                   IVR_DATABASE=app.extensions["ivr"].settings.database_url
                                   .removeprefix("sqlite:///")).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["callbacks", "purge"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"deleted 1 callback request(s) and 1 recording(s) at Twilio: {request_id} ")
    assert [r.path for r in fake.requests if r.method == "DELETE"] == [
        f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}.json"]
    assert sid not in fake.recordings
    assert page.goto(f"{base}/console/callbacks/{request_id}").status == 404
    assert page.request.get(f"{base}/console/callbacks/{request_id}/recording").status == 404
    page.goto(base + "/console/callbacks")
    assert f"Request {request_id}" not in page.content()


def test_a_viewer_sees_the_callback_counts_and_their_chart(line, page):
    app, base = line
    now = app.extensions[EXTENSION].clock()
    recorder = app.extensions[USAGE]
    for n, reason in enumerate(("closed", "closed", "busy", "text")):
        recorder.record("callback_requested", f"CA{n:032x}", outcome=reason, at=now - 3600 * n)
    recorder.record("callback_closed", "callback-1", outcome="done", value=40 * 60, at=now)
    recorder.flush()
    add_account(app, "vera", "viewer")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    keyboard_sign_in(page, base, "vera")
    page.goto(base + "/console/dashboard")
    def count(row: str) -> str:
        return page.locator("#table-callbacks tr", has=page.locator(f'th:text-is("{row}")')) \
            .locator("td").inner_text()

    assert count("Callback requests") == "4" and count("Requests, closed hours") == "2"
    assert count("Median time to close, in minutes") == "40"
    page.wait_for_function("document.querySelectorAll('#chart-callbacks-per-day canvas').length > 0")
    box = page.locator("#chart-callbacks-per-day canvas").first.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    assert errors == []
    assert axe_violations(page) == []
