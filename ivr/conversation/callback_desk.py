"""The live line's callback desk: the store's callback requests, the line-wide caps on new ones, the
recordings at Twilio and the announcement to staff, behind the CallbackDesk port."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .ports import CallbacksFull

log = logging.getLogger("ivr")


def _log_full(period: str) -> None:
    log.warning("The line has taken all the callback requests it may in %s (IVR_CALLBACKS_PER_%s): "
                "callers are given the scheduling number instead.",
                "an hour" if period == "hour" else "a day", period.upper())


@dataclass(frozen=True)
class CallbackLimits:
    """How many new requests the whole line takes (IVR_CALLBACKS_PER_HOUR, _PER_DAY) and how the
    message is recorded (IVR_CALLBACK_RECORD_SECONDS, IVR_CALLBACK_TRANSCRIBE)."""

    per_hour: int = 30
    per_day: int = 200
    record_seconds: int = 60
    transcribe: bool = False


class CallbackDesk:
    """Callback requests on the line's store. `callbacks` is the store's Callbacks, `recordings` the
    account's Recordings (None: no TWILIO_ACCOUNT_SID), `announcer` tells staff (None: nobody)."""

    def __init__(self, callbacks, recordings, announcer, limits: CallbackLimits):
        self.callbacks = callbacks
        self.recordings = recordings
        self.announcer = announcer
        self.limits = limits
        self.record_seconds = limits.record_seconds
        self.transcribe = limits.transcribe

    def has_room(self, now: float) -> bool:
        """False once `per_hour` requests were created in the hour before `now`, or `per_day` in the day:
        asked when the caller presses 3, so nobody keys a number in for nothing. request() checks again,
        in the transaction that writes, so two callers at once never pass the caps."""
        limits = self.limits
        period = self.callbacks.full_for(now, limits.per_hour, limits.per_day)
        if period is not None:
            _log_full(period)
            return False
        return True

    def request(self, number: str, verified: bool, language: str, reason: str, topics: tuple[str, ...],
                now: float) -> tuple[int, bool]:
        """Record the request (one open request per number; CallbacksFull for a new one over the caps);
        a new one is announced to staff."""
        try:
            request_id, new = self.callbacks.request(number, verified, language, reason, topics, now,
                                                     caps=(self.limits.per_hour, self.limits.per_day))
        except CallbacksFull as full:
            _log_full(full.period)
            raise
        if new and self.announcer is not None:
            self.announcer.new_request()  # returns at once and never raises
        return request_id, new

    def attach(self, request_id: int, recording_sid: str, may_replace: bool = True,
               asked: float | None = None) -> str:
        """Attach the message to an open request and delete at Twilio what is not kept: a replaced
        message, or the new one when it is refused, older than the request's latest ask (`asked`)
        or (`may_replace` False) the request has one. A SID a request still holds is never deleted,
        whatever a replayed callback says."""
        outcome, unwanted = self.callbacks.offer_recording(request_id, recording_sid, may_replace, asked)
        if outcome == "refused":
            log.info("Callback request %d: a recording for a request that is unknown or closed%s",
                     request_id, "; deleting it" if unwanted else "")
        elif outcome == "stale":
            log.info("Callback request %d: a recording of an older ask than its latest; deleting it",
                     request_id)
        elif outcome == "kept":
            log.info("Callback request %d: a new recording from a number not verified; the first "
                     "message is kept and the new one deleted", request_id)
        for sid in unwanted:
            self._delete(sid)
        return outcome

    def _delete(self, sid: str) -> None:
        if self.recordings is None:
            log.error("cannot delete recording %s at Twilio: TWILIO_ACCOUNT_SID is not set", sid)
            return
        if not self.recordings.delete(sid):
            log.error("recording %s is still at Twilio: delete it in the Twilio Console", sid)
