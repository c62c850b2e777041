"""Reporting what is wrong in menus.yaml: every problem and warning, with its line, column and fix."""

from __future__ import annotations

import difflib

from .yaml_strict import Bool, Map, Null, Problem, Seq


def located(value, fallback=None) -> tuple[int, int]:
    """The line and column `value` (or else `fallback`) was written at; the top of the file if neither."""
    for candidate in (value, fallback):
        if hasattr(candidate, "line"):
            return candidate.line, candidate.col
    return 1, 1


def shown(value) -> str:
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


def closest(word: str, choices) -> str:
    """"did you mean '...'? " for the choice nearest `word`, or nothing when none is near."""
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'? " if match else ""




class Reporter:
    """Collects the problems and warnings of one menu file as they are found."""

    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.phone_names: tuple[str, ...] = ()
        self.positions: dict[str, tuple[int, int]] = {}

    def error(self, where, message: str, hint: str, fallback=None) -> None:
        line, col = located(where, fallback)
        self.problems.append(Problem(self.filename, line, col, message, hint))

    def warn(self, where, message: str, hint: str) -> None:
        line, col = located(where)
        self.warnings.append(Problem(self.filename, line, col, message, hint, "warning"))
