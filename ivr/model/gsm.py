"""SMS encoding: keep replies in GSM-7 where possible and count the segments a reply costs."""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each) and its extension table (two septets each).
_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION = set("^{}\\[~]|€\f")

# Characters that word processors put in text (and staff paste in) that force UCS-2, with the
# GSM-7 character a reader would never notice was swapped in.
GSM_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2022": "-",
    "\t": " ",
}

SINGLE_GSM, MULTI_GSM = 160, 153
SINGLE_UCS2, MULTI_UCS2 = 70, 67


@dataclass(frozen=True)
class Encoding:
    """How a message will travel: its encoding, its length in that encoding and its segment count."""

    name: str  # "GSM-7" or "UCS-2"
    units: int
    segments: int


def to_gsm(text: str) -> str:
    """Swap typographic characters (curly quotes, dashes, ellipsis) for their GSM-7 look-alikes."""
    return "".join(GSM_REPLACEMENTS.get(ch, ch) for ch in text)


def non_gsm_characters(text: str) -> list[tuple[int, str]]:
    """Each character (with its position) that cannot be sent in GSM-7."""
    return [(i, ch) for i, ch in enumerate(text) if ch not in _BASIC and ch not in _EXTENSION]


def _segments(sizes: list[int], single: int, multi: int) -> int:
    """How many segments characters of these sizes fill, never splitting one across two."""
    if sum(sizes) <= single:
        return 1
    # Past one segment, each carries a header and a character's units stay together: an escape
    # (two septets) or a surrogate pair (two UTF-16 units) that does not fit moves to the next one.
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return segments


def encoding_of(text: str) -> Encoding:
    """The encoding and segment count Twilio will use for `text`."""
    if not non_gsm_characters(text):
        sizes = [2 if ch in _EXTENSION else 1 for ch in text]
        single, multi = SINGLE_GSM, MULTI_GSM
        name = "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, multi = SINGLE_UCS2, MULTI_UCS2
        name = "UCS-2"
    return Encoding(name, sum(sizes), _segments(sizes, single, multi))
