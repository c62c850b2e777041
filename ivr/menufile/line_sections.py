"""The line-wide sections of menus.yaml: phones, call settings, hours, pronunciations, texting phrases."""

from __future__ import annotations

import re

from ..model import hours
from ..model.menu import (
    EMERGENCY_NUMBER,
    Pronunciation,
)
from ..model.phone import (
    PhoneNumberProblem,
    parse_number,
)
from . import schema
from .reporting import shown
from .values import Values
from .yaml_strict import Int, Map, Str


class LineSections(Values):
    """Builds and checks the sections that hold for the whole line."""

    def phones(self, raw, doc) -> dict[str, str]:
        phones = {}
        for name, number in self.named(raw, doc, "phones", 'scheduling: "(502) 635-6397"'):
            # Known even when its number is wrong, so text using {name} is not reported as well.
            self.phone_names += (str(name),)
            try:
                if not isinstance(number, (Str, Int)):
                    raise PhoneNumberProblem("is not a valid phone number", 'write a 10-digit US number '
                                             'such as "(502) 635-6397", or + country code and number')
                e164 = parse_number(str(number))
            except PhoneNumberProblem as problem:
                self.error(number, f"{shown(number)} {problem.reason}", problem.fix, fallback=name)
                continue
            phones[str(name)] = e164
        return phones

    def check_call(self, call, raw_call, nodes) -> None:
        emergency = call.get("emergency") or ""
        if emergency and not EMERGENCY_NUMBER.search(emergency):
            self.error(raw_call.get("emergency") if isinstance(raw_call, Map) else raw_call,
                       "the emergency notice does not tell callers to dial 9 1 1",
                       "keep a sentence such as 'If this is a medical emergency, hang up and dial 9 1 1.'")
        for key, kind in (("start", "menu"), ("operator", "transfer")):
            node_id = call.get(key)
            where = raw_call.get(key) if isinstance(raw_call, Map) else raw_call
            if node_id is None:
                continue
            if node_id not in nodes:
                self.error(where, f"call.{key} names '{node_id}', which is not a node",
                           self.nearest_node(node_id, nodes))
            elif nodes[node_id]["type"] not in (kind, None):
                self.error(where, f"call.{key} must be a {kind} node, but '{node_id}' is a "
                                  f"{nodes[node_id]['type']}", f"point it at a {kind} node")

    def check_emergency_phrases(self, phrases, raw) -> None:
        """The texted emergency lines must say 911, like the spoken notice."""
        for name in ("sms_emergency", "sms_menu_emergency"):
            text = phrases.get(name) or ""
            if text and not EMERGENCY_NUMBER.search(text):
                self.error(raw.get(name) if isinstance(raw, Map) else raw,
                           f"phrases.{name} does not tell families to call 911",
                           "keep a sentence such as 'If this is an emergency, call 911 now.'")

    def check_texting_phrases(self, phrases, raw) -> None:
        """Texting is offered with all of its phrases or none: a half-written set would switch it off."""
        names = ("text_me_key", "text_sent", "text_already_sent", "text_not_possible", "text_opted_out",
                 "text_not_sent", "text_send_word")
        given = [n for n in names if phrases.get(n)]
        if given and len(given) < len(names):
            missing = ", ".join(n for n in names if n not in given)
            self.error(raw, f"texting needs every text_ phrase; missing: {missing}",
                       "add them, or remove all the text_ phrases to stop offering texts")

    def opening_hours(self, raw, phrases) -> hours.Hours | None:
        """The hours section, checked, or None when the line is always open."""
        if raw is None:
            return None
        values = self.section(raw, schema.HOURS, "hours", raw)
        zone = hours.zone(values["time_zone"] or "")
        if zone is None:
            self.error(raw.get("time_zone", raw) if isinstance(raw, Map) else raw,
                       f"'{values['time_zone']}' is not a time zone",
                       "write the clinic's zone, America/Kentucky/Louisville")
            return None
        for phrase in ("closed", "closed_keys"):
            if not phrases.get(phrase):
                self.error(raw, f"with hours:, phrases must have '{phrase}'",
                           f"add '{phrase}:' under phrases ({schema.PHRASES[phrase].help})")
        return hours.Hours(zone, tuple(values[day] or () for day in hours.DAYS), values["closed_on"])

    def pronunciations(self, raw, language: str) -> dict[str, Pronunciation]:
        """The words spelled out for the voice in the line's language, checked."""
        if raw is None:
            return {}
        if not isinstance(raw, Map):
            self.error(raw, "'pronunciations' must list languages, such as en-US:",
                       "see the example in the shipped menus.yaml")
            return {}
        found: dict[str, Pronunciation] = {}
        for lang, words in raw.items():
            if lang != language:
                self.error(lang, f"pronunciations for '{lang}', which is not the line's language "
                                 f"('{language}', under line:)", f"write them under {language}:")
                continue
            if not isinstance(words, Map):
                self.error(words, f"pronunciations for {lang} must be lines of 'word: how it sounds'",
                           "for example   baclofen: back low fen", fallback=lang)
                continue
            for word, entry in words.items():
                spelled = self.pronunciation(word, entry)
                if spelled is not None:
                    found[spelled.word.lower()] = spelled
        return found

    def pronunciation(self, word, entry) -> Pronunciation | None:
        if not isinstance(word, Str) or not re.fullmatch(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", word):
            self.error(word, f"'{word}' is not a single word", "write one word, such as baclofen")
            return None
        if isinstance(entry, Str) and entry.strip() and "{" not in entry:
            return Pronunciation(str(word), alias=" ".join(entry.split()))
        if isinstance(entry, Map) and set(entry) == {"ipa"} and isinstance(entry["ipa"], Str) \
                and entry["ipa"].strip():
            return Pronunciation(str(word), ipa=entry["ipa"].strip())
        self.error(entry, f"the pronunciation of '{word}' must be how it sounds, or {{ipa: ...}}",
                   f"for example   {word}: back low fen", fallback=word)
        return None
