"""Spanish without ESPAÑOL: a Spanish keyword, greeting or help word, texted or said, gets Spanish."""

from __future__ import annotations

import pytest
from conftest import MENUS, Call, Texter, route

from ivr.conversation import engine
from ivr.menufile.build import load_menus, parse_menus
from ivr.menufile.yaml_strict import MenuFileError
from ivr.model import gsm
from ivr.model.gsm import encoding_of
from ivr.model.matching import normalise
from ivr.review.lint import lint

MENU = load_menus(MENUS)
ES = MENU.translations["es-US"]
FIXTURE = MENUS.read_text()
ENGLISH_WORDS = {normalise(kw) for node in MENU.nodes.values() for kw in node.keywords}
# Keywords only the Spanish line has, each with its node.
SPANISH_ONLY = sorted((kw, node.id) for node in ES.nodes.values() for kw in node.keywords
                      if normalise(kw) not in ENGLISH_WORDS)
SHARED = sorted((kw, node.id) for node in ES.nodes.values() for kw in node.keywords
                if normalise(kw) in ENGLISH_WORDS)


def spanish_reply(node: str) -> str:
    return engine.node_reply(ES, node, None).text


def english_reply(node: str) -> str:
    return engine.node_reply(MENU, node, None).text


def still_in_spanish(texter: Texter) -> None:
    """The conversation cookie kept Spanish: the next text is answered in Spanish too."""
    assert texter.send("1") == spanish_reply("oral_baclofen")
    assert texter.send("menu") == engine.menu_reply(ES).text


@pytest.mark.parametrize("body,node", [("bomba", "baclofen_pump"), ("cita", "scheduling"),
                                       ("yeso", "casting"), ("rizotomía", "rhizotomy"),
                                       ("Rizotomia", "rhizotomy"), ("BOMBA DE BACLOFENO", "baclofen_pump"),
                                       ("inyección", "injections"), ("inyeccion", "injections"),
                                       ("quiero saber de la bomba", "baclofen_pump"),
                                       ("Hola, necesito una cita", "scheduling"),
                                       ("quiero inyecciones de botox", "injections"),
                                       ("bonba", "baclofen_pump"), ("rizotomya", "rhizotomy")])
def test_a_first_text_with_a_spanish_keyword_is_answered_in_spanish(client, body, node):
    texter = Texter(client)
    assert texter.send(body) == spanish_reply(node)
    still_in_spanish(texter)


@pytest.mark.parametrize("keyword,node", SPANISH_ONLY, ids=[kw for kw, _ in SPANISH_ONLY])
def test_every_spanish_only_keyword_sets_spanish(client, keyword, node):
    texter = Texter(client)
    assert texter.send(keyword) == spanish_reply(node)
    assert texter.send("menu") == engine.menu_reply(ES).text


@pytest.mark.parametrize("body", ["hola", "Hola!", "buenos días", "Buenos dias", "buenas tardes",
                                  "BUENAS NOCHES", "saludos", "buenas", "hola buenos días"])
def test_a_spanish_greeting_gets_the_spanish_menu(client, body):
    texter = Texter(client)
    assert texter.send(body) == engine.menu_reply(ES).text
    still_in_spanish(texter)


def test_a_spanish_greeting_with_words_the_line_does_not_know_is_answered_in_spanish(client):
    texter = Texter(client)
    assert texter.send("hola, tengo una pregunta") == engine.text_in(ES, "xyz", None).text
    assert texter.send("hola, tengo una pregunta").startswith(ES.phrases["sms_not_understood"])
    still_in_spanish(texter)


def test_ayuda_sets_the_conversation_to_spanish(client):
    texter = Texter(client)
    assert texter.send("AYUDA") == engine.written(ES, ES.phrases["sms_help"])
    still_in_spanish(texter)


