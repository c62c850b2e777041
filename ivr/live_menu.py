"""The menu a running line serves: reloaded when menus.yaml changes, never replaced by a broken file."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .menus import Menu, parse_menu_bytes, read_menu_file
from .yaml_strict import MenuFileError

log = logging.getLogger("ivr")


@dataclass(frozen=True)
class MenuStatus:
    """What /healthz tells about the menu being served."""

    sha256: str
    loaded_at: str  # ISO 8601, UTC
    last_error: str | None  # the last failed reload's problems, or None


class LiveMenu:
    """Serves the last good Menu loaded from `path`, looking for a change at most every `interval`
    seconds when asked (a stat call), so each worker process notices an edit on its next request."""

    def __init__(self, path: Path, interval: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 on_load: Callable[[Menu], None] | None = None):
        self.path = Path(path)
        self.interval = interval
        self._clock = clock
        self._on_load = on_load or (lambda menu: None)
        self._lock = threading.Lock()
        self._signature = self._stat()
        data = read_menu_file(self.path)
        # The first load must succeed: MenuFileError propagates and the line does not start.
        self._menu = parse_menu_bytes(data, str(self.path))
        self._sha256 = hashlib.sha256(data).hexdigest()
        self._loaded_at = _now()
        self._last_error: str | None = None
        self._checked = clock()
        self._on_load(self._menu)

    @property
    def menu(self) -> Menu:
        """The menu to answer this request with."""
        if self._clock() - self._checked >= self.interval and self._lock.acquire(blocking=False):
            try:
                self._checked = self._clock()
                self._reload_if_changed()
            finally:
                self._lock.release()
        return self._menu

    def status(self) -> MenuStatus:
        """The served menu's content hash, when it was loaded, and the last reload error."""
        return MenuStatus(self._sha256, self._loaded_at, self._last_error)

    def _reload_if_changed(self) -> None:
        try:
            signature = self._stat()
            if signature == self._signature:
                return
            self._signature = signature
            data = read_menu_file(self.path)
            sha256 = hashlib.sha256(data).hexdigest()
            if sha256 == self._sha256:
                return  # touched or rewritten with the same content
            menu = parse_menu_bytes(data, str(self.path))
        except MenuFileError as exc:
            self._last_error = str(exc)
            log.error("menus.yaml changed but has %d problem(s); still serving the version loaded at "
                      "%s:\n%s", len(exc.problems), self._loaded_at, self._last_error)
            return
        self._menu, self._sha256, self._loaded_at, self._last_error = menu, sha256, _now(), None
        log.info("menus.yaml reloaded (sha256 %s)", sha256[:12])
        self._on_load(menu)

    def _stat(self) -> tuple[int, int]:
        try:
            info = self.path.stat()
        except OSError:
            return (0, 0)
        return (info.st_mtime_ns, info.st_size)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
