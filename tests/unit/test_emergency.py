"""Emergencies come first: what sounds like one, in English and Spanish, and the 911 notice it gets."""

from __future__ import annotations

import pytest
from conftest import MENUS, SCHEDULING, Call, Texter, english_only, environment, said

from ivr import create_app
from ivr.conversation import engine
from ivr.conversation.engine import sms_segment_budget
from ivr.menufile.build import load_menus, parse_menus
from ivr.menufile.yaml_strict import MenuFileError
from ivr.model import gsm
from ivr.model.emergency import EmergencyPhrases, built_in
from ivr.review.lint import lint
from ivr.review.script import render_script

MENU = load_menus(MENUS)
ES = MENU.translations["es-US"]
FIXTURE = MENUS.read_text()
INFO = MENU.phrases["general_info"]

# Each way, in each language: texts and speech that must get the notice, and ones that must not.
ENGLISH_EMERGENCIES = [
    "not breathing", "He's not breathing!", "my son is not breathing", "she stopped breathing",
    "I can't breathe", "cant breath", "he cannot breathe", "she can not breathe", "trouble breathing",
    "hard to breathe", "struggling to breathe", "difficulty breathing", "gasping for air", "choking",
    "he is choking", "my daughter choked on food", "chocking", "seizure", "seizer", "siezure", "seisure",
    "my son had a seizure, what about botox", "having seizures", "she's seizing", "convulsing",
    "convulsion", "he is having convulsions", "having a fit", "she had a fit", "unconscious",
    "unconcious", "he is unresponsive", "passed out", "my child fainted", "he collapsed",
    "he won't wake up", "wont wake up", "not waking up", "I can\u2019t wake him", "blue lips",
    "his lips are blue", "lips turning purple", "he is turning blue", "overdose", "I think he overdosed",
    "he took too much baclofen", "took too much", "I gave him too much", "too much medicine",
    "too much medication", "double dose by mistake", "pump alarm", "the pump alarm is going off",
    "pump is beeping", "the pump keeps beeping", "beeping pump", "his pump beeps", "the alarm on the pump",
    "alarm going off", "pump alarming", "the pump's alarm went off", "baclofen pump alarm",
    "bleeding a lot", "severe bleeding", "heavy bleeding", "it won't stop bleeding", "lots of blood",
    "emergency", "this is an emergency", "call an ambulance", "911", "PUMP ALARM!!!", "Seizure?",
    "asthma attack", "he isn't breathing", "he doesn't wake up", "she is not responding",
]
ENGLISH_ORDINARY = [
    "pump", "the pump", "baclofen pump", "tell me about the pump", "how does the pump work",
    "pump refill", "is the pump safe", "cast", "casting", "the cast came off", "does the cast fit",
    "a blue cast", "botox", "is botox safe", "appointment", "when is my appointment", "alarm",
    "alarm clock", "my alarm", "breathing", "he is breathing fine", "breathing exercises", "blue",
    "lips", "medicine", "too much homework", "I took the medicine", "wake up", "he wakes up early",
    "bleeding", "fit", "fitting", "oral baclofen", "rhizotomy", "injections", "valium", "diazepam",
    "scheduling", "menu", "hi", "hello", "help", "stop", "back", "repeat", "insurance", "side effects",
    "lower dose", "high doses", "spasms", "cramps", "tightness", "pain", "surgery", "cooking dinner",
    "he is walking up the stairs", "cast sizing", "grasping toys", "thank you", "what time do you open",
    "can I change the appointment", "other treatments", "change in medication", "beep", "noise",
    "pump not working", "lioresal", "itb", "sdr", "operator", "person", "yes", "no",
]
SPANISH_EMERGENCIES = [
    "no respira", "mi hijo no respira", "no resira", "no está respirando", "no puede respirar",
    "le cuesta respirar", "tiene dificultad para respirar", "le falta el aire", "dejó de respirar",
    "se está ahogando", "se ahoga", "se atragantó", "está atragantado", "convulsión", "convulsion",
    "tiene una convulsión", "está convulsionando", "convulsiona", "tiene convulsiones", "convulcion",
    "le dio un ataque", "ataque", "no despierta", "no se despierta", "no puedo despertarlo",
    "inconsciente", "inconciente", "está inconsciente", "se desmayó", "está desmayado",
    "perdió el conocimiento", "no reacciona", "labios morados", "tiene los labios morados",
    "labios azules", "se está poniendo azul", "se puso morado", "sobredosis", "tomó demasiado",
    "tomó demasiada medicina", "demasiado medicamento", "le di doble dosis", "la bomba suena",
    "la bomba pita", "la bomba está pitando", "la bomba está sonando", "suena la alarma de la bomba",
    "alarma de la bomba", "pitido de la bomba", "la bomba tiene una alarma", "sangra mucho",
    "está sangrando mucho", "sangrado fuerte", "mucha sangre", "hemorragia", "no para de sangrar",
    "es una emergencia", "emergencia", "llamen una ambulancia", "911", "mi hija no respira, y la bomba?",
    "no responde", "se desmalló", "la bomba hace ruido", "pita la bomba",
    "su bomba de baclofeno está pitando",
]
SPANISH_ORDINARY = [
    "bomba", "la bomba", "bomba de baclofeno", "la bomba funciona?", "información sobre la bomba",
    "yeso", "cuánto dura el yeso", "botox", "inyecciones de botox", "cita", "quiero hacer una cita",
    "hola", "buenos días", "menu", "ayuda", "rizotomía", "baclofeno", "medicamento", "cambio de medicamento",
    "ejercicios para respirar", "no entiendo", "no", "no sé", "mi hijo se despierta temprano",
    "alarma", "azul", "labios", "análisis de sangre", "tomar el medicamento", "tomó la medicina",
    "es demasiado caro", "está respirando bien", "gracias", "la bomba y el sueño", "no sé ahora",
    "sí", "operador", "persona", "otros tratamientos", "toxina botulínica", "espasmos", "rigidez",
    "dolor", "cirugía", "efectos secundarios", "dosis más baja", "pastillas de baclofeno", "intratecal",
    "valium", "la bomba no funciona", "se cuenta", "el yeso es azul", "cuanto cuesta",
]
TABLE = ([("en-US", text, True) for text in ENGLISH_EMERGENCIES]
         + [("en-US", text, False) for text in ENGLISH_ORDINARY]
         + [("es-US", text, True) for text in SPANISH_EMERGENCIES]
         + [("es-US", text, False) for text in SPANISH_ORDINARY])


