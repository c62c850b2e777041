"""The menu a running line serves: reloaded when menus.yaml changes, never replaced by a broken file."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .menufile.build import parse_menu_bytes, read_menu_file
from .menufile.yaml_strict import MenuFileError
from .model.menu import Menu
from .settings import StartupError

log = logging.getLogger("ivr")


@dataclass(frozen=True)
class MenuStatus:
    """What /healthz tells about the menu being served."""

    sha256: str
    loaded_at: str  # ISO 8601, UTC
    last_error: str | None  # the problems of the file on disk when it is not the one served


@dataclass(frozen=True)
class _Loaded:
    # Swapped as one object, so a request never sees one version's menu with another's hash.
    menu: Menu
    sha256: str
    loaded_at: str


class LiveMenu:
    """Serves the last good Menu loaded from `path`, looking for a change at most every `interval`
    seconds when asked (a stat call), so each worker process notices an edit on its next request.

    Every good version is also kept in a file of its own (`last_good`, see last_good_path): a worker
    started later (such as one gunicorn recycles, forked from a master that loaded the file at
    start-up) finds the newest good version there while the file staff are editing is broken.
    Without `last_good`, no copy is kept.
    """

    def __init__(self, path: Path, interval: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 on_load: Callable[[Menu], None] | None = None, last_good: Path | None = None):
        self.path = Path(path)
        self.interval = interval
        self.last_good = last_good
        self._clock = clock
        self._on_load = on_load or (lambda menu: None)
        self._lock = threading.Lock()
        self._signature = self._stat()
        # The first load must succeed: MenuFileError propagates and the line does not start.
        self._loaded = self._load(read_menu_file(self.path), str(self.path))
        self._last_error: str | None = None
        self._checked = clock()

    @property
    def menu(self) -> Menu:
        """The menu to answer this request with (read it once per request)."""
        if self._clock() - self._checked >= self.interval and self._lock.acquire(blocking=False):
            try:
                self._checked = self._clock()
                self._reload_if_changed()
            finally:
                self._lock.release()
        return self._loaded.menu

    def status(self) -> MenuStatus:
        """The served menu's content hash, when it was loaded, and why the file on disk is not served."""
        loaded = self._loaded
        return MenuStatus(loaded.sha256, loaded.loaded_at, self._last_error)

    def _reload_if_changed(self) -> None:
        signature = self._stat()
        if signature == self._signature:
            return
        self._signature = signature
        try:
            data = read_menu_file(self.path)
            if _sha256(data) != self._loaded.sha256:
                self._loaded = self._load(data, str(self.path))
            self._last_error = None  # a good file, or the served content put back
        except MenuFileError as exc:
            self._last_error = str(exc)
            log.error("menus.yaml changed but has %d problem(s); still serving the version loaded at "
                      "%s:\n%s", len(exc.problems), self._loaded.loaded_at, self._last_error)
            self._catch_up_with_last_good()

    def _catch_up_with_last_good(self) -> None:
        # Another worker may have served a newer good version than this one started with.
        if self.last_good is None:
            return
        try:
            data = self.last_good.read_bytes()
            if _sha256(data) != self._loaded.sha256:
                self._loaded = self._load(data, str(self.path), keep=False)
        except (OSError, MenuFileError):
            pass  # nothing newer to be had: keep what this worker has

    def _load(self, data: bytes, source: str, keep: bool = True) -> _Loaded:
        loaded = _Loaded(parse_menu_bytes(data, source), _sha256(data), _now())
        if keep and self.last_good is not None:
            self._keep(data)
        log.info("serving %s (sha256 %s)", self.path.name, loaded.sha256[:12])
        self._on_load(loaded.menu)
        return loaded

    def _keep(self, data: bytes) -> None:
        try:
            # Written whole and renamed into place, so no worker reads half a file.
            handle, temporary = tempfile.mkstemp(dir=self.last_good.parent, prefix=".ivr-")
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, self.last_good)
        except OSError as exc:
            log.warning("could not keep a copy of the good menu in %s: %s", self.last_good, exc)

    def _stat(self) -> tuple[int, int]:
        try:
            info = self.path.stat()
        except OSError:
            return (0, 0)
        return (info.st_mtime_ns, info.st_size)


def last_good_path(menu_file: Path, beside: Path) -> Path:
    """Where every worker keeps and finds the last good copy of `menu_file`: in the private folder
    `ivr-last-good` inside `beside` (created, or checked, here; see private_folder).

    Not the system's temporary folder: any local user can create a file there under a name known
    in advance, and a worker would serve it as the menu. The line's database folder is used instead:
    every worker of a deployment already shares it (SQLite keeps its -wal and -shm files there), it
    outlives worker restarts, and it belongs to the deployment, not to every user of the machine.
    """
    name = hashlib.sha256(str(Path(menu_file).resolve()).encode()).hexdigest()[:16]
    return private_folder(Path(beside) / "ivr-last-good") / f"menus-{name}.yaml"


def private_folder(folder: Path) -> Path:
    """`folder`, created with mode 0700 if needed; StartupError when it is not a real folder owned by
    this user that no one else can open (a folder made first by someone else could hold their file)."""
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()  # lstat: a symbolic link could point anywhere
    except OSError as exc:
        raise StartupError(f"Cannot make the folder for the last good copy of the menu, {folder}: "
                           f"{exc.strerror}. The line keeps it beside IVR_DATABASE; check that folder "
                           "can be written.") from None
    problem = None
    if not stat.S_ISDIR(info.st_mode):
        problem = "it is not a folder (a symbolic link or a file)"
    elif info.st_uid != os.geteuid():
        problem = f"it belongs to another user (uid {info.st_uid}, the line runs as {os.geteuid()})"
    elif stat.S_IMODE(info.st_mode) & 0o077:
        problem = (f"other users can open it (mode {stat.S_IMODE(info.st_mode):o}); "
                   f"if you made it, chmod 700 {folder}")
    if problem:
        raise StartupError(f"The folder for the last good copy of the menu, {folder}, is not private: "
                           f"{problem}. Remove it (the line makes its own), or point IVR_DATABASE at a "
                           "folder only the line's user can write.")
    return folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
