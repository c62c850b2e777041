"""The line's persistent state, shared by every worker process: the SMS opt-out list and texts sent."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import random
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Literal, Protocol

from .phone import to_e164

log = logging.getLogger("ivr")

Reservation = Literal["ok", "already_sent", "too_many", "opted_out", "line_hour_full", "line_day_full",
                      "line_busy"]

WINDOW_SECONDS = 3600.0
DAY_SECONDS = 86400.0
# Send rows only serve the per-call, per-hour and per-day rules: a day is the longest window.
KEEP_SENDS_SECONDS = DAY_SECONDS
BUSY_TIMEOUT_SECONDS = 5.0


class StoreError(Exception):
    """The store could not be read or written (locked too long, disk full, unreadable file...).

    Every backend raises this, never its driver's own errors, so callers handle one exception
    whichever database is behind the interface.
    """


class StoreKeyMismatch(StoreError):
    """The database was made with another key: its opt-out list cannot be read with this one."""


class Store(Protocol):
    """What the line keeps between requests; every method may raise StoreError."""

    def opt_out(self, number: str) -> None:
        """Record that `number` texted STOP: the line never texts it again until it texts START."""

    def opt_in(self, number: str) -> None:
        """Record that `number` texted START: it may be texted again."""

    def is_opted_out(self, number: str) -> bool:
        """True when `number` texted STOP and has not texted START since."""

    def reserve_text(self, caller: str, call_sid: str, node: str, now: float, per_hour: int,
                     per_day: int | None = None, line_per_hour: int | None = None,
                     line_per_day: int | None = None,
                     at_once: tuple[int, float] | None = None) -> Reservation:
        """Decide and record, atomically, whether the line may text `node`'s summary to `caller`."""

    def finish_text(self, call_sid: str, node: str) -> None:
        """Record that the send reserved for `node` in `call_sid` is over, whatever its outcome."""

    def release_text(self, caller: str, call_sid: str, node: str) -> None:
        """Undo a reservation whose send then failed, so it does not use up the caller's allowance."""

    def close(self) -> None:
        """Release the store's connections."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS opt_outs (
    number_hash TEXT PRIMARY KEY,
    since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS texts (
    call_sid TEXT NOT NULL,
    node TEXT NOT NULL,
    caller_hash TEXT NOT NULL,
    sent_at REAL NOT NULL,
    PRIMARY KEY (call_sid, node)
);
CREATE INDEX IF NOT EXISTS texts_by_caller ON texts (caller_hash, sent_at);
CREATE INDEX IF NOT EXISTS texts_by_age ON texts (sent_at);
CREATE TABLE IF NOT EXISTS sending (
    call_sid TEXT NOT NULL,
    node TEXT NOT NULL,
    started_at REAL NOT NULL,
    PRIMARY KEY (call_sid, node)
);
"""

