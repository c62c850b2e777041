"""Warnings about a valid menu: texts that cost too much, prompts too long or hard for a voice to read."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..conversation import engine
from ..conversation.engine import sms_segment_budget
from ..menufile import schema
from ..model import gsm
from ..model.menu import Menu
from ..model.problem import Problem

WORDS_PER_MINUTE = 150  # an unhurried phone voice
MAX_SPOKEN_SECONDS = 40

# Written forms a text-to-speech voice reads wrongly, with what to write instead.
_ABBREVIATION = re.compile(
    r"\b(Dr|Mr|Mrs|Ms|St|Jr|Sr|Dept|Appt|approx|apt|hr|hrs|min|mins|wk|wks|yr|yrs|vs|etc|e\.g|i\.e)\.",
    re.I)
_SYMBOL = re.compile(r"[&/%#@+=<>~*_|\\\[\]]")
_LONG_NUMBER = re.compile(r"\d{5,}")
_NAME = re.compile(r"\{[a-z0-9_]*\}")
_SYMBOL_WORDS = {"&": "and", "/": "or", "%": "percent", "+": "and", "@": "at", "#": "number",
                 "*": "star", "=": "equals"}


def lint(menu: Menu) -> list[Problem]:
    """Every warning for `menu` and its translations, besides the loader's, in file order."""
    found = (list(_sms_warnings(menu)) + list(_spoken_warnings(menu)) + list(_voice_text_warnings(menu))
             + list(_pronunciation_warnings(menu)) + list(_emergency_warnings(menu)))
    for translated in menu.translations.values():
        found += lint(translated)
    return sorted(found, key=lambda p: (p.line, p.col))


def _warning(menu: Menu, path: str, message: str, hint: str) -> Problem:
    line, col = menu.where(path)
    return Problem(menu.source, line, col, message, hint, "warning")


def _sms_warnings(menu: Menu) -> Iterator[Problem]:
    # Characters staff typed that are not GSM-7: the line swaps some for plain ones, the rest force
    # UCS-2 for the whole message.
    for path, text in _texted_fields(menu):
        for position, char in gsm.non_gsm_characters(text):
            swap = gsm.GSM_REPLACEMENTS.get(char)
            where = f"'{char}' in '{_around(text, position)}'"
            if swap is not None:
                yield _warning(menu, path, f"{where} is not a plain text character; it is sent as "
                                           f"{_quoted(swap)}",
                               f"type {_quoted(swap)} instead, so what you see is what families get")
            elif not menu.is_translation:  # accented Spanish needs UCS-2; the segment count still counts
                yield _warning(menu, path, f"{where} forces the whole text into UCS-2, which fits 70 "
                                           "characters a message instead of 160",
                               "use a plain character if one will do")
    limit = sms_segment_budget(menu)
    for source, reply in engine.sms_replies_for_review(menu):
        encoding = gsm.encoding_of(reply)
        if encoding.segments > limit:
            path = f"{source}.text" if source.startswith("nodes.") else source
            yield _warning(menu, path, f"the text reply for {source.split('.')[1]} takes "
                                       f"{encoding.segments} messages ({encoding.units} characters "
                                       f"in {encoding.name})",
                           f"shorten it to fit {limit} messages, footer included")


def _emergency_warnings(menu: Menu) -> Iterator[Problem]:
    if not menu.emergency_phrases:
        yield _warning(menu, "call.emergency_phrases", f"nothing in {menu.language} sounds like an "
                                                       "emergency: the line has no built-in phrases for it",
                       "list them under call: emergency_phrases: (such as [not breathing, seizure])")
    # A keyword that sounds like an emergency would put the notice before every text about its topic
    # ("pump" as an emergency phrase): precision matters as much as recall.
    for node in menu.nodes.values():
        for keyword in node.keywords:
            found = menu.emergency_phrases.found(keyword)
            if found:
                yield _warning(menu, f"nodes.{node.id}.keywords",
                               f"the keyword '{keyword}' of '{node.id}' sounds like an emergency "
                               f"('{found}'): every text about it would get the emergency notice",
                               "make the emergency phrase longer (such as 'pump alarm'), or drop the keyword")


