"""Checking one value of menus.yaml against its declaration in the schema: texts, words, numbers, lists."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date

from ..model import hours, reserved
from ..model.matching import normalise
from ..model.menu import (
    WORD,
)
from ..model.phone import (
    PHONE_IN_TEXT,
    looks_like_phone_number,
)
from . import schema
from .reporting import Reporter, closest, located, shown
from .yaml_strict import Bool, Int, Map, Null, Seq, Str


class Values(Reporter):
    """The schema-driven checks of single values and whole sections."""

    def section(self, mapping, fields: Mapping[str, schema.Field], name: str, parent,
                path: str | None = None) -> dict:
        """Check `mapping` against `fields`; return the usable values with defaults filled in.

        Where each value was written is kept under "`path`.key" for later warnings.
        """
        path = path or name
        if mapping is None:  # the whole section is missing, which is reported once already
            return {key: f.default for key, f in fields.items()}
        if not isinstance(mapping, Map):
            self.error(mapping, f"{name} must be a set of 'key: value' lines, not {shown(mapping)}",
                       "indent its keys under it, two spaces each", fallback=parent)
            return {key: f.default for key, f in fields.items()}
        values = {}
        for key in mapping:
            if key not in fields:
                self.error(key, f"unknown key '{key}' in {name}",
                           f"{closest(key, fields)}allowed keys: {', '.join(fields)}")
        for key, spec in fields.items():
            if key not in mapping or isinstance(mapping[key], Null):
                if spec.required:
                    where = mapping.get(key, mapping.key or mapping)
                    self.error(where, f"{name} is missing '{key}'", f"add '{key}:' ({spec.help})")
                values[key] = spec.default
                continue
            self.positions[f"{path}.{key}"] = located(mapping[key])
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
                self.error(raw, f"{name} must be a whole number, not {shown(raw)}",
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
                self.error(raw, f"{name} is {shown(raw)}, which is not one of {', '.join(spec.choices)}",
                           f"{closest(raw, spec.choices)}use one of {', '.join(spec.choices)}")
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
            self.error(raw, f"{name} is {shown(raw)}, which YAML reads as a yes/no value, not text",
                       f"put it in double quotes (\"{shown(raw)[0:]}\") if you mean the word")
            return ""
        if isinstance(raw, (Map, Seq, Null)) or not str(raw).strip():
            self.error(raw, f"{name} must be some text, not {shown(raw)}",
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
                       f"{closest(placeholder, allowed)}it can use "
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

    def phrases_list(self, raw, name: str) -> tuple[str, ...]:
        """A list of phrases (any words, digits included), each checked to have a word in it."""
        if not isinstance(raw, Seq):
            self.error(raw, f"{name} must be a list", "write them as [not breathing, pump alarm]")
            return ()
        found = []
        for item in raw:
            if not isinstance(item, (Str, Int)) or isinstance(item, Bool) or not normalise(str(item)):
                self.error(item, f"{name} has a phrase that is {shown(item)}",
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
                self.error(item, f"{name} has a keyword that is {shown(item)}",
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

    def day_hours(self, raw, name: str) -> tuple:
        """One day's opening hours: closed, or ranges such as "08:00-12:00, 13:00-17:00"."""
        text = str(raw).strip().lower() if isinstance(raw, Str) else ""
        if text == "closed":
            return ()
        ranges = [hours.parse_range(part) for part in text.split(",")] if text else [None]
        if None in ranges or any(a[1] > b[0] for a, b in zip(ranges, ranges[1:], strict=False)):
            self.error(raw, f"{name} is {shown(raw)}, which is not opening hours",
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
                self.error(item, f"{name} has {shown(item)}, which is not a date",
                           "write dates as 2026-12-25", fallback=raw)
        return frozenset(days)
