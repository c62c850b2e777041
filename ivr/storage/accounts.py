"""The staff console's accounts, sessions and audit log, on the line's own database (SQLite or
PostgreSQL), through the same engine and transactions as the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, func, select, update

from .base import StoreError
from .tables import audit, console_sessions, users

T = TypeVar("T")
# A runner: run(what, work, immediate) calls work(connection) in one committed transaction
# (SqlStore._run; `immediate` takes SQLite's write lock first).
Runner = Callable[..., T]


class AccountError(ValueError):
    """An account change that cannot be made (the message says why, for staff)."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    password_hash: str
    disabled: bool
    failed_count: int
    locked_until: float | None
    created: float
    password_changed: float


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    action: str
    subject: str
    detail: str
    id: int = 0


def normal_username(username: str) -> str:
    """Usernames are case-insensitive: kept and looked up lower-case, without surrounding spaces."""
    return username.strip().casefold()


def _user(row) -> User | None:
    return None if row is None else User(**row._mapping)


class Accounts:
    """Console accounts, sessions and the audit log. `run` is the store's transaction runner."""

    def __init__(self, run: Runner):
        self._run = run

    @classmethod
    def for_store(cls, store) -> Accounts:
        """Accounts on the same engine (and schema check) as the line's store."""
        return cls(store._run)

    # Accounts.

    def add_user(self, username: str, role: str, password_hash: str, now: float) -> User:
        name = normal_username(username)

        def add(connection: Connection) -> User:
            if connection.execute(select(users.c.id).where(users.c.username == name)).first():
                raise AccountError(f"there is already an account named {name!r}")
            connection.execute(users.insert().values(
                username=name, role=role, password_hash=password_hash, disabled=False,
                failed_count=0, locked_until=None, created=now, password_changed=now))
            return _user(connection.execute(select(users).where(users.c.username == name)).first())

        return self._run("add an account to", add, True)

    def find_user(self, username: str) -> User | None:
        name = normal_username(username)
        return self._run("read an account in", lambda c: _user(
            c.execute(select(users).where(users.c.username == name)).first()))

    def get_user(self, user_id: int) -> User | None:
        return self._run("read an account in", lambda c: _user(
            c.execute(select(users).where(users.c.id == user_id)).first()))

    def list_users(self) -> list[User]:
        return self._run("list the accounts in", lambda c: [
            _user(row) for row in c.execute(select(users).order_by(users.c.username))])

    def count_users(self) -> int:
        return self._run("count the accounts in", lambda c: c.execute(
            select(func.count()).select_from(users)).scalar_one())

    def _change(self, what: str, user_id: int, **values) -> None:
        self._run(what, lambda c: c.execute(
            update(users).where(users.c.id == user_id).values(**values)), True)

    def set_disabled(self, user_id: int, disabled: bool) -> None:
        """Disable (or enable) an account; disabling ends its sessions at once."""
        def change(connection: Connection) -> None:
            connection.execute(update(users).where(users.c.id == user_id).values(disabled=disabled))
            if disabled:
                _revoke_all(connection, user_id)

        self._run("change an account in", change, True)

    def set_password(self, user_id: int, password_hash: str, now: float) -> None:
        """A new password: the lock-out is cleared and every session of the account ends."""
        def change(connection: Connection) -> None:
            connection.execute(update(users).where(users.c.id == user_id).values(
                password_hash=password_hash, password_changed=now, failed_count=0, locked_until=None))
            _revoke_all(connection, user_id)

        self._run("change a password in", change, True)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """The same password, hashed again with newer parameters."""
        self._change("rehash a password in", user_id, password_hash=password_hash)

    def record_failure(self, user_id: int, now: float, lock_after: int, lock_seconds: float,
                       pauses: tuple[float, ...] = ()) -> bool:
        """Count a wrong password: after the n-th in a row no password is tried for pauses[n-1]
        seconds, and at `lock_after` in a row the account locks. True if it locked now."""
        def fail(connection: Connection) -> bool:
            count = connection.execute(select(users.c.failed_count).where(users.c.id == user_id)).scalar_one()
            count += 1
            locks = count >= lock_after
            pause = pauses[count - 1] if count <= len(pauses) else 0
            until = now + lock_seconds if locks else (now + pause if pause else None)
            connection.execute(update(users).where(users.c.id == user_id).values(
                failed_count=0 if locks else count,
                **({"locked_until": until} if until is not None else {})))
            return locks

        return self._run("count a failed sign-in in", fail, True)

    def clear_failures(self, user_id: int) -> None:
        self._change("reset the failed sign-ins in", user_id, failed_count=0, locked_until=None)

    # Sessions: only a hash of the session id is kept.

    def start_session(self, id_hash: str, user_id: int, now: float) -> None:
        self._run("start a session in", lambda c: c.execute(console_sessions.insert().values(
            id_hash=id_hash, user_id=user_id, created=now, last_seen=now, revoked=False)), True)

    def session(self, id_hash: str) -> tuple[float, float, bool, User] | None:
        """(created, last seen, revoked, user) of a session, or None."""
        def read(connection: Connection):
            row = connection.execute(
                select(console_sessions.c.created, console_sessions.c.last_seen,
                       console_sessions.c.revoked, console_sessions.c.user_id)
                .where(console_sessions.c.id_hash == id_hash)).first()
            if row is None:
                return None
            user = _user(connection.execute(select(users).where(users.c.id == row.user_id)).first())
            return row.created, row.last_seen, bool(row.revoked), user

        return self._run("read a session in", read)

    def touch_session(self, id_hash: str, now: float) -> None:
        self._run("update a session in", lambda c: c.execute(
            update(console_sessions).where(console_sessions.c.id_hash == id_hash)
            .values(last_seen=now)), True)

    def revoke_session(self, id_hash: str) -> None:
        self._run("end a session in", lambda c: c.execute(
            update(console_sessions).where(console_sessions.c.id_hash == id_hash).values(revoked=True)), True)

    def delete_sessions_before(self, before: float) -> None:
        """Forget sessions that ended long ago (their rows say nothing the audit log does not)."""
        self._run("forget old sessions in", lambda c: c.execute(
            console_sessions.delete().where(console_sessions.c.last_seen < before)), True)

    # The audit log.

    def log(self, at: float, actor: str, action: str, subject: str = "", detail: str = "") -> None:
        self._run("write the audit log in", lambda c: c.execute(audit.insert().values(
            at=at, actor=actor, action=action, subject=subject, detail=detail)), True)

    def audit_log(self, limit: int = 200, before: int | None = None) -> list[AuditEntry]:
        """The newest `limit` entries, or the newest older than the entry with id `before`."""
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit.c.id < before)
        return self._run("read the audit log in", lambda c: [
            AuditEntry(row.at, row.actor, row.action, row.subject, row.detail, row.id)
            for row in c.execute(query)])


def _revoke_all(connection: Connection, user_id: int) -> None:
    connection.execute(update(console_sessions).where(console_sessions.c.user_id == user_id)
                       .values(revoked=True))


def open_accounts(url: str) -> tuple[Accounts, Callable[[], None]]:
    """Accounts at `url` without the line's key (for `ivr users`): an SQLite file is created or
    migrated; PostgreSQL must be at the current schema (`ivr db upgrade`). Returns (accounts, close)."""
    from .sql import HEAD, _short, current_revision, describe, make_engine, upgrade
    from .urls import is_sqlite

    if is_sqlite(url):
        upgrade(url)
    engine = make_engine(url)

    def run(what: str, work, immediate: bool = False):
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with engine.connect() as connection:
                if immediate:
                    connection.execution_options(ivr_immediate=True)
                with connection.begin():
                    return work(connection)
        except SQLAlchemyError as error:
            raise StoreError(f"cannot {what} the line's database {describe(url)}: {_short(error)}") \
                from error

    revision = run("read", current_revision)
    if revision != HEAD:
        engine.dispose()
        raise StoreError(f"the line's database is at schema revision {revision or 'none'}, not {HEAD}: "
                         "run `ivr db upgrade` first")
    return Accounts(run), engine.dispose
