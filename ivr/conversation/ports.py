"""The small interfaces the conversation is given: a clock, texting, an event sink and the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from ..model.menu import Menu

Clock = Callable[[], datetime]


class StorageUnavailable(Exception):
    """What the line keeps could not be read or written; the storage's own errors derive from this."""


class Events(Protocol):
    """Where usage events go; `sid` names the call or text (the sink keeps only a keyed hash of it)."""

    def record(self, sid: str, kind: str, node: str | None = None, language: str | None = None,
               outcome: str | None = None, value: int | None = None) -> None:
        """Keep one event; never raises and never waits on a database."""


class Texting(Protocol):
    """Sends a summary by text to a caller, deciding first whether the line may."""

    def text_summary(self, menu: Menu, node: str, call) -> str:
        """Text `node`'s summary to `call`'s caller: one of engine.TEXT_OUTCOMES."""

    def text_confirmation(self, menu: Menu, call, body: str) -> str:
        """Text `body` (a callback request's confirmation) to `call`'s caller, by the same rules
        as a summary: one of engine.TEXT_OUTCOMES."""


class CallbacksFull(Exception):
    """The line has taken as many new callback requests as it may this hour or day (`period`)."""

    def __init__(self, period: str):
        super().__init__(f"the line's callback requests for this {period} are all taken")
        self.period = period


class CallbackDesk(Protocol):
    """Where callback requests go (the live line: ivr/conversation/callback_desk.py); its methods
    may raise StorageUnavailable."""

    record_seconds: int  # the longest message a family may leave
    transcribe: bool  # Twilio transcribes the message (only where the clinic's agreement covers it)

    def has_room(self, now: float) -> bool:
        """False when the line has taken its share of new requests this hour or day."""

    def request(self, number: str, verified: bool, language: str, reason: str, topics: tuple[str, ...],
                now: float) -> tuple[int, bool]:
        """Record that `number` asked to be called back: (request id, whether it is a new one).
        CallbacksFull when it would be a new request over the line's caps (an open one is updated)."""

    def attach(self, request_id: int, recording_sid: str, may_replace: bool = True,
               asked: float | None = None) -> str:
        """Attach a recorded message: "attached", "replaced" (an older one was deleted at Twilio),
        "kept" (`may_replace` False and the request has a message: the new one was deleted), "stale"
        (the request has a message and was asked for after `asked`: the new one was deleted), "again"
        (the request already holds it) or "refused" (no such open request: the recording was deleted
        at Twilio unless a request holds it)."""


class OptOuts(Protocol):
    """The line's own list of numbers that texted STOP (may raise StorageUnavailable)."""

    def opt_out(self, number: str) -> None:
        """Record that `number` texted STOP."""

    def opt_in(self, number: str) -> None:
        """Record that `number` texted START."""


class SendResult(Protocol):
    """What became of one text sent through the carrier."""

    status: str
    code: int | None

    @property
    def sent(self) -> bool:
        """True when the carrier accepted the text."""


class Sender(Protocol):
    """Sends one text; never raises."""

    timeout: float

    def send(self, to: str, from_: str, body: str) -> SendResult:
        """Text `body` to `to` from the line's number `from_`."""


class TextLedger(OptOuts, Protocol):
    """The texts the line has sent and its limits (the storage's Store is one)."""

    def reserve_text(self, caller: str, call_sid: str, node: str, now: float, per_hour: int,
                     per_day: int | None = None, line_per_hour: int | None = None,
                     line_per_day: int | None = None, at_once: tuple[int, float] | None = None) -> str:
        """Decide and record, atomically, whether `node` may be texted to `caller` now ("ok" or why not)."""

    def finish_text(self, call_sid: str, node: str) -> None:
        """The send reserved for `node` in `call_sid` is over."""

    def release_text(self, caller: str, call_sid: str, node: str) -> None:
        """Undo a reservation whose send then failed."""
