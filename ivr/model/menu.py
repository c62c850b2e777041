"""The menu model: the whole line as loaded, its nodes, options and pronunciations (no YAML in it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .emergency import EmergencyPhrases
from .hours import Hours
from .matching import KeywordMatcher
from .problem import Problem

NODE_ID = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
# Ids that are the voice webhooks' own addresses (/voice/status): a node there could not be reached.
RESERVED_NODE_IDS = frozenset({"status"})
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./+-]{0,63}\Z")
OPTION_KEY = re.compile(r"[1-8]\Z")
EMERGENCY_NUMBER = re.compile(r"\b9[\s,.-]*1[\s,.-]*1\b|nine[\s,-]+one[\s,-]+one", re.I)
MEMO_ENTRIES = 16384  # what one loaded menu keeps worked out (see Menu.remembered)
MAX_CHOICES = 4  # besides 0, star and 9




@dataclass(frozen=True)
class Option:
    """A key in a menu and the node it leads to."""

    key: str
    target: str


@dataclass(frozen=True)
class Node:
    """One menu, summary or transfer of the line."""

    id: str
    type: str
    title: str
    label: str
    say: str
    text: str
    options: tuple[Option, ...] = ()
    keywords: tuple[str, ...] = ()
    dial: str | None = None  # E.164, for transfer nodes
    parent: str | None = None  # the menu that star goes back to

    def option(self, key: str) -> Option | None:
        """The option for `key` in this menu, if any."""
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True)
class Pronunciation:
    """How the voice should say one word: instead of it (`alias`), or by its sounds (`ipa`)."""

    word: str
    alias: str = ""
    ipa: str = ""


@dataclass(frozen=True, eq=False)
class Menu:
    """The whole line as loaded from menus.yaml: what the engine and every renderer read.

    Compared and hashed by identity: each load is a new Menu, so caches keyed on it never serve
    answers from an older file.
    """

    source: str
    name: str
    language: str
    voice: str
    phones: Mapping[str, str]
    greeting: str
    emergency: str
    start: str
    operator: str
    no_input_retries: int
    key_timeout: int
    dial_timeout: int
    phrases: Mapping[str, str]
    nodes: Mapping[str, Node]
    matcher: KeywordMatcher = field(repr=False, compare=False)
    # Words spelled out for the voice in the line's language, by lower-case word.
    pronunciations: Mapping[str, Pronunciation] = field(default_factory=dict)
    hours: Hours | None = None  # None: the scheduling line is always open
    # The same line in other languages, by language code ("es-US"); each is a whole Menu.
    translations: Mapping[str, Menu] = field(default_factory=dict)
    # (language, voice, sentence): said at the start of every call, in that language's voice.
    offers: tuple[tuple[str, str, str], ...] = ()
    is_translation: bool = False
    # A translation's own offer, as said in its voice at the start of every call in the first language.
    offer: str = ""
    # What sounds like an emergency in this language: the built-in list and call: emergency_phrases.
    emergency_phrases: EmergencyPhrases = field(default_factory=lambda: EmergencyPhrases(()), repr=False,
                                                compare=False)
    # Whole texts that ask to be called back in this language, besides the built-in ones.
    callback_words: tuple[str, ...] = ()
    # The line in each of its other languages (without their own translations), so words in another
    # language that sound like an emergency are answered in that language.
    other_languages: tuple[Menu, ...] = field(default=(), repr=False, compare=False)
    warnings: tuple[Problem, ...] = ()
    # Where things were written: "nodes.casting", "nodes.casting.say", "phrases.option" -> (line, col).
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    # Answers worked out from this menu alone (turns, replies, documents), dropped with it: a reload
    # is a new Menu, so nothing from an older file is ever served. Keys are nodes, keys and tries.
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def remembered(self, key, compute):
        """The value kept under `key` for this menu, worked out with `compute()` the first time."""
        try:
            return self.memo[key]
        except KeyError:
            pass
        value = compute()
        if len(self.memo) >= MEMO_ENTRIES:  # never reached by real keys; a bound all the same
            self.memo.clear()
        self.memo[key] = value
        return value

    def where(self, path: str) -> tuple[int, int]:
        """The line and column where `path` (such as "nodes.casting.text") was written."""
        while path not in self.positions and "." in path:
            path = path.rsplit(".", 1)[0]
        return self.positions.get(path, (1, 1))

    @property
    def operator_number(self) -> str:
        """The E.164 number key 0 dials."""
        return self.nodes[self.operator].dial or ""
