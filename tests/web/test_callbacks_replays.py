"""Recording status callbacks that must not cost a family their message: a stranger keying the
family's number, replayed callbacks (old, or for a closed request), callbacks while callback requests
are off or the store is down; through the signed webhooks, the recordings at the fake Twilio."""

from __future__ import annotations

import logging
import time

import pytest
import test_callbacks_voice
from conftest import CALLER, Call
from fake_twilio import recording_sid
from test_callbacks_voice import (
    message_left,
    record_element,
    recording_callback,
    requests_of,
    to_busy_line,
)

from ivr.storage.callbacks import Callbacks

STRANGER = "+12125550100"
line = test_callbacks_voice.line  # the fixture: a line taking callback requests, its API the fake Twilio


@pytest.fixture
def log_lines():
    """Every message the "ivr" logger writes during the test (it does not propagate to caplog)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"{record.levelname} {record.getMessage()}")

    logger = logging.getLogger("ivr")
    handler, level = Keep(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield lines
    logger.setLevel(level)
    logger.removeHandler(handler)


def deleted(twilio) -> list[str]:
    """The SIDs of the recordings deleted at the fake Twilio, in order."""
    return [r.path.rsplit("/", 1)[-1].removesuffix(".json") for r in twilio.requests if r.method == "DELETE"]


def family_asks(client) -> Call:
    """The family, from their own attested number, asks after a busy transfer and is recorded."""
    call = to_busy_line(client)
    call.press("3")
    call.press("1")
    record_element(call)
    return call


def stranger_keys_the_family_s_number(client, spanish: bool = False) -> Call:
    """Someone else, calling from another number without attestation, keys the family's number in."""
    call = Call(client, caller=STRANGER)
    call.params.pop("StirVerstat", None)
    call.start()
    if spanish:
        call.press("8")
    call.press("0")
    call.dial_ends("no-answer")
    assert ("oprima 3" in call.heard) == spanish
    call.press("3")
    call.press(CALLER.removeprefix("+1"))
    call.press("1")
    record_element(call)
    return call


def test_a_stranger_keying_the_family_s_number_never_changes_or_replaces_their_request(line, twilio,
                                                                                       log_lines):
    app = line.app()
    client = app.test_client()
    family = family_asks(client)
    assert "own=1" in family.recording_path
    ours = recording_sid()
    twilio.recordings[ours] = b"the family's message"
    assert recording_callback(client, family, ours).status_code == 204

    stranger = stranger_keys_the_family_s_number(client, spanish=True)
    assert "own=" not in stranger.recording_path
    theirs = recording_sid()
    twilio.recordings[theirs] = b"a stranger's message"
    message_left(stranger, theirs)
    assert recording_callback(client, stranger, theirs).status_code == 204

    (request,) = requests_of(app)
    assert (request.number, request.number_verified, request.language, request.reason) == \
        (CALLER, True, "en-US", "busy")
    assert request.recording_sid == ours and ours in twilio.recordings
    assert deleted(twilio) == [theirs] and theirs not in twilio.recordings
    logged = "\n".join(log_lines)
    assert f"Callback request {request.id}: a new recording from a number not verified" in logged
    for private in (CALLER[-4:], STRANGER[-4:], "0, 1, 2, 3"):
        assert private not in logged


def test_a_stranger_s_message_is_kept_when_the_family_left_none(line, twilio):
    app = line.app()
    client = app.test_client()
    family_asks(client)
    stranger = stranger_keys_the_family_s_number(client)
    theirs = recording_sid()
    assert recording_callback(client, stranger, theirs).status_code == 204
    (request,) = requests_of(app)
    assert (request.recording_sid, request.language, request.reason) == (theirs, "en-US", "busy")
    assert deleted(twilio) == []


def test_the_family_asking_again_replaces_their_own_message(line, twilio):
    app = line.app()
    client = app.test_client()
    first, second = recording_sid(), recording_sid()
    assert recording_callback(client, family_asks(client), first).status_code == 204
    assert recording_callback(client, family_asks(client), second).status_code == 204
    assert requests_of(app)[0].recording_sid == second
    assert deleted(twilio) == [first]


def recording_callback_to(client, path: str, rec_sid: str):
    """Twilio's recording status callback to `path`, with its real parameters, signed."""
    call = Call(client)
    call.recording_path = path
    return recording_callback(client, call, rec_sid)


