"""The callback queue with Flask's test client: only schedulers and admins reach it, CSRF on every
change, two staff taking one request, closing, the audit log, the message streamed from the fake
Twilio's REST API, and no family's number in the list, the audit log or the logs."""

from __future__ import annotations

import logging
import re

import pytest
from conftest import ACCOUNT, TOKEN
from console_helpers import add_account, console_app, sign_in, token_in
from cryptography.fernet import Fernet
from fake_twilio import recording_sid, silent_mp3
from sqlalchemy import create_engine, text

from ivr.console.auth import EXTENSION
from ivr.storage.callbacks import Callbacks
from ivr.usage import EXTENSION as USAGE

KEY = Fernet.generate_key().decode()
FAMILY = "+15025550187"
# The number in every way a page or a log line might write it.
NUMBER_FORMS = (FAMILY, FAMILY[1:], FAMILY[2:], "502-555-0187", "(502) 555-0187", "502.555.0187",
                "502 555 0187", "555-0187")
OTHER = "+15025550166"


@pytest.fixture
def fake(twilio):
    return twilio  # the root conftest's fake Twilio REST API


@pytest.fixture
def app(fake):
    return console_app(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url)


def callbacks_of(app) -> Callbacks:
    return Callbacks.for_store(app.extensions["ivr"].store, [KEY])


def clock(app) -> float:
    return app.extensions[EXTENSION].clock()


def request_for(app, number: str = FAMILY, reason: str = "closed", verified: bool = True,
                topics=("baclofen_pump",), ago: float = 600.0, language: str = "en-US") -> int:
    request_id, _ = callbacks_of(app).request(number, verified, language, reason, topics, clock(app) - ago)
    return request_id


def signed_in(app, username: str, role: str):
    add_account(app, username, role)
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def audit_rows(app) -> list[tuple]:
    engine = create_engine(app.extensions["ivr"].settings.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(
                "SELECT actor, action, subject, detail FROM audit ORDER BY id"))]
    finally:
        engine.dispose()


def callback_audit(app) -> list[tuple]:
    return [row for row in audit_rows(app) if row[1].startswith("callback")]


