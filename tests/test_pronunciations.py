"""Words a voice gets wrong are spelled out for it, on the phone only, from menus.yaml."""

from __future__ import annotations

import pytest
from conftest import MENUS, Call, Texter, environment

from ivr import create_app
from ivr.lint import lint
from ivr.menus import load_menus, parse_menus
from ivr.yaml_strict import MenuFileError

FIXTURE = MENUS.read_text()
MENU = load_menus(MENUS)


def every_say(client) -> list:
    """Every <Say> of the start of a call and of every node, as Twilio receives them."""
    call = Call(client)
    says = list(call.start().iter("Say"))
    for node in MENU.nodes:
        says += list(call._post(f"/voice/{node}?tries=0", Digits="9").iter("Say"))
    return says


def test_every_pronunciation_reaches_the_twiml(client):
    subs = {sub.text.lower(): sub.get("alias") for say in every_say(client) for sub in say.iter("sub")}
    assert MENU.pronunciations, "the fixture has pronunciations"
    for word, spelled in MENU.pronunciations.items():
        assert subs.get(word) == spelled.alias, word


def test_a_pronunciation_keeps_the_words_around_it(client):
    doc = Call(client).start()
    greeting = doc.find("Say")
    assert greeting.text == "Thank you for calling the "
    sub = greeting.find("sub")
    assert (sub.text, sub.get("alias"), sub.tail) == ("Spasticity", "spass tiss it ee", " Clinic.")


def test_an_ipa_pronunciation_becomes_a_phoneme(tmp_path):
    path = tmp_path / "menus.yaml"
    path.write_text(FIXTURE.replace("    baclofen: back low fen", "    baclofen: {ipa: ˈbæk.loʊ.fɛn}"))
    call = Call(create_app(environment(IVR_MENUS_FILE=str(path))).test_client())
    call.start()
    call.press("1")
    phonemes = [p for p in call.doc.iter("phoneme") if p.text.lower() == "baclofen"]
    assert phonemes and all(p.get("alphabet") == "ipa" and p.get("ph") == "ˈbæk.loʊ.fɛn" for p in phonemes)


def test_texts_keep_the_real_spelling(client):
    reply = Texter(client).send("baclofen")
    assert reply.startswith("Oral baclofen is a medication") and "low fen" not in reply


def test_a_medical_word_without_a_pronunciation_is_a_warning():
    menu = parse_menus(FIXTURE.replace("    rhizotomy: rye zot uh mee\n", ""))
    warnings = [str(w) for w in lint(menu)]
    assert any("a voice may mispronounce 'rhizotomy'" in w for w in warnings)
    assert not lint(MENU)


@pytest.mark.parametrize("old,new,message", [
    ("  en-US:\n    baclofen", "  es-US:\n    baclofen", "not the line's language"),
    ("    baclofen: back low fen", "    baclofen pump: back low fen", "not a single word"),
    ("    baclofen: back low fen", "    baclofen: {sounds: x}", "must be how it sounds"),
    ("    baclofen: back low fen", "    baclofen: '{scheduling}'", "must be how it sounds"),
])
def test_a_broken_pronunciation_is_reported(old, new, message):
    with pytest.raises(MenuFileError, match=message):
        parse_menus(FIXTURE.replace(old, new))


def test_pronunciations_are_optional():
    text = FIXTURE[: FIXTURE.index("\n# How the voice should say")] + "\n"
    assert parse_menus(text).pronunciations == {}
