"""What the line keeps between requests, whatever database holds it: the interface and its errors."""

from __future__ import annotations

from typing import Literal, Protocol

from ..conversation.ports import StorageUnavailable

Reservation = Literal["ok", "already_sent", "too_many", "opted_out", "line_hour_full", "line_day_full",
                      "line_busy"]

WINDOW_SECONDS = 3600.0
DAY_SECONDS = 86400.0
# Send rows only serve the per-call, per-hour and per-day rules: a day is the longest window.
KEEP_SENDS_SECONDS = DAY_SECONDS
BUSY_TIMEOUT_SECONDS = 5.0


class StoreError(StorageUnavailable):
    """The store could not be read or written (locked too long, disk full, unreadable file...).

    Every backend raises this, never its driver's own errors, so callers handle one exception
    whichever database is behind the interface.
    """


class StoreKeyMismatch(StoreError):
    """The database was made with another key: its opt-out list cannot be read with this one."""


class StoreSchemaBehind(StoreError):
    """The database's schema is older than this version of the line: run `ivr db upgrade`."""


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
