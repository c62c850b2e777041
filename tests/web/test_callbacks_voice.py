"""Asking for a callback by phone, whole calls through the signed webhooks: every way in (closed, busy,
no answer, failed, the retries), the caller's own number and a keyed one, with and without a message,
both languages, the caps, bad input, and Twilio's recording status callback against the fake Twilio."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

import pytest
from conftest import ACCOUNT, CALLER, CLINIC, MENUS, TOKEN, Call, close_app, environment, sid, signed_post
from cryptography.fernet import Fernet
from fake_twilio import recording_sid

from ivr import create_app
from ivr.storage.callbacks import Callbacks

KEY = Fernet.generate_key().decode()
HOURS = ('\nhours:\n  time_zone: America/Kentucky/Louisville\n  monday: "08:00-17:00"\n'
         '  tuesday: "08:00-17:00"\n  wednesday: "08:00-17:00"\n  thursday: "08:00-17:00"\n'
         '  friday: "08:00-17:00"\n  saturday: closed\n  sunday: closed\n')
SATURDAY = datetime(2026, 1, 10, 15, 0, tzinfo=timezone.utc)  # scheduling opens Monday at 8 AM
KEYED = "5025550199"
OFFER = "To ask us to call you back, press 3."
OWN = ("We will call you back at the number ending in 0, 1, 2, 3. To use this number, press 1. "
       "To enter another number, press 2.")
MESSAGE = ("After the tone, please say your child's name and the best time to call. "
           "Press pound when you are done.")
# Said before the tone: the request is kept (a caller who hangs up now knows), and the 911 notice,
# as nobody listens to the message before scheduling opens.
BEFORE_TONE = ("Thank you. We have your request to be called back. If this is a medical emergency, "
               f"please hang up and dial 9 1 1. {MESSAGE}")
SOON = "Our scheduling team will call you back as soon as they can."
FROM = "The call will come from the Spasticity Clinic."
GOODBYE = "Thank you for calling the Spasticity Clinic. Goodbye."


@pytest.fixture
def line(twilio):
    """A line taking callback requests, its REST API the fake Twilio; closed with `line.closed()`."""
    apps = []

    class Line:
        def app(self, hours: bool = False, tmp_path=None, **env: str):
            overrides = {"IVR_CALLBACK_KEYS": KEY, "TWILIO_API_BASE_URL": twilio.base_url, **env}
            clock = None
            if hours:
                path = tmp_path / "menus.yaml"
                path.write_text(MENUS.read_text() + HOURS)
                overrides["IVR_MENUS_FILE"] = str(path)
                clock = lambda: SATURDAY  # noqa: E731
            made = create_app(environment(**overrides), clock=clock)
            apps.append(made)
            return made

    yield Line()
    for made in apps:
        close_app(made)


def requests_of(app) -> list:
    """Every callback request the line keeps, newest first, each with its number decrypted."""
    line = app.extensions["ivr"]
    callbacks = Callbacks.for_store(line.store, (KEY,))
    return [callbacks.get(r.id) for r in callbacks.newest()]


def record_element(call: Call):
    """The document's <Record>; its status callback address is kept with the call."""
    record = call.doc.find("Record")
    assert record is not None, call.heard
    call.recording_path = record.get("recordingStatusCallback")
    return record


def message_left(call: Call, rec_sid: str) -> None:
    """The caller speaks after the tone and presses #: Record's action, with its real parameters."""
    record = record_element(call)
    call._post(record.get("action"), RecordingSid=rec_sid, Digits="#", RecordingDuration="7",
               RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec_sid}")


def recording_callback(client, call: Call, rec_sid: str, url: str | None = None, status: str = "completed"):
    """Twilio's recording status callback for the message, signed as Twilio signs it."""
    path = call.recording_path
    params = {"AccountSid": call.params["AccountSid"], "CallSid": call.params["CallSid"],
              "RecordingSid": rec_sid, "RecordingStatus": status, "RecordingDuration": "7",
              "RecordingChannels": "1", "RecordingSource": "RecordVerb",
              "RecordingStartTime": "Sat, 10 Jan 2026 15:01:02 +0000",
              "RecordingUrl": url or f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec_sid}"}
    return signed_post(client, path, params)


