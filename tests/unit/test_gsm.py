"""SMS segment counts at the boundaries where Twilio's count and a plain division differ."""

from __future__ import annotations

import pytest

from ivr.model import gsm

EMOJI = "\U0001F600"  # outside the BMP: a surrogate pair, two UTF-16 units


@pytest.mark.parametrize(("text", "units", "segments"), [
    ("", 0, 1),
    ("a" * 160, 160, 1),
    ("a" * 161, 161, 2),
    ("a" * 306, 306, 2),
    ("a" * 307, 307, 3),
    # Escapes count two septets; in one segment only the total matters.
    ("€" * 80, 160, 1),
    ("a" * 159 + "€", 161, 2),
    # An escape that would take septets 153 and 154 moves whole to the second segment.
    ("a" * 152 + "€" + "a" * 7, 161, 2),
    ("a" * 152 + "€" + "a" * 152, 306, 3),  # 306 septets, but 152 + 153 + 1
    ("a" * 151 + "€" + "a" * 153, 306, 2),  # the escape ends the first segment exactly
    ("a" * 152 + "[" + "a" * 152, 306, 3),
    ("a" * 152 + "\f" + "a" * 152, 306, 3),
    ("a" * 152 + "]" + "a" * 152, 306, 3),
    ("a" * 152 + "\\" + "a" * 152, 306, 3),
    ("a" * 152 + "{" + "a" * 152, 306, 3),
    ("a" * 152 + "}" + "a" * 152, 306, 3),
    ("a" * 152 + "~" + "a" * 152, 306, 3),
    ("a" * 152 + "^" + "a" * 152, 306, 3),
    ("a" * 152 + "|" + "a" * 152, 306, 3),
    ("{}" * 153, 612, 5),  # 76 escapes (152 septets) a segment: 5, where 612 / 153 gives 4
])
def test_gsm7_segments(text, units, segments):
    assert gsm.encoding_of(text) == gsm.Encoding("GSM-7", units, segments)


@pytest.mark.parametrize(("text", "units", "segments"), [
    ("á" * 70, 70, 1),
    ("á" * 71, 71, 2),
    ("á" * 134, 134, 2),
    ("á" * 135, 135, 3),
    (EMOJI * 35, 70, 1),
    ("á" * 69 + EMOJI, 71, 2),
    # A surrogate pair that would take units 67 and 68 moves whole to the second segment.
    ("á" * 66 + EMOJI + "á" * 3, 71, 2),
    ("á" * 66 + EMOJI + "á" * 66, 134, 3),  # 134 units, but 66 + 67 + 1
    ("á" * 65 + EMOJI + "á" * 67, 134, 2),  # the pair ends the first segment exactly
    (EMOJI * 67, 134, 3),  # 33 pairs (66 units) a segment, not 67 units
])
def test_ucs2_segments(text, units, segments):
    assert gsm.encoding_of(text) == gsm.Encoding("UCS-2", units, segments)


def test_escapes_count_one_unit_in_ucs2():
    # In UCS-2 every BMP character is one unit, GSM escapes included.
    text = "á" + "€" * 66 + "[" * 3
    assert gsm.encoding_of(text) == gsm.Encoding("UCS-2", 70, 1)
    assert gsm.encoding_of(text + "]").segments == 2


def test_mixed_text_at_the_boundary():
    # A realistic Spanish reply: accented vowels force UCS-2, an emoji lands on the boundary.
    text = ("Responda MENU para más temas. Para una cita, llame al (502) 635-6397. " * 3)[:66]
    assert len(text) == 66
    assert gsm.encoding_of(text + EMOJI + "fin").segments == 2
    assert gsm.encoding_of(text + "x" + EMOJI + "fin").segments == 2
    assert gsm.encoding_of(text + EMOJI + "x" * 67).segments == 3


def test_swapped_characters_are_counted_after_the_swap():
    # The line swaps a curly apostrophe for a plain one before sending, so the text stays GSM-7
    # and the escape after it lands on the boundary.
    text = gsm.to_gsm("a" * 152 + "\u2019" + "€" + "a" * 152)
    assert text == "a" * 152 + "'€" + "a" * 152
    assert gsm.encoding_of(text) == gsm.Encoding("GSM-7", 307, 3)