class SqliteStore:
    """The Store in one SQLite file: no server to install, safe for several processes on one machine."""

    def __init__(self, path: str | os.PathLike[str], key: str | bytes):
        """Open (creating if needed) the database at `path`; phone numbers are hashed with `key`
        (the line's number-hash key, settings.number_hash_key, derived for this use alone).

        The schema is created here, once, so a broken path stops the app at start rather than on a
        caller's key press, and so gunicorn's master (with --preload) creates it before any worker.
        A file made with another key raises StoreKeyMismatch.
        """
        self.path = Path(path)
        self._key = key.encode() if isinstance(key, str) else key
        self._local = threading.local()
        self._lock = threading.Lock()
        # Every connection opened, with the process that opened it. A connection inherited across fork()
        # (gunicorn --preload forks workers from the master) must not be used in the child, and closing it
        # there could drop locks the parent holds: the child opens its own and only keeps this reference.
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        try:
            self._create()
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the line's database {self.path}: {error}") from error

    def _create(self) -> None:
        """Switch the file to WAL and create the tables, if that is not done yet."""
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                with closing(self._open()) as db:
                    # WAL lets readers and one writer work at the same time across processes. The mode is
                    # kept in the file, so this only changes anything on the file's first opening.
                    (mode,) = db.execute("PRAGMA journal_mode=WAL").fetchone()
                    db.executescript(_SCHEMA)
                    self._check_key(db)
                break
            except sqlite3.OperationalError as error:
                # Workers opening a new file together: switching it to WAL does not wait for the others
                # as other statements do (the busy timeout), it fails at once. So wait here.
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))
        if mode != "wal":
            log.warning("The line's database %s cannot use WAL (journal mode %s): is it on a network "
                        "file system? Workers will wait for each other more.", self.path, mode)

    def _check_key(self, connection: sqlite3.Connection) -> None:
        # With another key every stored hash stops matching: numbers that texted STOP would look
        # opted in, and the line would text them again. So the file keeps, from its first use, a
        # fingerprint of its key (an HMAC of a fixed label, which reveals nothing of the key), and
        # another key is refused.
        fingerprint = hmac.new(self._key, b"fingerprint", hashlib.sha256).hexdigest()[:16]
        connection.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('key', ?)", (fingerprint,))
        (stored,) = connection.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()
        if stored != fingerprint:
            raise StoreKeyMismatch(
                f"{self.path} was made with another IVR_SECRET_KEY (key fingerprint {stored}; this "
                f"key's is {fingerprint}). Its opt-out list cannot be read with this key: families "
                "who texted STOP would be texted again. Put back the IVR_SECRET_KEY the file was made "
                "with. If that key is lost, move the file aside (with its -wal and -shm files) to "
                "start an empty list; Twilio still refuses texts to numbers that texted STOP to this "
                "number (error 21610), and the line records each one again when Twilio says so.")

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (a sqlite3 connection is not for sharing)."""
        pid, connection = getattr(self._local, "pid_connection", (None, None))
        if connection is not None and pid == os.getpid():
            return connection
        connection = self._open()
        self._local.pid_connection = (os.getpid(), connection)
        with self._lock:
            self._connections.append((os.getpid(), connection))
        return connection

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: statements commit on their own, and transactions are begun explicitly
        # (BEGIN IMMEDIATE), never implicitly. check_same_thread=False only so close() can close every
        # thread's connection; each connection is still used by its own thread alone.
        # timeout is SQLite's busy timeout: wait up to 5 s for another worker's write, not fail at once.
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                               check_same_thread=False)

    def _hash(self, number: str) -> str:
        # The same number written two ways must hash the same; anything that is not a number
        # (a short code, "anonymous") is hashed as written.
        canonical = to_e164(number) or str(number).strip()
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()

    def _write(self, sql: str, params: tuple) -> None:
        try:
            self._connection().execute(sql, params)
        except sqlite3.Error as error:
            raise StoreError(f"cannot write the line's database: {error}") from error

    def opt_out(self, number: str) -> None:
        """Record that `number` texted STOP: the line never texts it again until it texts START."""
        # OR IGNORE: a second STOP keeps the date of the first.
        self._write("INSERT OR IGNORE INTO opt_outs (number_hash, since) VALUES (?, ?)",
                    (self._hash(number), time.time()))

    def opt_in(self, number: str) -> None:
        """Record that `number` texted START: it may be texted again."""
        self._write("DELETE FROM opt_outs WHERE number_hash = ?", (self._hash(number),))

    def is_opted_out(self, number: str) -> bool:
        """True when `number` texted STOP and has not texted START since."""
        try:
            row = self._connection().execute("SELECT 1 FROM opt_outs WHERE number_hash = ?",
                                             (self._hash(number),)).fetchone()
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the line's database: {error}") from error
        return row is not None

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
        call_sid, node = self._hash(f"{call_sid}/{node}"), ""
        try:
            connection = self._connection()
            # IMMEDIATE takes the write lock before reading, so two workers cannot both read
            # "not sent yet" and both send: the second waits (busy timeout), then sees the first's row.
            connection.execute("BEGIN IMMEDIATE")
            try:
                outcome = self._decide(connection, caller_hash, call_sid, node, now,
                                       (per_hour, per_day, line_per_hour, line_per_day))
                if at_once is not None:
                    # A send whose worker died never finishes: it stops counting after `seconds`.
                    connection.execute("DELETE FROM sending WHERE started_at < ?", (now - at_once[1],))
                    if outcome == "ok":
                        (busy,) = connection.execute("SELECT COUNT(*) FROM sending").fetchone()
                        if busy >= at_once[0]:
                            outcome = "line_busy"
                if outcome == "ok":
                    connection.execute(
                        "INSERT INTO texts (call_sid, node, caller_hash, sent_at) VALUES (?, ?, ?, ?)",
                        (call_sid, node, caller_hash, now))
                    if at_once is not None:
                        connection.execute("INSERT OR REPLACE INTO sending (call_sid, node, started_at) "
                                           "VALUES (?, ?, ?)", (call_sid, node, now))
                # Pruning here keeps the file small with no separate job to run.
                connection.execute("DELETE FROM texts WHERE sent_at < ?", (now - KEEP_SENDS_SECONDS,))
                connection.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back (a full disk, say); a second ROLLBACK would
                # hide the real error.
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise StoreError(f"cannot record a text in the line's database: {error}") from error
        return outcome

    @staticmethod
    def _decide(connection: sqlite3.Connection, caller_hash: str, call_sid: str, node: str, now: float,
                limits: tuple[int | None, int | None, int | None, int | None]) -> Reservation:
        per_hour, per_day, line_per_hour, line_per_day = limits
        if connection.execute("SELECT 1 FROM opt_outs WHERE number_hash = ?", (caller_hash,)).fetchone():
            return "opted_out"
        if connection.execute("SELECT 1 FROM texts WHERE call_sid = ? AND node = ?",
                              (call_sid, node)).fetchone():
            return "already_sent"

        def count(where: str, params: tuple) -> int:
            return connection.execute(f"SELECT COUNT(*) FROM texts WHERE {where}", params).fetchone()[0]

        # The caller's own limits first: a caller over them is not what filled the line.
        if count("caller_hash = ? AND sent_at > ?", (caller_hash, now - WINDOW_SECONDS)) >= per_hour:
            return "too_many"
        if per_day is not None and \
                count("caller_hash = ? AND sent_at > ?", (caller_hash, now - DAY_SECONDS)) >= per_day:
            return "too_many"
        # The line's limits count every number together: a spoofer who gives each call another
        # caller ID gets past the per-caller limits, never past these.
        if line_per_hour is not None and count("sent_at > ?", (now - WINDOW_SECONDS,)) >= line_per_hour:
            return "line_hour_full"
        if line_per_day is not None and count("sent_at > ?", (now - DAY_SECONDS,)) >= line_per_day:
            return "line_day_full"
        return "ok"

    def finish_text(self, call_sid: str, node: str) -> None:
        """Record that the send reserved for `node` in `call_sid` is over, whatever its outcome."""
        self._write("DELETE FROM sending WHERE call_sid = ? AND node = ?",
                    (self._hash(f"{call_sid}/{node}"), ""))

    def release_text(self, caller: str, call_sid: str, node: str) -> None:
        """Undo a reservation whose send then failed, so it does not use up the caller's allowance."""
        self._write("DELETE FROM texts WHERE call_sid = ? AND node = ? AND caller_hash = ?",
                    (self._hash(f"{call_sid}/{node}"), "", self._hash(caller)))

    def close(self) -> None:
        """Close every connection this process opened through this store (it reopens if used again)."""
        pid = os.getpid()
        with self._lock:
            mine = [connection for owner, connection in self._connections if owner == pid]
            # Connections a parent process opened are never touched here (see __init__).
            self._connections = [entry for entry in self._connections if entry[0] != pid]
        for connection in mine:
            connection.close()
        self._local = threading.local()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