def to_busy_line(client, status: str = "busy", press_first: tuple[str, ...] = ()) -> Call:
    call = Call(client)
    call.start()
    for key in press_first:
        call.press(key)
    call.press("0")
    call.dial_ends(status)
    return call


# -- every way in --------------------------------------------------------------------------------

@pytest.mark.parametrize("status,reason", [("busy", "busy"), ("no-answer", "no_answer"),
                                           ("failed", "failed")])
def test_after_a_failed_transfer_the_caller_asks_for_a_callback_at_their_own_number(line, status, reason):
    app = line.app()
    client = app.test_client()
    call = to_busy_line(client, status)
    assert OFFER in call.heard and "cannot take your call right now" in call.heard
    call.press("3")
    assert call.heard == OWN
    call.press("1")
    assert call.heard == BEFORE_TONE
    record = record_element(call)
    assert record.get("maxLength") == "60" and record.get("finishOnKey") == "#"
    assert record.get("playBeep") == "true" and record.get("transcribe") is None
    assert record.get("recordingStatusCallbackEvent") == "completed"
    # Created before the Record: a hang-up now still leaves the request.
    (request,) = requests_of(app)
    assert (request.number, request.number_verified, request.reason, request.language) == \
        (CALLER, True, reason, "en-US")
    assert request.recording_sid is None and request.status == "new"
    rec = recording_sid()
    message_left(call, rec)
    assert call.heard == f"{SOON} {FROM} I have also sent you a text with this. {GOODBYE}"
    assert call.doc.find("Hangup") is not None
    assert recording_callback(client, call, rec).status_code == 204
    assert requests_of(app)[0].recording_sid == rec


def test_while_closed_key_3_is_announced_with_the_others_and_says_when_scheduling_opens(line, tmp_path):
    app = line.app(hours=True, tmp_path=tmp_path)
    call = Call(app.test_client())
    call.start()
    call.press("0")
    assert "Our scheduling team is closed right now." in call.heard
    assert f"{OFFER} To hear this again, press 1." in call.heard
    call.press("3")
    call.press("1")
    message_left(call, recording_sid())
    assert ("Our scheduling team opens again on Monday at 8 AM. They will call you back as soon as they "
            "can.") in call.heard
    assert requests_of(app)[0].reason == "closed"


def test_after_the_retries_the_last_offer_before_goodbye_is_a_callback(line, tmp_path):
    app = line.app(hours=True, tmp_path=tmp_path)
    call = Call(app.test_client())
    call.start()
    call.press("0")
    call.wait()
    call.wait()
    call.wait()  # no_input_retries is 2: this is the last offer
    assert call.heard == f"Sorry, I did not hear a choice. {OFFER}"
    call.press("3")
    call.press("1")
    assert requests_of(app)[0].reason == "retries"


def test_at_the_last_offer_anything_but_3_is_goodbye(line, tmp_path):
    app = line.app(hours=True, tmp_path=tmp_path)
    call = Call(app.test_client())
    call.start()
    call.press("0")
    for _ in range(3):
        call.press("7")
    call.wait()
    assert call.heard == GOODBYE and call.doc.find("Hangup") is not None
    assert requests_of(app) == []


# -- the number ------------------------------------------------------------------------------------

def test_a_keyed_number_is_read_back_sealed_in_the_url_and_kept_not_verified(line):
    app = line.app()
    client = app.test_client()
    call = to_busy_line(client)
    call.press("3")
    call.press("2")
    assert call.heard == ("Please enter the 10-digit phone number we should call, starting with the area "
                          "code, without a 1 in front.")
    gather = call.gather
    assert (gather.get("input"), gather.get("numDigits"), gather.get("finishOnKey")) == ("dtmf", "10", "#")
    call.press(KEYED)
    assert call.heard == ("You entered 5, 0, 2. 5, 5, 5. 0, 1, 9, 9. If that is right, press 1. "
                          "To enter it again, press 2.")
    for address in (call.gather.get("action"), call.doc.find("Redirect").text):
        assert "num=" in address and KEYED not in address and "0199" not in address
        assert "%" not in address  # plain ASCII: nothing a signature check could see decoded
    call.press("1")
    assert call.heard == BEFORE_TONE
    (request,) = requests_of(app)
    assert (request.number, request.number_verified) == ("+1" + KEYED, False)


