"""A JSON Schema of menus.yaml for editors, generated from the shape declared once in ivr/schema.py."""

from __future__ import annotations

import json
import re

from ..model.menu import NODE_ID, OPTION_KEY
from . import schema

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "menus.schema.json"
TITLE = "menus.yaml of the Spasticity Clinic phone and text line"
DESCRIPTION = ("Everything the line says on the phone and sends by text. The line checks the file "
               "again when it starts (phone numbers, names in braces, which nodes callers can reach); "
               "this schema lets an editor underline mistakes while you type.")

# schema.TOP gives help text only for the sections that are not a table of Fields.
_SECTION_HELP = {
    "line": "The clinic's name, the language and the text-to-speech voice.",
    "call": "The greeting, the emergency notice, the first menu, the node key 0 reaches, and the timings.",
    "phrases": "The line's own sentences, used in every menu.",
    "hours": "When the scheduling line is open, in the clinic's time zone; without this section the "
             "line is always open.",
}
# A day's hours: closed, or time ranges such as 08:00-12:00, 13:00-17:00.
_DAY_HOURS = r"^(closed|\d{1,2}:\d{2}-\d{1,2}:\d{2}(, *\d{1,2}:\d{2}-\d{1,2}:\d{2})*)$"


def _anchored(pattern: re.Pattern) -> str:
    """The ECMA-262 form of a Python regex that is used with match() and ends in \\Z."""
    body = pattern.pattern
    if not body.endswith(r"\Z") or body.startswith("^"):
        raise ValueError(f"cannot turn {body!r} into a JSON Schema pattern")
    return "^" + body[:-2] + "$"


def _identifier(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"the placeholder {name!r} is not a plain name")
    return name


def _id_string(description: str | None = None) -> dict:
    out = {"description": description} if description else {}
    out.update({"type": "string", "pattern": _anchored(NODE_ID)})
    return out


def _field(spec: schema.Field) -> dict:
    """The schema of one key, by its kind; description and default come from the Field."""
    out: dict = {"description": spec.help}
    if spec.kind == "text":
        # Any string with something in it: one line, or several as staff wrap it (> or |).
        out.update({"type": "string", "minLength": 1, "pattern": r"\S"})
        if spec.needs:
            # A name it must use, such as {key}: names are identifiers, so nothing needs escaping.
            out["allOf"] = [{"pattern": r"\{" + _identifier(name) + r"\}"} for name in spec.needs]
    elif spec.kind == "word":
        out.update({"type": "string", "minLength": 1, "pattern": r"^\S+$"})
    elif spec.kind == "int":
        out["type"] = "integer"
        if spec.low is not None:
            out["minimum"] = spec.low
        if spec.high is not None:
            out["maximum"] = spec.high
    elif spec.kind == "choice":
        out.update({"type": "string", "enum": list(spec.choices)})
    elif spec.kind in ("node", "phone"):
        out.update(_id_string())
    elif spec.kind in ("keywords", "phrases"):
        out.update({"type": "array", "items": {"type": "string", "minLength": 1, "pattern": r"\S"}})
    elif spec.kind == "hours":
        out.update({"type": "string", "pattern": _DAY_HOURS})
    elif spec.kind == "dates":
        out.update({"type": "array", "items": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}})
    elif spec.kind == "options":
        out.update({
            "type": "object",
            "minProperties": 1,
            "patternProperties": {_anchored(OPTION_KEY): _id_string()},
            "additionalProperties": False,
        })
    else:
        raise ValueError(f"no JSON Schema for the field kind {spec.kind!r}")
    if spec.default is not None:
        out["default"] = list(spec.default) if isinstance(spec.default, tuple) else spec.default
    return out


def _section(fields: dict[str, schema.Field], description: str) -> dict:
    """An object with exactly these keys, the required ones required."""
    out: dict = {
        "description": description,
        "type": "object",
        "properties": {key: _field(spec) for key, spec in fields.items()},
        "additionalProperties": False,
    }
    required = [key for key, spec in fields.items() if spec.required]
    if required:
        out["required"] = required
    return out


def _node(description: str) -> dict:
    """One node: the NODE keys, plus each type's required and forbidden keys as if/then."""
    node = _section(schema.NODE, description)
    node["allOf"] = [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {
                "required": list(rules["required"]),
                "properties": {key: False for key in rules["forbidden"]},
            },
        }
        for kind, rules in schema.NODE_TYPE_KEYS.items()
    ]
    return node


def _named(description: str, value: dict) -> dict:
    """An object keyed by simple names (the node id pattern), each holding `value`."""
    return {
        "description": description,
        "type": "object",
        "minProperties": 1,
        "patternProperties": {_anchored(NODE_ID): value},
        "additionalProperties": False,
    }


def _pronunciations(description: str) -> dict:
    """Language code -> word -> how it sounds (a string) or {ipa: ...}."""
    sounds = {"oneOf": [
        {"type": "string", "minLength": 1, "description": "How the word sounds, said instead of it."},
        {"type": "object", "properties": {"ipa": {"type": "string", "minLength": 1}},
         "required": ["ipa"], "additionalProperties": False,
         "description": "The word's sounds in the International Phonetic Alphabet."},
    ]}
    words = {"type": "object", "additionalProperties": sounds}
    return {"description": description, "type": "object",
            "patternProperties": {"^[a-z]{2}(-[A-Z]{2})?$": words}, "additionalProperties": False}


def _languages(description: str) -> dict:
    """Language code -> the translation: its voice, offer, and the same sections' texts."""
    keys = {name: {"type": "object"} for name in ("call", "phrases", "nodes", "pronunciations")}
    keys.update({"voice": {"type": "string", "minLength": 1}, "offer": {"type": "string", "minLength": 1},
                 "name": {"type": "string", "minLength": 1}})
    one = {"type": "object", "properties": keys, "additionalProperties": False,
           "required": [k for k, needed in schema.LANGUAGE_KEYS.items() if needed]}
    return {"description": description, "type": "object",
            "patternProperties": {"^[a-z]{2}(-[A-Z]{2})?$": one}, "additionalProperties": False}


def menu_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of menus.yaml, built from the data in ivr/schema.py."""
    properties: dict = {}
    for section, shape in schema.TOP.items():
        if isinstance(shape, dict):
            properties[section] = _section(shape, _SECTION_HELP[section])
        elif section == "phones":
            properties[section] = _named(shape, {
                "description": "A phone number, such as \"(502) 635-6397\" or +15026356397.",
                "type": ["string", "integer"],  # YAML reads an unquoted 5026356397 as a number
                "minLength": 1,
            })
        elif section == "nodes":
            properties[section] = _named(shape, _node("A menu, summary or transfer."))
        elif section == "pronunciations":
            properties[section] = _pronunciations(shape)
        elif section == "languages":
            properties[section] = _languages(shape)
        else:
            raise ValueError(f"no JSON Schema for the section {section!r}")
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": TITLE,
        "description": DESCRIPTION,
        "type": "object",
        "properties": properties,
        "required": [name for name in schema.TOP if name not in schema.OPTIONAL_SECTIONS],
        "additionalProperties": False,
    }


def schema_text() -> str:
    """The canonical text of menus.schema.json: the schema as indented JSON ending in a newline."""
    return json.dumps(menu_json_schema(), indent=2) + "\n"
