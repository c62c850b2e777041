"""Storage: what the line keeps between requests (the opt-out list, texts sent and their limits), in an
embedded SQLite file or in PostgreSQL, behind one interface (base.Store)."""

from __future__ import annotations

from .base import Reservation, Store, StoreError, StoreKeyMismatch, StoreSchemaBehind
from .urls import DatabaseUrlError, database_url, is_sqlite


def open_store(url: str, key: bytes) -> Store:
    """The line's store at `url` (see urls.database_url). An embedded SQLite file is created or
    migrated here; PostgreSQL must be migrated with `ivr db upgrade` first (StoreSchemaBehind), and
    when it cannot be reached at start the line starts anyway and checks it on first use."""
    from .sql import SqliteStore, SqlStore

    if is_sqlite(url):
        from sqlalchemy.engine import make_url

        return SqliteStore(make_url(url).database or "", key)
    return SqlStore(url, key, lazy_check=True)


__all__ = ["DatabaseUrlError", "Reservation", "Store", "StoreError", "StoreKeyMismatch",
           "StoreSchemaBehind", "database_url", "is_sqlite", "open_store"]