def test_the_table_has_at_least_40_phrases_each_way_in_each_language():
    for language in ("en-US", "es-US"):
        for expected in (True, False):
            assert len([t for lang, t, e in TABLE if lang == language and e is expected]) >= 40


@pytest.mark.parametrize("language,text,expected", TABLE)
def test_the_built_in_phrases_in_both_directions(language, text, expected):
    phrases = EmergencyPhrases(built_in(language))
    assert phrases.match(text) is expected, (text, phrases.found(text))


@pytest.mark.parametrize("text", ENGLISH_ORDINARY + SPANISH_ORDINARY)
def test_ordinary_words_sound_like_no_emergency_in_any_language_of_the_line(text):
    assert engine.emergency_language(MENU, text) is None
    assert engine.emergency_language(ES, text) is None


@pytest.mark.parametrize("text,language", [
    ("tiene una convulsión", "es-US"), ("convulsiones", "es-US"), ("¡Emergencia!", "es-US"),
    ("es una emergencia", "es-US"), ("llamen una ambulancia", "es-US"), ("mi hijo tiene convulsion", "es-US"),
    ("my son had a convulsion", "en-US"), ("convulsion", "en-US"), ("emergency", "en-US"),
    ("call an ambulance", "en-US"), ("911", "en-US"), ("seizer", "en-US"),
])
def test_the_notice_is_in_the_language_the_family_wrote_in(text, language):
    # An exact phrase beats a forgiven slip ("emergencia" is not "emergency" misspelt), and a phrase
    # both languages have goes to the language of the other words; the conversation's own on a tie.
    assert engine.emergency_language(MENU, text).language == language


