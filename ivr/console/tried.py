"""Which menu the browser phone and texting simulator run on: the live one, or a stored version
chosen by its number (a draft, or any other), with the words that name it and, when it cannot be
loaded, its problems."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import abort, make_response, render_template

from ..line import current_line
from ..menufile.yaml_strict import MenuFileError
from ..model.menu import Menu
from ..model.problem import Problem
from ..storage.versions import VersionInfo
from .menus import menu_of, versions

LISTED = 50  # the newest versions offered in the page's list (any other can be named by number)
_NUMBER = re.compile(r"[0-9]{1,9}")  # a version's number; longer would overflow PostgreSQL's integer


@dataclass(frozen=True)
class Tried:
    """A menu to try: `menu` None when the stored version cannot be loaded (see `problems`)."""

    label: str  # "Version 7 (draft, by eddie)", "The live menu (version 3)"
    menu: Menu | None
    version: int | None = None  # the chosen version's number; None for the live menu
    problems: tuple[Problem, ...] = ()

    @property
    def value(self) -> str:
        """The version field's value that chooses this menu again."""
        return "" if self.version is None else str(self.version)


def version_label(version: VersionInfo) -> str:
    """A stored version in a few words: its number, state and who made it."""
    if version.source == "console":
        who = "by " + (", ".join(version.author_names) or version.created_by)
    else:
        who = {"cli": "from the command line"}.get(version.source, "from the deployed file")
    return f"Version {version.id} ({version.state}, {who})"


def live() -> Tried:
    """The menu the line serves now."""
    line = current_line()
    menu = line.menu
    status = line.live_menu.status()
    named = f"version {status.version}" if status.version is not None else status.source
    return Tried(f"The live menu ({named})", menu)


def chosen(value: str | None) -> Tried:
    """The menu the form's `version` names: empty for the live menu, else a stored version's number.
    An unknown number ends the request with a 404 page."""
    value = (value or "").strip()
    if not value:
        return live()
    found = versions().get(int(value)) if _NUMBER.fullmatch(value) else None
    if found is None:
        abort(make_response(render_template(
            "console/error.html", title="No such menu version",
            message=f"There is no menu version {value[:20]} to try. Choose one from the list on the "
                    "browser phone or texting page."), 404))
    try:
        return Tried(version_label(found), menu_of(found), found.id)
    except MenuFileError as error:
        return Tried(version_label(found), None, found.id, tuple(error.problems))


def choices(tried: Tried) -> list[tuple[str, str]]:
    """The list's options (value, label): the live menu, then the newest versions, and the one
    being tried when it is older than those."""
    listed = versions().list(LISTED)
    options = [("", live().label if tried.version is not None else tried.label)]
    options += [(str(v.id), version_label(v)) for v in listed]
    if tried.version is not None and all(v.id != tried.version for v in listed):
        options.append((tried.value, tried.label))
    return options
