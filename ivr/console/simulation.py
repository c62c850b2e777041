"""The browser phone and texting simulator's steps: the conversation service on a menu with pretend
texting, no events, an opt-out list kept in memory and a clock stopped at the chosen moment.

Nothing here is sent, dialled, stored or recorded as usage. A call or a text conversation is
replayed from its start at every step, from the inputs the page carries in its form, so the page
needs no state on the server and shows the whole transcript each time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ..conversation import engine
from ..conversation.fakes import PretendTexting
from ..conversation.service import Call, CallStep, Conversation, NoEvents, Text
from ..model.menu import Menu
from ..model.phone import for_reading

# The simulated call's and texts' SID: a fixed word, never a Twilio SID, and no caller number at all.
SID = "console-simulator"
KEYS = tuple("123456789") + ("*", "0", "#")
KEY_NAMES = {"*": "star", "#": "pound"}
# The page's words for the transfer's outcome, and Twilio's DialCallStatus each stands for.
TRANSFER_OUTCOMES = {"answered": "completed", "busy": "busy", "no-answer": "no-answer", "failed": "failed"}
OUTCOME_LABELS = {"answered": "Answered", "busy": "Busy", "no-answer": "No answer", "failed": "Failed"}
MAX_SPEECH = 200  # what the voice webhook keeps of Twilio's SpeechResult
MAX_STEPS = 40  # a form of at most this many inputs stays far below the app's request size limit
MAX_MESSAGE = 480  # three GSM-7 segments: more than any family's question needs
MAX_MESSAGES = 20
MOMENT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
YEARS = range(2000, 2101)  # far enough either way; 9999-12-31 would overflow on the way to UTC
# The inputs so far, as the next form post carries them (percent-encoded), stay under this: with one
# more input and the token, the post stays below the app's 16 KiB request limit.
CARRIED_BYTES = 10_000


class SimulationError(ValueError):
    """A form the simulator cannot act on; the message says what to do, in the staff's words."""


# -- the moment -----------------------------------------------------------------------------------

def clinic_zone(menu: Menu) -> ZoneInfo:
    """The clinic's time zone (from menus.yaml's hours), UTC for a line without hours."""
    return menu.hours.zone if menu.hours is not None else ZoneInfo("UTC")


def moment_value(moment: datetime, zone: ZoneInfo) -> str:
    """`moment` as a datetime-local field's value, in the clinic's zone."""
    return moment.astimezone(zone).strftime(MOMENT_FORMATS[0])


def parse_moment(value: str | None, zone: ZoneInfo) -> datetime:
    """A datetime-local value ("2026-11-28T10:00") as an aware time in the clinic's zone."""
    value = (value or "").strip()
    for pattern in MOMENT_FORMATS:
        try:
            moment = datetime.strptime(value, pattern)
        except ValueError:
            continue
        if moment.year in YEARS:
            return moment.replace(tzinfo=zone)
    raise SimulationError("Choose the day and time as a date and a time of day (such as 2026-11-28 10:00).")


