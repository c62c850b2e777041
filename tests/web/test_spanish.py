"""Spanish: offered at the start of every call in Spanish, held for the whole call; ESPAÑOL by text."""

from __future__ import annotations

import pytest
from conftest import MENUS, SCHEDULING, Call, Texter, route, said

from ivr.conversation import engine
from ivr.menufile.build import load_menus, parse_menus
from ivr.menufile.yaml_strict import MenuFileError
from ivr.model.gsm import encoding_of
from ivr.review.lint import lint

MENU = load_menus(MENUS)
ES = MENU.translations["es-US"]
FIXTURE = MENUS.read_text()


def spanish_call(client) -> Call:
    call = Call(client)
    call.start()
    call.press("8")
    return call


def test_the_first_prompt_offers_spanish_in_a_spanish_voice(call):
    call.start()
    offer = call.gather.findall("Say")[0]
    # The 911 notice in Spanish comes first, so a caller who understands no English hears it.
    assert said(offer) == f"{ES.emergency} Para español, oprima 8."
    assert (offer.get("voice"), offer.get("language")) == ("Polly.Lupe-Neural", "es-US")


def test_pressing_8_continues_the_call_in_spanish(client):
    call = spanish_call(client)
    gather = call.gather
    assert route(gather.get("action")) == "/voice/main?lang=es-US&tries=0"
    assert (gather.get("language"), gather.find("Say").get("voice")) == ("es-US", "Polly.Lupe-Neural")
    assert ES.nodes["main"].say.split(".")[0] in call.heard
    assert "oprima 1" in call.heard and "press" not in call.heard


@pytest.mark.parametrize("keys,node", [("1", "oral_baclofen"), ("2", "baclofen_pump"), ("3", "rhizotomy"),
                                       ("41", "injections"), ("42", "casting"), ("43", "medication_change")])
def test_every_summary_is_heard_in_spanish_and_the_choice_holds(client, keys, node):
    call = spanish_call(client)
    for key in keys:
        call.press(key)
    assert ES.nodes[node].say.split(".")[0] in call.heard
    assert "&lang=es-US" in call.gather.get("action")
    call.press("9")
    assert ES.nodes[node].say.split(".")[0] in call.heard


def test_silence_and_wrong_keys_are_answered_in_spanish(client):
    call = spanish_call(client)
    call.wait()
    assert call.heard.startswith(ES.phrases["no_input"])
    call.press("7")
    assert call.heard.startswith(ES.phrases["invalid_key"])


def test_the_transfer_and_a_busy_line_are_in_spanish(client):
    call = spanish_call(client)
    call.press("0")
    assert call.heard == ES.nodes["scheduling"].say
    assert call.dial.find("Number").text == SCHEDULING
    assert route(call.dial.get("action")) == "/voice/dial-ended?lang=es-US"
    call.dial_ends("busy")
    assert "5, 0, 2. 6, 3, 5. 6, 3, 9, 7." in call.heard
    assert call.heard.startswith(ES.phrases["unavailable"].split("{")[0].strip())


def test_speech_in_spanish_uses_spanish_keywords(client):
    call = spanish_call(client)
    hints = call.gather.get("hints").split(", ")
    spanish_words = {kw for node in ES.nodes.values() for kw in node.keywords}
    assert spanish_words <= set(hints)
    word = ES.nodes["baclofen_pump"].keywords[0]
    call._post(call.gather.get("action"), SpeechResult=word, Confidence="0.9")
    assert ES.nodes["baclofen_pump"].say.split(".")[0] in call.heard


def test_spanish_by_text_and_back_to_english(client):
    texter = Texter(client)
    menu = texter.send("ESPAÑOL")
    assert menu == engine.menu_reply(ES).text
    assert texter.send("1").startswith(ES.nodes["oral_baclofen"].text.split(".")[0])
    assert texter.send("4") == engine.text_in(ES, "4", None).text
    assert texter.send("2").startswith(ES.nodes["casting"].text.split(".")[0])
    assert texter.send("english") == engine.menu_reply(MENU).text
    assert texter.send("1").startswith("Oral baclofen is a medication")


@pytest.mark.parametrize("word", ["espanol", "Español", "SPANISH"])
def test_every_spanish_word_switches(client, word):
    assert Texter(client).send(word) == engine.menu_reply(ES).text


def test_ayuda_is_help_in_spanish(client):
    reply = Texter(client).send("AYUDA")
    assert reply == engine.written(ES, ES.phrases["sms_help"])
    assert "STOP" in reply and "(502) 635-6397" in reply


def test_every_spanish_text_fits_four_messages_and_check_counts_them():
    for source, reply in engine.sms_replies_for_review(ES):
        assert encoding_of(reply).segments <= 4, (source, encoding_of(reply))
    assert not lint(MENU)
    longer = FIXTURE.replace(ES.nodes["casting"].text[:30], ES.nodes["casting"].text[:30] + " ú" * 200, 1)
    assert any("takes" in w.message and "casting" in w.message for w in lint(parse_menus(longer)))


def test_a_missing_translation_is_reported_where_it_belongs():
    es = FIXTURE[FIXTURE.index("languages:"):]
    start = es.index("  rhizotomy:", es.index("    nodes:"))
    say = es.index("        say:", start)
    end = es.index("        text:", say)
    broken = FIXTURE[:FIXTURE.index("languages:")] + es[:say] + es[end:]
    with pytest.raises(MenuFileError, match="es-US has no translation of node 'rhizotomy''s 'say'"):
        parse_menus(broken)


def test_key_8_cannot_be_a_first_menu_choice_with_a_second_language():
    text = FIXTURE.replace("      4: other_treatments\n", "      4: other_treatments\n      8: casting\n", 1)
    with pytest.raises(MenuFileError, match="kept for choosing another language"):
        parse_menus(text)


def test_choosing_spanish_starts_the_call_again_in_spanish_emergency_notice_included(client):
    call = spanish_call(client)
    spoken = [said(say) for say in call.doc.findall("Say")]
    assert spoken[:2] == [engine.spoken(ES, ES.greeting), ES.emergency]
    assert "9 1 1" in spoken[1]
    assert all(say.get("voice") == "Polly.Lupe-Neural" for say in call.doc.iter("Say"))


@pytest.mark.parametrize("word", ["spanish", "español"])
def test_saying_spanish_at_the_first_menu_is_like_pressing_8(call, word):
    call.start()
    call._post(call.gather.get("action"), SpeechResult=word, Confidence="0.9")
    assert "lang=es-US" in call.gather.get("action")
    assert ES.emergency in call.heard


@pytest.mark.parametrize("word", ["PARAR", "baja", "Cancelar"])
def test_spanish_opt_out_words_get_no_reply(client, word):
    assert Texter(client).send(word) is None


def test_the_english_text_menu_tells_spanish_speakers_what_to_send(client):
    assert "Para español, responda ESPAÑOL." in Texter(client).send("hi")
