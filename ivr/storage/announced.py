"""When staff were last told of waiting callback requests: one row of the meta table, so every worker
and machine sharing the database keeps to one announcement per window."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, delete, select, update

from .accounts import Runner
from .tables import meta

# The meta row's name; its value is the time (seconds since the epoch, as text) of the last claim.
ROW = "callbacks_announced_at"


class AnnouncementWindow:
    """At most one announcement every `seconds`: claim() says whether this one may go."""

    def __init__(self, run: Runner, insert: Callable, seconds: float):
        self._run = run
        self._insert = insert
        self.seconds = float(seconds)

    @classmethod
    def for_store(cls, store, seconds: float) -> AnnouncementWindow:
        """The window kept in the line's store (its engine, schema check and dialect's insert)."""
        return cls(store._run, store._insert, seconds)

    def claim(self, now: float) -> bool:
        """True, and the window starts at `now`, when the last claim is at least `seconds` old (or
        there is none); False otherwise. Two workers claiming at once: one of them gets it."""

        def work(connection: Connection) -> bool:
            connection.execute(self._insert(meta).values(name=ROW, value="").on_conflict_do_nothing())
            # The row now exists, so locking it (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds
            # the write lock) makes the read and the write below one step for every worker.
            last = connection.execute(select(meta.c.value).where(meta.c.name == ROW)
                                      .with_for_update()).scalar_one()
            if last and now - float(last) < self.seconds:
                return False
            connection.execute(update(meta).where(meta.c.name == ROW).values(value=repr(float(now))))
            return True

        return self._run("write", work, immediate=True)

    def release(self, now: float) -> None:
        """Give back the claim made at `now` (the announcement could not be sent), so the next new
        request tries again instead of waiting out the window; a later claim is left alone."""
        self._run("write", lambda c: c.execute(delete(meta).where(meta.c.name == ROW,
                                                                  meta.c.value == repr(float(now)))),
                  immediate=True)