def describe_moment(moment: datetime, zone: ZoneInfo) -> str:
    """"Saturday 28 November 2026, 10:00" in the clinic's zone."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"


def is_open(menu: Menu, moment: datetime) -> bool:
    """Whether the scheduling line is open at `moment` (always, for a line without hours)."""
    return menu.hours is None or menu.hours.is_open(moment)


class MemoryOptOuts:
    """An opt-out list that lives only as long as one replay: the real list is never touched."""

    def __init__(self) -> None:
        self.opted_out = False

    def opt_out(self, number: str) -> None:
        """The simulated texter sent STOP."""
        self.opted_out = True

    def opt_in(self, number: str) -> None:
        """The simulated texter sent START."""
        self.opted_out = False


def conversation_at(moment: datetime,
                    opt_outs: MemoryOptOuts | None = None) -> tuple[Conversation, PretendTexting]:
    """The conversation service with fakes only, its clock stopped at `moment`."""
    texting = PretendTexting()
    fixed = moment.astimezone(timezone.utc)
    return Conversation(texting, NoEvents(), opt_outs, clock=lambda: fixed), texting


def _carried(values: list[str]) -> int:
    return sum(len(quote(value, safe="")) for value in values)


# -- calls ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sentence:
    """One sentence the line says, in its language; `listening`: said while it listens for a key."""

    language: str
    text: str
    listening: bool = False


@dataclass(frozen=True)
class PhoneTurn:
    """What the caller did, then what the line said and did, and what it listens for next."""

    caller: str  # what the caller did ("" for the start of the call)
    sentences: tuple[Sentence, ...]
    language: str  # the call's language after this turn
    listening: str | None  # what the line is listening for, in words; None when it is not
    effects: tuple[str, ...] = ()


@dataclass
class PhoneCall:
    """A simulated call so far: its turns, the inputs that made them, and what it waits for."""

    steps: list[str] = field(default_factory=list)
    turns: list[PhoneTurn] = field(default_factory=list)
    state: str = "listening"  # listening, dialling or ended
    language: str = ""
    stopped_at: int | None = None  # a partial replay: the index of the first input this call could not take


def call(menu: Menu, moment: datetime, steps: list[str], partial: bool = False) -> PhoneCall:
    """Replay a call at `moment` through `steps`: "key:1", "say:pump", "wait", "transfer:busy",
    "hangup". Raises SimulationError for an input the call cannot take at that point; with
    `partial`, stops there instead (`stopped_at`), as the compared call does where it has gone
    another way."""
    if len(steps) > MAX_STEPS or _carried(steps) > CARRIED_BYTES:
        raise SimulationError(f"The simulator keeps calls to {MAX_STEPS} short steps: start a new call.")
    conversation, texting = conversation_at(moment)
    state = Call(sid=SID, attestation="A")  # no caller number: nothing could be texted or shown
    step = conversation.start(menu, state)
    result = PhoneCall()
    result.turns.append(_phone_turn(step, "", texting, None))
    for index, entry in enumerate(steps):
        try:
            kind, _, value = entry.partition(":")
            state = state.after(step)
            turn, gather = step.turn, step.turn.gather
            if turn.hangup or result.state == "ended":
                raise SimulationError("The call has ended: press Call to make another.")
            if kind == "hangup":
                conversation.ended(state, "completed", None)
                result.turns.append(PhoneTurn("You hung up.", (), step.menu.language, None,
                                              ("The call ends.",)))
                result.state = "ended"
                result.steps.append("hangup")
                continue
            if turn.dial:
                if kind != "transfer" or value not in TRANSFER_OUTCOMES:
                    raise SimulationError("The line is putting the call through: choose what the scheduling "
                                          "line does (answered, busy, no answer or failed), or hang up.")
                after = conversation.transfer_ended(menu, state, TRANSFER_OUTCOMES[value])
                did = f"The scheduling line: {OUTCOME_LABELS[value].lower()}."
            elif kind == "key" and value in KEYS:
                after = conversation.key(menu, state, gather.node, value)
                did = f"You pressed {KEY_NAMES.get(value, value)}."
            elif kind == "say" and value.strip():
                words = value.strip()[:MAX_SPEECH]
                after = conversation.speech(menu, state, gather.node, words, None)
                did = f"You said “{words}”."
            elif kind == "say":
                raise SimulationError("Type what the caller says in the Say box, then press Say.")
            elif kind == "wait":
                after = conversation.silence(menu, state, gather.node)
                did = f"You pressed nothing for {step.menu.key_timeout} seconds."
            elif kind == "transfer":
                raise SimulationError("The line is not putting the call through now: press a key, say "
                                      "something, wait or hang up.")
            else:
                raise SimulationError("That input is not one this page makes: press a key, say something, "
                                      "wait, or hang up.")
            result.turns.append(_phone_turn(after, did, texting, step))
            result.steps.append(entry if kind != "say" else f"say:{words}")
            step = after
        except SimulationError:
            if not partial:
                raise
            result.stopped_at = index  # the state below is the call's when it could not go on
            break
    if result.state != "ended":
        result.state = "ended" if step.turn.hangup else "dialling" if step.turn.dial else "listening"
    result.language = step.menu.language
    return result


def stop_reason(call: PhoneCall) -> str:
    """Why a partly replayed call took no more of the inputs, in the staff's words."""
    if call.state == "ended":
        return "This call had ended, so the inputs after it are not replayed here."
    if call.state == "dialling":
        return ("This call was being put through to the scheduling line, so it could not take that "
                "input: it and the inputs after it are not replayed here.")
    return ("This call was not being put through, so it could not take the scheduling line's answer: "
            "it and the inputs after it are not replayed here.")


