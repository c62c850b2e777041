"""Whole phone calls through the voice webhooks, following the TwiML the app returns."""

from __future__ import annotations

import re

import pytest
from conftest import (
    CALLER,
    CLINIC,
    MENUS,
    SCHEDULING,
    Call,
    environment,
    route,
    said,
    signed_post,
    spoken_text,
    twiml,
)

from ivr import create_app
from ivr.menufile.build import load_menus

MENU = load_menus(MENUS)
SUMMARIES = {
    # keys pressed from the main menu -> node reached
    "1": "oral_baclofen",
    "2": "baclofen_pump",
    "3": "rhizotomy",
    "41": "injections",
    "42": "casting",
    "43": "medication_change",
}


def press_all(call: Call, keys: str) -> None:
    for key in keys:
        call.press(key)


def assert_listening(call: Call, node: str) -> None:
    """The caller is in a Gather whose answer goes to `node`, and can answer during the prompt."""
    gather = call.gather
    assert gather.get("action").split("?")[0] == f"/voice/{node}"
    assert gather.get("numDigits") == "1"
    assert {child.tag for child in gather} == {"Say"}
    assert gather.findall("Say")[-1].get("voice") == "Polly.Joanna-Neural"


def english_heard(call: Call) -> str:
    """What the caller hears in English (the Spanish offer at the first menu left out)."""
    return " ".join(said(say) for say in call.doc.iter("Say") if say.get("language") == "en-US")


def assert_transfer(call: Call, caller_id: str | None = CALLER) -> None:
    dial = call.dial
    assert dial is not None, call.heard
    assert dial.find("Number").text == SCHEDULING
    assert dial.get("timeout") == "25"
    # ?info=1 once the general-information sentence has been said on this call
    assert route(dial.get("action")) in ("/voice/dial-ended", "/voice/dial-ended?info=1")
    assert dial.get("callerId") == caller_id
    assert call.doc.find("Gather") is None


def test_call_starts_with_greeting_and_emergency_notice_before_the_menu(call):
    doc = call.start()
    children = [child.tag for child in doc]
    assert children == ["Say", "Say", "Gather", "Redirect"]
    greeting, emergency = (said(say) for say in doc.findall("Say"))
    assert greeting == "Thank you for calling the Spasticity Clinic."
    assert "medical emergency" in emergency and "9 1 1" in emergency
    assert_listening(call, "main")


def test_main_menu_prompts_are_in_iso_order_without_gaps(call):
    call.start()
    prompt = said(call.gather.findall("Say")[-1])  # after the offer of Spanish, said in Spanish
    keys = [int(k) for k in re.findall(r"press (\d)\.", prompt)]
    assert keys[:4] == [1, 2, 3, 4]
    assert "To hear about oral baclofen, press 1." in prompt
    assert "To hear about the intrathecal baclofen pump, press 2." in prompt
    assert "To hear about dorsal rhizotomy, press 3." in prompt
    # The key convention is announced once, at the start of the call.
    assert "Press 0 to talk with our scheduling team, press star to go back, or press 9" in prompt


@pytest.mark.parametrize("keys,node", SUMMARIES.items())
def test_every_treatment_summary_is_reached(call, keys, node):
    call.start()
    press_all(call, keys)
    assert MENU.nodes[node].say in call.heard
    assert "To hear this again, press 9." in call.heard
    assert "To talk with our scheduling team, press 0." in call.heard
    assert_listening(call, node)


@pytest.mark.parametrize("keys,node", SUMMARIES.items())
def test_repeat_plays_the_summary_again(call, keys, node):
    call.start()
    press_all(call, keys)
    first = call.heard
    call.press("9")
    # The same, but for the general-information sentence: it is said once per call.
    assert call.heard == first.replace(" " + MENU.phrases["general_info"], "")
    assert MENU.phrases["general_info"] in first


def test_star_goes_back_one_menu_at_a_time(call):
    call.start()
    press_all(call, "42")
    assert "To go back to other treatments" in call.heard
    call.press("*")
    assert "To hear about casting, press 2." in call.heard
    assert_listening(call, "other_treatments")
    call.press("*")
    assert "To hear about oral baclofen, press 1." in call.heard
    assert_listening(call, "main")


def test_star_after_a_main_menu_summary_returns_to_the_main_menu(call):
    call.start()
    call.press("2")
    assert "To go back to the main menu, press star." in call.heard
    call.press("*")
    assert_listening(call, "main")
    call.press("*")  # star at the top stays at the main menu
    assert_listening(call, "main")


@pytest.mark.parametrize("keys", ["", "1", "2", "3", "4", "41", "42", "43"])
def test_zero_transfers_to_scheduling_from_every_menu(call, keys):
    call.start()
    press_all(call, keys)
    call.press("0")
    assert "connect you with our scheduling team" in call.heard
    assert_transfer(call)


