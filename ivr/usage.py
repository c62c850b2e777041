"""Usage events: recorded from the webhooks without a database round trip, and the report they make.

Each worker keeps its events in a buffer that a background thread writes in batches (every second,
or sooner when BATCH events wait), and on a graceful shutdown. The same thread, about once an hour,
rolls closed days up into the daily totals and deletes expired raw events (`ivr usage rollup`), so a
line with no scheduler stays bounded. A database error drops the batch: the
events are counted and logged, and no webhook ever fails for them. An event names a call or a text
only by a keyed hash of its SID; never a phone number, a text body or what a caller said.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import os
import random
import threading
import time
import weakref
from datetime import datetime, timezone

log = logging.getLogger("ivr")

# A busy line makes a few events a second per worker: a second's wait keeps a crash's loss small and
# costs one INSERT a second; 200 events is one multi-row INSERT of a few kilobytes, written early when
# a burst fills it so the buffer stays small. Nobody has needed to tune either: constants, not settings.
BATCH = 200  # events that wake the writer before its second is up
INTERVAL_SECONDS = 1.0
# The roll-up and retention: each worker at most this often (another worker's run makes it a cheap
# no-op), the first a few minutes after start so a cold start never waits on it.
MAINTAIN_SECONDS = 3600.0
FIRST_MAINTAIN_SECONDS = (60.0, 600.0)
RETENTION_DAYS = 400  # IVR_EVENTS_RETENTION_DAYS's default
EXTENSION = "ivr_usage"


class Recorder:
    """A per-process buffer of usage events and the thread that writes them to `store`."""

    def __init__(self, store, key: bytes, batch: int = BATCH, interval: float = INTERVAL_SECONDS,
                 retention_days: int = RETENTION_DAYS):
        self.store = store
        self.retention_days = retention_days
        self._key = key
        self.batch = batch
        self.interval = interval
        self.dropped = 0  # events lost to database errors, in this process
        self.written = 0
        self._reset()
        ref = weakref.ref(self)
        atexit.register(_flush_if_alive, ref)
        os.register_at_fork(after_in_child=lambda: _reset_if_alive(ref))

    def _reset(self) -> None:
        # In a forked child the parent's buffer, locks and thread are not this process's: start anew.
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._buffer: list[tuple] = []
        self._thread: threading.Thread | None = None
        self._next_maintain = time.monotonic() + random.uniform(*FIRST_MAINTAIN_SECONDS)

    def subject(self, sid: str) -> str:
        """The keyed hash that stands for a call or text SID."""
        return hmac.new(self._key, sid.encode(), hashlib.sha256).hexdigest()[:32]

    def record(self, kind: str, sid: str, node: str | None = None, language: str | None = None,
               outcome: str | None = None, value: int | None = None, at: float | None = None) -> None:
        """Buffer one event; never touches the database. The SID is hashed and the day worked out by
        the writer thread, off the request path (the SID itself is only ever in this memory)."""
        row = (time.time() if at is None else at, kind, sid, node, language, outcome, value)
        with self._lock:
            self._buffer.append(row)
            full = len(self._buffer) >= self.batch
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ivr-usage", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def _row(self, at: float, kind: str, sid: str, node, language, outcome, value) -> dict:
        return {"at": at, "day": datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d"),
                "kind": kind, "subject": self.subject(sid), "node": node, "language": language,
                "outcome": outcome, "value": value}

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()
            if time.monotonic() >= self._next_maintain:
                self._next_maintain = time.monotonic() + MAINTAIN_SECONDS
                self.maintain()

    def maintain(self) -> dict | None:
        """Roll closed days up and delete expired raw events, unless another worker is at it; a
        failure is logged and tried again next time. Runs on the writer thread, never on a request."""
        run = getattr(self.store, "maintain_usage", None)
        if run is None:
            return None
        try:
            done = run(self.retention_days)
        except Exception as error:  # the line goes on; the next hour tries again
            log.warning("usage: roll-up and retention failed, tried again in an hour: %s", error)
            return None
        if done["rolled"] or done["deleted"]:
            log.info("usage: %d day(s) rolled up, %d raw event(s) past %d days deleted",
                     len(done["rolled"]), done["deleted"], self.retention_days)
        return done

    def flush(self) -> None:
        """Write every buffered event now; on a database error, drop them and count them."""
        with self._flush_lock:
            with self._lock:
                rows, self._buffer = self._buffer, []
            if not rows:
                return
            try:
                self.store.record_events([self._row(*row) for row in rows])
                self.written += len(rows)
            except Exception as error:  # any failure: the events go, the line goes on
                self.dropped += len(rows)
                log.error("usage: %d event(s) dropped (%d in all in this worker): %s", len(rows),
                          self.dropped, error)


def _flush_if_alive(ref) -> None:
    recorder = ref()
    if recorder is not None:
        recorder.flush()


def _reset_if_alive(ref) -> None:
    recorder = ref()
    if recorder is not None:
        recorder._reset()