def test_a_spanish_emergency_text_in_an_english_conversation_is_answered_in_spanish(texter):
    texter.send("hi")
    reply = texter.send("tiene una convulsión")
    assert reply.startswith(gsm.to_gsm(engine.written(ES, ES.phrases["sms_emergency"])))
    reply = texter.send("1")
    assert gsm.to_gsm(ES.nodes["oral_baclofen"].text) in reply  # the conversation went on in Spanish


def test_a_phrase_matches_as_a_phrase_not_as_its_words():
    phrases = EmergencyPhrases(["pump alarm"])
    assert phrases.match("the pump alarm") and phrases.match("the pump's alarm is going")
    assert not phrases.match("pump") and not phrases.match("alarm") and not phrases.match("alarm pump")
    assert not phrases.match("the pump is in his belly and my alarm clock rang")  # too far apart


# -- menus.yaml: each language extends its own list ----------------------------------------------

def test_menus_yaml_extends_each_language_separately():
    assert not EmergencyPhrases(built_in("en-US")).match("my kid is drowning")
    assert MENU.emergency_phrases.match("my kid is drowning")
    assert not ES.emergency_phrases.match("my kid is drowning")
    assert ES.emergency_phrases.match("está envenenado")
    assert not MENU.emergency_phrases.match("está envenenado")


def test_emergency_phrases_must_be_a_list_of_words():
    with pytest.raises(MenuFileError, match="emergency_phrases must be a list"):
        parse_menus(FIXTURE.replace("emergency_phrases: [drowning, poisoned, poisoning]",
                                    "emergency_phrases: drowning"))
    with pytest.raises(MenuFileError, match="has a phrase that is"):
        parse_menus(FIXTURE.replace("emergency_phrases: [drowning, poisoned, poisoning]",
                                    'emergency_phrases: [drowning, "!!"]'))


def test_the_texted_notice_must_say_911():
    with pytest.raises(MenuFileError, match="sms_emergency does not tell families to call 911"):
        parse_menus(FIXTURE.replace("sms_emergency: If this is an emergency, call 911 now.",
                                    "sms_emergency: If this is an emergency, get help."))


def test_check_warns_about_a_language_with_no_emergency_phrases():
    german = (english_only(FIXTURE).replace("language: en-US", "language: de-DE")
              .replace("pronunciations:\n  en-US:", "pronunciations:\n  de-DE:")
              .replace("  emergency_phrases: [drowning, poisoned, poisoning]\n", ""))
    warnings = [str(w) for w in lint(parse_menus(german))]
    assert any("nothing in de-DE sounds like an emergency" in w for w in warnings), warnings
    extended = german.replace("  start: main\n", "  emergency_phrases: [notfall]\n  start: main\n")
    assert not any("sounds like an emergency" in str(w) for w in lint(parse_menus(extended)))
    assert not any("sounds like an emergency" in str(w) for w in lint(MENU))


def test_check_warns_when_an_emergency_phrase_would_catch_a_keyword():
    broad = FIXTURE.replace("emergency_phrases: [drowning, poisoned, poisoning]",
                            "emergency_phrases: [drowning, pump]")
    warnings = [str(w) for w in lint(parse_menus(broad))]
    assert any("keyword 'pump' of 'baclofen_pump' sounds like an emergency" in w for w in warnings)
    assert not any("sounds like an emergency ('" in str(w) for w in lint(MENU))


def test_nothing_the_line_itself_says_or_offers_as_a_keyword_sounds_like_an_emergency():
    for menu in (MENU, ES):
        for node in menu.nodes.values():
            for text in (node.say, node.text, node.title, node.label, *node.keywords):
                assert engine.emergency_language(menu, text) is None, (menu.language, node.id, text)


# -- texts ----------------------------------------------------------------------------------------

def test_an_emergency_text_gets_the_notice_first_then_the_usual_reply(texter):
    reply = texter.send("My son is having a seizure")
    lines = reply.split("\n")
    assert lines[0] == "If this is an emergency, call 911 now."
    assert lines[1] == MENU.phrases["sms_not_understood"]
    assert "Emergency? Call 911." not in lines  # the notice says it already


