"""Load menus.yaml once into typed, validated objects; report every problem as file:line with a fix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from ..model.emergency import EmergencyPhrases, built_in
from ..model.matching import KeywordMatcher
from ..model.menu import (
    Menu,
)
from . import schema
from .graph import Graph
from .languages import Languages
from .line_sections import LineSections
from .reporting import closest, located
from .yaml_strict import Map, MenuFileError, Problem, read_yaml


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


class _Builder(LineSections, Graph, Languages):
    """Builds a Menu from a parsed file, each concern in its own module."""

    def build(self, doc) -> Menu:
        if not isinstance(doc, Map):
            raise MenuFileError([Problem(self.filename, *located(doc), "the file must be a set of sections",
                                         "start from the shipped menus.yaml")])
        for key in doc:
            if key not in schema.TOP:
                self.error(key, f"unknown section '{key}'",
                           f"{closest(key, schema.TOP)}sections are: {', '.join(schema.TOP)}")
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
            callback_words=tuple(call["callback_words"]),
        )
        if doc.get("languages") is not None:
            menu = self.translate(menu, doc)
        return replace(menu, warnings=tuple(self.warnings))
