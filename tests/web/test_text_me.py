"""'Text me this': after a summary, key 1 texts it to the caller through the real twilio client,
against a local fake of Twilio's API; opt-outs, limits and every refusal are handled kindly."""

from __future__ import annotations

import io
import logging

import pytest
from conftest import ACCOUNT, CALLER, CLINIC, MENUS, TOKEN, Call, Texter, environment, without_texting

from ivr import create_app
from ivr.menufile.build import load_menus
from ivr.settings import StartupError

MENU = load_menus(MENUS)
SENT = "I have sent it to the phone you are calling from."


@pytest.fixture
def client(twilio, tmp_path):
    env = environment(TWILIO_API_BASE_URL=twilio.base_url, IVR_DATABASE=str(tmp_path / "line.sqlite3"),
                      IVR_TEXTS_PER_HOUR="2")
    return create_app(env).test_client()


def at_summary(client, keys: str = "2", caller: str = CALLER) -> Call:
    call = Call(client, caller=caller)
    call.start()
    for key in keys:
        call.press(key)
    return call


def test_a_summary_offers_to_be_texted(client):
    call = at_summary(client)
    assert "To get this by text message, press 1." in call.heard


def test_key_1_texts_the_summary_from_the_clinic_number_to_the_caller(client, twilio):
    call = at_summary(client)
    call.press("1")
    [sent] = twilio.requests
    assert sent.auth == (ACCOUNT, TOKEN)
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert (sent.form["To"], sent.form["From"]) == (CALLER, CLINIC)
    assert sent.form["Body"] == (MENU.nodes["baclofen_pump"].text + "\nReply MENU for more topics. "
                                 "To make an appointment, call (502) 635-6397.")
    assert call.heard.startswith(SENT)
    assert call.gather.get("action").startswith("/voice/baclofen_pump?")  # and the call goes on


def test_the_same_summary_is_texted_once_a_call(client, twilio):
    call = at_summary(client)
    call.press("1")
    call.press("1")
    assert call.heard.startswith("I have already tried to send you that one during this call.")
    assert len(twilio.requests) == 1


def test_a_few_texts_an_hour_per_caller_at_most(client, twilio):
    for keys in ("1", "2", "3"):
        call = at_summary(client, keys)  # a new call each time, as an abuser would
        call.press("1")
    # Over the limit, the caller is told how to get it anyway: a text they send proves the number.
    assert call.heard.startswith("To get this by text, send the word RHIZOTOMY to this number.")
    assert len(twilio.requests) == 2


@pytest.mark.parametrize("caller", ["anonymous", "+266696687", ""])
def test_a_withheld_number_is_told_why_and_nothing_is_sent(client, twilio, caller):
    call = at_summary(client, caller=caller)
    call.press("1")
    assert call.heard.startswith("Sorry, I cannot send a text to the number you are calling from.")
    assert twilio.requests == []


def test_a_number_that_texted_stop_is_never_texted_until_start(client, twilio):
    assert Texter(client).send("STOP") is None
    call = at_summary(client)
    call.press("1")
    assert call.heard.startswith("Your number has asked not to get texts from us.")
    assert twilio.requests == []
    Texter(client).send("start")
    call = at_summary(client)
    call.press("1")
    assert call.heard.startswith(SENT) and len(twilio.requests) == 1


def test_advanced_opt_out_stop_is_remembered_too(client, twilio):
    from conftest import signed_post

    signed_post(client, "/sms", {"From": CALLER, "Body": "arrêt", "OptOutType": "STOP",
                                 "MessageSid": "SM" + "7" * 32})
    call = at_summary(client)
    call.press("1")
    assert twilio.requests == [] and "asked not to get texts" in call.heard