@pytest.mark.parametrize("keyword,node", SHARED, ids=[kw for kw, _ in SHARED])
def test_a_keyword_both_languages_have_keeps_the_conversations_language(client, keyword, node):
    texter = Texter(client)
    assert texter.send(keyword) == english_reply(node)
    assert texter.send("1") == english_reply("oral_baclofen")
    texter.send("ESPAÑOL")
    assert texter.send(keyword) == spanish_reply(node)
    assert texter.send("1") == spanish_reply("oral_baclofen")


@pytest.mark.parametrize("body", ["hi", "HELLO", "hey", "menu", "pump", "baclofin", "rhizotomey",
                                  "appointment", "tell me about casting", "help", "2", "what?",
                                  "the baclofen pump please", "botox and casting"])
def test_english_texts_are_answered_as_before(client, body):
    texter = Texter(client)
    assert texter.send(body) == engine.text_in(MENU, body, None).text
    assert texter.send("1") == english_reply("oral_baclofen")


def test_an_english_keyword_in_a_spanish_conversation_is_answered_in_spanish(client):
    texter = Texter(client)
    texter.send("hola")
    assert texter.send("pump") == spanish_reply("baclofen_pump")
    assert texter.send("appointment") == spanish_reply("scheduling")
    still_in_spanish(texter)


def test_english_switches_back_after_a_spanish_keyword(client):
    texter = Texter(client)
    texter.send("bomba")
    assert texter.send("english") == engine.menu_reply(MENU).text
    assert texter.send("pump") == english_reply("baclofen_pump")


@pytest.mark.parametrize("word", ["saludos", "buenas tardes"])
def test_a_greeting_cannot_be_a_keyword(word):
    text = FIXTURE.replace("keywords: [casting, cast]", f"keywords: [casting, cast, {word}]", 1)
    with pytest.raises(MenuFileError, match="used by the line itself"):
        parse_menus(text)


# -- speech at the first menu -----------------------------------------------------------------------

def say_at(call: Call, words: str):
    return call._post(call.gather.get("action"), SpeechResult=words, Confidence="0.9")


@pytest.mark.parametrize("words,node", [("bomba", "baclofen_pump"), ("rizotomía", "rhizotomy"),
                                        ("yeso", "casting"), ("otros tratamientos", "other_treatments")])
def test_a_spanish_keyword_said_at_the_first_menu_continues_the_call_in_spanish(call, words, node):
    call.start()
    say_at(call, words)
    says = call.doc.findall("Say")
    assert "".join(says[0].itertext()) == ES.emergency  # the notice first, in Spanish
    assert all(s.get("voice") == "Polly.Lupe-Neural" for s in call.doc.iter("Say"))
    informed = "info=1&" if ES.nodes[node].type == "summary" else ""  # the general-information sentence
    assert route(call.gather.get("action")) == f"/voice/{node}?{informed}lang=es-US&tries=0"
    assert call.gather.get("language") == "es-US"
    assert ES.nodes[node].say.split(".")[0] in call.heard
    call.press("9")
    assert ES.nodes[node].say.split(".")[0] in call.heard and "press" not in call.heard


def test_cita_said_at_the_first_menu_puts_the_caller_through_in_spanish(call):
    call.start()
    say_at(call, "cita")
    assert call.heard == f"{ES.emergency} {ES.nodes['scheduling'].say}"
    assert route(call.dial.get("action")) == "/voice/dial-ended?lang=es-US"


def test_hola_said_at_the_first_menu_starts_the_spanish_opening(call):
    call.start()
    say_at(call, "hola")
    assert route(call.gather.get("action")) == "/voice/main?lang=es-US&tries=0"
    assert call.heard.startswith(engine.spoken(ES, ES.greeting))


def test_a_keyword_both_languages_have_keeps_the_call_in_english(call):
    call.start()
    say_at(call, "baclofen")
    assert route(call.gather.get("action")) == "/voice/oral_baclofen?info=1&tries=0"
    assert MENU.nodes["oral_baclofen"].say.split(".")[0] in call.heard


