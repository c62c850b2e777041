"""Load menus.yaml once into typed, validated objects; report every problem as file:line with a fix."""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import MappingProxyType

from ..model import hours, reserved
from ..model.emergency import EmergencyPhrases, built_in
from ..model.matching import KeywordMatcher, claimed_twice, normalise
from ..model.menu import (
    EMERGENCY_NUMBER,
    MAX_CHOICES,
    NODE_ID,
    OPTION_KEY,
    RESERVED_NODE_IDS,
    WORD,
    Menu,
    Node,
    Option,
    Pronunciation,
)
from ..model.phone import (
    PHONE_IN_TEXT,
    PhoneNumberProblem,
    for_speaking,
    looks_like_phone_number,
    parse_number,
)
from . import schema
from .yaml_strict import Bool, Int, Map, MenuFileError, Null, Problem, Seq, Str, read_yaml


def load_menus(path: str | Path) -> Menu:
    """Read, check and build the menu file at `path`; raise MenuFileError listing every problem."""
    return parse_menu_bytes(read_menu_file(path), str(path))


def read_menu_file(path: str | Path) -> bytes:
    """The bytes of the menu file, or MenuFileError saying why it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise MenuFileError([Problem(str(path), 1, 1, "the menu file does not exist",
                                     "check IVR_MENUS_FILE, or restore menus.yaml from git")]) from None
    except OSError as exc:
        raise MenuFileError([Problem(str(path), 1, 1, f"the menu file cannot be read ({exc.strerror})",
                                     "point IVR_MENUS_FILE at the menus.yaml file itself")]) from None


def parse_menu_bytes(data: bytes, filename: str) -> Menu:
    """Check and build a Menu from the bytes of a menu file (which must be UTF-8)."""
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark some editors write is not content
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MenuFileError([Problem(filename, line, 1, "the file is not UTF-8 text",
                                     "save it again as UTF-8 in your editor")]) from None
    return parse_menus(text, filename)


def parse_menus(text: str, filename: str = "menus.yaml") -> Menu:
    """Check and build a Menu from the text of a menu file."""
    doc, problems = read_yaml(text, filename)
    builder = _Builder(filename)
    builder.problems.extend(problems)
    return builder.build(doc)


def _loc(value, fallback=None) -> tuple[int, int]:
    for candidate in (value, fallback):
        if hasattr(candidate, "line"):
            return candidate.line, candidate.col
    return 1, 1


def _shown(value) -> str:
    """A value from the file as a staff member would describe it, not as Python prints it."""
    if isinstance(value, Null):
        return "nothing"
    if isinstance(value, Map):
        return "a set of keys"
    if isinstance(value, Seq):
        return "a list"
    if isinstance(value, Bool):
        return "true" if value else "false"
    return f"'{value}'"


def _closest(word: str, choices) -> str:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'? " if match else ""


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.phone_names: tuple[str, ...] = ()
        self.positions: dict[str, tuple[int, int]] = {}

    # -- reporting -------------------------------------------------------------------------------
    def error(self, where, message: str, hint: str, fallback=None) -> None:
        line, col = _loc(where, fallback)
        self.problems.append(Problem(self.filename, line, col, message, hint))

    def warn(self, where, message: str, hint: str) -> None:
        line, col = _loc(where)
        self.warnings.append(Problem(self.filename, line, col, message, hint, "warning"))

    # -- generic, schema-driven checks -------------------------------------------------------------
    def section(self, mapping, fields: Mapping[str, schema.Field], name: str, parent,
                path: str | None = None) -> dict:
        """Check `mapping` against `fields`; return the usable values with defaults filled in.

        Where each value was written is kept under "`path`.key" for later warnings.
        """
        path = path or name
        if mapping is None:  # the whole section is missing, which is reported once already
            return {key: f.default for key, f in fields.items()}
        if not isinstance(mapping, Map):
            self.error(mapping, f"{name} must be a set of 'key: value' lines, not {_shown(mapping)}",
                       "indent its keys under it, two spaces each", fallback=parent)
            return {key: f.default for key, f in fields.items()}
        values = {}
        for key in mapping:
            if key not in fields:
                self.error(key, f"unknown key '{key}' in {name}",
                           f"{_closest(key, fields)}allowed keys: {', '.join(fields)}")
        for key, spec in fields.items():
            if key not in mapping or isinstance(mapping[key], Null):
                if spec.required:
                    where = mapping.get(key, mapping.key or mapping)
                    self.error(where, f"{name} is missing '{key}'", f"add '{key}:' ({spec.help})")
                values[key] = spec.default
                continue
            self.positions[f"{path}.{key}"] = _loc(mapping[key])
            values[key] = self.value(mapping[key], spec, f"{name}.{key}")
        return values

    def value(self, raw, spec: schema.Field, name: str):
        if spec.kind == "text":
            return self.text(raw, spec, name)
        if spec.kind == "word":
            if not isinstance(raw, Str) or not WORD.match(raw):
                self.error(raw, f"{name} must be a single word of letters, digits, '.', '-', '_' or '/'",
                           f"write it like '{spec.default}'")
                return spec.default
            return str(raw)
        if spec.kind == "int":
            if not isinstance(raw, Int) or isinstance(raw, Bool):
                self.error(raw, f"{name} must be a whole number, not {_shown(raw)}",
                           f"write a number such as {spec.default}")
                return spec.default
            if not spec.low <= raw <= spec.high:
                self.error(raw, f"{name} is {int(raw)}, outside {spec.low} to {spec.high}",
                           f"pick a number from {spec.low} to {spec.high}")
                return spec.default
            return int(raw)
        if spec.kind in ("node", "phone"):
            if not isinstance(raw, Str):
                self.error(raw, f"{name} must be a name", "write the id, such as 'scheduling'")
                return None
            return raw
        if spec.kind == "choice":
            if not isinstance(raw, Str) or raw not in spec.choices:
                self.error(raw, f"{name} is {_shown(raw)}, which is not one of {', '.join(spec.choices)}",
                           f"{_closest(raw, spec.choices)}use one of {', '.join(spec.choices)}")
                return None
            return str(raw)
        if spec.kind == "keywords":
            return self.keywords(raw, name)
        if spec.kind == "phrases":
            return self.phrases_list(raw, name)
        if spec.kind == "hours":
            return self.day_hours(raw, name)
        if spec.kind == "dates":
            return self.dates(raw, name)
        if spec.kind == "options":
            return raw  # checked with the node graph, once every node is known
        raise AssertionError(spec.kind)

    def text(self, raw, spec: schema.Field, name: str) -> str:
        if isinstance(raw, Bool):
            self.error(raw, f"{name} is {_shown(raw)}, which YAML reads as a yes/no value, not text",
                       f"put it in double quotes (\"{_shown(raw)[0:]}\") if you mean the word")
            return ""
        if isinstance(raw, (Map, Seq, Null)) or not str(raw).strip():
            self.error(raw, f"{name} must be some text, not {_shown(raw)}",
                       "write the sentence after the colon")
            return ""
        if getattr(raw, "comment", ""):
            self.warn(raw, f"{name} stops before '{raw.comment}': YAML reads ' #' as the start of a "
                           "comment", "put the whole text in double quotes if '#' is part of it")
        text = " ".join(str(raw).split())  # staff wrap long text over lines; callers hear one line
        allowed = set(spec.placeholders) | (set(self.phone_names) if spec.fills_names else set())
        try:
            fields = [(f, spec_, conv) for _, f, spec_, conv in string.Formatter().parse(text)
                      if f is not None]
        except ValueError:
            self.error(raw, f"{name} has a lone '{{' or '}}'",
                       "braces are only for names such as {scheduling}; remove the stray one")
            return ""
        if not spec.fills_names and not spec.placeholders and ("{" in text or "}" in text):
            self.error(raw, f"{name} cannot hold braces: nothing is filled in here",
                       "write the words out; names such as {scheduling} work in say and text")
            return ""
        if any(spec_ or conv for _, spec_, conv in fields):
            self.error(raw, f"{name} has a name in braces with ':' or '!' after it",
                       "write just the name in braces, such as {scheduling}")
            return ""
        used = {f for f, _, _ in fields}
        for placeholder in sorted(used - allowed):
            self.error(raw, f"{name} uses {{{placeholder}}}, which it cannot fill",
                       f"{_closest(placeholder, allowed)}it can use "
                       + (", ".join(f"{{{a}}}" for a in sorted(allowed)) or "no names in braces"))
        for placeholder in spec.needs:
            if placeholder not in used:
                self.error(raw, f"{name} must contain {{{placeholder}}}",
                           f"put {{{placeholder}}} where it belongs in the sentence")
        for found in PHONE_IN_TEXT.finditer(text):
            if not looks_like_phone_number(found.group()):
                continue
            self.error(raw, f"{name} has a phone number written out ('{found.group().strip()}')",
                       "write the number once under 'phones:' and use its name, such as {scheduling}")
        return text

    def day_hours(self, raw, name: str) -> tuple:
        """One day's opening hours: closed, or ranges such as "08:00-12:00, 13:00-17:00"."""
        text = str(raw).strip().lower() if isinstance(raw, Str) else ""
        if text == "closed":
            return ()
        ranges = [hours.parse_range(part) for part in text.split(",")] if text else [None]
        if None in ranges or any(a[1] > b[0] for a, b in zip(ranges, ranges[1:], strict=False)):
            self.error(raw, f"{name} is {_shown(raw)}, which is not opening hours",
                       "write \"08:00-17:00\" (24-hour clock, in quotes), several ranges in order "
                       "separated by commas, or closed")
            return ()
        return tuple(ranges)

    def dates(self, raw, name: str) -> frozenset:
        items = raw if isinstance(raw, Seq) else [raw]
        days = set()
        for item in items:
            try:
                days.add(date.fromisoformat(str(item)))
            except ValueError:
                self.error(item, f"{name} has {_shown(item)}, which is not a date",
                           "write dates as 2026-12-25", fallback=raw)
        return frozenset(days)

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

    def phrases_list(self, raw, name: str) -> tuple[str, ...]:
        """A list of phrases (any words, digits included), each checked to have a word in it."""
        if not isinstance(raw, Seq):
            self.error(raw, f"{name} must be a list", "write them as [not breathing, pump alarm]")
            return ()
        found = []
        for item in raw:
            if not isinstance(item, (Str, Int)) or isinstance(item, Bool) or not normalise(str(item)):
                self.error(item, f"{name} has a phrase that is {_shown(item)}",
                           "write words, such as not breathing; put a phrase starting with a symbol in "
                           "double quotes", fallback=raw)
                continue
            found.append(" ".join(str(item).split()))
        return tuple(found)

    def keywords(self, raw, name: str) -> tuple[str, ...]:
        if not isinstance(raw, Seq):
            self.error(raw, f"{name} must be a list", "write them as [word, another word]")
            return ()
        words = []
        for item in raw:
            word = normalise(str(item)) if isinstance(item, (Str, Int)) else ""
            if not word:
                self.error(item, f"{name} has a keyword that is {_shown(item)}",
                           "use a word of letters or digits, such as pump; put true, false or a word "
                           "starting with a symbol in double quotes", fallback=raw)
                continue
            if word in reserved.CARRIER_WORDS:
                self.error(item, f"keyword '{item}' belongs to Twilio's opt-out and help handling",
                           "choose another word: STOP, START, HELP and their synonyms are reserved")
                continue
            if word in reserved.LINE_WORDS:
                self.error(item, f"keyword '{item}' is used by the line itself (menu, back)",
                           "choose another word for this node")
                continue
            if word.isdigit():
                self.error(item, f"keyword '{item}' is a number, which texters use for menu choices",
                           "use a word")
                continue
            words.append(item)
        return tuple(words)

    # -- the whole file ----------------------------------------------------------------------------
    def build(self, doc) -> Menu:
        if not isinstance(doc, Map):
            raise MenuFileError([Problem(self.filename, *_loc(doc), "the file must be a set of sections",
                                         "start from the shipped menus.yaml")])
        for key in doc:
            if key not in schema.TOP:
                self.error(key, f"unknown section '{key}'",
                           f"{_closest(key, schema.TOP)}sections are: {', '.join(schema.TOP)}")
        for key in schema.TOP:
            if key not in doc and key not in schema.OPTIONAL_SECTIONS:
                self.error(doc, f"the section '{key}:' is missing",
                           "copy it from the shipped menus.yaml")

        phones = self.phones(doc.get("phones"), doc)
        line = self.section(doc.get("line"), schema.LINE, "line", doc)
        call = self.section(doc.get("call"), schema.CALL, "call", doc)
        phrases = self.section(doc.get("phrases"), schema.PHRASES, "phrases", doc)
        nodes = self.nodes(doc.get("nodes"), doc, phones)
        pronunciations = self.pronunciations(doc.get("pronunciations"), line["language"])
        self.check_texting_phrases(phrases, doc.get("phrases"))
        self.check_emergency_phrases(phrases, doc.get("phrases"))
        opening_hours = self.opening_hours(doc.get("hours"), phrases)

        self.check_call(call, doc.get("call"), nodes)
        self.check_graph(nodes, call)
        self.check_keywords(nodes)
        if self.problems:
            raise MenuFileError(self.problems)

        built = self.freeze(nodes)
        menu = Menu(
            source=self.filename, name=line["name"], language=line["language"], voice=line["voice"],
            phones=MappingProxyType(phones), greeting=call["greeting"], emergency=call["emergency"],
            start=call["start"], operator=call["operator"],
            no_input_retries=call["no_input_retries"], key_timeout=call["key_timeout"],
            dial_timeout=call["dial_timeout"],
            phrases=MappingProxyType({k: v for k, v in phrases.items() if v is not None}),
            nodes=MappingProxyType(built),
            matcher=KeywordMatcher({kw: n.id for n in built.values() for kw in n.keywords}),
            pronunciations=MappingProxyType(pronunciations),
            hours=opening_hours,
            positions=MappingProxyType(self.positions),
            emergency_phrases=EmergencyPhrases(built_in(line["language"]) + tuple(call["emergency_phrases"])),
        )
        if doc.get("languages") is not None:
            menu = self.translate(menu, doc)
        return replace(menu, warnings=tuple(self.warnings))

    # -- other languages ---------------------------------------------------------------------------
    def translate(self, menu: Menu, doc) -> Menu:
        """The menu with a whole translated Menu for each language under languages:."""
        translations, offers = {}, []
        raw = doc["languages"]
        for lang, overlay in (raw.items() if isinstance(raw, Map) else []):
            if not isinstance(overlay, Map) or not re.fullmatch(r"[a-z]{2}-[A-Z]{2}", str(lang)):
                self.error(lang, f"'{lang}' under languages: must be a code such as es-US with its texts",
                           "copy the es-US block of the shipped menus.yaml")
                continue
            if str(lang)[:2] == menu.language[:2] or any(code[:2] == str(lang)[:2] for code in translations):
                self.error(lang, f"a second {str(lang)[:2]} language", "keep one variant of each language")
                continue
            merged = self.overlaid(doc, overlay, str(lang))
            if merged is None:
                continue
            try:
                translated = _Builder(self.filename).build(merged)
            except MenuFileError as exc:
                self.problems.extend(exc.problems)
                continue
            sentence = _offer(translated, str(overlay["offer"]))
            translations[str(lang)] = replace(translated, is_translation=True, warnings=(), offer=sentence)
            offers.append((str(lang), translated.voice, sentence))
        if self.problems:
            raise MenuFileError(self.problems)
        translations = {code: replace(one, other_languages=(menu, *(other for other_code, other in
                                                                    translations.items()
                                                                    if other_code != code)))
                        for code, one in translations.items()}
        if translations and menu.nodes[menu.start].option(reserved.LANGUAGE_KEY):
            raise MenuFileError([Problem(self.filename, *menu.where("nodes." + menu.start),
                                         f"key {reserved.LANGUAGE_KEY} of the first menu is kept for "
                                         "choosing another language", "use keys 1 to 7 there")])
        return replace(menu, translations=MappingProxyType(translations), offers=tuple(offers),
                       other_languages=tuple(translations.values()))

    def overlaid(self, doc, overlay, lang: str):
        """The document with `overlay`'s texts in place of the first language's, or None if any is
        missing (each missing one is reported where the translation should be)."""
        for key in overlay:
            if key not in schema.LANGUAGE_KEYS:
                self.error(key, f"unknown key '{key}' under languages: {lang}",
                           f"{_closest(key, schema.LANGUAGE_KEYS)}allowed: {', '.join(schema.LANGUAGE_KEYS)}")
        for key, needed in schema.LANGUAGE_KEYS.items():
            if needed and not isinstance(overlay.get(key), (Map, Str)):
                self.error(overlay.get(key, overlay), f"languages: {lang} is missing '{key}'",
                           f"add '{key}:' with the {lang} text", fallback=overlay)
        if self.problems:
            return None
        merged = _copy_map(doc)
        line = _copy_map(doc["line"])
        _put(line, "language", _located_like(lang, overlay))
        _put(line, "voice", overlay["voice"])
        if "name" in overlay:
            _put(line, "name", overlay["name"])
        _put(merged, "line", line)
        call = _copy_map(doc["call"])
        for own in schema.OWN_CALL:  # each language's own: never the first language's, never required
            call.pop(own, None)
        _put(merged, "call", self.replaced(call, overlay["call"], schema.TRANSLATED_CALL + schema.OWN_CALL,
                                           lang, "call"))
        phrases = overlay["phrases"]
        for name in doc["phrases"]:
            if isinstance(phrases, Map) and name not in phrases:
                self.error(phrases, f"languages: {lang} has no translation of phrases.{name}",
                           f"add '{name}:' under languages: {lang}: phrases:")
        _put(merged, "phrases", phrases)
        nodes = _copy_map(doc["nodes"])
        given = overlay["nodes"]
        for node_id, body in doc["nodes"].items():
            if not isinstance(body, Map) or not isinstance(given, Map):
                continue
            if node_id not in given:
                self.error(given, f"languages: {lang} has no translation of node '{node_id}'",
                           f"add '{node_id}:' under languages: {lang}: nodes: with its texts")
                continue
            _put(nodes, node_id, self.replaced(body, given[node_id], schema.TRANSLATED_NODE, lang,
                                               f"node '{node_id}'"))
        for node_id in (given if isinstance(given, Map) else []):
            if node_id not in doc["nodes"]:
                self.error(node_id, f"languages: {lang} translates '{node_id}', which is not a node",
                           f"{_closest(node_id, doc['nodes'])}use the node ids of the first language")
        _put(merged, "nodes", nodes)
        merged.pop("languages", None)
        merged.pop("pronunciations", None)
        if "pronunciations" in overlay:
            words = Map({_located_like(lang, overlay["pronunciations"]): overlay["pronunciations"]})
            words.where = {lang: _loc(overlay["pronunciations"])}
            words.line, words.col = _loc(overlay["pronunciations"])
            _put(merged, "pronunciations", words)
        return None if self.problems else merged

    def replaced(self, base, translated, names: tuple[str, ...], lang: str, what: str):
        """`base` with each of `names` it has taken from `translated`; a missing one is reported."""
        if not isinstance(translated, Map):
            self.error(translated, f"languages: {lang}: {what} must list its texts", "see the shipped file")
            return base
        copy = _copy_map(base)
        for name in names:
            if name in base and name not in translated:
                self.error(translated, f"languages: {lang} has no translation of {what}'s '{name}'",
                           f"add '{name}:' for {what} under languages: {lang}")
            elif name in translated:
                _put(copy, name, translated[name])
        for name in translated:
            if name not in names:
                self.error(name, f"'{name}' cannot be translated ({what} under languages: {lang})",
                           f"only these are translated: {', '.join(names)}")
        return copy

    def named(self, raw, doc, section: str, example: str):
        """Each (name, value) of a section keyed by simple names; any other name is reported."""
        if not isinstance(raw, Map) or not raw:
            if raw is not None:
                self.error(raw, f"'{section}' is empty or not a list of 'name: ...' entries",
                           f"write for example   {example}", fallback=doc)
            return
        for name, value in raw.items():
            if not isinstance(name, Str) or not NODE_ID.match(name):
                self.error(name, f"'{name}' in {section} is not a simple name",
                           "use lower-case letters, digits and _ (at most 40), starting with a letter")
                continue
            yield name, value

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
                self.error(number, f"{_shown(number)} {problem.reason}", problem.fix, fallback=name)
                continue
            phones[str(name)] = e164
        return phones

    def nodes(self, raw, doc, phones) -> dict:
        nodes = {}
        for node_id, body in self.named(raw, doc, "nodes", "main: (then its type, title and options)"):
            if node_id in RESERVED_NODE_IDS:
                self.error(node_id, f"'{node_id}' cannot be a node id: /voice/{node_id} is one of the line's "
                                    "own webhook addresses, so callers could never reach the node",
                           "choose another id, such as 'call_status'")
            self.positions[f"nodes.{node_id}"] = _loc(node_id)
            values = self.section(body, schema.NODE, f"node {node_id}", node_id, f"nodes.{node_id}")
            values["_where"] = node_id
            kind = values["type"]
            if kind in schema.NODE_TYPE_KEYS and isinstance(body, Map):
                rules = schema.NODE_TYPE_KEYS[kind]
                for key in rules["required"]:
                    if key not in body or isinstance(body[key], Null):
                        self.error(node_id, f"{kind} node '{node_id}' is missing '{key}'",
                                   f"add '{key}:' ({schema.NODE[key].help})")
                for key in rules["forbidden"]:
                    written_key = next((k for k in body if k == key), None)
                    if written_key is not None:
                        self.error(written_key, f"{kind} node '{node_id}' cannot have '{key}'",
                                   f"remove '{key}:' ({schema.NODE[key].help})")
            dial = values.get("dial")
            if dial is not None and dial not in self.phone_names:
                self.error(dial, f"'{dial}' is not a number under 'phones:'",
                           f"{_closest(dial, self.phone_names)}add it to 'phones:' or use one of: "
                           f"{', '.join(self.phone_names) or 'none yet'}")
            values["dial_e164"] = phones.get(dial)
            nodes[str(node_id)] = values
        return nodes

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

    def nearest_node(self, name, nodes) -> str:
        """A hint for a name that is not a node: the node it most likely means, and where it is."""
        match = difflib.get_close_matches(str(name), nodes, n=1, cutoff=0.6)
        if not match:
            return "use the id of a node under 'nodes:'"
        line = self.positions.get(f"nodes.{match[0]}", (0, 0))[0]
        return (f"the closest node is '{match[0]}' (line {line}); if that is the one, make the two "
                "spellings the same")

    def check_graph(self, nodes, call) -> None:
        misspelt: set[str] = set()
        for node_id, values in nodes.items():
            options = values.get("options")
            if options is None:
                values["options"] = ()
                continue
            if not isinstance(options, Map) or not options:
                self.error(options, f"options of '{node_id}' must be lines such as '1: oral_baclofen'",
                           "list each key and the node it leads to", fallback=values["_where"])
                values["options"] = ()
                continue
            seen: dict[str, object] = {}
            parsed = []
            for key, target in options.items():
                key_text = str(key)
                if key_text in reserved.RESERVED_KEYS:
                    self.error(key, f"key {key_text} is kept for the whole line (0 scheduling, "
                                    "* back, 9 repeat, # unused)", "use keys 1 to 8 for menu options")
                    continue
                if not OPTION_KEY.match(key_text):
                    self.error(key, f"'{key_text}' is not a key on a phone keypad menu",
                               "use a single digit from 1 to 8")
                    continue
                if key_text in seen:
                    self.error(key, f"key {key_text} is pressed for two things in '{node_id}' "
                                    f"(also on line {seen[key_text].line})",
                               "give each option its own key")
                    continue
                seen[key_text] = key
                if not isinstance(target, Str) or target not in nodes:
                    self.error(target, f"option {key_text} of '{node_id}' leads to {_shown(target)}, "
                                       "which is not a node",
                               self.nearest_node(target, nodes), fallback=key)
                    # The node it was meant to be is then unreachable: that is the same mistake.
                    misspelt.update(difflib.get_close_matches(str(target), nodes, n=1, cutoff=0.6))
                    continue
                if target == node_id:
                    self.error(target, f"option {key_text} of '{node_id}' leads back to itself",
                               "key 9 already repeats a menu; point the option elsewhere")
                    continue
                parsed.append(Option(key_text, str(target)))
            keys = sorted(int(o.key) for o in parsed)
            if len(keys) > MAX_CHOICES:
                self.warn(options, f"'{node_id}' has {len(keys)} choices; callers remember at most "
                                   f"{MAX_CHOICES} (ISO/IEC 13714)",
                          "move some choices into a menu of their own")
            if keys and keys != list(range(1, len(keys) + 1)):
                self.warn(options, f"the keys of '{node_id}' are {keys}, not 1, 2, 3... in order",
                          "number the options from 1 without gaps")
            values["options"] = tuple(sorted(parsed, key=lambda o: o.key))

        # Reachability, and each node's parent (the menu that first leads to it) for the star key.
        start, operator = call.get("start"), call.get("operator")
        if start not in nodes:
            return
        parents: dict[str, str | None] = {start: None}
        queue = [start]
        while queue:
            current = queue.pop(0)
            for option in nodes[current]["options"]:
                if option.target not in parents:
                    parents[option.target] = current
                    queue.append(option.target)
        if operator in nodes:
            parents.setdefault(operator, start)
        for node_id, values in nodes.items():
            values["parent"] = parents.get(node_id, start)
            if node_id not in parents and node_id not in misspelt:
                self.error(values["_where"], f"no caller can reach node '{node_id}'",
                           "add it to the options of a menu, or delete it")

    def check_keywords(self, nodes) -> None:
        pairs = [(kw, node_id) for node_id, v in nodes.items() for kw in (v.get("keywords") or ())]
        for keyword, first, second in claimed_twice(pairs):
            self.error(keyword, f"keyword '{keyword}' is claimed by both '{first}' and '{second}'",
                       "keep it on only one node")

    def freeze(self, nodes) -> dict[str, Node]:
        built = {}
        for node_id, v in nodes.items():
            title = v["title"] or node_id
            built[node_id] = Node(
                id=node_id, type=v["type"], title=title,
                label=v["label"] or title,
                say=v["say"] or "", text=v["text"] or "",
                options=v["options"], keywords=tuple(str(k) for k in v["keywords"] or ()),
                dial=v.get("dial_e164"), parent=v["parent"],
            )
        return built


def _offer(translated: Menu, offer: str) -> str:
    """The offer said at the start of every call: the language's own 911 notice first, so a caller
    who does not understand the first language hears it before being asked to press a key."""
    offer = " ".join(offer.split())
    if EMERGENCY_NUMBER.search(offer):
        return offer  # staff wrote the notice into the offer themselves
    numbers = {name: for_speaking(number) for name, number in translated.phones.items()}
    notice = translated.emergency.format_map({"name": translated.name, **numbers})
    return f"{notice} {offer}"


def _copy_map(original: Map) -> Map:
    copy = Map(original)
    copy.where = dict(original.where)
    copy.line, copy.col, copy.key = original.line, original.col, original.key
    return copy


def _put(mapping: Map, key, value) -> None:
    mapping[key] = value
    mapping.where[key] = _loc(value)


def _located_like(text: str, where) -> Str:
    located = Str(text)
    located.line, located.col = _loc(where)
    return located