@pytest.mark.parametrize("code,heard", [
    (21610, "Your number has asked not to get texts from us."),
    (21211, "Sorry, I cannot send a text to the number you are calling from."),
    (21614, "Sorry, I cannot send a text to the number you are calling from."),
    (21408, "Sorry, I could not send the text just now."),
    (20429, "Sorry, I could not send the text just now."),
])
def test_when_twilio_refuses_the_caller_hears_a_kind_message_and_the_call_goes_on(
        client, twilio, code, heard):
    twilio.refuse(code)
    call = at_summary(client)
    call.press("1")
    assert call.heard.startswith(heard)
    assert call.gather is not None


def test_a_21610_refusal_is_remembered_so_twilio_is_not_asked_again(client, twilio):
    twilio.refuse(21610)
    at_summary(client).press("1")
    at_summary(client, "3").press("1")
    assert len(twilio.requests) == 1


def test_a_refused_number_keeps_its_allowance(client, twilio):
    twilio.refuse(21614)
    at_summary(client, "1").press("1")
    for keys in ("2", "3"):
        call = at_summary(client, keys)
        call.press("1")
        assert call.heard.startswith(SENT)


def test_a_server_error_is_a_kind_message(client, twilio):
    twilio.fail_with_status(500)
    call = at_summary(client)
    call.press("1")
    assert call.heard.startswith("Sorry, I could not send the text just now.")


def test_an_unreachable_api_is_a_kind_message(tmp_path):
    call = at_summary(create_app(environment(IVR_DATABASE=str(tmp_path / "db.sqlite3"))).test_client())
    call.press("1")  # the default test environment points at a closed local port
    assert call.heard.startswith("Sorry, I could not send the text just now.")


def test_sending_logs_no_number_and_no_text(client, twilio):
    logger = logging.getLogger("ivr")
    handler = next(h for h in logger.handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    old, level = handler.setStream(stream), logger.level
    logger.setLevel(logging.DEBUG)
    try:
        at_summary(client).press("1")
    finally:
        logger.setLevel(level)
        handler.setStream(old)
    logged = stream.getvalue()
    assert "summary baclofen_pump texted: sent" in logged
    assert "5550123" not in logged and "abdomen" not in logged


def test_without_the_phrase_key_1_is_not_offered(tmp_path, twilio):
    path = tmp_path / "menus.yaml"
    path.write_text(without_texting(MENUS.read_text()))
    call = at_summary(create_app(environment(IVR_MENUS_FILE=str(path),
                                             TWILIO_API_BASE_URL=twilio.base_url)).test_client())
    assert "text message" not in call.heard
    call.press("1")
    assert call.heard.startswith("Sorry, that is not an option.") and twilio.requests == []


def test_offering_texts_without_an_account_sid_stops_the_start():
    with pytest.raises(StartupError, match="TWILIO_ACCOUNT_SID"):
        create_app(environment(TWILIO_ACCOUNT_SID=""))


@pytest.mark.parametrize("code,status", [(20429, 429), (21606, 400), (30007, 400)])
def test_any_definite_refusal_leaves_the_summary_and_the_allowance_free(client, twilio, code, status):
    twilio.refuse(code, status)
    call = at_summary(client)
    call.press("1")
    assert call.heard.startswith("Sorry, I could not send the text just now.")
    call.press("1")
    assert call.heard.startswith(SENT)
    assert len(twilio.requests) == 2


def test_half_the_texting_phrases_is_a_mistake_not_a_silent_switch_off():
    from ivr.menufile.build import parse_menus
    from ivr.menufile.yaml_strict import MenuFileError

    with pytest.raises(MenuFileError, match="texting needs every text_ phrase; missing: text_sent"):
        parse_menus(MENUS.read_text().replace("  text_sent: I have sent it to the phone you are calling "
                                              "from.\n", ""))


def test_two_calls_get_the_same_summary_texted_each(client, twilio):
    for _ in range(2):
        call = at_summary(client)
        call.press("1")
        assert call.heard.startswith(SENT)
    assert len(twilio.requests) == 2  # the engine's answers are cached; the sending never is
