"""Stand-ins for the line's effects, for trying a menu without a phone: `ivr simulate`, the walk and
the console's browser phone. Nothing is sent, dialled or recorded."""

from __future__ import annotations

from ..model.menu import Menu
from .ports import CallbacksFull
from .text_me import CONFIRMATION


class PretendTexting:
    """Texting that sends nothing and reports `outcome` (sent, by default); keeps what it was asked."""

    def __init__(self, outcome: str = "sent"):
        self.outcome = outcome
        self.asked: list[str] = []  # the nodes whose summaries were asked for

    def text_summary(self, menu: Menu, node: str, call) -> str:
        """Pretend to text `node`'s summary."""
        self.asked.append(node)
        return self.outcome

    def text_confirmation(self, menu: Menu, call, body: str) -> str:
        """Pretend to text a callback request's confirmation."""
        self.asked.append(CONFIRMATION)
        return self.outcome


class PretendDesk:
    """A callback desk that keeps nothing real: hands out request ids and remembers what it was
    asked (by `ivr simulate` and the walk), never a database or Twilio."""

    record_seconds = 60
    transcribe = False

    def __init__(self, room: bool = True):
        self.room = room
        self.requests: list[tuple[str, bool, str, str, tuple[str, ...]]] = []

    def has_room(self, now: float) -> bool:
        """Whether the pretend line takes more requests."""
        return self.room

    def request(self, number: str, verified: bool, language: str, reason: str, topics: tuple[str, ...],
                now: float) -> tuple[int, bool]:
        """Pretend to record a request: its pretend id, always new (CallbacksFull without room)."""
        if not self.room:
            raise CallbacksFull("hour")
        self.requests.append((number, verified, language, reason, tuple(topics)))
        return len(self.requests), True

    def attach(self, request_id: int, recording_sid: str, may_replace: bool = True,
               asked: float | None = None) -> str:
        """Pretend to attach a message."""
        return "attached"