@pytest.mark.parametrize("node", ["main", "oral_baclofen", "other_treatments", "casting"])
def test_no_input_repeats_twice_then_transfers(client, node):
    call = Call(client)
    call.start()
    call._post(f"/voice/{node}?tries=0", Digits="9")  # arrive at the node
    prompt = said(call.gather.findall("Say")[-1])
    for tries in (1, 2):
        call.wait()
        assert english_heard(call).startswith("Sorry, I did not hear a choice.")
        assert route(call.gather.get("action")).replace("info=1&", "") == f"/voice/{node}?tries={tries}"
        assert prompt.endswith(said(call.gather.findall("Say")[-1]).split("choice. ", 1)[1])
    call.wait()
    assert english_heard(call).startswith("Sorry, I did not hear a choice.")
    assert_transfer(call)


def test_retry_count_comes_from_menus_yaml(tmp_path):
    menus = tmp_path / "menus.yaml"
    menus.write_text(MENUS.read_text().replace("no_input_retries: 2", "no_input_retries: 0"))
    call = Call(create_app(environment(IVR_MENUS_FILE=str(menus))).test_client())
    call.start()
    call.wait()
    assert_transfer(call)


@pytest.mark.parametrize("digits", ["5", "6", "#", "12", "*#*#", "x", "99999999999999"])
def test_a_key_that_means_nothing_says_so_and_repeats_the_menu(call, digits):
    call.start()
    call.press(digits)
    assert english_heard(call).startswith("Sorry, that is not an option.")
    assert "To hear about oral baclofen, press 1." in call.heard
    assert_listening(call, "main")


def test_wrong_keys_count_towards_the_transfer(call):
    call.start()
    call.press("7")
    call.press("7")
    call.press("7")
    assert_transfer(call)


def test_caller_id_is_the_callers_number_so_scheduling_sees_who_calls(call):
    call.start()
    call.press("0")
    assert_transfer(call, caller_id=CALLER)


@pytest.mark.parametrize("withheld", ["anonymous", "+266696687", "", "Restricted"])
def test_withheld_caller_id_uses_the_clinic_number(client, withheld):
    call = Call(client, caller=withheld)
    call.start()
    call.press("0")
    assert_transfer(call, caller_id=CLINIC)


@pytest.mark.parametrize("status", ["completed", "canceled"])
def test_a_finished_transfer_hangs_up(call, status):
    call.start()
    call.press("0")
    doc = call.dial_ends(status, duration="95")
    assert [child.tag for child in doc] == ["Hangup"]


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "", "something-new"])
def test_a_failed_transfer_reads_the_number_slowly_and_offers_it_again(call, status):
    call.start()
    call.press("0")
    call.dial_ends(status)
    spoken_number = "5, 0, 2. 6, 3, 5. 6, 3, 9, 7."
    assert spoken_number in call.heard
    assert "To hear the number again, press 1." in call.heard
    assert_listening(call, "_unavailable")
    call.press("1")
    assert spoken_number in call.heard
    call.press("0")
    assert_transfer(call)
    call.dial_ends("busy")
    call.press("*")
    assert_listening(call, "main")


def test_silence_after_a_failed_transfer_repeats_the_number_then_says_goodbye(call):
    call.start()
    call.press("0")
    call.dial_ends("no-answer")
    call.wait()
    assert "5, 0, 2. 6, 3, 5. 6, 3, 9, 7." in call.heard
    call.wait()
    call.wait()
    assert call.heard == "Thank you for calling the Spasticity Clinic. Goodbye."
    assert call.doc[-1].tag == "Hangup"


def test_a_wrong_key_after_a_failed_transfer_repeats_the_number(call):
    call.start()
    call.press("0")
    call.dial_ends("busy")
    call.press("5")
    assert "not an option" in call.heard
    assert "5, 0, 2. 6, 3, 5. 6, 3, 9, 7." in call.heard


def test_every_document_of_a_long_call_says_something_or_acts(call):
    """A caller is never left in silence: each answer speaks, listens, dials or hangs up."""
    call.start()
    for step in ["1", "9", "*", "4", "3", "*", "*", "wait", "0", "busy", "wait", "wait", "wait"]:
        if step == "wait":
            call.wait()
        elif step == "busy":
            call.dial_ends("busy")
        else:
            call.press(step)
        assert call.heard or call.dial is not None or call.doc.find("Hangup") is not None


def test_state_lives_in_the_url_so_a_fresh_worker_continues_the_call(call):
    call.start()
    call.press("4")
    action = call.gather.get("action")
    other_worker = Call(create_app(environment()).test_client())
    other_worker.params = call.params
    other_worker._post(action, Digits="2")
    assert MENU.nodes["casting"].say in other_worker.heard


@pytest.mark.parametrize("path", ["/voice/no_such_node?tries=0", "/voice/Main?tries=1",
                                  "/voice/no_such_node/silence?tries=0"])
def test_an_unknown_node_in_the_url_takes_the_caller_to_the_main_menu(client, path):
    call = Call(client)
    call._post(path, Digits="1")
    assert_listening(call, "main")


@pytest.mark.parametrize("query", ["tries=abc", "tries=-5", "tries=99999999999999999999", ""])
def test_a_junk_retry_count_in_the_url_is_answered_sensibly(client, query):
    call = Call(client)
    call._post("/voice/main/silence" + (f"?{query}" if query else ""))
    assert english_heard(call).startswith("Sorry, I did not hear a choice.")
    assert call.doc.find("Gather") is not None or call.dial is not None