def test_an_emergency_inside_a_question_gets_the_notice_then_the_answer(texter):
    reply = texter.send("my son had a seizure, what about botox")
    notice, rest = reply.split("\n", 1)
    assert notice == "If this is an emergency, call 911 now."
    assert rest.startswith(MENU.nodes["injections"].text)


def test_pump_alarm_is_an_emergency_and_pump_is_not(client):
    alarm = Texter(client, "+15025550111").send("pump alarm")
    assert alarm.startswith("If this is an emergency, call 911 now.\nIntrathecal baclofen pump:")
    for word in ("pump", "baclofen pump", "the pump", "cast", "botox", "appointment"):
        assert "911 now" not in Texter(client, "+15025550112").send(word), word


def test_a_spanish_text_is_answered_with_the_spanish_notice_before_any_switch(texter):
    reply = texter.send("mi hijo no respira")
    assert reply.split("\n")[0] == "Si es una emergencia, llame al 911 ahora."


def test_in_a_spanish_conversation_the_notice_is_in_spanish(texter):
    texter.send("ESPAÑOL")
    reply = texter.send("tiene una convulsión")
    assert reply.startswith("Si es una emergencia, llame al 911 ahora.\n" + ES.phrases["sms_not_understood"])
    # English words of an emergency get the English notice, whatever the conversation's language.
    assert texter.send("he is not breathing").startswith("If this is an emergency, call 911 now.\n")


def test_opt_out_words_still_get_no_reply(texter):
    for word in ("STOP", "BAJA", "START"):
        assert texter.send(word) is None


def test_the_texted_menus_say_call_911_and_show_the_scheduling_number(texter):
    menu = texter.send("hi")
    assert "Emergency? Call 911." in menu.split("\n")
    assert "0 Scheduling (502) 635-6397" in menu.split("\n")
    assert gsm.encoding_of(menu).segments <= 2
    puzzled = texter.send("pizza")
    assert puzzled.split("\n")[:2] == [MENU.phrases["sms_not_understood"], MENU.phrases["sms_menu"].format(
        name=MENU.name)]
    assert "Emergency? Call 911." in puzzled and gsm.encoding_of(puzzled).segments <= 2
    spanish = texter.send("ESPAÑOL")
    assert "¿Emergencia? Llame al 911." in spanish.split("\n")
    assert "0 Citas (502) 635-6397" in spanish.split("\n")


@pytest.mark.parametrize("menu", [MENU, ES], ids=["en", "es"])
def test_every_texted_menu_keeps_the_911_line_within_budget(menu):
    for node in menu.nodes.values():
        if node.type == "menu":
            for puzzled in (False, True):
                text = engine._menu_text(menu, node.id, puzzled)
                assert engine.written(menu, menu.phrases["sms_menu_emergency"]) in text
                assert gsm.encoding_of(gsm.to_gsm(text)).segments <= sms_segment_budget(menu)


@pytest.mark.parametrize("menu", [MENU, ES], ids=["en", "es"])
def test_the_general_information_sentence_ends_a_texted_summary_only_where_it_fits(menu):
    info = engine.written(menu, menu.phrases["general_info"])
    for node in menu.nodes.values():
        if node.type != "summary":
            continue
        text = engine.node_reply(menu, node.id, None).text
        base = gsm.to_gsm(engine.written(menu, node.text) + "\n"
                          + engine.written(menu, menu.phrases["sms_footer"]))
        with_info = gsm.to_gsm(f"{base}\n{info}")
        fits = gsm.encoding_of(with_info).segments <= sms_segment_budget(menu)
        assert text == (with_info if fits else base), node.id


