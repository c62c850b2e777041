"""The line's store, kept importable here: see ivr/storage/ (the interface in base.py, SQL in sql.py)."""

from .storage.base import (
    BUSY_TIMEOUT_SECONDS,
    DAY_SECONDS,
    KEEP_SENDS_SECONDS,
    WINDOW_SECONDS,
    Reservation,
    Store,
    StoreError,
    StoreKeyMismatch,
    StoreSchemaBehind,
)
from .storage.sql import SqliteStore, SqlStore

__all__ = ["BUSY_TIMEOUT_SECONDS", "DAY_SECONDS", "KEEP_SENDS_SECONDS", "WINDOW_SECONDS", "Reservation",
           "SqlStore", "SqliteStore", "Store", "StoreError", "StoreKeyMismatch", "StoreSchemaBehind"]
