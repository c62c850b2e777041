"""The workers serving the line, each keeping its own row (the menu it serves, when it was last seen),
on the line's own database (SQLite or PostgreSQL), through the same engine and transactions as the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

from sqlalchemy import Connection, delete, func, select

from .tables import workers

T = TypeVar("T")
# A runner: run(what, work, immediate) calls work(connection) in one committed transaction
# (SqlStore._run; `immediate` takes SQLite's write lock first).
Runner = Callable[..., T]


@dataclass(frozen=True)
class Worker:
    """One worker's row: who it is (a random id, host, process id), when it started and was last seen
    (time.time()), and the menu it serves (sha256, loaded at, the problems of the file on disk)."""

    id: str
    host: str
    pid: int
    started: float
    seen: float
    menu_sha256: str
    menu_loaded: str
    menu_error: str = ""


class Workers:
    """The workers table. `run` is the store's transaction runner."""

    def __init__(self, run: Runner):
        self._run = run

    @classmethod
    def for_store(cls, store) -> Workers:
        """Workers on the same engine (and schema check) as the line's store."""
        return cls(store._run)

    def beat(self, worker: Worker, forget_before: float | None = None) -> None:
        """Write `worker`'s row (inserted or replaced) and, in the same transaction, delete the rows of
        workers not seen since `forget_before` (a worker that stopped never deletes its own)."""
        values = asdict(worker)

        def write(connection: Connection) -> None:
            if connection.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            statement = insert(workers).values(**values)
            connection.execute(statement.on_conflict_do_update(
                index_elements=[workers.c.id], set_={k: v for k, v in values.items() if k != "id"}))
            if forget_before is not None:
                connection.execute(delete(workers).where(workers.c.seen < forget_before))

        self._run("record this worker in", write, True)

    def seen_since(self, since: float) -> list[Worker]:
        """Every worker seen at `since` or later, the most recently seen first."""
        return self._run("list the workers in", lambda c: [
            Worker(**row._mapping) for row in c.execute(
                select(workers).where(workers.c.seen >= since)
                .order_by(workers.c.seen.desc(), workers.c.host, workers.c.pid))])

    def count_before(self, before: float) -> int:
        """How many workers were last seen before `before` (kept until they are a day old)."""
        return self._run("count the workers in", lambda c: c.execute(
            select(func.count()).select_from(workers).where(workers.c.seen < before)).scalar_one())
