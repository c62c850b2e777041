"""A strict YAML reader for menus.yaml that keeps the line and column of every value."""

from __future__ import annotations

import re

import yaml

from ..model.problem import Problem


class MenuFileError(Exception):
    """The menu file cannot be used; `problems` lists every reason, each with file:line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col))
        super().__init__("\n".join(str(p) for p in self.problems))


class Str(str):
    """A string from the file, remembering where it was written (and any comment after it)."""

    line: int
    col: int
    comment: str = ""


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


# YAML 1.1 (what PyYAML speaks) reads these unquoted words as true/false. Staff mean the word.
_YAML11_BOOLEANS = {"yes", "no", "on", "off"}
# Whole numbers as staff write them (no "+": "+44..." is a phone number, kept as text).
_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})\Z")
_NULLS = {"", "~", "null"}
# Characters no voice can read and no phone can show. YAML also counts U+0085, U+2028 and U+2029 as
# line breaks where editors do not, which would put every later line number off by one.
# Zero-width spaces, joiners, soft hyphens and the like come with text pasted from word processors.
# U+FFFD is what every layer (the browser's form, werkzeug, a decoder told to "replace") puts where a
# byte was not UTF-8: the letter that was there is lost, and the voice would read the mark.
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u180e\u200b-\u200f\u2028-\u202e"
                       "\u2060-\u2064\ufeff\ud800-\udfff\ufffd-\uffff]")
_INVISIBLE_NAMES = {"\u200b": "a zero-width space", "\xad": "a soft hyphen", "\ufeff": "a zero-width space",
                    "\u2028": "a line separator", "\u2029": "a paragraph separator",
                    "\ufffd": "the mark of a letter lost from text that was not UTF-8"}


def invisible_described(char: str) -> str:
    """How to name an invisible character to someone who cannot see it."""
    return f"{_INVISIBLE_NAMES.get(char, 'an invisible character')} (U+{ord(char):04X})"
_SYMBOL_START = "text that starts with a symbol such as * & ! | > % @ ` { [ must be in double quotes"


def _place(value, node):
    value.line = node.start_mark.line + 1
    value.col = node.start_mark.column + 1
    return value


def _problem_at(filename: str, mark, message: str, hint: str) -> Problem:
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(filename, line, col, message, hint)


class _Reader:
    def __init__(self, filename: str, text: str):
        self.filename = filename
        self.lines = text.split("\n")
        self.problems: list[Problem] = []

    def problem(self, node, message: str, hint: str) -> None:
        self.problems.append(_problem_at(self.filename, node.start_mark, message, hint))

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
        found = INVISIBLE.search(text)
        if found:
            self.problem(node, f"this text holds {invisible_described(found.group())}",
                         "remove the backslash code (such as \\a or \\0) from the text")
            return _place(Str(INVISIBLE.sub("", text)), node)
        if node.style:  # quoted or block text: always a string, exactly as written (plain: None or "")
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
            value = _place(Bool(lowered == "true"), node)
        elif lowered in _NULLS:
            value = _place(Null(), node)
        elif _INT.match(text):
            value = _place(Int(int(text)), node)
        else:
            value = _place(Str(text), node)
        # A " #" ends plain text: what follows is a comment. Keep it, so a text field can warn.
        end = node.end_mark
        if end.line == node.start_mark.line and end.line < len(self.lines):
            rest = self.lines[end.line][end.column:].strip()
            if rest.startswith("#"):
                value.comment = rest
        return value

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
            if isinstance(value, Map):
                value.key = key  # a missing key inside is reported at its section's name
            result[key] = value
        return result


def _invisible_characters(text: str, filename: str) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.split("\n"), 1):
        for found in INVISIBLE.finditer(line):
            before = line[max(0, found.start() - 20):found.start()].lstrip()
            where = f" after '{before}'" if before.strip() else " at the start of the line"
            if found.group() == "\ufffd":
                problems.append(Problem(filename, number, found.start() + 1,
                                        f"{invisible_described(found.group())} stands{where}",
                                        "type the letter that was there again (it was lost when the text "
                                        "was saved or copied in an encoding other than UTF-8)"))
                continue
            problems.append(Problem(filename, number, found.start() + 1,
                                    f"{invisible_described(found.group())} is hidden{where}",
                                    "delete it (it often comes with text pasted from a word processor "
                                    "or an e-mail): put the cursor just after it and press Backspace"))
    return problems


# libyaml's parser when PyYAML was built with it (its wheels are): ten times faster than pure Python.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 20  # menus.yaml needs five levels; far deeper is a mistake or an attack


def _refused_constructs(events, filename: str) -> list[Problem]:
    # Refused before the document is built: aliases can nest into a file that never finishes loading,
    # and thousands of nested brackets would exhaust the stack.
    problems = []
    depth = 0
    for event in events:
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                problems.append(_problem_at(filename, event.start_mark, "lists or sections nest too deeply",
                                            "check for stray '[' or '{' and the indentation"))
                break
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if isinstance(event, yaml.AliasEvent):
            problems.append(_problem_at(filename, event.start_mark,
                                        f"'*{event.anchor}' is read by YAML as a reference", _SYMBOL_START))
        elif getattr(event, "anchor", None):
            problems.append(_problem_at(filename, event.start_mark,
                                        f"'&{event.anchor}' is read by YAML as an anchor", _SYMBOL_START))
        if getattr(event, "tag", None) is not None:
            problems.append(_problem_at(filename, event.start_mark,
                                        f"the tag {event.tag!r} is not allowed",
                                        "remove it; text that starts with ! must be in double quotes"))
    return problems


_QUOTED_VALUE = re.compile(r"""^\s*(?:-\s+|[^\s:#][^:#]*:\s+)(["'])(.*)$""")


def _unclosed_quote(lines: list[str]) -> int | None:
    """Index of the first line whose value opens a quote that the line does not close."""
    for index, line in enumerate(lines):
        found = _QUOTED_VALUE.match(line)
        if found and found.group(1) not in found.group(2).replace("\\" + found.group(1), ""):
            return index
    return None


def _unclosed_bracket(exc: yaml.MarkedYAMLError, lines: list[str], filename: str) -> Problem | None:
    """A '[' or '{' never closed: YAML stumbles on a later line, outside the list (at the next key, or
    the end), where nothing is wrong; the mistake is on the line that opens it."""
    context = exc.context or ""
    if not context.startswith(("while parsing a flow sequence", "while parsing a flow mapping")):
        return None
    opened, stumbled = exc.context_mark, exc.problem_mark
    if opened is None or stumbled is None or stumbled.line <= opened.line:
        return None
    later = lines[stumbled.line] if stumbled.line < len(lines) else ""
    if _indent(later) > _indent(lines[opened.line]):
        return None  # still inside a list written over several lines: the mistake is where it stumbled
    bracket, closing = ("[", "]") if "sequence" in context else ("{", "}")
    return _problem_at(filename, opened, f"a '{bracket}' opens here but never closes",
                       f"add the closing '{closing}' after the last item")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, filename: str) -> Problem:
    context, problem = exc.context or "", exc.problem or ""
    # For a missing ':' or an unclosed quote, the scanner notices only lines later; where it started
    # looking is where the mistake is.
    started = context.startswith(("while scanning a simple key", "while scanning a quoted scalar"))
    mark = (exc.context_mark if started else exc.problem_mark) or exc.context_mark or exc.problem_mark
    lines = text.split("\n")
    unclosed = _unclosed_quote(lines[: mark.line + 1] if mark else lines)
    if unclosed is not None and not started:
        # YAML read on past an unclosed quote and stumbled lines later.
        return Problem(filename, unclosed + 1, 1, "a quote opens on this line but never closes",
                       "add the closing quote at the end of the text")
    opened = _unclosed_bracket(exc, lines, filename)
    if opened is not None:
        return opened
    line = lines[mark.line] if mark and mark.line < len(lines) else ""
    if "\t" in line or "tab" in problem.lower():
        hint = "replace the tab characters with spaces"
    elif context.startswith("while scanning a simple key"):
        hint = "this line needs a colon and a space after its name, as in 'name: Spasticity Clinic'"
    elif context.startswith("while scanning a quoted scalar"):
        hint = "a quote opens here but never closes; add the closing quote"
    elif "mapping values are not allowed" in problem:
        hint = "put text that contains ': ' in double quotes, and check the indentation"
    elif "cannot start any token" in problem or "expected alphabetic or numeric" in problem:
        hint = _SYMBOL_START
    else:
        hint = "check the indentation (two spaces for each level) and the line above"
    return _problem_at(filename, mark, f"YAML cannot read this: {problem or context}", hint)


def read_yaml(text: str, filename: str):
    """Parse one YAML document into Map/Seq/Str/Int/Bool/Null values and a list of problems.

    Problems the reader can step over (a duplicate key, an unquoted yes) are returned so the caller
    can report them together with its own; a file that cannot be read at all raises MenuFileError.
    """
    invisible = _invisible_characters(text, filename)
    if invisible:
        raise MenuFileError(invisible)
    reader = _Reader(filename, text)
    try:
        refused = _refused_constructs(yaml.parse(text, Loader=_LOADER), filename)
        if refused:
            raise MenuFileError(refused)
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
        if len(nodes) == 1:
            return reader.convert(nodes[0]), reader.problems
    except yaml.MarkedYAMLError as exc:
        raise MenuFileError([_syntax_problem(exc, text, filename)]) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise MenuFileError([Problem(filename, 1, 1, f"YAML cannot read this file: {exc}",
                                     "start again from the shipped menus.yaml")]) from None
    if not nodes:
        raise MenuFileError([Problem(filename, 1, 1, "the file is empty",
                                     "start from the shipped menus.yaml")])
    end = nodes[0].end_mark.line
    extra = next((n for n, line in enumerate(text.split("\n")[end:], end + 1) if line.startswith("---")),
                 nodes[1].start_mark.line + 1)
    raise MenuFileError([Problem(filename, extra, 1, "the file must hold exactly one YAML document",
                                 "remove this '---' line and what follows it, or merge it above")])
