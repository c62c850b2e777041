"""The menus the console shows and tries besides the served one: stored versions, parsed by the
line's own strict loader, kept per worker by content hash (a version's text never changes under
its hash)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app

from ..line import current_line
from ..menufile.build import parse_menu_bytes
from ..menufile.yaml_strict import MenuFileError
from ..model.menu import Menu
from ..storage.versions import MenuVersion, Versions

EXTENSION = "ivr_console_menus"
KEPT = 8  # parsed menus kept per worker: a menu is about a megabyte parsed


class _Parsed:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.menus: OrderedDict[str, Menu | MenuFileError] = OrderedDict()


def versions() -> Versions:
    """The line's menu versions, on the store's engine."""
    return Versions.for_store(current_line().store)


def source_name(number: int) -> str:
    """How problems in a stored version name their file (`menu version 7:12:3`)."""
    return f"menu version {number}"


def menu_of(version: MenuVersion) -> Menu:
    """The parsed menu of a stored version; MenuFileError (with line numbers) when it cannot load."""
    parsed = current_app.extensions.setdefault(EXTENSION, _Parsed())
    key = f"{version.id}:{version.sha256}"  # problems name the version's number
    with parsed.lock:
        found = parsed.menus.get(key)
        if found is not None:
            parsed.menus.move_to_end(key)
    if found is None:
        try:
            found = parse_menu_bytes(version.data, source_name(version.id))
        except MenuFileError as error:
            found = error
        with parsed.lock:
            parsed.menus[key] = found
            while len(parsed.menus) > KEPT:
                parsed.menus.popitem(last=False)
    if isinstance(found, MenuFileError):
        raise found
    return found
