"""'Text me this' cannot be abused: spoofed caller IDs, unattested calls, numbers that cannot be a
family's own phone and a slow Twilio, driven through signed webhooks and the real twilio client
against the local fake Messages API."""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager

import pytest
from conftest import ACCOUNT, CALLER, CLINIC, MENUS, TOKEN, Call, Texter, environment
from fake_twilio import FakeTwilio

from ivr import create_app
from ivr.menufile.build import parse_menus
from ivr.menufile.yaml_strict import MenuFileError
from ivr.model.phone import for_reading, for_speaking, is_callable_caller_id, is_textable_caller, to_e164
from ivr.settings import StartupError, read_settings
from ivr.storage.sql import SqliteStore
from ivr.webhooks.outbound import SendOutcome, TextSender

SENT = "I have sent it to the phone you are calling from."
SEND_PUMP = "To get this by text, send the word PUMP to this number."
SEND_BOMBA = "Para recibir esto por mensaje de texto, envíe la palabra BOMBA a este número."
NOT_POSSIBLE = "Sorry, I cannot send a text to the number you are calling from."
NOT_SENT = "Sorry, I could not send the text just now."
VERSTATS = ("TN-Validation-Passed-A", "TN-Validation-Passed-B", "TN-Validation-Passed-C",
            "TN-Validation-Failed-A", "TN-Validation-Failed-B", "TN-Validation-Failed-C",
            "No-TN-Validation", "TN-Validation-Failed", None)


@pytest.fixture
def line(twilio, tmp_path, monkeypatch):
    """A line with every limit at its default, texting through the fake Twilio."""

    def make(**overrides: str):
        env = environment(TWILIO_API_BASE_URL=twilio.base_url,
                          IVR_DATABASE=str(tmp_path / "line.sqlite3"), **overrides)
        return create_app(env).test_client()
    return make


def call_from(client, caller: str = CALLER, verstat: str | None = "TN-Validation-Passed-A") -> Call:
    call = Call(client, caller=caller)
    if verstat is None:
        del call.params["StirVerstat"]
    else:
        call.params["StirVerstat"] = verstat
    call.start()
    return call