def test_without_attestation_the_caller_keys_the_number_in(line):
    app = line.app()
    client = app.test_client()
    call = Call(client)
    call.params["StirVerstat"] = "TN-Validation-Passed-B"
    call.start()
    call.press("0")
    call.dial_ends("no-answer")
    call.press("3")
    assert call.heard.startswith("Please enter the 10-digit phone number")
    call.press(KEYED)
    call.press("2")  # enter it again
    assert call.heard.startswith("Please enter the 10-digit phone number")
    call.press("5025550123")
    call.press("1")
    (request,) = requests_of(app)
    assert (request.number, request.number_verified, request.reason) == (CALLER, False, "no_answer")


@pytest.mark.parametrize("bad", ["12345", "50255501234", "abc*#12345", "0005550123", "*"])
def test_a_wrong_number_is_asked_again_kindly_then_goodbye_with_the_scheduling_number(line, bad):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.press("3")
    call.press("2")
    call.press(bad)
    assert call.heard.startswith("Sorry, I cannot use that number. Please enter the 10-digit")
    call.press(bad)
    call.press(bad)
    assert call.heard == ("Sorry, I could not take your request. Please call again later, or call our "
                          f"scheduling team at 5, 0, 2. 6, 3, 5. 6, 3, 9, 7. {GOODBYE}")
    assert call.doc.find("Hangup") is not None
    assert requests_of(app) == []


def test_a_forged_or_expired_sealed_number_is_never_used(line):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.press("3")
    call.press("2")
    call.press(KEYED)
    action = call.gather.get("action")
    forged = action.replace("num=", "num=x")
    call._post(forged, Digits="1")
    assert call.heard.startswith("Please enter the 10-digit phone number")  # asked again, nothing taken
    assert requests_of(app) == []


def test_silence_at_the_number_is_asked_again_not_an_error(line):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.press("3")
    call.wait()
    assert call.heard.startswith("Sorry, I did not hear a choice. We will call you back at the number ending")
    call.press("1")
    assert call.heard == BEFORE_TONE


def test_silence_where_the_number_is_keyed_says_no_number_was_heard(line):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.press("3")
    call.press("2")
    call.wait()
    assert call.heard == ("Sorry, I did not hear a number. Please enter the 10-digit phone number we "
                          "should call, starting with the area code, without a 1 in front.")


# -- the message -----------------------------------------------------------------------------------

def test_silence_before_the_tone_still_leaves_the_request_without_a_message(line):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.press("3")
    call.press("1")
    children = [child.tag for child in call.doc]
    assert children[-2:] == ["Record", "Redirect"]
    call._post(call.doc.find("Redirect").text)  # no audio: Twilio skips the action, goes on
    assert call.heard.startswith(SOON)
    (request,) = requests_of(app)
    assert request.recording_sid is None and request.open


def test_transcription_only_when_the_setting_is_on_and_the_length_is_configurable(line):
    app = line.app(IVR_CALLBACK_TRANSCRIBE="1", IVR_CALLBACK_RECORD_SECONDS="30")
    call = to_busy_line(app.test_client())
    call.press("3")
    call.press("1")
    record = record_element(call)
    assert (record.get("transcribe"), record.get("maxLength")) == ("true", "30")


def test_a_recording_url_not_on_twilio_s_api_is_refused_and_logged_by_id_only(line, caplog):
    app = line.app()
    client = app.test_client()
    call = to_busy_line(client)
    call.press("3")
    call.press("1")
    record_element(call)
    rec = recording_sid()
    with caplog.at_level(logging.WARNING, logger="ivr"):
        answer = recording_callback(client, call, rec, url=f"https://evil.example.org/{rec}")
    assert answer.status_code == 400
    assert requests_of(app)[0].recording_sid is None
    (request,) = requests_of(app)
    assert f"Callback request {request.id}: a recording refused" in caplog.text
    assert "evil" not in caplog.text and CALLER[-4:] not in caplog.text


