"""Callback requests in the line's database: the family's number encrypted (Fernet, IVR_CALLBACK_KEYS)
and as the store's keyed hash, one open request per number, staff status, rotation and the purge."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, func, or_, select, text, update

from ..conversation.ports import CallbacksFull
from ..model.phone import to_e164
from .accounts import Runner
from .base import DAY_SECONDS
from .tables import callbacks

log = logging.getLogger("ivr")

REASONS = ("closed", "busy", "no_answer", "failed", "retries", "text")
OPEN_STATES = ("new", "in_progress")
CLOSED_STATES = ("done", "unreachable")
STATES = OPEN_STATES + CLOSED_STATES
# Transaction-scoped advisory lock (PostgreSQL) around finding and writing a number's open request,
# so two calls from one number at once make one request (SQLite: BEGIN IMMEDIATE).
CALLBACKS_LOCK = 0x1C0_CA11
_SUMMARY = [c for c in callbacks.c if c.name != "number_encrypted"]


class CallbackError(ValueError):
    """A change to a callback request that cannot be made (the message says why, naming only its id)."""


class CallbackTakenError(CallbackError):
    """Another staff member has the request in progress: `taken_by` names them."""

    def __init__(self, message: str, taken_by: str):
        super().__init__(message)
        self.taken_by = taken_by


class CallbackKeyError(CallbackError):
    """A request's number cannot be decrypted with any key in IVR_CALLBACK_KEYS (or none is set)."""


@dataclass(frozen=True)
class CallbackRequest:
    """One callback request. `number` is the number in clear from get(), None from the lists."""

    id: int
    number_hash: str
    number_verified: bool
    language: str
    reason: str
    topics: tuple[str, ...]
    recording_sid: str | None
    created: float
    updated: float
    status: str
    taken_by: str | None
    note: str
    closed_at: float | None
    asked: float | None = None  # the family's latest ask that may replace the message
    number: str | None = None

    @property
    def open(self) -> bool:
        """True while staff have not closed it (new or in progress)."""
        return self.status in OPEN_STATES


def _request(row, number: str | None = None) -> CallbackRequest:
    values = {c.name: row._mapping[c.name] for c in _SUMMARY}
    values["topics"] = tuple(t for t in values["topics"].split(",") if t)
    values["number_verified"] = bool(values["number_verified"])
    return CallbackRequest(**values, number=number)


def _over_caps(connection: Connection, now: float, per_hour: int, per_day: int) -> str | None:
    """The period ("hour" or "day") whose cap the requests created before `now` have reached, or None."""
    for period, seconds, cap in (("hour", 3600.0, per_hour), ("day", float(DAY_SECONDS), per_day)):
        made = connection.execute(select(func.count()).select_from(callbacks)
                                  .where(callbacks.c.created > now - seconds)).scalar_one()
        if made >= cap:
            return period
    return None


def _topics(topics: Iterable[str]) -> list[str]:
    names = [str(t) for t in topics]
    if any("," in t or not t for t in names):
        raise CallbackError("a topic is a node id, without commas")
    return names


