"""The menu a running line serves: the newest published version (or menus.yaml), switched to between
requests, never replaced by one that cannot be loaded."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from .menufile.build import parse_menu_bytes, read_menu_file
from .menufile.yaml_strict import MenuFileError
from .model.menu import Menu
from .settings import StartupError
from .storage.base import StoreError
from .storage.versions import DEPLOYED_FILE_ACTOR, Published, Versions

log = logging.getLogger("ivr")


@dataclass(frozen=True)
class MenuStatus:
    """What /healthz tells about the menu being served."""

    sha256: str
    loaded_at: str  # ISO 8601, UTC
    last_error: str | None  # the problems of the file on disk, or of a published version, not served
    version: int | None = None  # the served version's number (None: not known to the database yet)
    source: str = ""  # where the served menu was read from: "menu version 7", or the file's name
    file_sha256: str | None = None  # the hash of the good file last read from disk (None: broken)
    check_error: str | None = None  # why the database could not be asked for the published version


@dataclass(frozen=True)
class _Loaded:
    # Swapped as one object, so a request never sees one version's menu with another's hash.
    menu: Menu
    sha256: str
    loaded_at: str
    version: int | None = None
    source: str = ""
    wall: float = 0.0  # time.time() when loaded, to compare with the last good copy's date


class LiveMenu:
    """Serves the last good Menu, looking for a change at most every `interval` seconds when asked, so
    each worker process notices it on its next request.

    With `versions` (the line's database), the menu served is the newest published version there: the
    check is one indexed query. The file at `path` is the deployed menu: at start, and whenever it
    changes on disk, good content never published before is published as a new version "from the
    deployed file" (the deploy is IT's approval path). A version that cannot be loaded here, and a
    broken file, are reported (status().last_error) while the last good menu is served; a database
    that cannot be reached is reported too (status().check_error), and asked again after a pause.

    Without `versions`, the file itself is served, reloaded when its date or size changes (a stat).

    Every good version is also kept in a file of its own (`last_good`, see last_good_path): a worker
    started later (such as one granian recycles, forked from a master that loaded the menu at
    start-up) finds the newest good version there while the file staff are editing is broken, or
    the database is down. Without `last_good`, no copy is kept.
    """

    def __init__(self, path: Path, interval: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 on_load: Callable[[Menu], None] | None = None, last_good: Path | None = None,
                 versions: Versions | None = None):
        self.path = Path(path)
        self.interval = interval
        self.last_good = last_good
        self.versions = versions
        # After a failed look at the database, wait longer before the next one: a database that is
        # down may take its connect timeout to say so, and a caller's request would wait for it.
        self.retry_after_failure = min(interval * 5, 30.0)
        self._clock = clock
        self._on_load = on_load or (lambda menu: None)
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._file_error: str | None = None
        self._version_error: str | None = None
        self._check_error: str | None = None
        self._failed: Published | None = None  # the published version that could not be loaded here
        self._retry_at = 0.0
        # The first load must succeed: MenuFileError propagates and the line does not start.
        data = read_menu_file(self.path)
        menu = parse_menu_bytes(data, str(self.path))
        self._file_sha: str | None = _sha256(data)
        self._pending: tuple[bytes, Menu] | None = None  # a good file not yet recorded as a version
        self._loaded = _Loaded(menu, self._file_sha, _now(), None, self.path.name, time.time())
        if versions is not None:
            self._pending = (data, menu)
            self._sync(starting=True)
        if self._loaded.menu is menu:  # the file is served (the database has it, or cannot be asked)
            self._announce(data, self._loaded)
        self._checked = clock()

    @property
    def menu(self) -> Menu:
        """The menu to answer this request with (read it once per request)."""
        if self._clock() - self._checked >= self.interval and self._lock.acquire(blocking=False):
            try:
                self._checked = self._clock()
                self._reload_if_changed()
                if self.versions is not None:
                    self._sync()
            finally:
                self._lock.release()
        return self._loaded.menu

    def status(self) -> MenuStatus:
        """The served menu's content hash, number and load time, and why anything newer is not served."""
        loaded = self._loaded
        errors = [e for e in (self._version_error, self._file_error) if e]
        return MenuStatus(loaded.sha256, loaded.loaded_at, "\n".join(errors) or None, loaded.version,
                          loaded.source, self._file_sha, self._check_error)

    def _reload_if_changed(self) -> None:
        signature = self._stat()
        if signature == self._signature:
            return
        self._signature = signature
        try:
            data = read_menu_file(self.path)
            sha = _sha256(data)
            if sha == self._loaded.sha256:
                self._pending = None  # the served content put back: nothing to record
            else:
                if self.versions is None:
                    self._loaded = self._load(data, str(self.path))
                else:  # published by _sync (checked here, so a broken file is never recorded)
                    self._pending = (data, parse_menu_bytes(data, str(self.path)))
            self._file_sha = sha
            self._file_error = None  # a good file, or the served content put back
        except MenuFileError as exc:
            self._file_sha = None
            self._pending = None  # a good text the file held for a moment is not what it says now
            self._file_error = str(exc)
            log.error("menus.yaml changed but has %d problem(s); still serving the version loaded at "
                      "%s:\n%s", len(exc.problems), self._loaded.loaded_at, self._file_error)
            if self.versions is None:
                self._catch_up_with_last_good()

    def _sync(self, starting: bool = False) -> None:
        """Record a new deployed file, then serve the newest published version if it is not served."""
        now = self._clock()
        if now < self._retry_at:
            return
        try:
            if self._pending is not None:
                self._record_file(*self._pending, starting)
            newest = self.versions.newest_published()
            # With a version that failed here, a rollback to the one served clears the error.
            if newest is not None and (newest.id != self._loaded.version or self._failed is not None):
                self._serve(newest)
        except StoreError as exc:
            if self._check_error is None:
                log.error("cannot ask the database for the published menu (%s); still serving %s, and "
                          "asking again in %g s", exc, self._loaded.source, self.retry_after_failure)
            self._check_error = str(exc)
            self._retry_at = now + self.retry_after_failure
            if not starting:
                self._catch_up_with_last_good(newer_only=True)
            return
        except Exception as exc:  # a call is never failed by looking for a new menu
            log.exception("looking for a published menu failed; still serving %s", self._loaded.source)
            self._pending = None  # a file the database refused is not tried again until it changes
            self._check_error = f"{type(exc).__name__}: {exc}"
            self._retry_at = now + self.retry_after_failure
            return
        if self._check_error is not None:
            log.info("the database answers again; serving %s", self._loaded.source)
        self._check_error = None

    def _record_file(self, data: bytes, menu: Menu, starting: bool) -> None:
        version, added = self.versions.publish_new(data, source="deployed file", by=DEPLOYED_FILE_ACTOR,
                                                   now=time.time(), only_if_new=True)
        self._pending = None
        if added:
            log.info("%s published as menu version %d (from the deployed file)", self.path.name, version.id)
        elif version.state != "published":
            # Usual once versions are published from elsewhere; said so that no one wonders why.
            log.info("%s is the text of menu version %d (%s), published before: it is not published "
                     "again (`ivr publish %s` would)", self.path.name, version.id, version.state,
                     self.path.name)
        if version.state == "published" and version.sha256 == _sha256(data) \
                and self._loaded.sha256 != version.sha256:
            # This worker read and checked the file itself: serve that Menu, not a second parse.
            self._loaded = _Loaded(menu, version.sha256, _now(), version.id, f"menu version {version.id}",
                                   time.time())
            if not starting:  # at start, __init__ announces the file's menu once
                self._announce(data, self._loaded)

    def _serve(self, newest: Published) -> None:
        loaded = self._loaded
        if newest.sha256 == loaded.sha256:
            # The same content, under its number (the file served at start, or a last good copy).
            self._loaded = replace(loaded, version=newest.id, source=f"menu version {newest.id}")
            self._version_error, self._failed = None, None
            return
        if newest == self._failed:
            return  # already tried: it cannot be loaded here (until another version is published)
        version = self.versions.get(newest.id)
        if version is None:
            return  # removed meanwhile
        try:
            self._loaded = self._load(version.data, f"menu version {version.id}", version=version.id)
            self._version_error, self._failed = None, None
        except MenuFileError as exc:
            self._fall_back(newest)  # before _failed is set: a database error there is tried again
            self._failed = newest
            self._version_error = (f"menu version {newest.id} is published but cannot be loaded here; "
                                   f"still serving {self._loaded.source}:\n{exc}")
            log.error("%s", self._version_error)

    def _fall_back(self, failed: Published) -> None:
        """Serve the version published most recently before `failed` that loads here. A worker that
        had no request while that one was published would otherwise go on with an older one, which
        staff had replaced, while the other workers serve the right one."""
        for earlier in self.versions.served_before(failed.id):
            if earlier.sha256 == self._loaded.sha256:  # served already (perhaps under another number)
                self._loaded = replace(self._loaded, version=earlier.id, source=f"menu version {earlier.id}")
                return
            version = self.versions.get(earlier.id)
            if version is None:
                continue
            try:
                self._loaded = self._load(version.data, f"menu version {version.id}", version=version.id)
                return
            except MenuFileError:
                continue  # published by a newer line too: look further back

    def _catch_up_with_last_good(self, newer_only: bool = False) -> None:
        # Another worker may have served a newer good version than this one started with.
        if self.last_good is None:
            return
        try:
            if newer_only and self.last_good.stat().st_mtime <= self._loaded.wall:
                return
            data = self.last_good.read_bytes()
            if _sha256(data) != self._loaded.sha256:
                self._loaded = self._load(data, str(self.path), keep=False)
        except (OSError, MenuFileError):
            pass  # nothing newer to be had: keep what this worker has

    def _load(self, data: bytes, source: str, keep: bool = True, version: int | None = None) -> _Loaded:
        name = source if version is not None else self.path.name
        loaded = _Loaded(parse_menu_bytes(data, source), _sha256(data), _now(), version, name, time.time())
        self._announce(data, loaded, keep)
        return loaded

    def _announce(self, data: bytes, loaded: _Loaded, keep: bool = True) -> None:
        if keep and self.last_good is not None:
            self._keep(data)
        log.info("serving %s (sha256 %s)", loaded.source, loaded.sha256[:12])
        self._on_load(loaded.menu)

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