@contextmanager
def captured_log():
    """Everything the "ivr" logger writes meanwhile, at INFO and above."""
    logger = logging.getLogger("ivr")
    handler = next(h for h in logger.handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(old)


# -- spoofed caller IDs against the caps ------------------------------------------------------------

def test_200_spoofed_calls_from_200_numbers_get_the_line_wide_20_texts_only(line, twilio):
    client = line()
    heard = []
    with captured_log() as logged:
        for i in range(200):
            # Each call gives another caller ID, all geographic US numbers, all attested, and asks
            # for three summaries: before the line-wide caps, that was 600 texts to 200 strangers.
            call = call_from(client, caller=f"+1502637{i:04d}")
            for key in ("1", "2", "3"):
                call.press(key)
                call.press("1")
                heard.append(call.heard)
                call.press("*")
    assert len(twilio.requests) == 20
    assert len({r.form["To"] for r in twilio.requests}) == 7  # 3 each to the first callers, then 2
    assert sum(h.startswith(SENT) for h in heard) == 20
    # Everyone else hears how to get it anyway, with the word of the summary they were at.
    assert {h.split(".")[0] for h in heard if not h.startswith(SENT)} == {
        "To get this by text, send the word BACLOFEN to this number",
        "To get this by text, send the word PUMP to this number",
        "To get this by text, send the word RHIZOTOMY to this number"}
    warnings = [ln for ln in logged.getvalue().splitlines() if "IVR_LINE_TEXTS_PER_HOUR" in ln]
    assert len(warnings) == 1 and "WARNING" in warnings[0]  # once, not 580 times
    assert "5026370" not in logged.getvalue()  # and no caller's number in the log


def test_without_attestation_200_spoofed_calls_send_nothing(line, twilio):
    client = line()
    for i in range(200):
        call = call_from(client, caller=f"+1502637{i:04d}", verstat=None)
        call.press("2")
        call.press("1")
        assert call.heard.startswith(SEND_PUMP)
    assert twilio.requests == []


def test_a_line_wide_limit_of_its_own(line, twilio):
    client = line(IVR_LINE_TEXTS_PER_HOUR="2")
    for i in range(4):
        call = call_from(client, caller=f"+1416555{i:04d}")
        call.press("2")
        call.press("1")
    assert len(twilio.requests) == 2 and call.heard.startswith(SEND_PUMP)


def test_a_definite_refusal_does_not_use_up_the_line_allowance(line, twilio):
    client = line(IVR_LINE_TEXTS_PER_HOUR="1")
    twilio.refuse(21614)  # a landline: Twilio refused, nothing went out
    first = call_from(client, caller="+15026370001")
    first.press("2")
    first.press("1")
    second = call_from(client, caller="+15026370002")
    second.press("2")
    second.press("1")
    assert first.heard.startswith(NOT_POSSIBLE) and second.heard.startswith(SENT)


def test_the_daily_caps_per_number_and_for_the_line(tmp_path):
    hour, day = 3600.0, 86400.0
    limits = {"per_day": 5, "line_per_hour": 20, "line_per_day": 100}
    with SqliteStore(tmp_path / "db.sqlite3", "key") as store:
        # One number: 3 an hour, and 5 a day however they are spread.
        outcomes = [store.reserve_text(CALLER, f"CA{i}", "pump", i * hour, 3, **limits) for i in range(7)]
        assert outcomes == ["ok"] * 5 + ["too_many"] * 2
        assert store.reserve_text(CALLER, "CA9", "pump", day + 1, 3, **limits) == "ok"  # a day later
    with SqliteStore(tmp_path / "line.sqlite3", "key") as store:
        # The line: 20 an hour and 100 a day, whichever numbers they go to.
        sent = 0
        for i in range(400):
            now = (i // 25) * hour + i % 25  # 25 callers an hour for 16 hours
            outcome = store.reserve_text(f"+1502637{i:04d}", f"CA{i}", "pump", now, 3, **limits)
            assert outcome in ("ok", "line_hour_full", "line_day_full")
            sent += outcome == "ok"
            if i == 20:
                assert outcome == "line_hour_full"
        assert sent == 100
        assert store.reserve_text("+15026379999", "CAx", "pump", 15 * hour + 30, 3, **limits) \
            == "line_day_full"
        assert store.reserve_text("+15026379999", "CAy", "pump", day + 15 * hour, 3, **limits) == "ok"


def test_one_send_waits_on_twilio_at_a_time(tmp_path):
    with SqliteStore(tmp_path / "db.sqlite3", "key") as store:
        at_once = (1, 3.0)
        assert store.reserve_text(CALLER, "CA1", "pump", 100.0, 3, at_once=at_once) == "ok"
        assert store.reserve_text("+14165550123", "CA2", "pump", 100.5, 3, at_once=at_once) == "line_busy"
        store.finish_text("CA1", "pump")
        assert store.reserve_text("+14165550123", "CA2", "pump", 101.0, 3, at_once=at_once) == "ok"
        # A send whose worker died without finishing stops counting after the given seconds.
        assert store.reserve_text("+16135550123", "CA3", "pump", 103.0, 3, at_once=at_once) == "line_busy"
        assert store.reserve_text("+16135550123", "CA3", "pump", 104.1, 3, at_once=at_once) == "ok"


def test_while_one_caller_waits_on_a_slow_twilio_the_next_is_told_the_word_at_once(tmp_path):
    import threading

    with FakeTwilio(ACCOUNT, TOKEN, answer_after=3.0) as slow:
        app = create_app(environment(TWILIO_API_BASE_URL=slow.base_url,
                                     IVR_DATABASE=str(tmp_path / "db.sqlite3")))
        first = call_from(app.test_client(), caller="+15026370001")
        first.press("2")
        waiting = threading.Thread(target=first.press, args=("1",))
        waiting.start()
        try:
            while not slow.requests:  # the first caller's send has reached Twilio
                waiting.join(0.01)
                assert waiting.is_alive()
            second = call_from(app.test_client(), caller="+15026370002")
            second.press("2")
            second.press("1")
            assert second.heard.startswith(SEND_PUMP)
        finally:
            waiting.join()
        assert first.heard.startswith(NOT_SENT)
        assert len(slow.requests) == 1


# -- StirVerstat: only an attested caller ID is texted ----------------------------------------------

@pytest.mark.parametrize("required,texted", [
    ("A", {"TN-Validation-Passed-A"}),
    ("B", {"TN-Validation-Passed-A", "TN-Validation-Passed-B"}),
    ("C", {"TN-Validation-Passed-A", "TN-Validation-Passed-B", "TN-Validation-Passed-C"}),
    ("none", set(VERSTATS)),
])
@pytest.mark.parametrize("verstat", VERSTATS)
def test_every_stirverstat_value(line, twilio, required, texted, verstat):
    client = line(IVR_TEXT_REQUIRES_ATTESTATION=required)
    call = call_from(client, verstat=verstat)
    call.press("2")
    call.press("1")
    if verstat in texted:
        assert call.heard.startswith(SENT) and len(twilio.requests) == 1
    else:
        assert call.heard.startswith(SEND_PUMP) and twilio.requests == []
    assert call.gather is not None  # the call goes on either way


@pytest.mark.parametrize("verstat,texted", [("TN-Validation-Passed-A", True), ("No-TN-Validation", False),
                                             (None, False)])
def test_the_attestation_of_the_first_request_holds_for_the_whole_call(line, twilio, verstat, texted):
    # Twilio is documented to send StirVerstat with the call's first webhook: the line keeps it in
    # the addresses it gives, so a Gather action without StirVerstat still knows it.
    call = call_from(line(), verstat=verstat)
    call.params.pop("StirVerstat", None)
    call.press("2")
    assert ("stir=A" in call.gather.get("action")) is texted
    call.press("1")
    assert call.heard.startswith(SENT if texted else SEND_PUMP)
    assert len(twilio.requests) == (1 if texted else 0)


def test_a_later_stirverstat_overrides_the_one_kept_in_the_address(line, twilio):
    call = call_from(line())
    call.press("2")
    assert "stir=A" in call.gather.get("action")
    call.params["StirVerstat"] = "TN-Validation-Failed-A"
    call.press("1")
    assert call.heard.startswith(SEND_PUMP) and twilio.requests == []


def test_the_default_requires_full_attestation():
    assert read_settings(environment()).text_requires_attestation == "A"


@pytest.mark.parametrize("value", ["D", "yes", "TN-Validation-Passed-A"])
def test_an_unknown_attestation_setting_stops_the_start(value):
    with pytest.raises(StartupError, match="IVR_TEXT_REQUIRES_ATTESTATION must be A, B, C or none"):
        read_settings(environment(IVR_TEXT_REQUIRES_ATTESTATION=value))


# -- only numbers that can be the caller's own phone ------------------------------------------------

@pytest.mark.parametrize("caller,why", [
    ("+18005550123", "toll-free 800"), ("+18335550123", "toll-free 833"), ("+18445550123", "toll-free 844"),
    ("+18555550123", "toll-free 855"), ("+18665550123", "toll-free 866"), ("+18775550123", "toll-free 877"),
    ("+18885550123", "toll-free 888"), ("+19005550123", "premium 900"), ("+19765550123", "976"),
    ("+15005550123", "personal 500"), ("+15215550123", "personal 521"), ("+16005550123", "Canadian 600"),
    ("+18765550123", "Jamaica"), ("+18095550123", "Dominican Republic"), ("+12425550123", "Bahamas"),
    ("+442079460018", "United Kingdom"), ("+525512345678", "Mexico"), ("+15025550", "too short"),
])
def test_numbers_that_cannot_be_a_familys_own_phone_are_never_texted(line, twilio, caller, why):
    call = call_from(line(), caller=caller)
    call.press("2")
    call.press("1")
    assert call.heard.startswith(NOT_POSSIBLE), why
    assert twilio.requests == []


@pytest.mark.parametrize("caller", ["+14165550123", "+16135550123", "+16045550123", "+12125550123",
                                    "+15025550123"])
def test_us_and_canadian_numbers_are_texted(line, twilio, caller):
    call = call_from(line(), caller=caller)
    call.press("2")
    call.press("1")
    assert call.heard.startswith(SENT)
    [sent] = twilio.requests
    assert sent.form["To"] == caller


def test_textable_and_callable_numbers():
    assert is_textable_caller("+14165550123")  # Toronto
    assert not is_textable_caller("+18765550123") and is_callable_caller_id("+18765550123")
    assert not is_textable_caller("+442079460018") and is_callable_caller_id("+442079460018")
    for withheld in ("anonymous", "+266696687", "", None, "14165550123", "+1 416 555 0123"):
        assert not is_textable_caller(withheld) and not is_callable_caller_id(withheld)


def test_the_sender_itself_refuses_a_number_that_is_not_textable(twilio):
    sender = TextSender(ACCOUNT, TOKEN, base_url=twilio.base_url)
    try:
        assert sender.send("+18765550123", CLINIC, "hello") == SendOutcome("invalid_number")
        assert sender.send("+18005550123", CLINIC, "hello") == SendOutcome("invalid_number")
    finally:
        sender.close()
    assert twilio.requests == []


# -- "send the word": how to get it anyway ----------------------------------------------------------

def test_the_word_in_english_then_texting_it_gets_the_summary(line, twilio):
    client = line()
    call = call_from(client, verstat="No-TN-Validation")
    call.press("2")
    call.press("1")
    assert call.heard.startswith(SEND_PUMP)
    assert call.gather.get("action").startswith("/voice/baclofen_pump?")
    reply = Texter(client).send("PUMP")  # an inbound text proves the number: the reply is the text
    assert reply.startswith("Intrathecal baclofen pump:")
    assert twilio.requests == []


def test_the_word_in_spanish_is_the_spanish_first_keyword(line, twilio):
    call = call_from(line(), verstat=None)
    call.press("8")
    call.press("2")
    call.press("1")
    assert call.heard.startswith(SEND_BOMBA)
    assert "lang=es-US" in call.gather.get("action")
    assert twilio.requests == []


def test_closed_hours_text_me_the_number_follows_the_same_rules(tmp_path, monkeypatch, twilio):
    from datetime import datetime, timezone

    path = tmp_path / "menus.yaml"
    path.write_text(MENUS.read_text() + '\nhours:\n  time_zone: America/Kentucky/Louisville\n'
                    '  monday: "08:00-17:00"\n  tuesday: closed\n  wednesday: closed\n  thursday: closed\n'
                    '  friday: closed\n  saturday: closed\n  sunday: closed\n')
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=timezone.utc)
    client = create_app(environment(IVR_MENUS_FILE=str(path), TWILIO_API_BASE_URL=twilio.base_url,
                                    IVR_DATABASE=str(tmp_path / "db.sqlite3")),
                        clock=lambda: saturday).test_client()
    for verstat, caller, heard in [(None, CALLER, "send the word APPOINTMENT to this number."),
                                   ("TN-Validation-Passed-A", "+18765550123", NOT_POSSIBLE),
                                   ("TN-Validation-Passed-A", CALLER, SENT)]:
        call = call_from(client, caller=caller, verstat=verstat)
        call.press("0")
        call.press("2")
        assert heard in call.heard and "Our scheduling team is closed right now." in call.heard
    [sent] = twilio.requests
    assert sent.form["To"] == CALLER


def test_a_menu_with_texting_needs_the_send_the_word_phrase():
    text = MENUS.read_text().replace(
        "  text_send_word: To get this by text, send the word {keyword} to this number.\n", "")
    with pytest.raises(MenuFileError, match="missing: text_send_word"):
        parse_menus(text)


# -- a slow Twilio holds a webhook no longer than the budget ----------------------------------------

def test_a_twilio_that_answers_in_3_s_gets_the_kind_sentence(tmp_path):
    with FakeTwilio(ACCOUNT, TOKEN, answer_after=3.0) as slow:
        client = create_app(environment(TWILIO_API_BASE_URL=slow.base_url,
                                        IVR_DATABASE=str(tmp_path / "db.sqlite3"))).test_client()
        call = call_from(client)
        call.press("2")
        call.press("1")
        assert call.heard.startswith(NOT_SENT) and call.gather is not None
        assert len(slow.requests) == 1  # it was tried, and abandoned


def test_a_twilio_that_trickles_its_answer_cannot_stretch_the_budget(twilio):
    # Each byte comes well within the per-phase timeout; only the overall deadline ends the send.
    twilio.trickle(4.0)
    sender = TextSender(ACCOUNT, TOKEN, base_url=twilio.base_url, timeout=0.5)
    try:
        assert sender.send(CALLER, CLINIC, "hello") == SendOutcome("failed")
    finally:
        sender.close()


# -- phone numbers in menus.yaml --------------------------------------------------------------------

SCHEDULING_LINE = 'scheduling: "(502) 635-6397"'


def test_a_uk_number_with_its_trunk_zero_in_brackets_is_stored_right():
    menu = parse_menus(MENUS.read_text().replace(SCHEDULING_LINE, 'scheduling: "+44 (0)20 7946 0018"'))
    assert menu.phones["scheduling"] == "+442079460018"
    assert for_reading("+442079460018") == "+44 20 7946 0018"
    assert for_speaking("+442079460018") == "4, 4. 2, 0. 7, 9, 4, 6. 0, 0, 1, 8."


@pytest.mark.parametrize("written", ["(502) 635-6397 ext. 12", "502-635-6397 x4", "+1 502 635 6397;ext=9"])
def test_a_number_with_an_extension_is_an_error_at_its_line(written):
    text = MENUS.read_text()
    with pytest.raises(MenuFileError) as caught:
        parse_menus(text.replace(SCHEDULING_LINE, f'scheduling: "{written}"'))
    [problem] = [str(p) for p in caught.value.problems]
    line_no = next(n for n, ln in enumerate(text.splitlines(), 1) if SCHEDULING_LINE in ln)
    assert f":{line_no}:" in problem
    assert "has an extension" in problem and "write the number without its extension" in problem


@pytest.mark.parametrize("written", ["1-800-FLOWERS", "(502) 635-639", "+44 20 7946 001"])
def test_letters_and_wrong_lengths_are_not_numbers(written):
    assert to_e164(written) is None


def test_the_word_to_text_is_one_only_the_callers_language_has(line, twilio):
    # "botox" is a keyword in both languages: texting it from a new number would get English.
    from ivr.conversation import engine
    es = parse_menus(MENUS.read_text()).translations["es-US"]
    word = engine.texting_word(es, "injections")
    assert word != "BOTOX" and word.lower() in es.nodes["injections"].keywords
    client = line()
    reply = Texter(client, number="+15025550177").send(word)
    assert es.nodes["injections"].text.split(":")[0] in reply
