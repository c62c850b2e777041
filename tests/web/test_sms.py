"""Text conversations through the messaging webhook, as Twilio delivers them."""

from __future__ import annotations

import pytest
from conftest import MENUS, Texter, environment, signed_post, twiml

from ivr import create_app
from ivr.conversation import engine
from ivr.menufile.build import load_menus
from ivr.model.gsm import encoding_of
from ivr.model.reserved import OPT_IN_WORDS, OPT_OUT_WORDS

MENU = load_menus(MENUS)
FOOTER = "Reply MENU for more topics. To make an appointment, call (502) 635-6397."


def summary(node: str) -> str:
    return MENU.nodes[node].text


def assert_main_menu(reply: str) -> None:
    assert "1 Oral baclofen\n2 Baclofen pump\n3 Dorsal rhizotomy\n4 Other treatments" in reply
    assert "0 Scheduling" in reply
    assert "Words: BACLOFEN, PUMP, RHIZOTOMY, BOTOX, CASTING, VALIUM, APPOINTMENT" in reply
    assert encoding_of(reply).segments <= 2


@pytest.mark.parametrize("body", ["hello", "MENU", "menu", "Hi", "HELLO!", " hi ", "Hey", "main menu"])
def test_a_greeting_or_menu_gets_the_menu(texter, body):
    assert_main_menu(texter.send(body))


@pytest.mark.parametrize("body", ["what is this", "asdfgh", "", "   ", "?", "😀😀", "Привет",
                                  "泵", "x" * 1600])
def test_anything_not_understood_gets_the_menu(texter, body):
    reply = texter.send(body)
    assert reply.startswith("Sorry, I did not understand that.")
    assert_main_menu(reply)


@pytest.mark.parametrize("keyword,node", [(kw, n.id) for n in MENU.nodes.values()
                                          for kw in n.keywords if n.type == "summary"])
def test_every_keyword_and_synonym_gets_its_summary(client, keyword, node):
    reply = Texter(client).send(keyword)
    assert reply == summary(node) + "\n" + FOOTER


@pytest.mark.parametrize("body,node", [
    ("baclofin", "oral_baclofen"), ("rhizotomey", "rhizotomy"), ("Rizotomy", "rhizotomy"),
    ("bottox", "injections"), ("valum", "medication_change"), ("  PUMP!!! ", "baclofen_pump"),
    ("Botox?", "injections"), ("ITB", "baclofen_pump"), ("sdr.", "rhizotomy"),
    ("tell me about the baclofen pump please", "baclofen_pump"), ("castng", "casting"),
    ("Oral  Baclofen", "oral_baclofen"), ("VALIUM", "medication_change"),
    ("Intrathecal-baclofen", "baclofen_pump"), ("😀 pump 😀", "baclofen_pump"),
])
def test_case_spacing_punctuation_and_small_typos_still_match(texter, body, node):
    assert texter.send(body) == summary(node) + "\n" + FOOTER


def test_two_unrelated_topics_in_one_text_get_the_menu(texter):
    assert_main_menu(texter.send("botox and valium"))


@pytest.mark.parametrize("body", ["appointment", "schedule", "0", "Person"])
def test_scheduling_words_get_the_number(texter, body):
    assert texter.send(body) == "To make an appointment with the Spasticity Clinic, call (502) 635-6397."


@pytest.mark.parametrize("number,node", [("1", "oral_baclofen"), ("2", "baclofen_pump"),
                                         ("3", "rhizotomy")])
def test_a_number_after_the_menu_means_that_option(texter, number, node):
    texter.send("menu")
    assert texter.send(number) == summary(node) + "\n" + FOOTER


def test_a_number_after_a_submenu_means_the_submenu_option(texter):
    texter.send("hi")
    reply = texter.send("4")
    assert "1 Injections\n2 Casting\n3 Change in medication" in reply
    assert "Reply * to go back." in reply
    assert texter.send("2") == summary("casting") + "\n" + FOOTER
    # Still in the submenu: the summary does not change what the numbers mean.
    assert texter.send("3") == summary("medication_change") + "\n" + FOOTER
    assert_main_menu(texter.send("*"))
    assert texter.send("3") == summary("rhizotomy") + "\n" + FOOTER


