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


class Kept:
    """A few computed things per worker, newest used kept, for what is costly and never changes for
    its key (a version's parsed menu; its review against one live menu)."""

    def __init__(self, size: int = KEPT) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.found: OrderedDict[object, object] = OrderedDict()

    def get(self, key, compute):
        with self.lock:
            if key in self.found:
                self.found.move_to_end(key)
                return self.found[key]
        value = compute()  # outside the lock: two requests may both compute it, never block each other
        with self.lock:
            self.found[key] = value
            while len(self.found) > self.size:
                self.found.popitem(last=False)
        return value


def kept(name: str) -> Kept:
    """This worker's Kept called `name`."""
    return current_app.extensions.setdefault(EXTENSION, {}).setdefault(name, Kept())


def versions() -> Versions:
    """The line's menu versions, on the store's engine."""
    return Versions.for_store(current_line().store)


def source_name(number: int) -> str:
    """How problems in a stored version name their file (`menu version 7:12:3`)."""
    return f"menu version {number}"


def menu_of(version: MenuVersion) -> Menu:
    """The parsed menu of a stored version; MenuFileError (with line numbers) when it cannot load."""
    def parse() -> Menu | MenuFileError:
        try:
            return parse_menu_bytes(version.data, source_name(version.id))
        except MenuFileError as error:
            return error

    found = kept("menus").get((version.id, version.sha256), parse)  # problems name the number
    if isinstance(found, MenuFileError):
        raise found
    return found
