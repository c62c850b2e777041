"""The languages: section of menus.yaml: each translation laid over the first language and checked."""

from __future__ import annotations

import re
from dataclasses import replace
from types import MappingProxyType

from ..model import reserved
from ..model.menu import (
    EMERGENCY_NUMBER,
    NODE_ID,
    Menu,
)
from ..model.phone import (
    for_speaking,
)
from . import schema
from .reporting import closest, located
from .values import Values
from .yaml_strict import Map, MenuFileError, Problem, Str


class Languages(Values):
    """Builds each translation as a whole Menu."""

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
                translated = type(self)(self.filename).build(merged)  # the whole builder, afresh
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
                           f"{closest(key, schema.LANGUAGE_KEYS)}allowed: {', '.join(schema.LANGUAGE_KEYS)}")
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
                           f"{closest(node_id, doc['nodes'])}use the node ids of the first language")
        _put(merged, "nodes", nodes)
        merged.pop("languages", None)
        merged.pop("pronunciations", None)
        if "pronunciations" in overlay:
            words = Map({_located_like(lang, overlay["pronunciations"]): overlay["pronunciations"]})
            words.where = {lang: located(overlay["pronunciations"])}
            words.line, words.col = located(overlay["pronunciations"])
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
    mapping.where[key] = located(value)


def _located_like(text: str, where) -> Str:
    copy = Str(text)
    copy.line, copy.col = located(where)
    return copy
