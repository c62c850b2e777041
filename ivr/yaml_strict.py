"""A strict YAML reader for menus.yaml that keeps the line and column of every value."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a look) in the menu file, with where it is and how to fix it."""

    file: str
    line: int
    col: int
    message: str
    hint: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class MenuFileError(Exception):
    """The menu file cannot be used; `problems` lists every reason, each with file:line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col))
        super().__init__("\n".join(str(p) for p in self.problems))


class Str(str):
    """A string from the file, remembering where it was written."""

    line: int
    col: int


class Int(int):
    """A whole number from the file, remembering where it was written."""

    line: int
    col: int


class Bool(int):
    """true or false from the file (an int subclass, since bool cannot be subclassed)."""

    line: int
    col: int


class Null:
    """An empty value from the file, remembering where it was written."""

    line: int
    col: int

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "Null()"


class Map(dict):
    """A mapping from the file; `where[key]` gives the line and column of each key."""

    line: int
    col: int
    where: dict
    key: Str | None = None  # the key this mapping is the value of


class Seq(list):
    """A list from the file, remembering where it starts."""

    line: int
    col: int
    key: Str | None = None


# YAML 1.1 (what PyYAML speaks) reads these unquoted words as true/false. Staff mean the word.
_YAML11_BOOLEANS = {"yes", "no", "on", "off"}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_NULLS = {"", "~", "null"}
# Tags PyYAML's resolver guesses for untagged values; any other tag was written by hand ("!!python/...").
_IMPLICIT_TAGS = {"str", "int", "float", "bool", "null", "timestamp", "value", "merge"}


def _place(value, node):
    value.line = node.start_mark.line + 1
    value.col = node.start_mark.column + 1
    return value


class _Reader:
    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []

    def problem(self, node, message: str, hint: str) -> None:
        self.problems.append(
            Problem(self.filename, node.start_mark.line + 1, node.start_mark.column + 1, message, hint)
        )

    def convert(self, node):
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node)
        if isinstance(node, yaml.SequenceNode):
            seq = _place(Seq(), node)
            seq.extend(self.convert(item) for item in node.value)
            return seq
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode):
        text = node.value
        if node.tag.rpartition(":")[2] not in _IMPLICIT_TAGS:
            self.problem(node, f"the tag {node.tag!r} is not allowed here",
                         "remove the '!' tag; menus.yaml needs only plain text and numbers")
            return _place(Str(text), node)
        if node.style is not None:  # quoted or block text: always a string, exactly as written
            return _place(Str(text), node)
        lowered = text.lower()
        if lowered in _YAML11_BOOLEANS:
            self.problem(
                node,
                f"unquoted {text!r} is read by YAML as true/false, not as the word",
                f"put it in quotes (\"{text}\") if you mean the word, or write true or false",
            )
            return _place(Str(text), node)
        if lowered in ("true", "false"):
            return _place(Bool(lowered == "true"), node)
        if lowered in _NULLS:
            return _place(Null(), node)
        if _INT.match(text):
            return _place(Int(int(text)), node)
        return _place(Str(text), node)

    def mapping(self, node: yaml.MappingNode) -> Map:
        result = _place(Map(), node)
        result.where = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problem(key_node, "'<<' merge keys are not supported",
                             "write the keys out in full")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "a key must be a plain word or number",
                             "use a simple name before the colon")
                continue
            key = self.scalar(key_node)
            if isinstance(key, Null):
                self.problem(key_node, "a key is empty", "write a name before the colon")
                continue
            if isinstance(key, Bool):
                key = _place(Str(key_node.value), key_node)
            if key in result.where:
                first = result.where[key][0]
                self.problem(
                    key_node,
                    f"duplicate key {key_node.value!r} (already given on line {first})",
                    "YAML would silently keep only the last one; delete or rename one of them",
                )
                continue
            result.where[key] = (key.line, key.col)
            value = self.convert(value_node)
            if isinstance(value, (Map, Seq)):
                value.key = key  # a missing key inside is reported at its section's name
            result[key] = value
        return result


def read_yaml(text: str, filename: str):
    """Parse one YAML document into Map/Seq/Str/Int/Bool/Null values and a list of problems.

    Problems the reader can step over (a duplicate key, an unquoted yes) are returned so the caller
    can report them together with its own; a file that cannot be parsed at all raises MenuFileError.
    """
    reader = _Reader(filename)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML cannot read this: {exc.problem or exc.context}"
        lines = text.splitlines()
        bad_line = lines[line - 1] if 0 < line <= len(lines) else ""
        if "\t" in bad_line or "tab" in (exc.problem or "").lower():
            hint = "replace the tab characters with spaces"
        elif "mapping values" in (exc.problem or ""):
            hint = "put text that contains ': ' in double quotes"
        else:
            hint = "check the indentation and that every 'key: value' has a space after the colon"
        raise MenuFileError([Problem(filename, line, col, message, hint)]) from None
    except yaml.YAMLError as exc:
        raise MenuFileError([Problem(filename, 1, 1, f"YAML cannot read this: {exc}",
                                     "save the file as plain UTF-8 text")]) from None
    if len(nodes) != 1:
        line = nodes[1].start_mark.line + 1 if len(nodes) > 1 else 1
        raise MenuFileError([Problem(filename, line, 1,
                                     "the file must hold exactly one YAML document",
                                     "remove the extra '---' separator" if nodes else
                                     "the file is empty; start from the shipped menus.yaml")])
    return reader.convert(nodes[0]), reader.problems