def _around(text: str, position: int) -> str:
    """The words around `position`, so staff can find the character in their file."""
    start, end = max(0, position - 15), min(len(text), position + 15)
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def _quoted(text: str) -> str:
    return f'"{text}"' if "'" in text else f"'{text}'"


def _texted_fields(menu: Menu) -> Iterator[tuple[str, str]]:
    for node in menu.nodes.values():
        yield f"nodes.{node.id}.text", node.text
        yield f"nodes.{node.id}.label", node.label
    for name, text in menu.phrases.items():
        if name.startswith("sms_"):
            yield f"phrases.{name}", text


def _spoken_warnings(menu: Menu) -> Iterator[Problem]:
    start = engine.start_call(menu)
    first = menu.nodes[menu.start]
    spoken = [("call.start", "the first menu's choices", start.prompt[1:] if first.say else start.prompt)]
    for node in menu.nodes.values():
        spoken.append((f"nodes.{node.id}.say", f"'{node.id}'", (node.say,)))
        if node.type == "menu":
            prompt = engine.enter(menu, node.id).prompt
            spoken.append((f"nodes.{node.id}.options", f"the choices of '{node.id}'",
                           prompt[1:] if node.say else prompt))
    for path, what, lines in spoken:
        seconds = seconds_to_say(" ".join(lines))
        if seconds > MAX_SPOKEN_SECONDS:
            yield _warning(menu, path, f"callers hear about {seconds:.0f} seconds of {what} "
                                       f"(more than {MAX_SPOKEN_SECONDS})",
                           "shorten it, or move some choices into a menu of their own")


def seconds_to_say(text: str) -> float:
    """About how long a phone voice takes to say `text`."""
    return len(text.split()) / WORDS_PER_MINUTE * 60


def _voice_text_warnings(menu: Menu) -> Iterator[Problem]:
    for path, raw in _spoken_fields(menu):
        text = _NAME.sub("", raw)  # {after_hours} is a name the line fills in, not text to read
        for found in _ABBREVIATION.finditer(text):
            yield _warning(menu, path, f"a voice may read '{found.group()}' wrongly",
                           "write the word out in full (Doctor, Street, for example)")
        for found in _SYMBOL.finditer(text):
            char = found.group()
            word = _SYMBOL_WORDS.get(char)
            yield _warning(menu, path, f"a voice reads '{char}' badly or not at all",
                           f"write '{word}' instead" if word else "write it as a word")
        for found in _LONG_NUMBER.finditer(text):
            yield _warning(menu, path, f"a voice reads {found.group()} as one large number",
                           "for a phone number use its name, such as {scheduling}; otherwise put "
                           "spaces between the digits")


def _pronunciation_warnings(menu: Menu) -> Iterator[Problem]:
    # Once per word, where it is first said: one entry under pronunciations fixes every place.
    missing = [w for w in schema.MEDICAL_WORDS if w not in menu.pronunciations]
    for path, text in _spoken_fields(menu):
        for word in list(missing):
            if re.search(rf"\b{word}\b", text, re.IGNORECASE):
                missing.remove(word)
                yield _warning(menu, path, f"a voice may mispronounce '{word}', which has no "
                                           "pronunciation", f"add it under 'pronunciations:', "
                                           f"{menu.language}:, such as   {word}: how it sounds")


def _spoken_fields(menu: Menu) -> Iterator[tuple[str, str]]:
    yield "call.greeting", menu.greeting
    yield "call.emergency", menu.emergency
    for node in menu.nodes.values():
        yield f"nodes.{node.id}.say", node.say
        yield f"nodes.{node.id}.title", node.title
        yield f"nodes.{node.id}.label", node.label
    for name, text in menu.phrases.items():
        if not name.startswith("sms_"):
            yield f"phrases.{name}", text
