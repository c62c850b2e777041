"""Every version of menus.yaml in the line's database (SQLite or PostgreSQL): add, read, list and
publish them, one published at a time, through the same engine and transactions as the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, select, text, update

from .accounts import Runner
from .tables import audit, menu_versions

SOURCES = ("deployed file", "cli", "console")
STATES = ("draft", "approved", "published", "retired")
# Transaction-scoped advisory lock (PostgreSQL) around adding and publishing versions, so two
# workers starting at once with the same new file record it once (SQLite: BEGIN IMMEDIATE).
VERSIONS_LOCK = 0x1C0_3E45
# Who made and published a version when it was not a console account (usernames have no brackets).
DEPLOYED_FILE_ACTOR = "(deployed file)"
CLI_ACTOR = "(cli)"
_SUMMARY = [c for c in menu_versions.c if c.name != "yaml"]
# Built once: every worker runs it every IVR_RELOAD_SECONDS, and building it costs more than running it.
_NEWEST_PUBLISHED = (select(menu_versions.c.id, menu_versions.c.sha256)
                     .where(menu_versions.c.state == "published")
                     .order_by(menu_versions.c.id.desc()).limit(1))
_FROM = {"deployed file": "from the deployed file", "cli": "from the command line",
         "console": "from the console"}


class VersionError(ValueError):
    """A version change that cannot be made (the message says why, for staff)."""


class StaleDraft(VersionError):
    """A save on a draft someone else saved since it was opened; `saved` is the draft as it is now."""

    def __init__(self, saved: MenuVersion):
        self.saved = saved
        super().__init__(f"{saved.created_by if not saved.author_names else saved.author_names[-1]} "
                         f"saved version {saved.id} after you opened it")


@dataclass(frozen=True)
class VersionInfo:
    """One version without its text (what `ivr versions` lists)."""

    id: int  # the version's number
    sha256: str
    created: float
    created_by: str
    source: str
    state: str
    approved_by: str | None
    approved_at: float | None
    published_at: float | None
    published_by: str | None
    note: str
    base_id: int | None
    authors: str  # everyone who saved it, comma-separated
    updated: float | None  # when it was last saved

    @property
    def author_names(self) -> tuple[str, ...]:
        return tuple(name for name in self.authors.split(",") if name)


@dataclass(frozen=True)
class MenuVersion(VersionInfo):
    """One version with its YAML text, exactly as it was written."""

    yaml: str

    @property
    def data(self) -> bytes:
        """The file's bytes (their sha256 is the version's)."""
        return self.yaml.encode("utf-8")


class Published(NamedTuple):
    """The number and hash of the version the line serves (the reload check's one row)."""

    id: int
    sha256: str


def sha256_of(data: bytes) -> str:
    """The hash a version is known by: of the file's bytes, as `sha256sum menus.yaml` prints it."""
    return hashlib.sha256(data).hexdigest()


def yaml_text(data: bytes) -> str:
    """The text kept for a file's bytes; VersionError unless it is UTF-8 (as the loader requires)."""
    try:
        return data.decode("utf-8")  # a byte-order mark is kept: the bytes, and so the hash, stay the same
    except UnicodeDecodeError:
        raise VersionError("the menu file is not UTF-8 text") from None


class Versions:
    """The history of menus.yaml. `run` is the store's transaction runner (see accounts.Runner)."""

    def __init__(self, run: Runner, dialect: str):
        self._run = run
        self._dialect = dialect

    @classmethod
    def for_store(cls, store) -> Versions:
        """Versions on the same engine (and schema check) as the line's store."""
        return cls(store._run, store.dialect)

    def _lock(self, connection: Connection) -> None:
        if self._dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": VERSIONS_LOCK})

    # Reading.

    def newest_published(self) -> Published | None:
        """The number and sha256 of the version the line should serve (one indexed row), or None."""
        def read(connection: Connection) -> Published | None:
            row = connection.execute(_NEWEST_PUBLISHED).first()
            return None if row is None else Published(row.id, row.sha256)

        return self._run("look for a published menu in", read)

    def served_before(self, number: int, limit: int = 5) -> list[Published]:
        """The `limit` versions other than `number` that were published, most recently published
        first: what a line that cannot load version `number` goes back to."""
        statement = (select(menu_versions.c.id, menu_versions.c.sha256)
                     .where(menu_versions.c.published_at.is_not(None), menu_versions.c.id != number)
                     .order_by(menu_versions.c.published_at.desc(), menu_versions.c.id.desc())
                     .limit(limit))
        return self._run("read the menu versions in", lambda c: [
            Published(row.id, row.sha256) for row in c.execute(statement)])

    def get(self, number: int) -> MenuVersion | None:
        """Version `number` with its text, or None."""
        return self._run("read a menu version in", lambda c: _version(
            c.execute(select(menu_versions).where(menu_versions.c.id == number)).first()))

    def list(self, limit: int | None = None) -> list[VersionInfo]:
        """Every version without its text, newest first (the `limit` newest)."""
        statement = select(*_SUMMARY).order_by(menu_versions.c.id.desc()).limit(limit)
        return self._run("list the menu versions in", lambda c: [
            VersionInfo(**row._mapping) for row in c.execute(statement)])

    def ever_published(self, sha256: str) -> VersionInfo | None:
        """The newest version with this content that was ever published (served now, or retired)."""
        statement = (select(*_SUMMARY).where(menu_versions.c.sha256 == sha256,
                                             menu_versions.c.published_at.is_not(None))
                     .order_by(menu_versions.c.id.desc()).limit(1))
        return self._run("read the menu versions in", lambda c: _info(c.execute(statement).first()))

    # Writing: each change is one transaction, under the versions lock.

    def add(self, data: bytes, *, source: str, by: str, now: float, note: str = "",
            base_id: int | None = None) -> MenuVersion:
        """Keep `data` as a new draft version made by `by`; returns it."""
        def add(connection: Connection) -> MenuVersion:
            self._lock(connection)
            return _add(connection, data, source, by, now, note, base_id, "draft")

        return self._run("add a menu version to", add, True)

    def publish(self, number: int, *, by: str, now: float) -> MenuVersion:
        """Make version `number` the one the line serves (the one served before is retired), and write
        it in the audit log as done by `by`. VersionError if there is no such version."""
        def publish(connection: Connection) -> MenuVersion:
            self._lock(connection)
            if connection.execute(select(menu_versions.c.id).where(menu_versions.c.id == number)).first() \
                    is None:
                raise VersionError(f"there is no menu version {number} (see `ivr versions`)")
            return _publish(connection, number, by, now)

        return self._run("publish a menu version in", publish, True)

    def publish_new(self, data: bytes, *, source: str, by: str, now: float, note: str = "",
                    only_if_new: bool = False) -> tuple[MenuVersion, bool]:
        """Add `data` as a version and publish it, in one transaction; returns (version, added).

        With only_if_new, content that was ever published before is not added again: returns
        (that version, False). Workers starting together with the same new file so add it once.
        """
        sha = sha256_of(data)

        def publish_new(connection: Connection) -> tuple[MenuVersion, bool]:
            self._lock(connection)
            if only_if_new:
                row = connection.execute(
                    select(menu_versions).where(menu_versions.c.sha256 == sha,
                                                menu_versions.c.published_at.is_not(None))
                    .order_by(menu_versions.c.id.desc()).limit(1)).first()
                if row is not None:
                    return _version(row), False
            added = _add(connection, data, source, by, now, note, None, "draft")
            return _publish(connection, added.id, by, now), True

        return self._run("publish a menu version in", publish_new, True)


class Drafts:
    """The console's way through the versions: drafts saved, approved by a clinician, published,
    and earlier versions brought back. Each change is one transaction under the versions lock, with
    its audit entry in the same transaction (who, when, the sha256)."""

    def __init__(self, versions: Versions):
        self.versions = versions

    def _change(self, what: str, change):
        def run(connection: Connection):
            self.versions._lock(connection)
            return change(connection)

        return self.versions._run(what, run, True)

    def start(self, data: bytes, *, by: str, now: float, base_id: int | None, note: str = "") -> MenuVersion:
        """A new draft (from the version `base_id`, or from nothing)."""
        def start(connection: Connection) -> MenuVersion:
            draft = _add(connection, data, "console", by, now, note, base_id, "draft")
            _audit(connection, now, by, "draft saved", draft.id,
                   f"sha256 {draft.sha256}, new, from version {base_id}" if base_id else
                   f"sha256 {draft.sha256}, new")
            return draft

        return self._change("save a draft in", start)

    def save(self, number: int, data: bytes, *, by: str, now: float, expected_sha256: str,
             note: str | None = None) -> MenuVersion:
        """Save `data` over draft `number`, which must still hold `expected_sha256` (what the editor
        opened): StaleDraft otherwise. A saved change undoes an approval."""
        def save(connection: Connection) -> MenuVersion:
            draft = _row(connection, number)
            if draft.state not in ("draft", "approved"):
                raise VersionError(f"version {number} is {draft.state}: it cannot change. Start a new "
                                   "draft from it instead.")
            if draft.sha256 != expected_sha256:
                raise StaleDraft(draft)
            sha = sha256_of(data)
            if sha == draft.sha256 and (note is None or note == draft.note):
                return draft
            authors = draft.author_names if by in draft.author_names else (*draft.author_names, by)
            yaml = yaml_text(data)
            if "\x00" in yaml:
                raise VersionError("the menu file holds a NUL character")
            connection.execute(update(menu_versions).where(menu_versions.c.id == number).values(
                yaml=yaml, sha256=sha, updated=now, authors=",".join(authors), state="draft",
                approved_by=None, approved_at=None, **({"note": note} if note is not None else {})))
            detail = f"sha256 {sha}"
            if draft.state == "approved" and sha != draft.sha256:
                detail += f", changed after {draft.approved_by}'s approval, which no longer holds"
            _audit(connection, now, by, "draft saved", number, detail)
            return _row(connection, number)

        return self._change("save a draft in", save)

    def approve(self, number: int, *, sha256: str, by: str, now: float,
                own_allowed: bool = False) -> MenuVersion:
        """A clinician's sign-off on exactly the draft with `sha256` (what they reviewed). The caller
        has checked the role, that the draft loads and that the walk passes."""
        def approve(connection: Connection) -> MenuVersion:
            draft = _row(connection, number)
            if draft.state != "draft":
                raise VersionError(f"version {number} is {draft.state}, not a draft waiting for approval")
            if draft.sha256 != sha256:
                raise VersionError(f"version {number} changed after you reviewed it: review it again")
            if by in draft.author_names and not own_allowed:
                raise VersionError("a draft is approved by a clinician who did not write any of it")
            connection.execute(update(menu_versions).where(menu_versions.c.id == number).values(
                state="approved", approved_by=by, approved_at=now))
            _audit(connection, now, by, "menu approved", number,
                   f"sha256 {sha256}" + (", by one of its authors (IVR_SELF_APPROVAL)" if by in
                                         draft.author_names else ""))
            return _row(connection, number)

        return self._change("approve a draft in", approve)

    def publish(self, number: int, *, sha256: str, by: str, now: float) -> MenuVersion:
        """Serve approved version `number`, which must still hold `sha256`."""
        def publish(connection: Connection) -> MenuVersion:
            version = _row(connection, number)
            if version.state != "approved":
                raise VersionError(f"version {number} is {version.state}: only an approved version can "
                                   "be published")
            if version.sha256 != sha256:
                raise VersionError(f"version {number} is not the one you were shown: look again")
            return _publish(connection, number, by, now)

        return self._change("publish a menu version in", publish)

    def roll_back(self, number: int, *, by: str, now: float, why: str) -> MenuVersion:
        """Serve an earlier published version again (it was approved, or deployed, when first served)."""
        def roll_back(connection: Connection) -> MenuVersion:
            version = _row(connection, number)
            if version.state == "published":
                raise VersionError(f"version {number} is the one being served")
            if version.published_at is None:
                raise VersionError(f"version {number} was never published: approve and publish it instead")
            return _publish(connection, number, by, now, "menu rolled back", why)

        return self._change("bring back a menu version in", roll_back)

    def exported(self, number: int, sha256: str, *, by: str, now: float) -> None:
        """Note in the audit log that `by` downloaded version `number`."""
        self._change("write the audit log in", lambda connection: _audit(
            connection, now, by, "menu exported", number, f"sha256 {sha256}"))


def _add(connection: Connection, data: bytes, source: str, by: str, now: float, note: str,
         base_id: int | None, state: str) -> MenuVersion:
    if source not in SOURCES:
        raise VersionError(f"a version comes from one of {', '.join(SOURCES)}, not {source!r}")
    yaml = yaml_text(data)
    if "\x00" in yaml:  # PostgreSQL's text cannot hold it, and no menu needs it
        raise VersionError("the menu file holds a NUL character")
    result = connection.execute(menu_versions.insert().values(
        yaml=yaml, sha256=sha256_of(data), created=now, created_by=by, source=source, state=state,
        note=note, base_id=base_id, authors=by, updated=now).returning(menu_versions.c.id))
    number = result.scalar_one()
    return _version(connection.execute(select(menu_versions).where(menu_versions.c.id == number)).first())


def _publish(connection: Connection, number: int, by: str, now: float, action: str = "menu published",
             why: str = "") -> MenuVersion:
    # Retire first: the unique index allows one published row at a time.
    connection.execute(update(menu_versions).where(menu_versions.c.state == "published",
                                                   menu_versions.c.id != number)
                       .values(state="retired"))
    connection.execute(update(menu_versions).where(menu_versions.c.id == number)
                       .values(state="published", published_at=now, published_by=by))
    version = _version(connection.execute(select(menu_versions).where(menu_versions.c.id == number)).first())
    detail = f"sha256 {version.sha256}, {_FROM[version.source]}"
    if why or version.note:
        detail += f": {why or version.note}"
    _audit(connection, now, by, action, number, detail)
    return version


def _audit(connection: Connection, now: float, by: str, action: str, number: int, detail: str) -> None:
    connection.execute(audit.insert().values(at=now, actor=by, action=action,
                                             subject=f"version {number}", detail=detail[:500]))


def _row(connection: Connection, number: int) -> MenuVersion:
    version = _version(connection.execute(select(menu_versions).where(menu_versions.c.id == number)).first())
    if version is None:
        raise VersionError(f"there is no menu version {number}")
    return version


def _version(row) -> MenuVersion | None:
    return None if row is None else MenuVersion(**row._mapping)


def _info(row) -> VersionInfo | None:
    return None if row is None else VersionInfo(**row._mapping)


def open_versions(url: str):
    """Versions at `url` without the line's key (for the `ivr` command): an SQLite file is created or
    migrated; PostgreSQL must be at the current schema (`ivr db upgrade`). Returns (versions, close)."""
    from .accounts import open_accounts
    from .urls import is_sqlite

    accounts, close = open_accounts(url)
    return Versions(accounts._run, "sqlite" if is_sqlite(url) else "postgresql"), close
