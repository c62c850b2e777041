"""The Store on SQLAlchemy Core: an embedded SQLite file, or PostgreSQL shared by several machines."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from ..model.phone import to_e164
from .base import (
    BUSY_TIMEOUT_SECONDS,
    DAY_SECONDS,
    KEEP_SENDS_SECONDS,
    WINDOW_SECONDS,
    Reservation,
    StoreError,
    StoreKeyMismatch,
    StoreSchemaBehind,
)
from .tables import events, meta, opt_outs, sending, texts
from .urls import is_sqlite

log = logging.getLogger("ivr")

# The newest migration in migrations/versions (a test checks it is Alembic's head), so starting the
# app reads one row instead of importing Alembic.
HEAD = "0010"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010")
# PostgreSQL: a slow or unreachable database must never hold a webhook long (Twilio waits 15 s).
CONNECT_TIMEOUT_SECONDS = 2
STATEMENT_TIMEOUT_MS = 2000
# Transaction-scoped advisory lock ids (any two fixed 64-bit numbers): one around deciding and
# recording a text, so workers on every machine take turns there, one around migrations.
TEXTS_LOCK = 0x1C0_7E47
MIGRATE_LOCK = 0x1C0_D8

T = TypeVar("T")


def make_engine(url: str) -> Engine:
    """An engine for `url` with the line's timeouts; on SQLite, transactions begin explicitly (BEGIN,
    or BEGIN IMMEDIATE when a connection asks with the execution option ivr_immediate)."""
    if is_sqlite(url):
        # timeout is SQLite's busy timeout: wait for another worker's write, not fail at once.
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _autocommit(dbapi_connection, record) -> None:
            # The driver's own implicit BEGIN is off: the "begin" hook below says which BEGIN.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            # IMMEDIATE takes the write lock before reading, so two workers cannot both read "not sent
            # yet" and both send: the second waits (busy timeout), then sees the first's row.
            immediate = connection.get_execution_options().get("ivr_immediate")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    options = (f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS} "
               f"-c idle_in_transaction_session_timeout={STATEMENT_TIMEOUT_MS * 5}")
    # pool_timeout: a worker waits at most this long for one of its pooled connections. A connection
    # the server dropped is thrown away on its first error, so the line recovers by itself.
    return create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": options},
                         pool_size=2, max_overflow=3, pool_timeout=CONNECT_TIMEOUT_SECONDS,
                         pool_recycle=300)


def describe(url: str | URL) -> str:
    """The database's address for messages, without its password."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True)


def current_revision(connection: Connection) -> str | None:
    """The schema revision Alembic recorded in the database, or None for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(url: str) -> tuple[str | None, str]:
    """Create or migrate the schema of the database at `url` to HEAD; returns (before, after).

    Migrations run in one transaction that also holds the database's write lock (SQLite) or an
    advisory lock (PostgreSQL), so two release steps or workers migrating at once take turns.
    """
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            _use_wal(engine)
        with engine.connect() as connection:
            connection.execution_options(ivr_immediate=True)
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # Migrations may take longer than a webhook's statement.
                    connection.execute(text("SET LOCAL statement_timeout = 0"))
                    connection.execute(text("SET LOCAL lock_timeout = 0"))
                    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
                before = current_revision(connection)
                if before != HEAD:
                    _run_migrations(connection)
                after = current_revision(connection)
        return before, after or HEAD
    except SQLAlchemyError as error:
        raise StoreError(f"cannot migrate the line's database {describe(url)}: {_short(error)}") from error
    finally:
        engine.dispose()


def _run_migrations(connection: Connection) -> None:
    # Alembic is imported only here: the app's start and its requests never need it.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _use_wal(engine: Engine) -> None:
    """Switch a SQLite file to WAL (kept in the file, so this changes anything only once): readers and
    one writer work at the same time across processes."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        raw = None
        try:
            raw = engine.raw_connection()
            (mode,) = raw.driver_connection.execute("PRAGMA journal_mode=WAL").fetchone()
            break
        except Exception as error:
            # Workers opening a new file together: switching it to WAL does not wait for the others as
            # other statements do (the busy timeout), it fails at once. So wait here.
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise StoreError(f"cannot open the line's database {describe(engine.url)}: {error}") \
                    from error
            time.sleep(random.uniform(0.005, 0.05))
        finally:
            if raw is not None:
                raw.close()
    if mode != "wal":
        log.warning("The line's database %s cannot use WAL (journal mode %s): is it on a network file "
                    "system? Workers will wait for each other more.", describe(engine.url), mode)


