"""What a reviewer needs to sign off a draft: the plain-words diff against the served menu in every
language, and the walk of every path of every language (its problems block approval)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.menu import Menu
from ..model.problem import Problem
from .diff import describe_changes
from .walk import walk


@dataclass(frozen=True)
class LanguageChanges:
    """The diff for one language: its code, and the plain-words text (or why there is none)."""

    language: str
    text: str
    new_language: bool = False


@dataclass(frozen=True)
class WalkResult:
    """The walk of one language: how much it covered and what it found."""

    language: str
    states: int
    steps: int
    problems: tuple[Problem, ...]


def changes(old: Menu, new: Menu) -> list[LanguageChanges]:
    """What changes for callers and texters from `old` to `new`, the main language first."""
    found = [LanguageChanges(new.language, describe_changes(old, new))]
    for language, translated in new.translations.items():
        if language in old.translations:
            found.append(LanguageChanges(language, describe_changes(old.translations[language], translated)))
        else:
            found.append(LanguageChanges(language, "A new language: every sentence in it is new; read "
                                                   "its whole script.", new_language=True))
    for language in old.translations:
        if language not in new.translations:
            found.append(LanguageChanges(language, "This language is removed: callers and texters who "
                                                   "used it get the main language."))
    return found


def walk_all(menu: Menu) -> list[WalkResult]:
    """The walk of every language of `menu`."""
    results = []
    for one in (menu, *menu.translations.values()):
        report = walk(one)
        results.append(WalkResult(one.language, report.states, report.steps, tuple(report.problems)))
    return results


def walk_blocks(results: list[WalkResult]) -> bool:
    """Whether the walk found anything, which must be fixed before a clinician may approve."""
    return any(result.problems for result in results)