def test_a_recording_made_while_callback_requests_are_off_is_deleted_unless_a_request_holds_it(
        line, twilio, log_lines):
    app = line.app(IVR_CALLBACK_KEYS="")
    client = app.test_client()
    left = recording_sid()
    twilio.recordings[left] = b"a message nobody can take"
    assert recording_callback_to(client, "/voice/_callback/recording?own=1&rid=1", left).status_code == 204
    assert deleted(twilio) == [left] and left not in twilio.recordings
    # A request kept from when they were on still holds its message: never deleted by a replay.
    kept = Callbacks.for_store(app.extensions["ivr"].store, (test_callbacks_voice.KEY,))
    request_id, _ = kept.request(CALLER, True, "en-US", "busy", [], 1_800_000_000.0)
    held = recording_sid()
    kept.set_recording(request_id, held)
    answer = recording_callback_to(client, f"/voice/_callback/recording?own=1&rid={request_id}", held)
    assert answer.status_code == 204
    assert deleted(twilio) == [left]
    assert not any(CALLER[-4:] in entry for entry in log_lines)


def test_with_the_store_down_the_recording_s_sid_is_logged_for_staff_to_delete_it(line, twilio, log_lines):
    app = line.app()
    client = app.test_client()
    family = family_asks(client)
    store = app.extensions["ivr"].store
    store._run("write", lambda connection: connection.exec_driver_sql("DROP TABLE callbacks"), immediate=True)
    rec = recording_sid()
    assert recording_callback(client, family, rec).status_code == 503
    errors = [entry for entry in log_lines if entry.startswith("ERROR")]
    assert any(f"recording {rec} is not attached and is still at Twilio" in entry for entry in errors)
    assert deleted(twilio) == []
    assert not any(CALLER[-4:] in entry for entry in log_lines)


def test_a_replayed_callback_of_an_older_ask_never_replaces_the_newest_message(line, twilio):
    app = line.app()
    client = app.test_client()
    first_call = family_asks(client)
    assert "at=" in first_call.recording_path
    first, second = recording_sid(), recording_sid()
    twilio.recordings[first], twilio.recordings[second] = b"first", b"second"
    assert recording_callback(client, first_call, first).status_code == 204
    again = family_asks(client)  # the family calls again and leaves a newer message
    assert again.recording_path != first_call.recording_path
    assert recording_callback(client, again, second).status_code == 204
    assert deleted(twilio) == [first]
    # The first call's callback, replayed: refused; the newest message stays, here and at Twilio.
    assert recording_callback(client, first_call, first).status_code == 204
    (request,) = requests_of(app)
    assert request.recording_sid == second and second in twilio.recordings
    assert second not in deleted(twilio)


@pytest.mark.parametrize("url", ["https://api.twilio.com.evil.example/x", "http://api.twilio.com/x",
                                 "https://evil.example/?https://api.twilio.com/",
                                 "https://api.twilio.com@evil.example/"])
def test_a_recording_url_that_only_looks_like_twilio_s_is_refused(line, twilio, url):
    app = line.app()
    client = app.test_client()
    family = family_asks(client)
    assert recording_callback(client, family, recording_sid(), url=url).status_code == 400
    assert requests_of(app)[0].recording_sid is None and deleted(twilio) == []


@pytest.mark.parametrize("rid", ["1x", "-1", "99999999999999", ""])
def test_a_request_id_that_is_not_one_is_refused(line, twilio, rid):
    app = line.app()
    client = app.test_client()
    family_asks(client)
    address = "/voice/_callback/recording?rid="
    assert recording_callback_to(client, address + rid, recording_sid()).status_code == 400
    assert recording_callback_to(client, address + "1", "RE" + "G" * 32).status_code == 400
    assert requests_of(app)[0].recording_sid is None and deleted(twilio) == []


def test_a_late_callback_of_a_purged_request_never_reaches_the_next_family(line, twilio):
    app = line.app()
    client = app.test_client()
    first = family_asks(client)
    theirs = recording_sid()
    twilio.recordings[theirs] = b"first family"
    assert recording_callback(client, first, theirs).status_code == 204
    callbacks = Callbacks.for_store(app.extensions["ivr"].store, (test_callbacks_voice.KEY,))
    (gone,) = callbacks.newest()
    callbacks.close(gone.id, "done", "ana", "", time.time())
    assert [i for i, _ in callbacks.purge(time.time() + 31 * 86400, 30, 90)] == [gone.id]

    other = Call(client, caller="+15025550166")
    other.start()
    other.press("0")
    other.dial_ends("busy")
    other.press("3")
    other.press("1")
    record_element(other)
    ours = recording_sid()
    twilio.recordings[ours] = b"next family"
    assert recording_callback(client, other, ours).status_code == 204
    (request,) = requests_of(app)
    assert request.id != gone.id  # ids are never reused
    # The purged request's callback again: refused; the next family's message stays.
    assert recording_callback(client, first, theirs).status_code == 204
    (request,) = requests_of(app)
    assert request.recording_sid == ours and ours in twilio.recordings