class Callbacks:
    """Callback requests. `run` is the store's transaction runner, `hash` its keyed number hash, `keys`
    the Fernet keys of IVR_CALLBACK_KEYS (the first encrypts); the purge needs no key."""

    def __init__(self, run: Runner, hash: Callable[[str], str], keys: Sequence[str] = ()):  # noqa: A002
        self._run = run
        self._hash = hash
        self._keys = tuple(keys)
        self._fernet = None

    @classmethod
    def for_store(cls, store, keys: Sequence[str] = ()) -> Callbacks:
        """Callback requests on the line's store (its engine, schema check and number hash)."""
        return cls(store._run, store._hash, keys)

    def _crypto(self):
        if not self._keys:
            raise CallbackKeyError("IVR_CALLBACK_KEYS is not set: callback requests are off")
        if self._fernet is None:
            # Imported here: a line without callback requests never loads cryptography.
            from cryptography.fernet import Fernet, MultiFernet

            self._fernet = MultiFernet([Fernet(key.encode()) for key in self._keys])
        return self._fernet

    def _decrypt(self, request_id: int, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._crypto().decrypt(token.encode()).decode()
        except InvalidToken:
            raise CallbackKeyError(
                f"callback request {request_id}: its number was encrypted with a key that is no longer "
                "in IVR_CALLBACK_KEYS; put that key back (after the first) to read it") from None

    def _lock(self, connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CALLBACKS_LOCK})

    def request(self, number: str, verified: bool, language: str, reason: str, topics: Iterable[str],
                now: float, caps: tuple[int, int] | None = None) -> tuple[int, bool]:
        """Record that `number` asked to be called back; returns (id, created_new). A number with an
        open request gets no second one: that request takes the new reason, language and topics
        (added to its own) and is updated now, except that an ask not `verified` (a keyed number,
        which anyone can key) only adds its topics to a verified request. With `caps` (per hour, per
        day), CallbacksFull when a new request would be one more than the line has taken in the hour
        or day before `now`."""
        if reason not in REASONS:
            raise CallbackError(f"a callback request's reason is one of {', '.join(REASONS)}")
        if not language:
            raise CallbackError("a callback request needs the caller's language")
        topics = _topics(topics)
        number_hash = self._hash(number)
        # Kept as E.164 when it is a phone number, so staff always see and dial one form.
        canonical = to_e164(number) or str(number).strip()
        token = self._crypto().encrypt(canonical.encode()).decode()

        def write(connection: Connection) -> tuple[int, bool]:
            self._lock(connection)
            row = connection.execute(select(callbacks.c.id, callbacks.c.topics, callbacks.c.number_verified)
                                     .where(callbacks.c.number_hash == number_hash,
                                            callbacks.c.status.in_(OPEN_STATES))).first()
            # Counted under the same lock as the insert: requests arriving together never pass the caps.
            if row is None and caps is not None and (period := _over_caps(connection, now, *caps)):
                raise CallbacksFull(period)
            if row is None:
                inserted = connection.execute(callbacks.insert().values(
                    number_hash=number_hash, number_encrypted=token, number_verified=bool(verified),
                    language=language, reason=reason, topics=",".join(dict.fromkeys(topics)),
                    created=now, updated=now, asked=now, status="new", note=""))
                return inserted.inserted_primary_key[0], True
            merged = dict.fromkeys([t for t in row.topics.split(",") if t] + topics)
            changes = {"reason": reason, "language": language}
            if verified:  # only a verified ask may replace the message: its recording is the newest
                changes["asked"] = now
            elif row.number_verified:
                # A stranger keying the family's number never changes what the family asked.
                changes = {}
            connection.execute(update(callbacks).where(callbacks.c.id == row.id).values(
                topics=",".join(merged), updated=now, **changes,
                # Once the number was shown to be the family's, it stays so.
                number_verified=bool(row.number_verified) or bool(verified)))
            return row.id, False

        request_id, new = self._run("write", write, immediate=True)
        log.info("Callback request %d %s", request_id, "recorded" if new else "updated")
        return request_id, new

    def set_recording(self, request_id: int, sid: str) -> str | None:
        """Attach the family's recorded message (its Twilio SID) to the request; returns the SID it
        replaces, if any, which the caller must delete at Twilio."""

        def write(connection: Connection) -> str | None:
            row = connection.execute(select(callbacks.c.recording_sid)
                                     .where(callbacks.c.id == request_id)).first()
            if row is None:
                raise CallbackError(f"there is no callback request {request_id}")
            connection.execute(update(callbacks).where(callbacks.c.id == request_id)
                               .values(recording_sid=sid))
            return row.recording_sid if row.recording_sid != sid else None

        return self._run("write", write, immediate=True)

    def offer_recording(self, request_id: int, sid: str, may_replace: bool = True,
                        asked: float | None = None) -> tuple[str, tuple[str, ...]]:
        """A recording Twilio says was made for request `request_id` at the ask of time `asked`,
        decided in one transaction: (outcome, SIDs to delete at Twilio). "attached" or "replaced"
        (the old SID to delete); "kept" when the ask may not replace (`may_replace` False: a keyed,
        unverified number) and the request has a message (the new SID to delete); "stale" when the
        request has a message and a later ask than `asked` (a replayed old callback: the new SID to
        delete); "again" for the SID the request already holds; "refused" for an unknown or closed
        request. A SID that a request holds is never given to delete, so a replayed callback never
        deletes the message a request still has."""

        def write(connection: Connection) -> tuple[str, tuple[str, ...]]:
            row = connection.execute(select(callbacks.c.status, callbacks.c.recording_sid,
                                            callbacks.c.asked)
                                     .where(callbacks.c.id == request_id)).first()
            if row is not None and row.recording_sid == sid:
                return "again", ()
            held = connection.execute(select(callbacks.c.id).where(callbacks.c.recording_sid == sid)
                                      .limit(1)).first() is not None
            unheld = () if held else (sid,)
            if row is None or row.status not in OPEN_STATES:
                return "refused", unheld
            if held:  # another request's message (a callback from before an id was reused)
                return "refused", ()
            # Within a millisecond is the same ask: the time travels in the callback's address in ms.
            if row.recording_sid and asked is not None and row.asked is not None \
                    and asked < row.asked - 0.001:
                return "stale", (sid,)
            if row.recording_sid and not may_replace:
                return "kept", (sid,)
            connection.execute(update(callbacks).where(callbacks.c.id == request_id)
                               .values(recording_sid=sid))
            return ("replaced", (row.recording_sid,)) if row.recording_sid else ("attached", ())

        return self._run("write", write, immediate=True)

    def holds(self, sid: str) -> bool:
        """Whether any request (open or closed) has recording `sid` as its message (no key needed)."""
        statement = select(callbacks.c.id).where(callbacks.c.recording_sid == sid).limit(1)
        return self._run("read", lambda c: c.execute(statement).first()) is not None

    def get(self, request_id: int) -> CallbackRequest | None:
        """The request with its number decrypted, or None; CallbackKeyError if no key decrypts it."""
        row = self._run("read", lambda c: c.execute(select(callbacks)
                                                    .where(callbacks.c.id == request_id)).first())
        if row is None:
            return None
        return _request(row, self._decrypt(request_id, row.number_encrypted))

    def summary(self, request_id: int) -> CallbackRequest | None:
        """The request without its number (no key needed), or None."""
        statement = select(*_SUMMARY).where(callbacks.c.id == request_id)
        row = self._run("read", lambda c: c.execute(statement).first())
        return None if row is None else _request(row)

    def list_open(self, limit: int = 200) -> list[CallbackRequest]:
        """Open requests (new or in progress), oldest first: the queue, without numbers."""
        statement = (select(*_SUMMARY).where(callbacks.c.status.in_(OPEN_STATES))
                     .order_by(callbacks.c.created, callbacks.c.id).limit(limit))
        return [_request(row) for row in self._run("read", lambda c: c.execute(statement).all())]

    def full_for(self, now: float, per_hour: int, per_day: int) -> str | None:
        """The period ("hour" or "day") whose cap of new requests is reached at `now`, or None."""
        return self._run("read", lambda c: _over_caps(c, now, per_hour, per_day))

    def count_open(self) -> int:
        """How many requests are open (new or in progress): what an announcement to staff says."""
        statement = select(func.count()).select_from(callbacks).where(callbacks.c.status.in_(OPEN_STATES))
        return self._run("read", lambda c: c.execute(statement).scalar_one())

    def newest(self, limit: int = 200) -> list[CallbackRequest]:
        """Every request, newest first, without numbers."""
        statement = select(*_SUMMARY).order_by(callbacks.c.created.desc(), callbacks.c.id.desc()).limit(limit)
        return [_request(row) for row in self._run("read", lambda c: c.execute(statement).all())]

    def take(self, request_id: int, by: str, now: float) -> None:
        """Staff member `by` is calling the family back: the request is in progress, theirs."""

        def write(connection: Connection) -> None:
            status = connection.execute(select(callbacks.c.status)
                                        .where(callbacks.c.id == request_id)).scalar()
            if status is None:
                raise CallbackError(f"there is no callback request {request_id}")
            if status not in OPEN_STATES:
                raise CallbackError(f"callback request {request_id} is already closed")
            connection.execute(update(callbacks).where(callbacks.c.id == request_id)
                               .values(status="in_progress", taken_by=by, updated=now))

        self._run("write", write, immediate=True)
        log.info("Callback request %d taken", request_id)

    def claim(self, request_id: int, by: str, now: float, over: str | None = None) -> None:
        """Take the request only if no one else has: new, already `by`'s, or (taking it over on
        purpose) still `over`'s. One conditional UPDATE, so of two staff taking it at once exactly
        one wins; CallbackTakenError names the other, CallbackError says it is closed or missing."""
        holders = [by] + ([over] if over else [])

        def write(connection: Connection) -> None:
            changed = connection.execute(
                update(callbacks).where(callbacks.c.id == request_id,
                                        or_(callbacks.c.status == "new",
                                            and_(callbacks.c.status == "in_progress",
                                                 callbacks.c.taken_by.in_(holders))))
                .values(status="in_progress", taken_by=by, updated=now)).rowcount
            if changed:
                return
            row = connection.execute(select(callbacks.c.status, callbacks.c.taken_by)
                                     .where(callbacks.c.id == request_id)).first()
            if row is None:
                raise CallbackError(f"there is no callback request {request_id}")
            if row.status not in OPEN_STATES:
                raise CallbackError(f"callback request {request_id} is already closed")
            raise CallbackTakenError(f"callback request {request_id} is taken", row.taken_by or "")

        self._run("write", write, immediate=True)
        log.info("Callback request %d taken", request_id)

    def set_note(self, request_id: int, note: str, now: float) -> None:
        """Replace the staff note of the request (open or closed)."""

        def write(connection: Connection) -> None:
            changed = connection.execute(update(callbacks).where(callbacks.c.id == request_id)
                                         .values(note=note, updated=now)).rowcount
            if not changed:
                raise CallbackError(f"there is no callback request {request_id}")

        self._run("write", write, immediate=True)

    def close(self, request_id: int, status: str, by: str, note: str, now: float) -> None:
        """Close the request as `status` (done, or unreachable: could not reach) with staff's note."""
        if status not in CLOSED_STATES:
            raise CallbackError(f"a callback request is closed as {' or '.join(CLOSED_STATES)}")

        def write(connection: Connection) -> None:
            row = connection.execute(select(callbacks.c.status, callbacks.c.taken_by)
                                     .where(callbacks.c.id == request_id)).first()
            if row is None:
                raise CallbackError(f"there is no callback request {request_id}")
            # Conditional on still being open: of two staff closing it at once, one closes it.
            changed = connection.execute(update(callbacks).where(
                callbacks.c.id == request_id, callbacks.c.status.in_(OPEN_STATES)).values(
                status=status, taken_by=row.taken_by or by, note=note, closed_at=now, updated=now)).rowcount
            if not changed:
                raise CallbackError(f"callback request {request_id} is already closed")

        self._run("write", write, immediate=True)
        log.info("Callback request %d closed", request_id)

    @staticmethod
    def _due(now: float, closed_days: float, max_days: float):
        return or_(and_(callbacks.c.closed_at.is_not(None),
                        callbacks.c.closed_at <= now - closed_days * DAY_SECONDS),
                   callbacks.c.created <= now - max_days * DAY_SECONDS)

    def due(self, now: float, closed_days: float, max_days: float) -> list[tuple[int, str | None]]:
        """(id, recording SID) of every request the purge removes now: closed `closed_days` ago, or
        created `max_days` ago whatever its state."""
        statement = (select(callbacks.c.id, callbacks.c.recording_sid)
                     .where(self._due(now, closed_days, max_days)).order_by(callbacks.c.id))
        return [tuple(row) for row in self._run("read", lambda c: c.execute(statement).all())]

    def purge(self, now: float, closed_days: float, max_days: float,
              only: Mapping[int, str | None] | None = None) -> list[tuple[int, str | None]]:
        """Delete, in one transaction, every request due (see due()) and return (id, recording SID) of
        each. With `only` ({id: recording SID whose recording is gone at Twilio}), just those, and
        only while they are still due with that same recording, so no recording is left orphaned."""

        def work(connection: Connection) -> list[tuple[int, str | None]]:
            rows = connection.execute(select(callbacks.c.id, callbacks.c.recording_sid)
                                      .where(self._due(now, closed_days, max_days))
                                      .order_by(callbacks.c.id)).all()
            gone = [(row.id, row.recording_sid) for row in rows
                    if only is None or (row.id in only and only[row.id] == row.recording_sid)]
            if gone:
                connection.execute(delete(callbacks).where(callbacks.c.id.in_([i for i, _ in gone])))
            return gone

        removed = self._run("delete from", work, immediate=True)
        if removed:
            log.info("Callback requests deleted: %s", ", ".join(str(i) for i, _ in removed))
        return removed

    def rekey(self) -> int:
        """Re-encrypt every request's number with the first key of IVR_CALLBACK_KEYS, in one
        transaction; returns how many. CallbackKeyError (naming the request) if a key is missing."""
        from cryptography.fernet import InvalidToken

        fernet = self._crypto()

        def work(connection: Connection) -> int:
            rows = connection.execute(select(callbacks.c.id, callbacks.c.number_encrypted)).all()
            for row in rows:
                try:
                    token = fernet.rotate(row.number_encrypted.encode()).decode()
                except InvalidToken:
                    raise CallbackKeyError(
                        f"callback request {row.id}: its number was encrypted with a key that is not in "
                        "IVR_CALLBACK_KEYS; put that key back (after the first) and run rekey again") \
                        from None
                connection.execute(update(callbacks).where(callbacks.c.id == row.id)
                                   .values(number_encrypted=token))
            return len(rows)

        return self._run("write", work, immediate=True)
