"""Terminal renderer: try the line as a caller or a texter, interactively or from a script of inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..conversation import engine
from ..conversation.engine import Turn
from ..conversation.fakes import PretendDesk, PretendTexting
from ..conversation.ports import Clock
from ..conversation.service import Call, Conversation, Text, utc_now
from ..conversation.text_me import CONFIRMATION
from ..model.menu import Menu
from ..model.phone import for_reading

WAIT_WORDS = {"", "wait", "w", "t", "timeout"}
# Short words for Twilio's DialCallStatus values, for typing at the terminal.
DIAL_OUTCOMES = {**{status: status for status in engine.DIAL_STATUSES},
                 "a": "completed", "answer": "completed", "answered": "completed", "b": "busy",
                 "n": "no-answer", "f": "failed", "c": "canceled"}
KEYS = set("0123456789*#")
PRETEND_TEXTER = "+15025550123"  # the family's number in a simulated text asking for a callback


def call(menu: Menu, inputs: Iterable[str], out: Callable[[str], None], clock: Clock = utc_now,
         callbacks: bool = False) -> None:
    """A phone call: `inputs` are keys ("1", "*"), words the caller says ("pump"), "wait" for
    letting the prompt time out, and transfer outcomes ("answer", "busy", "no-answer", "failed")
    when the line dials. `clock` tells the time, for the clinic's hours, as on the live line.
    The call steps through the same conversation service as the live line; texts are pretended.
    `callbacks`: as a line taking callback requests, kept by a pretend desk (after the message,
    the next input is what the caller does: words leave one, "wait" says nothing)."""
    texting = PretendTexting()
    desk = PretendDesk() if callbacks else None
    conversation = Conversation(texting, clock=clock, callbacks=desk)
    out("[the call starts]")
    state = Call(sid="simulated", attestation="A")
    step = conversation.start(menu, state)
    inputs = iter(inputs)
    while True:
        _show_turn(step.menu, step.turn, out)
        state = state.after(step)
        turn = step.turn
        if turn.record:
            entry = _next(inputs, out, "[the caller hangs up; the request stays, without a message]")
            if entry is None:
                return
            out("CALLER says nothing" if entry.strip().lower() in WAIT_WORDS else "CALLER leaves a message")
            step = conversation.callback_done(menu, state, turn.record.texted)
            continue
        if turn.hangup:
            out("[the line hangs up]")
            return
        if turn.dial:
            entry = _next(inputs, out, "[the caller is on the line to scheduling]")
            if entry is None:
                return
            outcome = DIAL_OUTCOMES.get(entry.strip().lower())
            if outcome is None:
                out(f"  ? '{entry}' is not a transfer outcome: answer, busy, no-answer or failed")
                outcome = "completed"
            out(f"SCHEDULING LINE: {outcome}")
            step = conversation.transfer_ended(menu, state, outcome)
            continue
        entry = _next(inputs, out, "[the caller hangs up]")
        if entry is None:
            return
        key, node = entry.strip(), turn.gather.node
        if key.lower() in WAIT_WORDS:
            out(f"CALLER presses nothing for {step.menu.key_timeout} seconds")
            after = conversation.silence(menu, state, node)
        elif set(key) <= KEYS:
            out(f"CALLER presses {key}")
            after = conversation.key(menu, state, node, key)
        else:
            out(f"CALLER says \"{key}\"")
            after = conversation.speech(menu, state, node, key, None)
        if desk is not None:
            for number, verified, language, reason, topics in desk.requests:
                out(f"[a pretend callback request: {for_reading(number)}, "
                    f"{'verified' if verified else 'keyed, not verified'}, {language}, {reason}, "
                    f"topics: {', '.join(topics) or 'none'}; nothing is kept]")
            desk.requests.clear()
        for asked in texting.asked:
            out("[the line texts the callback confirmation to the caller's phone]" if asked == CONFIRMATION
                else f"[the line texts the summary of '{asked}' to the caller's phone]")
        texting.asked.clear()
        if after.menu is not step.menu:
            out(f"[the call goes on in {after.menu.language}]")
        step = after


def _next(inputs: Iterator[str], out: Callable[[str], None], at_end: str) -> str | None:
    entry = next(inputs, None)
    if entry is None:
        out(at_end)
    elif entry.strip().lower() in ("q", "quit"):
        out("[the caller hangs up]")
        entry = None
    return entry


def _show_turn(menu: Menu, turn: Turn, out: Callable[[str], None]) -> None:
    for language, _, sentence in turn.notices:
        out(f"LINE (in {language}): {sentence}")
    for line in turn.say:
        out(f"LINE: {line}")
    for language, _, sentence in turn.offers:
        out(f"LINE (in {language}, listening): {sentence}")
    if turn.prompt:
        out(f"LINE (listening for a key or a word): {' '.join(turn.prompt)}")
    if turn.dial:
        out(f"[the line dials {for_reading(turn.dial)} and lets it ring {menu.dial_timeout} seconds]")
    if turn.record:
        out(f"[a tone; the line records a message of at most {turn.record.max_seconds} seconds; # ends it]")


def texts(menu: Menu, bodies: Iterable[str], out: Callable[[str], None], callbacks: bool = False) -> None:
    """A text conversation: each body is one text from the family; the menu they were last shown
    is remembered as Twilio's conversation cookie remembers it. `callbacks`: as a line taking
    callback requests (a pretend desk; the family texts from a pretend number)."""
    conversation = Conversation(PretendTexting(), callbacks=PretendDesk() if callbacks else None)
    last_menu = language = None
    for body in bodies:
        out(f"FAMILY: {body}")
        step = conversation.text(menu, Text(body, sid="simulated", sender=PRETEND_TEXTER if callbacks else "",
                                            language=language, last_menu=last_menu))
        reply, language, last_menu = step.reply, step.language, step.last_menu
        if reply.text is None:
            out("LINE: (no reply: Twilio's opt-out handling answers this word)")
            continue
        out(f"LINE ({reply.encoding.segments} message(s), {reply.encoding.name}):")
        for line in reply.text.splitlines():
            out(f"  {line}")


def prompted(prompt: str, read: Callable[[str], str] = input, stop: str = "") -> Iterator[str]:
    """Inputs typed at the terminal, one per line, until end of input or the word `stop`."""
    while True:
        try:
            entry = read(prompt)
        except EOFError:
            return
        if stop and entry.strip().lower() == stop:
            return
        yield entry