def test_a_number_the_next_day_without_state_means_the_main_menu_option(client):
    texter = Texter(client)
    texter.send("hi")
    texter.send("4")
    client.delete_cookie("ivr_sms", path="/sms")  # Twilio forgot the conversation after four quiet hours
    assert texter.send("1") == summary("oral_baclofen") + "\n" + FOOTER


def test_a_first_text_that_is_a_number_gets_that_main_menu_option(texter):
    assert texter.send("2") == summary("baclofen_pump") + "\n" + FOOTER


@pytest.mark.parametrize("number", ["5", "9", "12", "007"])
def test_a_number_that_is_not_an_option_gets_the_menu_again(texter, number):
    texter.send("hi")
    reply = texter.send(number)
    assert reply.startswith("Sorry, I did not understand that.")
    assert_main_menu(reply)


def test_a_tampered_conversation_cookie_is_ignored(client):
    texter = Texter(client)
    texter.send("hi")
    client.set_cookie("ivr_sms", "eyJtZW51Ijoib3RoZXJfdHJlYXRtZW50cyJ9.forged.signature")
    assert texter.send("1") == summary("oral_baclofen") + "\n" + FOOTER


@pytest.mark.parametrize("word", [w.upper() for w in OPT_OUT_WORDS + OPT_IN_WORDS]
                         + ["stop", "Stop.", " STOP "])
def test_opt_out_and_opt_in_words_get_no_reply_from_the_app(texter, word):
    assert texter.send(word) is None


@pytest.mark.parametrize("word", ["HELP", "help", "INFO", "Info!"])
def test_help_gets_the_clinic_name_number_and_how_to_opt_out(texter, word):
    reply = texter.send(word)
    assert "Spasticity Clinic" in reply
    assert "(502) 635-6397" in reply
    assert "Reply STOP to opt out" in reply


def test_every_reply_the_line_can_send_is_gsm7_and_at_most_two_segments():
    replies = list(engine.sms_replies_for_review(MENU))
    assert len(replies) >= len(MENU.nodes)
    for node, reply in replies:
        encoding = encoding_of(reply)
        assert encoding.name == "GSM-7", (node, reply)
        assert encoding.segments <= 2, (node, reply)


def test_curly_quotes_from_a_word_processor_are_sent_as_gsm7(tmp_path, client):
    menus = tmp_path / "menus.yaml"
    menus.write_text(MENUS.read_text().replace("They won't improve", "They won\u2019t improve"))
    texter = Texter(create_app(environment(IVR_MENUS_FILE=str(menus))).test_client())
    reply = texter.send("botox")
    assert "won't" in reply and encoding_of(reply).name == "GSM-7"


def test_a_missing_body_gets_the_menu(client):
    root = twiml(signed_post(client, "/sms", {"MessageSid": "SM" + "0" * 32, "From": "+15025550123"}))
    assert "1 Oral baclofen" in root.find("Message").text


@pytest.mark.parametrize("body", ["Back", "back", "go back", "*", " * "])
def test_back_from_a_submenu_returns_to_the_main_menu(texter, body):
    texter.send("4")
    assert_main_menu(texter.send(body))


@pytest.mark.parametrize("body", ["does medicare pay", "insurance costs", "cats", "shoes",
                                  "my mother", "medicare", "costs", "tell me about bottox"])
def test_ordinary_words_close_to_a_keyword_do_not_send_a_wrong_summary(texter, body):
    reply = texter.send(body)
    assert reply.startswith("Sorry, I did not understand that.")
    assert_main_menu(reply)


@pytest.mark.parametrize("kind,body", [("HELP", "help"), ("STOP", "stop"), ("START", "start")])
def test_no_second_reply_when_twilio_advanced_opt_out_already_answered(client, kind, body):
    params = {"MessageSid": "SM" + "5" * 32, "From": "+15025550123", "Body": body,
              "OptOutType": kind}
    assert twiml(signed_post(client, "/sms", params)).find("Message") is None
