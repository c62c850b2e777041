"""Phone numbers: normalise to E.164, check caller IDs, and write a number for the ear and the eye."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

_E164 = re.compile(r"\+[1-9][0-9]{7,14}\Z")
# What a number in menus.yaml may be written with, besides an extension (which is refused by name).
# Letters are not allowed: phonenumbers would read "1-800-FLOWERS" as digits, and a typo as a number.
_WRITTEN = re.compile(r"[0-9+().\-\s]+\Z")

# Regions whose numbers can be a family's own mobile and are cheap, ordinary texts: the rest of
# the +1 plan (Jamaica +1 876, the Dominican Republic +1 809...) is billed as international and is
# where SMS pumping sends its traffic.
TEXTABLE_REGIONS = frozenset({"US", "CA"})
# Geographic numbers only: not toll-free (800, 833, 844...), premium (900), personal or
# non-geographic (5XX, 600) numbers, nor anything phonenumbers cannot place (976, unassigned codes).
TEXTABLE_TYPES = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE,
                            PhoneNumberType.FIXED_LINE_OR_MOBILE})


class PhoneNumberProblem(ValueError):
    """Why a written number cannot be used, and how to write it instead."""

    def __init__(self, reason: str, fix: str):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


def parse_number(text: str) -> str:
    """Return `text` as an E.164 number ("+15026356397"), or raise PhoneNumberProblem saying why not.

    Accepts the ways people write numbers: "(502) 635-6397", "502.635.6397", "1-502-635-6397",
    "+1 502 635 6397", and international numbers with a leading "+", including the trunk zero some
    countries write in brackets ("+44 (0)20 7946 0018" is +442079460018). A number with an
    extension is refused: the line cannot dial one.
    """
    text = str(text).strip()
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and number.extension:
        raise PhoneNumberProblem(
            f"has an extension ({number.extension}), which the line cannot dial",
            "write the number without its extension, and ask the clinic for a direct number")
    if number is None or not text or not _WRITTEN.match(text) or not phonenumbers.is_valid_number(number):
        raise PhoneNumberProblem(
            "is not a valid phone number",
            'write a 10-digit US number such as "(502) 635-6397", or + country code and number')
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def to_e164(text: str) -> str | None:
    """Return `text` as an E.164 number ("+15026356397"), or None when it is not a valid number
    (see parse_number, which says why)."""
    try:
        return parse_number(text)
    except PhoneNumberProblem:
        return None


def _parsed(value: str | None) -> phonenumbers.PhoneNumber | None:
    """`value` as a number when it is written in E.164 (as Twilio sends From and To) and valid."""
    if not value or not _E164.match(value) or value in WITHHELD_CALLER_IDS:
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def is_callable_caller_id(value: str | None) -> bool:
    """True when a webhook's From is a real number (not withheld: "anonymous", "+266696687", empty)."""
    return _parsed(value) is not None


def is_textable_caller(value: str | None) -> bool:
    """True when a caller's From can be their own US or Canadian phone, the only numbers the line
    texts on a caller's say-so: a geographic +1 number of the US or Canada, in E.164."""
    number = _parsed(value)
    return (number is not None and number.country_code == 1
            and phonenumbers.region_code_for_number(number) in TEXTABLE_REGIONS
            and phonenumbers.number_type(number) in TEXTABLE_TYPES)


# Numbers carriers use for a withheld caller ID; they are not anyone's phone.
WITHHELD_CALLER_IDS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696"})


def _international_groups(e164: str) -> list[str] | None:
    """The digit groups of a valid non-+1 number as its country writes them ("44 20 7946 0018")."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return re.findall(r"\d+", phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))


def for_reading(e164: str) -> str:
    """Write a number for the eye: "(502) 635-6397" for North America, "+44 20 7946 0018" elsewhere."""
    if e164.startswith("+1") and len(e164) == 12:
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    groups = _international_groups(e164)
    return "+" + " ".join(groups) if groups else e164


def for_speaking(e164: str) -> str:
    """Write a number so a voice reads it slowly, digit by digit, in its usual groups.

    "5, 0, 2. 6, 3, 5. 6, 3, 9, 7." -- commas and full stops give the listener time to write.
    """
    if e164.startswith("+1") and len(e164) == 12:
        groups = [e164[2:5], e164[5:8], e164[8:]]
    else:
        digits = e164.lstrip("+")
        groups = _international_groups(e164) or [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return " ".join(", ".join(group) + "." for group in groups)


def looks_like_phone_number(text: str) -> bool:
    """True for a digit run shaped like a phone number (7, 10 or 1+10 digits, or +international);
    False for, say, a date."""
    digits = re.sub(r"[^0-9]", "", text)
    return text.lstrip().startswith("+") or len(digits) in (7, 10) or (len(digits) == 11 and digits[0] == "1")


# Seven or more digits with the separators people put between them: a phone number in prose or a log
# line. Not inside a word, so a Twilio SID ("CA3f2...") is left alone.
PHONE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])\+?\(?\d(?:[\s().\-]*\d){6,}(?![A-Za-z0-9])")
