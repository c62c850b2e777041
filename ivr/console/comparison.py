"""Two simulated calls (or text conversations) on two menus, from the same inputs, turn by turn:
the rows the side-by-side page shows, each marked when what the line says or does differs."""

from __future__ import annotations

from dataclasses import dataclass

from .simulation import PhoneCall, PhoneTurn, TextConversation, TextExchange, stop_reason


@dataclass(frozen=True)
class PhoneRow:
    """One turn of both calls: what the caller did, and each call's turn (None: not replayed there)."""

    number: int
    caller: str  # as the tried call describes it ("" for the start of the call)
    tried: PhoneTurn
    live: PhoneTurn | None
    live_note: str = ""  # why the live call has no turn here (on the first such row only)
    differs: bool = False


@dataclass(frozen=True)
class TextRow:
    """One message and each menu's answer to it."""

    number: int
    message: str
    tried: TextExchange
    live: TextExchange
    differs: bool = False


def _heard(turn: PhoneTurn) -> tuple:
    return turn.sentences, turn.effects, turn.listening


def phone_rows(tried: PhoneCall, live: PhoneCall) -> list[PhoneRow]:
    """The calls' turns aligned by input (turn 1 is the start of the call, turn n+1 follows input n)."""
    rows = []
    for index, turn in enumerate(tried.turns):
        other = live.turns[index] if index < len(live.turns) else None
        note = stop_reason(live) if other is None and index == len(live.turns) else ""
        rows.append(PhoneRow(index + 1, turn.caller, turn, other, note,
                             other is None or _heard(turn) != _heard(other)))
    return rows


def text_rows(tried: TextConversation, live: TextConversation) -> list[TextRow]:
    """The conversations' exchanges, message by message (both took every message)."""
    return [TextRow(index + 1, mine.message, mine, theirs,
                    (mine.reply, mine.note) != (theirs.reply, theirs.note))
            for index, (mine, theirs) in enumerate(zip(tried.exchanges, live.exchanges, strict=True))]