def test_a_replaced_recording_is_deleted_at_twilio(line, twilio):
    app = line.app()
    client = app.test_client()
    call = to_busy_line(client)
    call.press("3")
    call.press("1")
    record_element(call)
    first, second = recording_sid(), recording_sid()
    assert recording_callback(client, call, first).status_code == 204
    assert recording_callback(client, call, second).status_code == 204
    assert requests_of(app)[0].recording_sid == second
    deleted = [r for r in twilio.requests if r.method == "DELETE"]
    assert [r.path for r in deleted] == [f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{first}.json"]


def test_a_replayed_recording_callback_for_a_closed_request_deletes_only_what_it_does_not_hold(line, twilio):
    app = line.app()
    client = app.test_client()
    call = to_busy_line(client)
    call.press("3")
    call.press("1")
    rec, other = recording_sid(), recording_sid()
    record_element(call)
    assert recording_callback(client, call, rec).status_code == 204
    (request,) = requests_of(app)
    Callbacks.for_store(app.extensions["ivr"].store, (KEY,)).close(request.id, "done", "sam", "", time.time())
    # The message the closed request still holds is the purge's to delete, never a replay's.
    assert recording_callback(client, call, rec).status_code == 204
    assert [r for r in twilio.requests if r.method == "DELETE"] == []
    assert requests_of(app)[0].recording_sid == rec
    assert recording_callback(client, call, other).status_code == 204
    (deleted,) = [r for r in twilio.requests if r.method == "DELETE"]
    assert deleted.path == f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{other}.json"
    assert deleted.auth == (ACCOUNT, TOKEN)


def test_a_recording_callback_for_an_unknown_request_is_deleted_and_answered_kindly(line, twilio):
    app = line.app()
    client = app.test_client()
    rec = recording_sid()
    params = {"AccountSid": ACCOUNT, "CallSid": sid("CA"), "RecordingSid": rec,
              "RecordingStatus": "completed", "RecordingDuration": "3",
              "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec}"}
    assert signed_post(client, "/voice/_callback/recording?rid=999", params).status_code == 204
    assert [r.method for r in twilio.requests] == ["DELETE"]
    # Unsigned or without a request id: refused.
    assert client.post("/voice/_callback/recording?rid=1", data=params).status_code == 403
    assert signed_post(client, "/voice/_callback/recording", params).status_code == 400


def test_a_recording_still_in_progress_is_not_attached(line):
    app = line.app()
    client = app.test_client()
    call = to_busy_line(client)
    call.press("3")
    call.press("1")
    record_element(call)
    assert recording_callback(client, call, recording_sid(), status="absent").status_code == 204
    assert requests_of(app)[0].recording_sid is None


# -- topics, texts, languages, caps, the announcer, the database -------------------------------------

def test_the_topics_listened_to_are_kept_with_the_request(line):
    app = line.app()
    call = to_busy_line(app.test_client(), press_first=("4", "2", "*", "1", "*"))
    assert "seen=casting.injections" in call.gather.get("action")
    call.press("3")
    call.press("1")
    assert requests_of(app)[0].topics == ("casting", "injections")


def test_the_confirmation_is_texted_to_the_caller_s_own_attested_number(line, twilio):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.press("3")
    call.press("1")
    (sent,) = [r for r in twilio.requests if r.method == "POST"]
    assert sent.form["To"] == CALLER and sent.form["From"] == CLINIC
    assert sent.form["Body"] == (f"Spasticity Clinic: Thank you. We have your request to be called back. "
                                 f"{SOON} {FROM}\nEmergency? Call 911.")
    message_left(call, recording_sid())
    assert "I have also sent you a text with this." in call.heard


def test_no_confirmation_text_to_a_keyed_number_or_an_opted_out_one(line, twilio):
    app = line.app()
    client = app.test_client()
    call = to_busy_line(client)
    call.press("3")
    call.press("2")
    call.press(KEYED)
    call.press("1")
    assert twilio.requests == []
    app.extensions["ivr"].store.opt_out("+15025550111")
    other = Call(client, caller="+15025550111")
    other.start()
    other.press("0")
    other.dial_ends("busy")
    other.press("3")
    other.press("1")
    assert [r for r in twilio.requests if r.method == "POST"] == []
    message_left(other, recording_sid())
    assert "sent you a text" not in other.heard


def test_in_spanish_every_step_is_spanish(line, twilio):
    app = line.app()
    call = Call(app.test_client())
    call.start()
    call.press("8")
    call.press("0")
    call.dial_ends("busy")
    assert "Para pedir que le devolvamos la llamada, oprima 3." in call.heard
    call.press("3")
    assert call.heard.startswith("Le devolveremos la llamada al número que termina en 0, 1, 2, 3.")
    call.press("2")
    call.press("12")
    assert call.heard.startswith("Lo siento, no puedo usar ese número.")
    call.press(KEYED)
    assert call.heard.startswith("Usted ingresó 5, 0, 2. 5, 5, 5. 0, 1, 9, 9.")
    call.press("1")
    assert call.heard.startswith("Gracias. Recibimos su solicitud de llamada. Si se trata de una "
                                 "emergencia médica, por favor cuelgue y marque el 9 1 1. Después del "
                                 "tono, por favor diga el nombre de su hijo")
    message_left(call, recording_sid())
    assert call.heard.startswith("Nuestro equipo de citas le devolverá la llamada lo antes posible")
    assert "Le llamarán de la Clínica de Espasticidad." in call.heard
    assert requests_of(app)[0].language == "es-US"


def test_in_spanish_while_closed_the_opening_is_said_in_spanish(line, tmp_path):
    app = line.app(hours=True, tmp_path=tmp_path)
    call = Call(app.test_client())
    call.start()
    call.press("8")
    call.press("0")
    call.press("3")
    call.press("1")
    message_left(call, recording_sid())
    assert ("Nuestro equipo de citas vuelve a abrir el lunes a las 8 a. m. y le devolverá la llamada lo "
            "antes posible.") in call.heard


def test_over_the_hourly_cap_the_caller_is_told_kindly_and_given_the_number(line):
    app = line.app(IVR_CALLBACKS_PER_HOUR="1")
    client = app.test_client()
    first = to_busy_line(client)
    first.press("3")
    first.press("1")
    other = Call(client, caller="+15025550111")
    other.start()
    other.press("0")
    other.dial_ends("busy")
    other.press("3")
    assert other.heard == ("Sorry, we cannot take more callback requests right now. Please call again later, "
                           f"or call our scheduling team at 5, 0, 2. 6, 3, 5. 6, 3, 9, 7. {GOODBYE}")
    assert len(requests_of(app)) == 1


def test_the_cap_is_checked_again_when_the_request_is_written(line):
    # Both callers press 3 while there is room; the first to confirm takes the last place.
    app = line.app(IVR_CALLBACKS_PER_HOUR="1")
    client = app.test_client()
    first, other = to_busy_line(client), Call(client, caller="+15025550111")
    other.start()
    other.press("0")
    other.dial_ends("busy")
    first.press("3")
    other.press("3")
    assert other.heard.startswith("We will call you back at the number ending in")
    first.press("1")
    assert first.heard == BEFORE_TONE
    other.press("1")
    assert other.heard.startswith("Sorry, we cannot take more callback requests right now.")
    assert other.doc.find("Record") is None and other.doc.find("Hangup") is not None
    (request,) = requests_of(app)
    assert request.number == CALLER


def test_a_second_call_from_one_number_updates_its_open_request(line):
    app = line.app()
    client = app.test_client()
    for status in ("busy", "no-answer"):
        call = to_busy_line(client, status)
        call.press("3")
        call.press("1")
    (request,) = requests_of(app)
    assert request.reason == "no_answer"


def test_a_new_request_is_announced_to_staff_by_text(line, twilio):
    app = line.app(IVR_CALLBACK_NOTIFY="text", IVR_CALLBACK_NOTIFY_TEXT_TO="+15025550177",
                   IVR_LINE_NUMBER=CLINIC)
    call = to_busy_line(app.test_client())
    call.press("3")
    call.press("1")
    assert app.extensions["ivr"].announcer.idle(5)
    staff = [r for r in twilio.requests if r.form.get("To") == "+15025550177"]
    assert len(staff) == 1 and staff[0].form["Body"].startswith("Spasticity Clinic line: 1 callback request")


def test_with_the_database_down_the_caller_hears_an_apology_and_the_number(line):
    app = line.app()
    call = to_busy_line(app.test_client())
    store = app.extensions["ivr"].store
    store._run("write", lambda connection: connection.exec_driver_sql("DROP TABLE callbacks"), immediate=True)
    call.press("3")
    assert call.heard == ("Sorry, I could not take your request. Please call again later, or call our "
                          f"scheduling team at 5, 0, 2. 6, 3, 5. 6, 3, 9, 7. {GOODBYE}")


def test_the_callback_requested_event_names_the_reason_never_the_number(line):
    app = line.app()
    for status in ("busy", "no-answer"):  # the second call updates the first's request
        call = to_busy_line(app.test_client(), status)
        call.press("3")
        call.press("1")
    from ivr.usage import EXTENSION

    recorder = app.extensions[EXTENSION]
    recorder.flush()
    rows = app.extensions["ivr"].store._run("read", lambda c: c.exec_driver_sql(
        "SELECT kind, node, outcome, value FROM events "
        "WHERE kind IN ('callback_requested', 'callback_updated')").all())
    assert sorted(tuple(r) for r in rows) == [("callback_requested", None, "busy", None),
                                              ("callback_updated", None, "no_answer", None)]
    everything = app.extensions["ivr"].store._run("read", lambda c: c.exec_driver_sql(
        "SELECT * FROM events").all())
    assert CALLER[2:] not in repr(everything)


def test_without_callback_keys_nothing_about_callbacks_is_offered(client):
    call = to_busy_line(client)
    assert "call you back" not in call.heard
    call.press("3")
    assert call.heard.startswith("Sorry, that is not an option.")


def test_a_whole_request_with_its_message_on_each_backend(database_url, twilio):
    from ivr.storage.sql import upgrade

    upgrade(database_url)
    app = create_app(environment(DATABASE_URL=database_url, IVR_CALLBACK_KEYS=KEY,
                                 TWILIO_API_BASE_URL=twilio.base_url))
    try:
        client = app.test_client()
        call = to_busy_line(client, "failed", press_first=("1",))
        call.press("3")
        call.press("2")
        call.press(KEYED)
        call.press("1")
        rec = recording_sid()
        message_left(call, rec)
        assert recording_callback(client, call, rec).status_code == 204
        (request,) = requests_of(app)
        assert (request.number, request.number_verified, request.reason, request.topics) == \
            ("+1" + KEYED, False, "failed", ("oral_baclofen",))
        assert request.recording_sid == rec
    finally:
        from ivr.usage import EXTENSION

        app.extensions[EXTENSION].flush()  # before the database is dropped
        close_app(app)


def test_a_sealed_number_opens_only_with_its_key_and_within_the_hour():
    import base64

    from ivr.webhooks.sealed import SEAL_SECONDS, Seal

    key = b"s" * 32
    seal = Seal(key)
    token = seal.seal("+15025550199")
    assert "+15025550199" not in token and "5025550199" not in token
    assert seal.open(token) == "+15025550199"
    assert Seal(b"t" * 32).open(token) == ""
    assert seal.open(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]) == ""
    an_hour_ago = int(time.time()) - SEAL_SECONDS - 5
    old = Fernet(base64.urlsafe_b64encode(key)).encrypt_at_time(b"+15025550199", an_hour_ago)
    assert seal.open(old.decode().rstrip("=")) == ""


