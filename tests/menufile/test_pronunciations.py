"""Words a voice gets wrong are spelled out for it, on the phone only, from menus.yaml."""

from __future__ import annotations

import pytest
from conftest import MENUS, SHIPPED_MENUS, Call, Texter, environment

from ivr import create_app
from ivr.menufile.build import load_menus, parse_menus
from ivr.menufile.yaml_strict import MenuFileError
from ivr.review.lint import lint

FIXTURE = MENUS.read_text()
MENU = load_menus(MENUS)


BACLOFEN = "    baclofen: {ipa: ˈbæk.loʊ.fɛn}"
# The sounds the clinic's medical words are given (IPA: a respelling such as "thee" is ambiguous).
IPA = {"intrathecal": "ˌɪn.tɹəˈθi.kəl", "baclofen": "ˈbæk.loʊ.fɛn", "rhizotomy": "ɹaɪˈzɑ.tə.mi",
       "botulinum": "ˌbɑ.t͡ʃəˈlaɪ.nəm", "spasticity": "spæˈstɪ.sə.ti", "contracture": "kənˈtɹæk.t͡ʃɚ"}


def every_say(client) -> list:
    """Every <Say> of the start of a call and of every node, as Twilio receives them."""
    call = Call(client)
    says = list(call.start().iter("Say"))
    for node in MENU.nodes:
        says += list(call._post(f"/voice/{node}?tries=0", Digits="9").iter("Say"))
    return says


def phonemes_heard(client) -> dict[str, set[tuple[str, str]]]:
    """For each word said with a <phoneme>, the (alphabet, ph) pairs it was said with."""
    found: dict[str, set[tuple[str, str]]] = {}
    for say in every_say(client):
        for phoneme in say.iter("phoneme"):
            found.setdefault(phoneme.text.lower(), set()).add((phoneme.get("alphabet"), phoneme.get("ph")))
    return found


@pytest.mark.parametrize("menus", [MENUS, SHIPPED_MENUS], ids=["fixture", "shipped"])
def test_every_pronunciation_reaches_the_twiml_as_ipa(menus):
    menu = load_menus(menus)
    client = create_app(environment(IVR_MENUS_FILE=str(menus))).test_client()
    heard = phonemes_heard(client)
    assert {word: p.ipa for word, p in menu.pronunciations.items() if word in IPA} == IPA
    for word, spelled in menu.pronunciations.items():
        assert heard.get(word) == {("ipa", spelled.ipa)}, word


def test_a_pronunciation_keeps_the_words_around_it(client):
    doc = Call(client).start()
    greeting = doc.find("Say")
    assert greeting.text == "Thank you for calling the "
    phoneme = greeting.find("phoneme")
    assert (phoneme.text, phoneme.get("alphabet"), phoneme.get("ph"), phoneme.tail) == \
        ("Spasticity", "ipa", IPA["spasticity"], " Clinic.")


def test_a_respelled_pronunciation_becomes_a_sub(tmp_path):
    path = tmp_path / "menus.yaml"
    path.write_text(FIXTURE.replace(BACLOFEN, "    baclofen: back low fen"))
    call = Call(create_app(environment(IVR_MENUS_FILE=str(path))).test_client())
    call.start()
    call.press("1")
    subs = [s for s in call.doc.iter("sub") if s.text.lower() == "baclofen"]
    assert subs and all(s.get("alias") == "back low fen" for s in subs)
    assert not [p for p in call.doc.iter("phoneme") if p.text.lower() == "baclofen"]


def test_texts_keep_the_real_spelling(client):
    reply = Texter(client).send("baclofen")
    assert reply.startswith("Oral baclofen is a medication") and "ˈbæk" not in reply


def test_a_medical_word_without_a_pronunciation_is_a_warning():
    menu = parse_menus(FIXTURE.replace("    rhizotomy: {ipa: ɹaɪˈzɑ.tə.mi}\n", ""))
    warnings = [str(w) for w in lint(menu)]
    assert any("a voice may mispronounce 'rhizotomy'" in w for w in warnings)
    assert not lint(MENU)


@pytest.mark.parametrize("old,new,message", [
    ("  en-US:\n    baclofen", "  es-US:\n    baclofen", "not the line's language"),
    (BACLOFEN, "    baclofen pump: back low fen", "not a single word"),
    (BACLOFEN, "    baclofen: {sounds: x}", "must be how it sounds"),
    (BACLOFEN, "    baclofen: '{scheduling}'", "must be how it sounds"),
    (BACLOFEN, "    baclofen: {ipa: ''}", "must be how it sounds"),
])
def test_a_broken_pronunciation_is_reported(old, new, message):
    with pytest.raises(MenuFileError, match=message):
        parse_menus(FIXTURE.replace(old, new))


def test_pronunciations_are_optional():
    text = FIXTURE[: FIXTURE.index("\n# How the voice should say")] + "\n"
    assert parse_menus(text).pronunciations == {}
