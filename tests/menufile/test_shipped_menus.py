"""The menus.yaml staff edit: valid, warning-free, and within the line's limits for time and texts."""

from __future__ import annotations

import re

import pytest
from conftest import SHIPPED_MENUS

from ivr.cli import main
from ivr.conversation import engine
from ivr.menufile.build import load_menus
from ivr.model.gsm import encoding_of
from ivr.review.lint import lint, seconds_to_say

MENU = load_menus(SHIPPED_MENUS)
ES = MENU.translations["es-US"]


def test_the_shipped_file_loads_without_warnings():
    assert [str(w) for w in MENU.warnings] == []


@pytest.mark.parametrize("node", [n for n in MENU.nodes.values() if n.type == "summary"],
                         ids=lambda n: n.id)
def test_each_spoken_summary_lasts_20_to_40_seconds(node):
    seconds = seconds_to_say(node.say)
    assert 20 <= seconds <= 40, f"{node.id}: about {seconds:.0f} s"


def test_every_text_it_can_send_is_gsm7_and_at_most_two_segments():
    for node, reply in engine.sms_replies_for_review(MENU):
        encoding = encoding_of(reply)
        assert (node, encoding.name, encoding.segments <= 2) == (node, "GSM-7", True), reply


def test_every_spanish_text_it_can_send_is_at_most_four_segments():
    for node, reply in engine.sms_replies_for_review(MENU.translations["es-US"]):
        assert encoding_of(reply).segments <= 4, (node, encoding_of(reply))


def test_ivr_check_finds_nothing_to_warn_about(capsys):
    assert [str(w) for w in lint(MENU)] == []
    assert main(["check", str(SHIPPED_MENUS)]) == 0
    assert capsys.readouterr().err.strip().endswith("0 error(s), 0 warning(s)")


@pytest.mark.parametrize("node", [n for n in ES.nodes.values() if n.type == "summary"], ids=lambda n: n.id)
def test_each_spanish_spoken_summary_lasts_at_most_40_seconds(node):
    assert seconds_to_say(node.say) <= 40, node.id


def test_the_spanish_summaries_keep_the_clinic_pages_meaning():
    said = {n.id: n.say for n in ES.nodes.values()}
    texted = {n.id: n.text for n in ES.nodes.values()}
    assert "neurocirujano" in said["rhizotomy"] and "neurocirujano" in texted["rhizotomy"]
    for words in ("moverse con más facilidad", "poco o ningún efecto en la mitad superior del cuerpo"):
        assert words in said["rhizotomy"].lower() and words in texted["rhizotomy"].lower()
    for text in (said["baclofen_pump"], texted["baclofen_pump"]):
        assert "se coloca en el abdomen con cirugía" in text and "líquido" in text
        assert "cirujano coloca" not in text and "fluido" not in text
    for text in (said["injections"], texted["injections"]):
        assert "los músculos que causan problemas" in text and "cercanos" not in text
    for text in (said["casting"], texted["casting"]):
        assert "si se usa" in text.lower() and "mejorar" in text
    for text in (said["oral_baclofen"], texted["oral_baclofen"]):
        assert "ciertos músculos" in text and "grupos musculares" not in text
    everything = " ".join(list(said.values()) + list(texted.values()))
    assert "proveedor" not in everything and "equipo médico de su hijo" in everything
    assert ES.phrases["sms_footer"] == "Responda MENU para más temas. Para una cita, llame al {scheduling}."


def test_the_english_summaries_keep_the_clinic_pages_meaning():
    assert "neurosurgeon cuts the dorsal roots of spinal nerves" in MENU.nodes["rhizotomy"].text
    assert "the select muscles" not in MENU.nodes["injections"].say
    assert "selected muscles" in MENU.nodes["injections"].say
    for node in MENU.nodes.values():
        for sentence in re.split(r"(?<=[.:])\s+", f"{node.say} {node.text}"):
            assert len(sentence.split()) <= 30, (node.id, sentence)


def test_the_scheduling_line_is_the_clinics():
    assert MENU.operator_number == "+15026356397"


def test_a_texter_put_in_spanish_by_a_word_is_told_how_to_get_english():
    # "intratecal" or "persona" from an English speaker sets Spanish: the menu says how to go back.
    assert "For English, reply ENGLISH." in engine.menu_reply(ES).text
    assert engine.text_turn(MENU, "english", "es-US", None)[1] == "en-US"