def _phone_turn(step: CallStep, did: str, texting: PretendTexting, before: CallStep | None) -> PhoneTurn:
    menu, turn = step.menu, step.turn
    sentences = [Sentence(language, text) for language, _, text in turn.notices]
    sentences += [Sentence(menu.language, text) for text in turn.say]
    sentences += [Sentence(language, text, True) for language, _, text in turn.offers]
    sentences += [Sentence(menu.language, text, turn.gather is not None) for text in turn.prompt]
    effects = []
    if before is not None and before.menu.language != menu.language:
        effects.append(f"The call goes on in {menu.language}.")
    for node in texting.asked:
        what = "the scheduling number" if node == menu.operator else f"the summary of {_title(menu, node)}"
        effects.append(f"The line would text {what} to the caller's phone (nothing is sent).")
    texting.asked.clear()
    if turn.gather is not None and turn.gather.node == engine.CLOSED:
        effects.append("Scheduling is closed at this time: the line gives its hours instead of "
                       "putting the call through.")
    if turn.dial:
        effects.append(f"The line would put the call through to the scheduling line, "
                       f"{for_reading(turn.dial)}, letting it ring {menu.dial_timeout} seconds "
                       f"(nothing is dialled).")
    if turn.hangup:
        effects.append("The line hangs up: the call ends.")
    listening = None
    if turn.gather is not None:
        listening = (f"a key or a word, at {_title(menu, turn.gather.node)}, for up to "
                     f"{menu.key_timeout} seconds (then it counts as no answer)")
    return PhoneTurn(did, tuple(sentences), menu.language, listening, tuple(effects))


def _title(menu: Menu, node: str) -> str:
    if node == engine.CLOSED:
        return "the closed-hours message"
    if node == engine.UNAVAILABLE:
        return "the scheduling-unavailable message"
    found = menu.nodes.get(node)
    return found.title if found else node


# -- texts ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TextExchange:
    """One message to the line and what the line texted back (None: no reply)."""

    message: str
    reply: str | None
    segments: int | None = None
    encoding: str | None = None
    language: str = ""  # the conversation's language after this message
    note: str = ""  # what a real line would do besides, or instead


@dataclass
class TextConversation:
    """A simulated text conversation: its exchanges and the state Twilio's cookie would carry."""

    exchanges: list[TextExchange] = field(default_factory=list)
    language: str | None = None
    last_menu: str | None = None


def texts(menu: Menu, moment: datetime, messages: list[str]) -> TextConversation:
    """Replay a text conversation: each message through the conversation service, the state (the
    conversation's language and last menu) carried from one to the next as the cookie carries it."""
    if len(messages) > MAX_MESSAGES or _carried(messages) > CARRIED_BYTES:
        raise SimulationError(f"The simulator keeps conversations to {MAX_MESSAGES} short messages: "
                              "start a new one.")
    opt_outs = MemoryOptOuts()
    conversation, _ = conversation_at(moment, opt_outs)
    result = TextConversation()
    for message in messages:
        if not message.strip():
            raise SimulationError("Type a message to send.")
        if len(message) > MAX_MESSAGE:
            raise SimulationError(f"The simulator takes messages of up to {MAX_MESSAGE} characters.")
        was_out = opt_outs.opted_out
        step = conversation.text(menu, Text(message, sid=SID, language=result.language,
                                            last_menu=result.last_menu))
        result.language, result.last_menu = step.language, step.last_menu
        reply, note = step.reply, ""
        if opt_outs.opted_out and not was_out:
            note = ("A real line would put the number on its opt-out list and Twilio would confirm; "
                    "the line itself sends no reply. Nothing is kept here.")
        elif was_out and not opt_outs.opted_out:
            note = "A real line would take the number off its opt-out list. Nothing is kept here."
        elif reply.text is not None and opt_outs.opted_out:
            note = "This number texted STOP: Twilio would not deliver this reply until it texts START."
        elif reply.text is None:
            note = "No reply: Twilio's own opt-out handling answers this word."
        language = step.language or menu.language
        if reply.encoding is None:
            result.exchanges.append(TextExchange(message, None, language=language, note=note))
        else:
            result.exchanges.append(TextExchange(message, reply.text, reply.encoding.segments,
                                                 reply.encoding.name, language, note))
    return result