def test_a_short_summary_gets_the_general_information_sentence(texter, tmp_path):
    short = tmp_path / "menus.yaml"
    start = FIXTURE.index("      Casting: if used,")
    end = FIXTURE.index("injections.\n", start) + len("injections.\n")
    short.write_text(FIXTURE[:start] + "      Casting helps.\n" + FIXTURE[end:])
    client = create_app(environment(IVR_MENUS_FILE=str(short))).test_client()
    reply = Texter(client).send("casting")
    assert reply.startswith("Casting helps.") and reply.endswith("\n" + INFO)
    assert gsm.encoding_of(reply).segments <= 2


def test_a_failure_answering_a_text_still_says_call_911(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(engine, "text_in", explode)
    assert Texter(client).send("he is not breathing").endswith("\nEmergency? Call 911.")
    spanish = Texter(client, "+15025550133")
    monkeypatch.undo()
    spanish.send("ESPAÑOL")
    monkeypatch.setattr(engine, "text_in", explode)
    assert spanish.send("no respira").endswith("\n¿Emergencia? Llame al 911.")


# -- calls ----------------------------------------------------------------------------------------

def spanish_offer(doc) -> str:
    says = [s for s in doc.iter("Say") if s.get("language") == "es-US"]
    assert says and all(s.get("voice") == "Polly.Lupe-Neural" for s in says)
    return " ".join(said(s) for s in says)


def test_the_spanish_offer_starts_with_the_spanish_911_notice(call):
    call.start()
    offer = call.gather.findall("Say")[0]
    assert (offer.get("language"), offer.get("voice")) == ("es-US", "Polly.Lupe-Neural")
    assert said(offer).startswith(ES.emergency) and said(offer).endswith("Para español, oprima 8.")
    assert "9 1 1" in said(offer)


@pytest.mark.parametrize("how", ["repeat", "star from a submenu", "no key", "wrong key", "speech",
                                 "not understood"])
def test_the_offer_is_repeated_whenever_the_first_menu_is_said_again(call, how):
    call.start()
    if how == "repeat":
        call.press("9")
    elif how == "star from a submenu":
        call.press("4")
        assert not [s for s in call.doc.iter("Say") if s.get("language") == "es-US"]
        call.press("*")
    elif how == "no key":
        call.wait()
    elif how == "wrong key":
        call.press("7")
    elif how == "speech":
        call.press("4")
        call._post(call.gather.get("action"), SpeechResult="main menu", Confidence="0.9")
    else:
        call._post(call.gather.get("action"), SpeechResult="pizza", Confidence="0.9")
    assert call.gather.get("action").startswith("/voice/main?")
    assert spanish_offer(call.doc).startswith(ES.emergency)


def test_speech_that_sounds_like_an_emergency_gets_the_notice_first_not_skippable(call):
    call.start()
    call._post(call.gather.get("action"), SpeechResult="my son is having a seizure", Confidence="0.9")
    first = call.doc[0]
    assert first.tag == "Say" and said(first) == MENU.emergency  # outside the Gather: said in full
    assert "Sorry, I did not understand that." in said(call.gather.findall("Say")[-1])


def test_an_emergency_and_a_topic_give_the_notice_then_the_topic(call):
    call.start()
    call.press("4")
    call._post(call.gather.get("action"), SpeechResult="the pump alarm is going off", Confidence="0.8")
    assert said(call.doc[0]) == MENU.emergency
    assert MENU.nodes["baclofen_pump"].say in call.heard
    assert call.gather.get("action").startswith("/voice/baclofen_pump?")


def test_even_unsure_speech_that_sounds_like_an_emergency_gets_the_notice(call):
    call.start()
    call._post(call.gather.get("action"), SpeechResult="not breathing", Confidence="0.2")
    assert said(call.doc[0]) == MENU.emergency


def test_spanish_words_on_the_english_line_get_the_spanish_notice_in_the_spanish_voice(call):
    call.start()
    call._post(call.gather.get("action"), SpeechResult="mi hijo no respira", Confidence="0.9")
    first = call.doc[0]
    assert said(first) == ES.emergency
    assert (first.get("language"), first.get("voice")) == ("es-US", "Polly.Lupe-Neural")


def test_on_a_spanish_call_the_notice_is_in_spanish(call):
    call.start()
    call.press("8")
    call._post(call.gather.get("action"), SpeechResult="tiene una convulsión", Confidence="0.9")
    first = call.doc[0]
    assert said(first) == ES.emergency
    assert first.get("voice") == "Polly.Lupe-Neural"


def test_spanish_emergency_speech_at_the_first_menu_goes_on_in_spanish_with_its_notice_first(call):
    call.start()
    call._post(call.gather.get("action"), SpeechResult="mi hijo no respira", Confidence="0.9")
    assert said(call.doc[0]) == engine.spoken(ES, ES.emergency)
    assert call.doc[0].get("voice") == "Polly.Lupe-Neural"
    assert "lang=es-US" in call.gather.get("action") and call.gather.get("language") == "es-US"
    assert engine.spoken(ES, ES.nodes["main"].say) in call.heard


def test_ordinary_speech_gets_no_notice(call):
    call.start()
    call._post(call.gather.get("action"), SpeechResult="the pump", Confidence="0.9")
    assert MENU.emergency not in call.heard
    assert call.doc[0].tag == "Gather"


def test_speech_while_scheduling_is_unavailable_gets_the_notice_too(call):
    call.start()
    call.press("0")
    call.dial_ends("busy")
    call._post(call.gather.get("action"), SpeechResult="he passed out", Confidence="0.9")
    assert said(call.doc[0]) == MENU.emergency


def test_the_general_information_sentence_is_said_once_per_call_across_the_language_switch(call):
    call.start()
    assert INFO not in call.heard
    call.press("1")
    assert INFO in call.heard
    assert "info=1" in call.gather.get("action")
    call.press("*")
    assert "info=1" in call.gather.get("action")
    call.press("2")
    assert MENU.nodes["baclofen_pump"].say in call.heard and INFO not in call.heard
    call.press("*")
    call.press("8")  # Spanish: the same call, so not said again
    assert "lang=es-US" in call.gather.get("action") and "info=1" in call.gather.get("action")
    call.press("1")
    assert ES.nodes["oral_baclofen"].say in call.heard
    assert engine.spoken(ES, ES.phrases["general_info"]) not in call.heard


def test_the_general_information_sentence_is_said_to_every_call_however_warm_the_worker(client):
    # A second call asking for the same things must not be taken for one that was already told.
    first = Call(client)
    first.start()
    first.press("1")
    assert INFO in first.heard
    second = Call(client)
    second.start()
    second.press("*")
    second.press("1")
    assert INFO in second.heard


def test_a_spanish_caller_hears_the_spanish_general_information_sentence(call):
    call.start()
    call.press("8")
    call.press("3")
    assert engine.spoken(ES, ES.phrases["general_info"]) in call.heard


def test_a_failure_at_the_start_of_a_call_still_gives_the_911_notice(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(engine, "start_call", explode)
    doc = Call(client).start()
    assert MENU.emergency in [said(s) for s in doc.findall("Say")]
    assert doc.find("Dial/Number").text == SCHEDULING
    monkeypatch.setattr(engine, "failed", explode)
    doc = Call(client).start()
    words = " ".join(said(s) for s in doc.findall("Say"))
    assert "9 1 1" in words and "Si es una emergencia médica, cuelgue y marque el 9 1 1." in words
    assert doc.find("Dial/Number").text == SCHEDULING


# -- the review script ----------------------------------------------------------------------------

def test_the_script_shows_the_offer_and_every_emergency_notice_in_every_language():
    english = render_script(MENU)
    start = english[:english.index("## 2.")]
    assert ES.emergency in start and "Para español, oprima 8." in start and MENU.emergency in start
    assert "Words that sound like an emergency" in english and "pump alarm" in english
    assert "If this is an emergency, call 911 now." in english and INFO in english
    spanish = render_script(ES)
    assert ES.emergency in spanish[:spanish.index("## 2.")]
    assert f"{ES.emergency} Para español, oprima 8." in spanish[:spanish.index("## 2.")]
    assert "Si es una emergencia, llame al 911 ahora." in spanish
    assert engine.spoken(ES, ES.phrases["general_info"]) in spanish