def test_missing_parameters_still_get_a_valid_answer(client):
    doc = twiml(signed_post(client, "/voice/main?tries=0", {}))
    assert doc.find("Gather") is not None
    doc = twiml(signed_post(client, "/voice/dial-ended", {}))
    assert "5, 0, 2" in spoken_text(doc)


def test_transfer_twiml_is_exactly_what_twilio_expects(call):
    call.start()
    response = signed_post(call.client, "/voice/main?tries=0", {**call.params, "Digits": "0"})
    assert response.data.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Say language="en-US" voice="Polly.Joanna-Neural">'
        "Please hold while I connect you with our scheduling team.</Say>"
        f'<Dial action="/voice/dial-ended?stir=A" callerId="{CALLER}" method="POST" timeout="25">'
        f"<Number>{SCHEDULING}</Number></Dial></Response>"
    )


def test_voice_does_not_set_cookies(client):
    response = signed_post(client, "/voice", Call(client).params)
    assert "Set-Cookie" not in response.headers


def test_wrong_keys_after_a_failed_transfer_end_in_goodbye_not_a_loop(call):
    call.start()
    call.press("0")
    call.dial_ends("failed")
    for _ in range(MENU.no_input_retries):
        call.press("7")
        assert "5, 0, 2. 6, 3, 5. 6, 3, 9, 7." in call.heard
    call.press("7")
    assert call.heard == "Thank you for calling the Spasticity Clinic. Goodbye."
    assert call.doc[-1].tag == "Hangup"


def test_with_a_public_base_address_the_actions_are_absolute():
    base = "https://line.example.org/clinic"
    call = Call(create_app(environment(IVR_PUBLIC_BASE_URL=base)).test_client())
    call.doc = twiml(signed_post(call.client, "/voice", call.params, base=base))
    assert route(call.gather.get("action")) == base + "/voice/main?tries=0"
    assert route(call.doc.find("Redirect").text) == base + "/voice/main/silence?tries=0"


def test_every_menu_listens_for_speech_too_with_the_keywords_as_hints(call):
    call.start()
    gather = call.gather
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "en-US" and gather.get("speechTimeout") == "auto"
    hints = gather.get("hints").split(", ")
    assert {"baclofen", "pump", "itb", "rhizotomy", "botox", "valium", "appointment"} <= set(hints)


@pytest.mark.parametrize("said,node", [("pump", "baclofen_pump"), ("Botox.", "injections"),
                                       ("I'd like to hear about casting", "casting"),
                                       ("dorsal rhizotomy", "rhizotomy")])
def test_saying_a_keyword_goes_to_that_summary_from_any_menu(call, said, node):
    call.start()
    call.press("4")
    call._post(call.gather.get("action"), SpeechResult=said, Confidence="0.92")
    assert MENU.nodes[node].say in call.heard


def test_saying_a_person_word_transfers(call):
    call.start()
    call._post(call.gather.get("action"), SpeechResult="appointment", Confidence="0.8")
    assert_transfer(call)


@pytest.mark.parametrize("said,confidence", [("pizza", "0.95"), ("pump", "0.2"), ("", "0.9"),
                                             ("pump", "not a number")])
def test_speech_that_does_not_match_or_is_unclear_asks_again_with_the_keys(call, said, confidence):
    call.start()
    call._post(call.gather.get("action"), SpeechResult=said, Confidence=confidence)
    if confidence == "not a number":  # a confidence Twilio did not send is no reason to refuse
        assert MENU.nodes["baclofen_pump"].say in call.heard
        return
    if not said:  # an empty result is no input
        assert english_heard(call).startswith("Sorry, I did not hear a choice.")
        return
    assert english_heard(call).startswith("Sorry, I did not understand that.")
    assert "To hear about oral baclofen, press 1." in call.heard
    assert route(call.gather.get("action")) == "/voice/main?tries=1"


@pytest.mark.parametrize("said,where", [("main menu", "main"), ("back", "other_treatments"),
                                        ("repeat", "casting")])
def test_line_words_work_by_voice(call, said, where):
    call.start()
    call.press("4")
    call.press("2")
    call._post(call.gather.get("action"), SpeechResult=said, Confidence="0.9")
    assert_listening(call, where)


@pytest.fixture
def log_stream():
    import io
    import logging

    handler = next(h for h in logging.getLogger("ivr").handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    old = handler.setStream(stream)
    handler.setLevel(logging.DEBUG)
    logging.getLogger("ivr").setLevel(logging.DEBUG)
    yield stream
    logging.getLogger("ivr").setLevel(logging.INFO)
    handler.setStream(old)


def test_speech_is_logged_without_the_words(call, log_stream):
    call.start()
    call._post(call.gather.get("action"), SpeechResult="my daughter Emma needs the pump",
               Confidence="0.9")
    logged = log_stream.getvalue()
    assert "speech at main -> baclofen_pump" in logged
    assert "Emma" not in logged and "daughter" not in logged
