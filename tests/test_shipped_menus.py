"""The menus.yaml staff edit: valid, warning-free, and within the line's limits for time and texts."""

from __future__ import annotations

import pytest
from conftest import SHIPPED_MENUS

from ivr import engine
from ivr.gsm import encoding_of
from ivr.lint import seconds_to_say
from ivr.menus import load_menus

MENU = load_menus(SHIPPED_MENUS)


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


def test_the_scheduling_line_is_the_clinics():
    assert MENU.operator_number == "+15026356397"