def _short(error: SQLAlchemyError) -> str:
    # The driver's message, without SQLAlchemy's statement and parameters appended.
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


class SqlStore:
    """The Store in any database SQLAlchemy reaches: SQLite (one machine) or PostgreSQL (several)."""

    def __init__(self, url: str, key: str | bytes, *, migrate: bool = False, lazy_check: bool = False):
        """Use the database at `url` (a SQLAlchemy URL); phone numbers are hashed with `key` (the line's
        number-hash key, settings.number_hash_key, derived for this use alone).

        migrate=True first creates or migrates the schema (for an embedded SQLite file, which no other
        machine shares); otherwise a schema behind this version raises StoreSchemaBehind. A database made
        with another key raises StoreKeyMismatch. With lazy_check, a database that cannot be reached
        now is checked on first use instead (the line starts and answers while it is down).
        """
        self.url = url
        self._key = key.encode() if isinstance(key, str) else key
        self._checked = False
        if migrate:
            upgrade(url)
        self._engine = make_engine(url)
        self._pid = os.getpid()
        self.dialect = self._engine.dialect.name
        try:
            self._run("open", lambda connection: None)
        except (StoreKeyMismatch, StoreSchemaBehind):
            raise
        except StoreError as error:
            if not lazy_check:
                raise
            log.error("The line's database is unreachable at start (%s): the line answers, and texts "
                      "and opt-outs wait for it.", error)
        finally:
            # Nothing opened here stays open: gunicorn (--preload) forks the workers from this
            # process, and each opens its own connections.
            self._engine.dispose()

    @property
    def where(self) -> str:
        """The database's address without its password, for messages."""
        return describe(self.url)

    def _engine_here(self) -> Engine:
        pid = os.getpid()
        if pid != self._pid:
            # A forked worker: the connections in the pool are its parent's. Forget them without closing
            # them (closing would end the parent's sessions), and open this process's own.
            self._engine.dispose(close=False)
            self._pid = pid
        return self._engine

    def _run(self, what: str, work: Callable[[Connection], T], immediate: bool = False) -> T:
        """`work` in one transaction, committed; any database error as StoreError."""
        try:
            with self._engine_here().connect() as connection:
                if immediate or not self._checked:
                    # The check may write the key's fingerprint: take SQLite's write lock first, as
                    # a read that turns into a write cannot wait for another writer.
                    connection.execution_options(ivr_immediate=True)
                with connection.begin():
                    if not self._checked:
                        self._check(connection)
                    return work(connection)
        except StoreError:
            raise
        except SQLAlchemyError as error:
            raise StoreError(f"cannot {what} the line's database {self.where}: {_short(error)}") from error

    def _check(self, connection: Connection) -> None:
        revision = current_revision(connection)
        if revision != HEAD:
            if revision is None:
                state = "is empty"
            elif revision in KNOWN_REVISIONS:
                state = f"is at schema revision {revision}"
            else:
                state = f"was migrated by a newer version of the line (revision {revision})"
            raise StoreSchemaBehind(
                f"the line's database {self.where} {state}; this version of the line needs revision "
                f"{HEAD}. Run `ivr db upgrade` with the same DATABASE_URL (on Heroku the Procfile's "
                "release step runs it on every deploy).")
        # With another key every stored hash stops matching: numbers that texted STOP would look
        # opted in, and the line would text them again. So the database keeps, from its first use, a
        # fingerprint of its key (an HMAC of a fixed label, which reveals nothing of the key), and
        # another key is refused.
        fingerprint = hmac.new(self._key, b"fingerprint", hashlib.sha256).hexdigest()[:16]
        connection.execute(self._insert(meta).values(name="key", value=fingerprint).on_conflict_do_nothing())
        stored = connection.execute(select(meta.c.value).where(meta.c.name == "key")).scalar_one()
        if stored != fingerprint:
            if self.dialect == "sqlite":
                aside = "move the file aside (with its -wal and -shm files) to start an empty list"
            else:
                aside = "empty the opt_outs table and delete the 'key' row of the meta table"
            raise StoreKeyMismatch(
                f"{self.where} was made with another IVR_SECRET_KEY (key fingerprint {stored}; this "
                f"key's is {fingerprint}). Its opt-out list cannot be read with this key: families "
                "who texted STOP would be texted again. Put back the IVR_SECRET_KEY the database was "
                f"made with. If that key is lost, {aside}; Twilio still refuses texts to numbers that "
                "texted STOP to this number (error 21610), and the line records each one again when "
                "Twilio says so.")
        self._checked = True

    def _insert(self, table):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def _hash(self, number: str) -> str:
        # The same number written two ways must hash the same; anything that is not a number
        # (a short code, "anonymous") is hashed as written.
        canonical = to_e164(number) or str(number).strip()
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()

    def opt_out(self, number: str) -> None:
        """Record that `number` texted STOP: the line never texts it again until it texts START."""
        # Do nothing on conflict: a second STOP keeps the date of the first.
        statement = self._insert(opt_outs).values(number_hash=self._hash(number), since=time.time())
        self._run("write", lambda c: c.execute(statement.on_conflict_do_nothing()))

    def opt_in(self, number: str) -> None:
        """Record that `number` texted START: it may be texted again."""
        statement = delete(opt_outs).where(opt_outs.c.number_hash == self._hash(number))
        self._run("write", lambda c: c.execute(statement))

    def is_opted_out(self, number: str) -> bool:
        """True when `number` texted STOP and has not texted START since."""
        statement = select(1).where(opt_outs.c.number_hash == self._hash(number))
        return self._run("read", lambda c: c.execute(statement).first() is not None)

    def reserve_text(self, caller: str, call_sid: str, node: str, now: float, per_hour: int,
                     per_day: int | None = None, line_per_hour: int | None = None,
                     line_per_day: int | None = None,
                     at_once: tuple[int, float] | None = None) -> Reservation:
        """Decide and record, atomically, whether the line may text `node`'s summary to `caller`.

        Returns "opted_out" (the caller texted STOP), "already_sent" (this node was already texted
        in this call), "too_many" (`per_hour` texts reached this caller in the 3600 s before `now`,
        or `per_day` in the 86400 s before it), "line_hour_full" or "line_day_full" (the whole
        line sent `line_per_hour` texts in the hour, or `line_per_day` in the day, to anyone),
        "line_busy" (`at_once` is (n, seconds): n sends started in the `seconds` before `now` are
        not finished yet) or "ok", checked in that order. A limit below 1 refuses every text; None is
        no limit. Only "ok" records a send; call finish_text when the send is over, and
        release_text too if it failed. `now` is time.time() (a parameter for tests).
        """
        caller_hash = self._hash(caller)
        # Which summary a family asked for is theirs: the call and node are kept only as a hash too.
        call_key = self._hash(f"{call_sid}/{node}")
        limits = (per_hour, per_day, line_per_hour, line_per_day)

        def reserve(connection: Connection) -> Reservation:
            if self.dialect == "postgresql":
                # Every worker on every machine decides one after the other (SQLite: BEGIN IMMEDIATE);
                # the lock ends with the transaction.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": TEXTS_LOCK})
            outcome = self._decide(connection, caller_hash, call_key, now, limits)
            if at_once is not None:
                # A send whose worker died never finishes: it stops counting after `seconds`.
                connection.execute(delete(sending).where(sending.c.started_at < now - at_once[1]))
                if outcome == "ok":
                    busy = connection.execute(select(func.count()).select_from(sending)).scalar_one()
                    if busy >= at_once[0]:
                        outcome = "line_busy"
            if outcome == "ok":
                connection.execute(texts.insert().values(call_sid=call_key, node="", caller_hash=caller_hash,
                                                         sent_at=now))
                if at_once is not None:
                    upsert = self._insert(sending).values(call_sid=call_key, node="", started_at=now)
                    connection.execute(upsert.on_conflict_do_update(
                        index_elements=[sending.c.call_sid, sending.c.node], set_={"started_at": now}))
            # Pruning here keeps the database small with no separate job to run.
            connection.execute(delete(texts).where(texts.c.sent_at < now - KEEP_SENDS_SECONDS))
            return outcome

        return self._run("record a text in", reserve, immediate=True)

    @staticmethod
    def _decide(connection: Connection, caller_hash: str, call_key: str, now: float,
                limits: tuple[int | None, int | None, int | None, int | None]) -> Reservation:
        per_hour, per_day, line_per_hour, line_per_day = limits
        if connection.execute(select(1).where(opt_outs.c.number_hash == caller_hash)).first():
            return "opted_out"
        if connection.execute(select(1).where(texts.c.call_sid == call_key, texts.c.node == "")).first():
            return "already_sent"

        def count(*where) -> int:
            return connection.execute(select(func.count()).select_from(texts).where(*where)).scalar_one()

        mine = texts.c.caller_hash == caller_hash
        # The caller's own limits first: a caller over them is not what filled the line.
        if count(mine, texts.c.sent_at > now - WINDOW_SECONDS) >= per_hour:
            return "too_many"
        if per_day is not None and count(mine, texts.c.sent_at > now - DAY_SECONDS) >= per_day:
            return "too_many"
        # The line's limits count every number together: a spoofer who gives each call another
        # caller ID gets past the per-caller limits, never past these.
        if line_per_hour is not None and count(texts.c.sent_at > now - WINDOW_SECONDS) >= line_per_hour:
            return "line_hour_full"
        if line_per_day is not None and count(texts.c.sent_at > now - DAY_SECONDS) >= line_per_day:
            return "line_day_full"
        return "ok"

    def finish_text(self, call_sid: str, node: str) -> None:
        """Record that the send reserved for `node` in `call_sid` is over, whatever its outcome."""
        statement = delete(sending).where(sending.c.call_sid == self._hash(f"{call_sid}/{node}"),
                                          sending.c.node == "")
        self._run("write", lambda c: c.execute(statement))

    def release_text(self, caller: str, call_sid: str, node: str) -> None:
        """Undo a reservation whose send then failed, so it does not use up the caller's allowance."""
        statement = delete(texts).where(texts.c.call_sid == self._hash(f"{call_sid}/{node}"),
                                        texts.c.node == "", texts.c.caller_hash == self._hash(caller))
        self._run("write", lambda c: c.execute(statement))

    def record_events(self, rows: list[dict]) -> None:
        """Write a batch of usage events (dicts of the events table's columns but id) in one transaction."""
        if rows:
            self._run("record usage events in", lambda c: c.execute(events.insert(), rows))

    def maintain_usage(self, retention_days: int, wait: bool = False) -> dict:
        """Roll closed days up into the daily totals and delete raw events older than `retention_days`
        (usage_report.maintain); without `wait`, returns {"busy": True} when another worker is at it."""
        from ..usage_report import maintain  # only the writer thread and the CLI need it

        try:
            return maintain(self._engine_here(), retention_days, wait=wait)
        except SQLAlchemyError as error:
            raise StoreError(f"cannot roll usage up in the line's database {self.where}: "
                             f"{_short(error)}") from error

    def close(self) -> None:
        """Close this process's connections (the store reopens them if used again)."""
        self._engine_here().dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SqliteStore(SqlStore):
    """The Store in one SQLite file: no server to install, safe for several processes on one machine.

    The file's schema is created or migrated on opening (no other machine shares it), so a broken
    path stops the app at start rather than on a caller's key press, and gunicorn's master (with
    --preload) prepares it before any worker.
    """

    def __init__(self, path: str | os.PathLike[str], key: str | bytes):
        self.path = Path(path)
        super().__init__(URL.create("sqlite", database=str(self.path)).render_as_string(), key, migrate=True)