# -- asking by voice where key 3 is offered ----------------------------------------------------------

@pytest.mark.parametrize("words", ["Call me back.", "call me", "Please call me back"])
def test_saying_call_me_back_where_key_3_is_offered_is_key_3(line, words):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.say(words)
    assert call.heard == OWN
    call.press("1")
    assert call.heard == BEFORE_TONE
    assert requests_of(app)[0].reason == "busy"


def test_in_spanish_llamenme_said_at_the_offer_asks_for_a_callback(line):
    app = line.app()
    call = Call(app.test_client())
    call.start()
    call.press("8")
    call.press("0")
    call.dial_ends("no-answer")
    call.say("Llámenme, por favor")
    assert call.heard.startswith("Le devolveremos la llamada al número que termina en 0, 1, 2, 3.")


def test_call_me_back_heard_without_confidence_or_by_a_line_without_requests_is_not_a_request(line):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.say("call me back", confidence="0.2")
    assert call.heard != OWN and requests_of(app) == []
    off = line.app(IVR_CALLBACK_KEYS="")
    call = to_busy_line(off.test_client())
    call.say("call me back")
    assert "call you back" not in call.heard


def test_an_emergency_said_at_the_offer_is_answered_with_the_notice_first(line):
    app = line.app()
    call = to_busy_line(app.test_client())
    call.say("call me back my son is not breathing")
    assert call.heard.startswith("If this is a medical emergency, please hang up and dial 9 1 1.")
    assert requests_of(app) == []
