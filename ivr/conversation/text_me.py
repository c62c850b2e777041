"""'Text me this': whether the line may text a caller now (caller ID, attestation, opt-outs, limits)
and sending it, through the store and the sender it is given."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ..model.menu import Menu
from ..model.phone import is_callable_caller_id, is_textable_caller
from . import engine
from .ports import Sender, StorageUnavailable, TextLedger

log = logging.getLogger("ivr")

# The node a callback request's confirmation text is counted under (ids in menus.yaml cannot start
# with "_").
CONFIRMATION = "_callback"
# What the store's refusals and the sender's statuses mean for what the caller is told.
REFUSED = {"already_sent": "already_sent", "opted_out": "opted_out"}
SENT = {"sent": "sent", "opted_out": "opted_out", "invalid_number": "not_possible",
        "not_mobile": "not_possible"}


@dataclass(frozen=True)
class TextLimits:
    """How many texts the line may send: per caller, line-wide, and at once (from the settings)."""

    per_hour: int
    per_day: int = 5
    line_per_hour: int = 20
    line_per_day: int = 100
    at_once: int = 1
    requires_attestation: str = "A"  # A, B, C or none


def caller_is_attested(level: str, required: str) -> bool:
    """True when the attestation `level` (A, B, C or "" for none) meets `required` (A, B, C, or none
    for every call)."""
    if required == "none":
        return True
    return level != "" and level <= required  # "A" < "B" < "C": A is the strongest


class TextMe:
    """The Texting the live line uses: the store's limits, then the sender."""

    def __init__(self, store: TextLedger, sender: Sender | None, limits: TextLimits):
        self.store = store
        self.sender = sender
        self.limits = limits
        self._warned: dict[str, float] = {}  # when each line-wide limit was last reported (monotonic)
        self._warn_lock = threading.Lock()

    def text_summary(self, menu: Menu, node: str, call) -> str:
        """Send `node`'s summary by text to the caller, from the number they dialled; the outcome."""
        return self._send(call, node, lambda: engine.texted_summary(menu, node))

    def text_confirmation(self, menu: Menu, call, body: str) -> str:
        """Send a callback request's confirmation `body` to the caller, by the same rules and limits
        as a summary (counted as the call's CONFIRMATION text); the outcome."""
        return self._send(call, CONFIRMATION, lambda: body)

    def _send(self, call, node: str, body) -> str:
        if not is_textable_caller(call.caller) or not is_callable_caller_id(call.clinic):
            return "not_possible"
        if not caller_is_attested(call.attestation, self.limits.requires_attestation):
            # Anyone can show any caller ID; only the carrier's attestation says this caller owns it.
            # Texting the word in proves it too, so that is what the caller is told.
            log.debug("call %s: summary %s not texted: caller ID not attested", call.sid, node)
            return "send_word"
        if self.sender is None:
            log.error("call %s: cannot send a text: TWILIO_ACCOUNT_SID is not set", call.sid)
            return "not_sent"
        limits = self.limits
        try:
            # While `at_once` sends wait on Twilio, callers are told the word to text: a slow Twilio
            # then holds that many webhook workers at most, never all of them. A send that never
            # finishes (its worker died) stops counting after twice the send's budget.
            reservation = self.store.reserve_text(
                call.caller, call.sid, node, time.time(), limits.per_hour, per_day=limits.per_day,
                line_per_hour=limits.line_per_hour, line_per_day=limits.line_per_day,
                at_once=(limits.at_once, 2 * self.sender.timeout))
            if reservation != "ok":
                log.debug("call %s: summary %s not texted: %s", call.sid, node, reservation)
                if reservation in ("line_hour_full", "line_day_full"):
                    self._warn_line_full(reservation)
                return REFUSED.get(reservation, "send_word")
            try:
                result = self.sender.send(call.caller, call.clinic, body())
            finally:
                self._finish(call.sid, node)
            if result.status == "opted_out":  # Twilio knows of a STOP we never saw
                self.store.opt_out(call.caller)
            if not result.sent and result.code is not None:
                # Twilio refused it for sure: it should not count against the caller's allowance. A
                # send that timed out may still have gone out, so it keeps counting rather than risk
                # a copy.
                self.store.release_text(call.caller, call.sid, node)
        except StorageUnavailable:
            log.exception("call %s: the store failed; no text sent", call.sid)
            return "not_sent"
        log.debug("call %s: summary %s texted: %s", call.sid, node, result.status)
        return SENT.get(result.status, "not_sent")

    def _finish(self, sid: str, node: str) -> None:
        """Mark the send over; a store failure here must not turn a sent text into "not sent"."""
        try:
            self.store.finish_text(sid, node)
        except StorageUnavailable:
            # The reservation stops counting as in flight on its own, after twice the send's budget.
            log.warning("call %s: could not record that a send ended", sid, exc_info=True)

    def _warn_line_full(self, which: str) -> None:
        """Log, once per worker per window of that limit, that the line has sent all its texts."""
        window_seconds, name, window = LINE_FULL[which]
        now = time.monotonic()
        with self._warn_lock:
            last = self._warned.get(which)
            if last is not None and now - last < window_seconds:
                return
            self._warned[which] = now
        log.warning("The line has sent all the texts it may send in %s (%s): callers are told to text "
                    "the word instead. Many callers at once, or someone pumping texts with spoofed caller "
                    "IDs? Reported once %s per worker.", window, name, window)


LINE_FULL = {"line_hour_full": (3600.0, "IVR_LINE_TEXTS_PER_HOUR", "an hour"),
             "line_day_full": (86400.0, "IVR_LINE_TEXTS_PER_DAY", "a day")}
