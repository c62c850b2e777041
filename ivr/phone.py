"""Phone numbers: normalise to E.164, check caller IDs, and write a number for the ear and the eye."""

from __future__ import annotations

import re

_E164 = re.compile(r"\+[1-9][0-9]{7,14}\Z")
# North American Numbering Plan: area code and exchange both start with 2-9.
_NANP = re.compile(r"(?:\+?1)?([2-9][0-9]{2})([2-9][0-9]{2})([0-9]{4})\Z")


def to_e164(text: str) -> str | None:
    """Return `text` as an E.164 number ("+15026356397"), or None when it is not a valid number.

    Accepts the ways people write numbers: "(502) 635-6397", "502.635.6397", "1-502-635-6397",
    "+1 502 635 6397", and international numbers written with a leading "+".
    """
    text = str(text).strip()
    if not text or re.search(r"[^0-9+().\-\s]", text) or text.count("+") > 1:
        return None
    digits = re.sub(r"[^0-9+]", "", text)
    if "+" in digits[1:]:
        return None
    nanp = _NANP.match(digits)
    if nanp and (not digits.startswith("+") or digits.startswith("+1")):
        return "+1" + "".join(nanp.groups())
    if digits.startswith("+1"):
        return None  # +1 numbers must follow the North American plan
    if digits.startswith("+") and _E164.match(digits):
        return digits
    return None


def is_callable_caller_id(value: str | None) -> bool:
    """True when a webhook's From is a real number (not withheld: "anonymous", "+266696687", empty)."""
    if not value or not _E164.match(value):
        return False
    return value not in WITHHELD_CALLER_IDS and to_e164(value) is not None


# Numbers carriers use for a withheld caller ID; they are not anyone's phone.
WITHHELD_CALLER_IDS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696"})


def for_reading(e164: str) -> str:
    """Write a number for the eye: "(502) 635-6397" for North America, else the E.164 form."""
    if e164.startswith("+1") and len(e164) == 12:
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    return e164


def for_speaking(e164: str) -> str:
    """Write a number so a voice reads it slowly, digit by digit, in its usual groups.

    "5, 0, 2. 6, 3, 5. 6, 3, 9, 7." -- commas and full stops give the listener time to write.
    """
    if e164.startswith("+1") and len(e164) == 12:
        groups = [e164[2:5], e164[5:8], e164[8:]]
    else:
        digits = e164.lstrip("+")
        groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return " ".join(", ".join(group) + "." for group in groups)


def looks_like_phone_number(text: str) -> bool:
    """True for a digit run shaped like a phone number (7, 10 or 1+10 digits, or +international);
    False for, say, a date."""
    digits = re.sub(r"[^0-9]", "", text)
    return text.lstrip().startswith("+") or len(digits) in (7, 10) or (len(digits) == 11 and digits[0] == "1")


# Seven or more digits with the separators people put between them: a phone number in prose or a log
# line. Not inside a word, so a Twilio SID ("CA3f2...") is left alone.
PHONE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])\+?\(?\d(?:[\s().\-]*\d){6,}(?![A-Za-z0-9])")