def test_a_spanish_keyword_said_deeper_in_an_english_call_does_not_switch(call):
    call.start()
    call.press("4")
    say_at(call, "bomba")
    assert route(call.gather.get("action")) == "/voice/other_treatments?tries=1"
    assert call.heard.startswith(MENU.phrases["not_understood"])


def test_the_first_english_menu_hints_the_spanish_keywords_and_only_it(call):
    call.start()
    hints = set(call.gather.get("hints").split(", "))
    spanish = {kw for node in ES.nodes.values() for kw in node.keywords}
    assert spanish <= hints and "pump" in hints
    call.press("4")
    hints = set(call.gather.get("hints").split(", "))
    assert "pump" in hints and "bomba" not in hints and "yeso" not in hints
    assert len(hints) <= 500 and all(len(h) <= 100 for h in hints)  # Twilio's limits for hints


# -- segment budgets in `ivr check` -----------------------------------------------------------------

def casting_text_of_length(language: str, length: int) -> str:
    """The fixture with the casting summary's text, in `language`, made exactly `length` characters."""
    if language == "es-US":
        filler = "Yeso: " + "ú" * (length - 6)
        return FIXTURE.replace(f'text: "{ES.nodes["casting"].text}"', f'text: "{filler}"', 1)
    start = FIXTURE.index("      Casting: if used")
    end = FIXTURE.index("\n\n", start)
    return FIXTURE[:start] + "      Casting: " + "a" * (length - 9) + FIXTURE[end:]


def casting_reply_and_warnings(language: str, length: int):
    menu = parse_menus(casting_text_of_length(language, length))
    translated = menu.translations.get(language, menu)
    reply = engine.node_reply(translated, "casting", None).text
    warnings = [w.message for w in lint(menu) if "text reply for casting" in w.message]
    return encoding_of(reply), warnings


@pytest.mark.parametrize("language,budget,per_segment,encoding", [("es-US", 4, 67, "UCS-2"),
                                                                  ("en-US", 2, 153, "GSM-7")])
def test_check_counts_spanish_texts_against_four_messages_and_english_against_two(
        language, budget, per_segment, encoding):
    # The footer and its line break (a short summary would also get the general-information sentence).
    translated = parse_menus(FIXTURE).translations.get(language) or parse_menus(FIXTURE)
    overhead = encoding_of("\n" + engine.written(translated, translated.phrases["sms_footer"])).units
    longest = budget * per_segment - overhead
    fits, none = casting_reply_and_warnings(language, longest)
    assert (fits.name, fits.segments, none) == (encoding, budget, [])
    over, warned = casting_reply_and_warnings(language, longest + 1)
    assert over.segments == budget + 1
    assert warned == [f"the text reply for casting takes {budget + 1} messages "
                      f"({over.units} characters in {encoding})"]
    hint = [w.hint for w in lint(parse_menus(casting_text_of_length(language, longest + 1)))
            if "text reply for casting" in w.message]
    assert hint == [f"shorten it to fit {budget} messages, footer included"]


def test_ivr_simulate_follows_a_spoken_spanish_keyword_like_the_line(capsys):
    from ivr.cli import main

    assert main(["simulate", str(MENUS), "--keys", "bomba"]) == 0
    out = capsys.readouterr().out
    after = out[out.index("[the call goes on in es-US]"):].splitlines()
    assert after[1] == f"LINE: {ES.emergency}"
    assert ES.nodes["baclofen_pump"].say in after[2]


@pytest.mark.parametrize("body", ["en español", "español por favor", "en español, por favor",
                                  "hablo español"])
def test_asking_for_spanish_in_a_few_words_switches(texter, body):
    reply = texter.send(body)
    assert reply.startswith("Clínica de Espasticidad")


def test_a_shared_keyword_among_spanish_words_is_answered_in_spanish(texter):
    reply = texter.send("inyección de botox")
    assert reply.startswith(gsm.to_gsm(ES.nodes["injections"].text)[:20])
