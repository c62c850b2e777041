"""Usage events: recorded from the webhooks without a database round trip, and the report they make.

Each worker keeps its events in a buffer that a background thread writes in batches (every second,
or sooner when BATCH events wait), and on a graceful shutdown. A database error drops the batch: the
events are counted and logged, and no webhook ever fails for them. An event names a call or a text
only by a keyed hash of its SID; never a phone number, a text body or what a caller said.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import os
import threading
import time
import weakref
from datetime import datetime, timezone

log = logging.getLogger("ivr")

BATCH = 200  # events that wake the writer before its second is up
INTERVAL_SECONDS = 1.0
EXTENSION = "ivr_usage"


class Recorder:
    """A per-process buffer of usage events and the thread that writes them to `store`."""

    def __init__(self, store, key: bytes, batch: int = BATCH, interval: float = INTERVAL_SECONDS):
        self.store = store
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