def post(client, page: str, action: str, **data: str):
    token = token_in(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def flashed(client) -> str:
    """The page after a redirect: where its flashed message is shown."""
    return client.get("/console/callbacks").get_data(as_text=True)


def assert_no_number(where: str) -> None:
    for form in NUMBER_FORMS:
        assert form not in where, form


@pytest.mark.parametrize("role", ["viewer", "editor", "clinician"])
def test_only_schedulers_and_admins_reach_any_of_its_urls(app, role):
    request_id = request_for(app)
    callbacks_of(app).set_recording(request_id, recording_sid())
    client = signed_in(app, "someone", role)
    home = client.get("/console/").get_data(as_text=True)
    assert "/console/callbacks" not in home  # no link in the navigation
    for path in ("/console/callbacks", f"/console/callbacks/{request_id}",
                 f"/console/callbacks/{request_id}/recording", "/console/callbacks/999"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert_no_number(response.get_data(as_text=True))
    token = token_in(home)
    for action in ("take", "note", "close"):
        response = client.post(f"/console/callbacks/{request_id}/{action}",
                               data={"csrf_token": token, "outcome": "done", "note": "x"})
        assert response.status_code == 403, action
    assert callbacks_of(app).summary(request_id).status == "new"
    assert callback_audit(app) == []


def test_signed_out_goes_to_sign_in(app):
    request_id = request_for(app)
    client = app.test_client()
    response = client.get(f"/console/callbacks/{request_id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/sign-in?next=/console/callbacks/")
    assert client.get("/console/callbacks").status_code == 302
    token = token_in(client.get("/console/sign-in").get_data(as_text=True))
    assert client.post(f"/console/callbacks/{request_id}/take", data={"csrf_token": token}).status_code == 401


@pytest.mark.parametrize("role", ["scheduler", "admin"])
def test_the_queue_newest_first_without_numbers(app, role):
    old = request_for(app, OTHER, reason="busy", verified=False, ago=3 * 3600 + 20 * 60, language="es-US")
    new = request_for(app, FAMILY, reason="closed", ago=5 * 60)
    client = signed_in(app, "sam", role)
    callbacks_of(app).take(old, "ana", clock(app))
    page = client.get("/console/callbacks").get_data(as_text=True)
    assert 'href="/console/callbacks"' in page  # the navigation's link
    rows = re.findall(r'<tr id="request-(\d+)"(.*?)</tr>', page, re.S)
    assert [int(i) for i, _ in rows] == [new, old]
    newest, older = rows[0][1], rows[1][1]
    assert '<strong class="badge">New</strong>' in newest and "Closed hours" in newest
    assert "English" in newest and "5 min ago" in newest and ">verified<" in newest
    assert "New" not in older and "In progress" in older and "Scheduling was busy" in older
    assert "Spanish" in older and "3 h 20 min ago" in older and "not verified (keyed in)" in older
    assert "<td>ana</td>" in older
    assert_no_number(page)
    assert "tel:" not in page


def test_the_request_page_the_number_topics_and_our_audio_address(app, fake):
    request_id = request_for(app, topics=("baclofen_pump", "no_such_node"))
    callbacks_of(app).set_recording(request_id, recording_sid())
    client = signed_in(app, "sam", "scheduler")
    page = client.get(f"/console/callbacks/{request_id}").get_data(as_text=True)
    assert f'<a id="number" href="tel:{FAMILY}">(502) 555-0187</a>' in page
    assert "verified: the carrier attested it" in page
    topics = re.search(r'<ul id="topics">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", topics) == ["The intrathecal baclofen pump", "no_such_node"]
    audio = re.search(r"<audio[^>]*>", page).group(0)
    assert f'src="/console/callbacks/{request_id}/recording"' in audio and "controls" in audio
    # The page never holds a Twilio address (the fake's, or the real API's).
    assert fake.base_url not in page and "twilio.com" not in page
    assert callbacks_of(app).summary(request_id).recording_sid not in page
    assert callback_audit(app) == [("sam", "callback viewed", f"callback request {request_id}", "")]


def test_the_message_is_streamed_from_twilio(app, fake):
    request_id = request_for(app)
    sid = recording_sid()
    fake.recordings[sid] = audio = silent_mp3()
    callbacks_of(app).set_recording(request_id, sid)
    client = signed_in(app, "sam", "scheduler")
    # HEAD (a browser checking the address) is not a play.
    head = client.head(f"/console/callbacks/{request_id}/recording")
    assert head.status_code == 200 and head.data == b"" and callback_audit(app) == []
    fake.requests.clear()
    response = client.get(f"/console/callbacks/{request_id}/recording")
    assert response.status_code == 200
    assert response.mimetype == "audio/mpeg" and response.headers["Cache-Control"] == "no-store"
    assert response.data == audio
    got = [r for r in fake.requests if r.method == "GET"]
    assert [r.path for r in got] == [f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}.mp3"]
    assert got[0].auth == (ACCOUNT, TOKEN)
    # A browser's range request is passed on, and its answer back.
    partial = client.get(f"/console/callbacks/{request_id}/recording", headers={"Range": "bytes=100-199"})
    assert partial.status_code == 206 and partial.data == audio[100:200]
    assert partial.headers["Content-Range"] == f"bytes 100-199/{len(audio)}"
    # One play: the range later in the message is the same play going on.
    assert callback_audit(app) == [("sam", "callback message played", f"callback request {request_id}", "")]


def test_no_message_or_one_twilio_lost_is_a_404_and_a_twilio_failure_a_502(app, fake):
    without = request_for(app, OTHER)
    client = signed_in(app, "sam", "scheduler")
    assert client.get(f"/console/callbacks/{without}/recording").status_code == 404
    assert "No message was recorded." in client.get(f"/console/callbacks/{without}").get_data(as_text=True)
    lost = request_for(app)
    callbacks_of(app).set_recording(lost, recording_sid())  # never at the fake
    assert client.get(f"/console/callbacks/{lost}/recording").status_code == 404
    fake.fail_with_status(500, "oops")
    response = client.get(f"/console/callbacks/{lost}/recording")
    assert response.status_code == 502 and "oops" not in response.get_data(as_text=True)
    assert client.get("/console/callbacks/12345/recording").status_code == 404
    assert client.get(f"/console/callbacks/{2**31}").status_code == 404


def test_a_change_without_the_csrf_token_is_refused(app):
    request_id = request_for(app)
    client = signed_in(app, "sam", "scheduler")
    for action in ("take", "note", "close"):
        response = client.post(f"/console/callbacks/{request_id}/{action}", data={"outcome": "done"})
        assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
        forged = client.post(f"/console/callbacks/{request_id}/{action}",
                             data={"outcome": "done", "csrf_token": "forged"})
        assert forged.status_code == 400
    found = callbacks_of(app).summary(request_id)
    assert (found.status, found.taken_by, found.note) == ("new", None, "")
    assert callback_audit(app) == []


def test_two_staff_taking_one_request(app):
    request_id = request_for(app)
    page = f"/console/callbacks/{request_id}"
    ana, ben = signed_in(app, "ana", "scheduler"), signed_in(app, "ben", "scheduler")
    # Both opened the page while it was new; ana's take lands first.
    ana_token = token_in(ana.get(page).get_data(as_text=True))
    ben_token = token_in(ben.get(page).get_data(as_text=True))
    assert ana.post(page + "/take", data={"csrf_token": ana_token}).status_code == 303
    assert ben.post(page + "/take", data={"csrf_token": ben_token}).status_code == 303
    shown = ben.get(page).get_data(as_text=True)
    assert re.search(r"Nothing changed: ana took callback request \d+ at \d{4}-\d\d-\d\d \d\d:\d\d UTC",
                     shown)
    assert "Take it over from ana" in shown
    assert callbacks_of(app).summary(request_id).taken_by == "ana"
    # Taking it again is no change for ana.
    assert ana.post(page + "/take", data={"csrf_token": ana_token}).status_code == 303
    assert "is yours" in ana.get(page).get_data(as_text=True)
    # Ben takes it over on purpose: only while it is still ana's.
    assert ben.post(page + "/take", data={"csrf_token": ben_token, "over": "ana"}).status_code == 303
    assert callbacks_of(app).summary(request_id).taken_by == "ben"
    assert ana.post(page + "/take", data={"csrf_token": ana_token, "over": "carl"}).status_code == 303
    assert "Nothing changed: ben took" in ana.get(page).get_data(as_text=True)
    assert callbacks_of(app).summary(request_id).taken_by == "ben"
    assert [(actor, action, detail) for actor, action, _, detail in callback_audit(app)
            if action == "callback taken"] == [("ana", "callback taken", ""), ("ana", "callback taken", ""),
                                               ("ben", "callback taken", "from ana")]


def test_note_and_close_and_closing_again(app):
    request_id = request_for(app, ago=2 * 3600)
    page = f"/console/callbacks/{request_id}"
    client = signed_in(app, "sam", "scheduler")
    assert post(client, page, page + "/take").status_code == 303
    assert post(client, page, page + "/note", note="  Mum asked for after 3 pm  ").status_code == 303
    assert callbacks_of(app).summary(request_id).note == "Mum asked for after 3 pm"
    assert post(client, page, page + "/close", outcome="bored").status_code == 303
    assert "Choose how it ended" in client.get(page).get_data(as_text=True)
    assert callbacks_of(app).summary(request_id).open
    response = post(client, page, page + "/close", outcome="done", note="Spoke to mum")
    assert response.status_code == 303 and response.headers["Location"] == "/console/callbacks"
    queue = flashed(client)
    assert f"Callback request {request_id} is closed: done." in queue
    assert "No family is waiting for a call back." in queue
    closed = callbacks_of(app).summary(request_id)
    assert (closed.status, closed.taken_by, closed.note) == ("done", "sam", "Spoke to mum")
    # Another tab still had the form: closing it again is answered kindly, and changes nothing.
    again = post(client, page, page + "/close", outcome="unreachable")
    assert again.status_code == 303
    assert (f"Callback request {request_id} is already closed (done, by sam): nothing more to do."
            in client.get(page).get_data(as_text=True))
    assert post(client, page, page + "/take").status_code == 303
    assert "already closed" in client.get(page).get_data(as_text=True)
    assert callbacks_of(app).summary(request_id).status == "done"
    subject = f"callback request {request_id}"
    assert [(a, s, d) for _, a, s, d in callback_audit(app) if a != "callback viewed"] == [
        ("callback taken", subject, ""), ("callback note saved", subject, ""),
        ("callback closed", subject, "done")]
    # The usage event of the close: how long the family waited, by outcome and language.
    app.extensions[USAGE].flush()
    engine = create_engine(app.extensions["ivr"].settings.database_url)
    with engine.connect() as connection:
        events = connection.execute(text(
            "SELECT kind, outcome, language, value FROM events WHERE kind = 'callback_closed'")).all()
    engine.dispose()
    assert [tuple(e) for e in events] == [("callback_closed", "done", "en-US", 2 * 3600)]


def test_no_number_in_the_list_the_audit_log_or_the_logs(app, fake, caplog):
    caplog.set_level(logging.DEBUG)
    request_id = request_for(app)
    sid = recording_sid()
    fake.recordings[sid] = silent_mp3()
    callbacks_of(app).set_recording(request_id, sid)
    page = f"/console/callbacks/{request_id}"
    client = signed_in(app, "root", "admin")
    assert_no_number(client.get("/console/callbacks").get_data(as_text=True))
    assert FAMILY in client.get(page).get_data(as_text=True)
    assert client.get(page + "/recording").status_code == 200
    post(client, page, page + "/take")
    post(client, page, page + "/close", outcome="unreachable", note="no answer")
    audit_page = client.get("/console/audit").get_data(as_text=True)
    assert f"callback request {request_id}" in audit_page
    assert_no_number(audit_page)
    assert_no_number(" ".join(" ".join(row) for row in audit_rows(app)))
    assert {action for _, action, _, _ in callback_audit(app)} == {
        "callback viewed", "callback message played", "callback taken", "callback closed"}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"Callback request {request_id} closed" in logged
    assert_no_number(logged)


def test_with_callback_requests_off_the_queue_says_so(fake):
    app = console_app(TWILIO_API_BASE_URL=fake.base_url)
    client = signed_in(app, "sam", "scheduler")
    page = client.get("/console/callbacks")
    assert page.status_code == 200 and "Callback requests are off" in page.get_data(as_text=True)
    assert client.get("/console/callbacks/1").status_code == 404
    assert client.get("/console/callbacks/1/recording").status_code == 404


def test_a_database_error_is_a_503_that_names_no_one(app, caplog):
    request_id = request_for(app)
    page = f"/console/callbacks/{request_id}"
    client = signed_in(app, "sam", "scheduler")
    token = token_in(client.get(page).get_data(as_text=True))
    engine = create_engine(app.extensions["ivr"].settings.database_url)
    with engine.begin() as connection:  # the table is gone for a while, as when a query fails
        connection.execute(text("ALTER TABLE callbacks RENAME TO callbacks_away"))
    try:
        for response in (client.get("/console/callbacks"), client.get(page),
                         client.post(page + "/take", data={"csrf_token": token})):
            assert response.status_code == 503
            assert "cannot be reached right now" in response.get_data(as_text=True)
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE callbacks_away RENAME TO callbacks"))
        engine.dispose()
    assert client.get(page).status_code == 200
    assert_no_number("\n".join(record.getMessage() for record in caplog.records))


def test_the_account_credentials_are_what_twilio_checks(fake):
    # The fake refuses a wrong auth token as Twilio does (401): the page gets a 502, no audio.
    app = console_app(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url,
                      TWILIO_AUTH_TOKEN="another-auth-token-0123456789abcd")
    request_id = request_for(app)
    sid = recording_sid()
    fake.recordings[sid] = silent_mp3()
    callbacks_of(app).set_recording(request_id, sid)
    client = signed_in(app, "sam", "scheduler")
    response = client.get(f"/console/callbacks/{request_id}/recording")
    assert response.status_code == 502 and response.mimetype == "text/plain"
    assert [r.auth for r in fake.requests] == [(ACCOUNT, "another-auth-token-0123456789abcd")]
    assert callback_audit(app) == []


def test_a_number_whose_key_is_gone_shows_the_rest_and_says_why(fake):
    app = console_app(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url)
    request_id = request_for(app)
    # The line restarted with only a new key: the old one was dropped before `ivr callbacks rekey`.
    later = console_app(IVR_CALLBACK_KEYS=Fernet.generate_key().decode(), TWILIO_API_BASE_URL=fake.base_url)
    client = signed_in(later, "sam", "scheduler")
    response = client.get(f"/console/callbacks/{request_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "number cannot be read: it was encrypted with a key" in page and "Closed hours" in page
    assert "tel:" not in page
    assert_no_number(page)


def test_addresses_that_name_no_request(app):
    client = signed_in(app, "sam", "scheduler")
    for path in ("/console/callbacks/abc", "/console/callbacks/0", "/console/callbacks/-1",
                 "/console/callbacks/1", "/console/callbacks/99999999999"):
        assert client.get(path).status_code == 404, path
    token = token_in(client.get("/console/callbacks").get_data(as_text=True))
    assert client.post("/console/callbacks/7/take", data={"csrf_token": token}).status_code == 404
    assert client.post("/console/callbacks/7/close", data={"csrf_token": token, "outcome": "done"}) \
        .status_code == 404


def test_twilios_refusal_is_logged_by_its_code_alone(app, fake, caplog):
    request_id = request_for(app)
    sid = recording_sid()
    fake.recordings[sid] = silent_mp3()
    callbacks_of(app).set_recording(request_id, sid)
    client = signed_in(app, "sam", "scheduler")
    # An account that encrypts its recordings: Twilio has no MP3 of them (error 16109).
    fake.refuse(16109, 400, f"Recording cannot be retrieved in .mp3 format for {FAMILY}")
    assert client.get(f"/console/callbacks/{request_id}/recording").status_code == 502
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"Twilio refused recording {sid}'s audio (HTTP 400, error 16109)" in logged
    assert_no_number(logged)
    assert client.get(f"/console/callbacks/{request_id}/recording").status_code == 200


def test_the_overview_links_the_queue_for_those_who_call_back_only(app):
    for username, role, shown in (("sam", "scheduler", True), ("ada", "admin", True),
                                  ("vera", "viewer", False), ("eddie", "editor", False),
                                  ("cleo", "clinician", False)):
        page = signed_in(app, username, role).get("/console/").get_data(as_text=True)
        assert ("Callbacks</a>: families waiting to be called back" in page) is shown, role
        assert ('href="/console/callbacks"' in page) is shown, role


def move_audit_back(app, seconds: float) -> None:
    """Every audit entry `seconds` older, as if written that long ago."""
    engine = create_engine(app.extensions["ivr"].settings.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit SET at = at - :s"), {"s": seconds})
    finally:
        engine.dispose()


def test_every_get_of_the_message_is_audited_whatever_its_range(app, fake):
    request_id = request_for(app)
    sid = recording_sid()
    fake.recordings[sid] = audio = silent_mp3()
    callbacks_of(app).set_recording(request_id, sid)
    sam = signed_in(app, "sam", "scheduler")
    played = ("sam", "callback message played", f"callback request {request_id}", "")
    address = f"/console/callbacks/{request_id}/recording"
    # A range that does not start at 0 is a listen too.
    partial = sam.get(address, headers={"Range": "bytes=1-"})
    assert partial.status_code == 206 and partial.data == audio[1:]
    assert callback_audit(app) == [played]
    # The same play going on (more ranges, a seek) within 10 minutes: one entry.
    assert sam.get(address, headers={"Range": "bytes=200-"}).status_code == 206
    assert sam.get(address).status_code == 200
    assert callback_audit(app) == [played]
    # Another account listening is its own entry; later than 10 minutes, a new one.
    ana = signed_in(app, "ana", "admin")
    assert ana.get(address, headers={"Range": "bytes=300-400"}).status_code == 206
    assert callback_audit(app) == [played, ("ana", *played[1:])]
    move_audit_back(app, 601)
    assert sam.get(address, headers={"Range": "bytes=500-"}).status_code == 206
    assert callback_audit(app) == [played, ("ana", *played[1:]), played]
    # HEAD gets no audio: not a listen.
    move_audit_back(app, 601)
    assert sam.head(address).status_code == 200
    assert len(callback_audit(app)) == 3


def test_a_range_past_the_end_is_passed_on_as_twilio_s_416(app, fake):
    request_id = request_for(app)
    sid = recording_sid()
    fake.recordings[sid] = audio = silent_mp3()
    callbacks_of(app).set_recording(request_id, sid)
    client = signed_in(app, "sam", "scheduler")
    warnings: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record.getMessage())

    logger, handler = logging.getLogger("ivr"), Keep(logging.WARNING)
    logger.addHandler(handler)
    try:
        response = client.get(f"/console/callbacks/{request_id}/recording",
                              headers={"Range": f"bytes={len(audio) + 10}-"})
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 416 and response.data == b""
    assert response.headers["Content-Range"] == f"bytes */{len(audio)}"
    assert response.headers["Cache-Control"] == "no-store"
    assert warnings == []
    assert callback_audit(app) == []  # no audio: no listen
