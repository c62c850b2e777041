"""What a reviewer needs to sign off a draft: the plain-words diff against the served menu in every
language, and the walk of every path of every language (its problems block approval)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.menu import Menu
from ..model.problem import Problem
from .diff import describe_changes
from .script import Section, script_sections
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


def changed_script(old: Menu, new: Menu) -> list[tuple[Menu, list[Section]]]:
    """The clinician script of what changed: in each language of `new`, the sections (a node, the
    start of a call, the line's own phrases) that read differently from `old`'s."""
    found = []
    for one in (new, *new.translations.values()):
        before = old if one.language == old.language else old.translations.get(one.language)
        known = {section.key: section for section in script_sections(before)} if before else {}
        found.append((one, [s for s in script_sections(one) if known.get(s.key) != s]))
    return found
