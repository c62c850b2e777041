"""Each worker's heartbeat: its own row in the workers table (who it is, the menu it serves), written by
a background thread when the worker starts serving and then once a minute, never on a request.

The thread starts with the worker's first request (Heartbeat.start, a flag check with no database),
not when the app is built: granian (like gunicorn --preload) builds the app once in a master that
forks the workers and serves nothing itself, and a thread running in that master would be listed as
a worker and could hold a lock at the moment of the fork. A forked worker takes a new random id.
A database that cannot be written skips the beat: it is counted, one warning is logged per outage,
and no request ever waits for it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Callable

from .logs import redact
from .storage.workers import Worker, Workers

log = logging.getLogger("ivr")

# One UPSERT a minute per worker is nothing to the database, and a minute is as soon as staff need to
# see a new version everywhere (each worker notices an edited file within IVR_RELOAD_SECONDS anyway).
INTERVAL_SECONDS = 60.0
# A worker that missed two beats has probably stopped (recycled, crashed, or its machine is gone).
STALE_SECONDS = 3 * INTERVAL_SECONDS
# Rows of workers not seen for a day are deleted by the next beat of any worker.
FORGET_SECONDS = 86400.0
EXTENSION = "ivr_heartbeat"


class Heartbeat:
    """This process's row in the workers table, and the thread that keeps it fresh."""

    def __init__(self, workers: Workers, live_menu, interval: float = INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.time):
        self.workers = workers
        self.live_menu = live_menu
        self.interval = interval
        self._clock = clock
        self._renew()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _renew_if_alive(ref))

    def _renew(self) -> None:
        # A new worker: its own id, pid and start time. In a forked child the parent's thread and
        # lock are not this process's, and its id would make two workers one row.
        self.id = secrets.token_hex(8)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started = self._clock()
        self.beats = 0  # rows written by this worker
        self.missed = 0  # beats skipped because the database could not be written
        self._failing = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the heartbeat thread unless it runs: called before every request, so it costs one
        attribute test, and never touches the database."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=_beat_forever, args=(weakref.ref(self),),
                                                name="ivr-heartbeat", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop the thread (tests, and a worker shutting down on purpose); its row stays until stale."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def row(self) -> Worker:
        """This worker as its row would be written now."""
        live = self.live_menu
        status = live.status()
        error = status.last_error or ""
        if error:  # the same as /healthz shows: the file's name, not where the line is installed
            error = redact(error.replace(str(live.path), live.path.name))
        return Worker(self.id, self.host, self.pid, self.started, self._clock(), status.sha256,
                      status.loaded_at, error)

    def beat(self) -> bool:
        """Write this worker's row now and delete those not seen for a day; False when the database
        could not be written (counted in `missed`; one warning per outage)."""
        try:
            # What the worker serves as of its last request: reading live_menu.menu here would reload
            # an edited file from this thread, logging its problems while no request is being served.
            row = self.row()
            self.workers.beat(row, forget_before=row.seen - FORGET_SECONDS)
        except Exception as error:  # the line goes on: the next beat tries again
            with self._lock:  # the thread and a direct call may fail at once: one warning between them
                first, self._failing = not self._failing, True
            if first:
                log.warning("heartbeat: this worker cannot record itself in the line's database, "
                            "tried again every %d s (calls and texts go on): %s", self.interval, error)
            # Counted after the warning, so whoever sees the count go up can already read why.
            self.missed += 1
            return False
        if self._failing:
            self._failing = False
            log.info("heartbeat: this worker is recorded again, after %d missed beat(s) in all",
                     self.missed)
        self.beats += 1
        return True


def _beat_forever(ref: weakref.ref) -> None:
    # Holds the Heartbeat only while beating, so an app that is thrown away (tests make many) ends
    # its thread at the next wake instead of being kept alive by it.
    while True:
        heartbeat = ref()
        if heartbeat is None or heartbeat._stop.is_set():
            return
        heartbeat.beat()
        stop, interval = heartbeat._stop, heartbeat.interval
        del heartbeat
        if stop.wait(interval):
            return


def _renew_if_alive(ref: weakref.ref) -> None:
    heartbeat = ref()
    if heartbeat is not None:
        heartbeat._renew()
