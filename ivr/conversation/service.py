"""One step of a call or a text: menu + state + input (+ the clock) -> what to say or text, and the
effects (dial, send a text, record an event). The webhooks, `ivr simulate`, the walk and the
browser simulator all step through here, each with its own clock, texting and event sink."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ..model import reserved
from ..model.matching import normalise
from ..model.menu import Menu
from ..model.phone import is_textable_caller
from . import callback_flow, engine
from .engine import CallbackAsk, Record, Reply, Turn
from .ports import CallbackDesk, CallbacksFull, Clock, Events, OptOuts, StorageUnavailable, Texting

# Twilio's DialCallStatus, as usage events count it.
TRANSFER_OUTCOMES = {"completed": "answered", "answered": "answered", "busy": "busy",
                     "no-answer": "no-answer"}
# CallStatus values of a call that has ended (the call status callback).
CALL_ENDED = ("completed", "busy", "failed", "no-answer", "canceled")
# The topics (summaries) a call carries for a callback request: the latest few.
MAX_TOPICS = 6
log = logging.getLogger("ivr")
# A recording's address must be on Twilio's API: anything else in RecordingUrl is not Twilio's.
TWILIO_API = "https://api.twilio.com/"


def _request_event(new: bool) -> str:
    # The dashboard counts requests staff must handle: a family asking again updates theirs.
    return "callback_requested" if new else "callback_updated"


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Call:
    """What the line knows of a call at one step: the state it gave Twilio in the URL (language,
    tries, general information said, attestation) and who is calling whom."""

    sid: str = "-"
    language: str | None = None  # None: the line's first language
    tries: int = 0
    informed: bool = False  # the general-information sentence has been said on this call
    attestation: str = ""  # the caller ID's SHAKEN/STIR level: A, B, C or "" for none
    caller: str = ""
    clinic: str = ""
    reason: str = ""  # in a callback request: why it is asked (closed, busy, no_answer, failed, retries)
    number: str = ""  # in a callback request: the keyed number being confirmed (sealed in the URL)
    topics: tuple[str, ...] = ()  # the summaries listened to on this call, for a callback request

    def after(self, step: CallStep) -> Call:
        """The call's state for its next step, as the URLs of `step` carry it."""
        gather = step.turn.gather
        language = step.menu.language if step.menu.is_translation else None
        return replace(self, language=language, informed=step.informed,
                       tries=gather.tries if gather else 0, reason=gather.why if gather else "",
                       number=gather.number if gather else "", topics=listened(step, self.topics))


def listened(step: CallStep, topics: tuple[str, ...]) -> tuple[str, ...]:
    """`topics` with the summary `step` presents, if it does (the latest MAX_TOPICS)."""
    gather = step.turn.gather
    node = step.menu.nodes.get(gather.node) if gather else None
    if node is None or node.type != "summary" or node.id in topics:
        return topics
    return (*topics, node.id)[-MAX_TOPICS:]


@dataclass(frozen=True)
class CallStep:
    """What the line does next on a call, in the language it is now held in."""

    turn: Turn
    menu: Menu  # the menu (language) the turn was worked out in: render with this one
    informed: bool  # the general-information sentence has now been said


@dataclass(frozen=True)
class Text:
    """One text from a family, and the conversation it belongs to (from Twilio's cookie)."""

    body: str
    sid: str = "-"
    sender: str = ""
    opt_out_type: str = ""  # Twilio's OptOutType: STOP, START or HELP when its opt-out handling answered
    language: str | None = None
    last_menu: str | None = None


@dataclass(frozen=True)
class TextStep:
    """The reply to a text, and the conversation's state afterwards."""

    reply: Reply
    language: str | None  # the conversation's language now (None or the first: the line's first)
    last_menu: str | None  # the menu a number sent next refers to


class NoEvents:
    """An event sink that keeps nothing: simulators and the walk record no usage."""

    def record(self, sid: str, kind: str, node: str | None = None, language: str | None = None,
               outcome: str | None = None, value: int | None = None) -> None:
        """Drop the event."""


class Conversation:
    """Steps calls and texts through the engine, deciding hours, language, texting and events."""

    def __init__(self, texting: Texting, events: Events | None = None, opt_outs: OptOuts | None = None,
                 clock: Clock = utc_now, callbacks: CallbackDesk | None = None):
        self.texting = texting
        self.events = events or NoEvents()
        self.opt_outs = opt_outs
        self.clock = clock
        self.callbacks = callbacks  # None: the line takes no callback requests (IVR_CALLBACK_KEYS unset)

    @property
    def takes_callbacks(self) -> bool:
        """Whether the line takes callback requests."""
        return self.callbacks is not None

    # -- calls ------------------------------------------------------------------------------------

    def start(self, line: Menu, call: Call) -> CallStep:
        """A call comes in: greeting, emergency notice and the first menu, in the URL's language."""
        menu = engine.translation(line, call.language)
        hours = "closed" if self._closed(menu) else "open"
        self.events.record(call.sid, "call_started", menu.start, menu.language, hours)
        turn = _turn(engine.start_call, menu)
        self._entered(call, turn, menu, None)
        return self._finish(call, turn, menu)

    def key(self, line: Menu, call: Call, node: str, digits: str) -> CallStep:
        """The caller pressed `digits` at `node`."""
        menu = engine.translation(line, call.language)
        if node in callback_flow.NODES:
            turn = self._callback_step(menu, call, node, digits)
        else:
            turn = _turn(engine.press, menu, node, digits, call.tries, call.reason, self.takes_callbacks)
        return self._answer(call, menu, node, turn, "key")

    def speech(self, line: Menu, call: Call, node: str, speech: str, confidence: float | None) -> CallStep:
        """The caller said `speech` at `node` (never cached: a family's words are not kept)."""
        menu = engine.translation(line, call.language)
        if (self.takes_callbacks and node in engine.CALLBACK_OFFERS
                and callback_flow.asked_by_speech(menu, speech, confidence)):
            # "Call me back" where key 3 is offered is key 3 (an emergency never matches a whole ask).
            turn = engine.press(menu, node, engine.CALLBACK_KEY, call.tries, call.reason, True)
        else:
            turn = engine.heard(menu, node, speech, confidence, call.tries, reason=call.reason,
                                callbacks=self.takes_callbacks)
        return self._answer(call, menu, node, turn, "speech")

    def silence(self, line: Menu, call: Call, node: str) -> CallStep:
        """The caller pressed nothing before the timeout at `node`."""
        menu = engine.translation(line, call.language)
        if node in callback_flow.NODES:
            turn = self._callback_step(menu, call, node, None)
        else:
            turn = _turn(engine.silence, menu, node, call.tries, call.reason, self.takes_callbacks)
        self.events.record(call.sid, "answered", known(menu, node), menu.language, "silence")
        self._entered(call, turn, menu, node)
        return self._finish(call, turn, menu)

    def transfer_ended(self, line: Menu, call: Call, status: str) -> CallStep:
        """The transfer to scheduling ended with Twilio's DialCallStatus `status`."""
        menu = engine.translation(line, call.language)
        self.events.record(call.sid, "transfer", menu.operator, menu.language,
                           TRANSFER_OUTCOMES.get(status, "failed"))
        turn = _turn(engine.dial_ended, menu, status, self.takes_callbacks)
        self._entered(call, turn, menu, None)
        return self._finish(call, turn, menu)

    def ended(self, call: Call, status: str, duration: int | None) -> None:
        """Twilio's call status callback: the call is over (an event, nothing to say)."""
        if status in CALL_ENDED:
            self.events.record(call.sid, "call_ended", None, None, status, duration)

    def failed(self, line: Menu, call: Call, at_start: bool) -> CallStep:
        """Something broke: apologise with the emergency notice and put the caller through (or, while
        closed, the hours). `at_start`: every language's notice, none having been chosen yet."""
        menu = engine.translation(line, call.language)
        return self._finish(call, engine.failed(menu, at_start and not menu.is_translation), menu)

    def _answer(self, call: Call, menu: Menu, node: str, turn: Turn, how: str) -> CallStep:
        if turn.switch_language:  # the caller chose another language: the rest of the call is in it
            menu = engine.translation(menu, turn.switch_language)
            turn = _turn(engine.switched, menu, turn.switch_node)
        retried = turn.gather is not None and turn.gather.node == node and turn.gather.tries > call.tries
        where = known(menu, node)
        if how == "speech":
            self.events.record(call.sid, "answered", where, menu.language, "speech", 0 if retried else 1)
        else:
            self.events.record(call.sid, "answered", where, menu.language, "invalid" if retried else "key")
        if turn.send_text:
            outcome = self.texting.text_summary(menu, turn.send_text, call)
            self.events.record(call.sid, "text_me", turn.send_text, menu.language, outcome)
            turn = engine.text_result(menu, turn.send_text, outcome, self.takes_callbacks)
        if turn.start_callback:
            turn = self._start_callback(menu, call, turn.start_callback)
        if turn.callback:
            turn = self._take_request(menu, call, turn.callback)
        self._entered(call, turn, menu, node)
        return self._finish(call, turn, menu)

    # -- callback requests ------------------------------------------------------------------------

    def _callback_step(self, menu: Menu, call: Call, node: str, digits: str | None) -> Turn:
        """A key (None: silence) in the callback flow; never cached, as it may hold a number."""
        if self.callbacks is None or not engine.offers_callbacks(menu):  # turned off during the call
            return engine.enter(menu, menu.start)
        reason = call.reason if call.reason in engine.CALLBACK_REASONS else "failed"
        own = callback_flow.own_number(call.caller, call.attestation)
        if digits is None:
            return callback_flow.silence(menu, node, call.tries, reason, call.number, own)
        return callback_flow.press(menu, node, digits, call.tries, reason, call.number, own)

    def _start_callback(self, menu: Menu, call: Call, reason: str) -> Turn:
        """The caller pressed 3: which number to call, unless the line cannot take more requests."""
        try:
            if not self.callbacks.has_room(self.clock().timestamp()):
                return callback_flow.full(menu)
        except StorageUnavailable:
            log.exception("call %s: the store failed; no callback request taken", call.sid)
            return callback_flow.failed(menu)
        return callback_flow.start(menu, reason, callback_flow.own_number(call.caller, call.attestation))

    def _take_request(self, menu: Menu, call: Call, ask: CallbackAsk) -> Turn:
        """Record the request (before the message, so silence or a hang-up still leaves it), text the
        confirmation where the line may, then ask for the message."""
        now = self.clock()
        try:
            request_id, new = self.callbacks.request(ask.number, ask.verified, menu.language, ask.reason,
                                                     call.topics, now.timestamp())
        except CallbacksFull:  # others took the last places while this caller keyed their number
            return callback_flow.full(menu)
        except StorageUnavailable:
            log.exception("call %s: the store failed; no callback request taken", call.sid)
            return callback_flow.failed(menu)
        self.events.record(call.sid, _request_event(new), None, menu.language, ask.reason)
        texted = False
        # Only to the caller's own, attested number: a keyed one is not known to be theirs.
        if ask.verified and ask.number == call.caller and engine.offers_texts(menu):
            body = callback_flow.confirmation_text(menu, self._opening(menu, now), now)
            outcome = self.texting.text_confirmation(menu, call, body)
            self.events.record(call.sid, "callback_text", None, menu.language, outcome)
            texted = outcome == "sent"
        # Only the caller's own, attested number may replace a message the request already has.
        return callback_flow.record(menu, Record(request_id, texted, self.callbacks.record_seconds,
                                                 self.callbacks.transcribe, may_replace=ask.verified,
                                                 asked=now.timestamp()))

    def _opening(self, menu: Menu, now: datetime) -> datetime | None:
        """When scheduling next opens, or None when it is open now or the file has no hours."""
        if menu.hours is None or menu.hours.is_open(now):
            return None
        return menu.hours.next_opening(now)

    def callback_done(self, line: Menu, call: Call, texted: bool) -> CallStep:
        """After the message was recorded (or the caller said nothing): what happens next, goodbye."""
        menu = engine.translation(line, call.language)
        if self.callbacks is None or not engine.offers_callbacks(menu):  # turned off during the call
            return CallStep(engine.goodbye(menu), menu, call.informed)
        now = self.clock()
        return CallStep(callback_flow.done(menu, self._opening(menu, now), now, texted), menu, call.informed)

    def recorded(self, request_id: int, recording_sid: str, url: str, status: str,
                 may_replace: bool = False, asked: float | None = None) -> str:
        """Twilio's recording status callback for request `request_id`: "ignored" (not completed),
        "off" (callback requests are off: the webhook deletes it at Twilio), "bad_url" (the URL is not
        Twilio's API), "unavailable" (the store failed: logged with the SID for staff to delete it),
        or what the desk did with it (see CallbackDesk.attach). `may_replace`: the ask was the
        caller's own attested number, and `asked` its time, as the signed callback address says."""
        if status != "completed":
            return "ignored"
        if self.callbacks is None:
            return "off"
        if not url.startswith(TWILIO_API):
            log.warning("Callback request %d: a recording refused: its address is not Twilio's API",
                        request_id)
            return "bad_url"
        try:
            return self.callbacks.attach(request_id, recording_sid, may_replace, asked)
        except StorageUnavailable:
            # Twilio does not retry a 503: the SID (nothing personal) lets staff delete it by hand.
            log.exception("Callback request %d: the store failed; recording %s is not attached and is "
                          "still at Twilio: delete it in the Twilio Console (Monitor, Recordings)",
                          request_id, recording_sid)
            return "unavailable"

    def _entered(self, call: Call, turn: Turn, menu: Menu, node: str | None) -> None:
        """The node the caller is taken to, when it is another one than where they were."""
        if turn.dial:
            self.events.record(call.sid, "node_entered", menu.operator, menu.language)
        elif turn.gather is not None and turn.gather.node != node:
            self.events.record(call.sid, "node_entered", known(menu, turn.gather.node), menu.language)

    def _finish(self, call: Call, turn: Turn, menu: Menu) -> CallStep:
        if turn.dial and self._closed(menu):
            turn = engine.instead_of_transfer(menu, turn, self.takes_callbacks)
            log.info("call %s: scheduling is closed; hours and number given instead", call.sid)
            self.events.record(call.sid, "closed_message", menu.operator, menu.language)
        informed = call.informed
        if not informed and not callback_flow.is_private(turn):
            # The general-information sentence, once per call, after the first summary (never worked
            # out for a turn holding a family's number or request: it would be kept with the menu).
            told = _turn(engine.with_general_info, menu, turn)
            informed, turn = told != turn, told  # by value: the cache may give an equal Turn back
        return CallStep(turn, menu, informed)

    def _closed(self, menu: Menu) -> bool:
        return menu.hours is not None and not menu.hours.is_open(self.clock())

    # -- texts ------------------------------------------------------------------------------------

    def text(self, line: Menu, text: Text) -> TextStep:
        """A text comes in: keep the opt-out list, reply from the menu, record what it asked for."""
        kind, words = text.opt_out_type.upper(), normalise(text.body)
        opting = "opt_out" if kind == "STOP" or words in reserved.OPT_OUT_WORDS else \
            "opt_in" if kind == "START" or words in reserved.OPT_IN_WORDS else None
        if opting:
            self._keep_opt_out(text, opting)
            self.events.record(text.sid, "text_received", None, None, opting)
        elif kind == "HELP":
            self.events.record(text.sid, "text_received", None, None, "help")
        if kind:
            # Twilio's Advanced Opt-Out has already answered this STOP, START or HELP: a second reply
            # would only confuse the family.
            return TextStep(Reply(None, None), text.language, text.last_menu)
        if self.callbacks is not None:
            asked_in = callback_flow.asked_by_text(line, text.body)
            if asked_in is not None:
                # A word only another language has (LLÁMENME) answers in it; else the conversation's.
                language = asked_in if asked_in != line.language else text.language
                menu = engine.translation(line, language)
                if engine.offers_callbacks(menu):
                    return self._texted_request(menu, text)
        reply, now_in = engine.text_turn(line, text.body, text.language, text.last_menu)
        now_menu = engine.translation(line, now_in)
        if words in reserved.HELP_WORDS and self.callbacks is not None and engine.offers_callbacks(now_menu):
            reply = callback_flow.help_line(now_menu, reply)
        if reply.text is not None:  # no reply: an opt-out word, recorded above
            self._record_reply(text, now_menu, reply, words)
        return TextStep(reply, now_in, reply.menu)

    def _texted_request(self, menu: Menu, text: Text) -> TextStep:
        """A text asks to be called back: the sender's number (a text proves it), reason "text"."""
        now = self.clock()
        if not is_textable_caller(text.sender):
            reply = callback_flow.text_refused(menu, "callback_failed")
        else:
            try:
                _, new = self.callbacks.request(text.sender, True, menu.language, "text", (),
                                                now.timestamp())
                self.events.record(text.sid, _request_event(new), None, menu.language, "text")
                reply = callback_flow.text_reply(menu, self._opening(menu, now), now)
            except CallbacksFull:
                reply = callback_flow.text_refused(menu, "callback_full")
            except StorageUnavailable:
                log.exception("text %s: the store failed; no callback request taken", text.sid)
                reply = callback_flow.text_refused(menu, "callback_failed")
        segments = reply.encoding.segments if reply.encoding else None
        self.events.record(text.sid, "text_received", None, menu.language, "callback", segments)
        return TextStep(reply, menu.language, text.last_menu)

    def text_failed(self, line: Menu, language: str | None) -> Reply:
        """The reply when something broke inside the line."""
        return engine.text_failed(engine.translation(line, language))

    def _keep_opt_out(self, text: Text, opting: str) -> None:
        if self.opt_outs is None:
            return
        try:
            (self.opt_outs.opt_out if opting == "opt_out" else self.opt_outs.opt_in)(text.sender)
        except StorageUnavailable:
            # The reply still goes: a database that is down costs the list one entry, never the text.
            log.exception("text %s: could not record an opt-out or opt-in", text.sid)

    def _record_reply(self, text: Text, menu: Menu, reply: Reply, words: str) -> None:
        """Which reply a text got: a summary or a menu (by node), help or not understood; never its words."""
        segments = reply.encoding.segments if reply.encoding else None
        if words in reserved.HELP_WORDS:
            outcome, node = "help", None
        elif reply.text.startswith(_not_understood(menu)):
            outcome, node = "not_understood", None
        else:
            node = _node_of(menu, reply)
            kind = menu.nodes[node].type if node in menu.nodes else "menu"
            outcome = "menu" if kind == "menu" else "summary"
        self.events.record(text.sid, "text_received", node, menu.language, outcome, segments)


def known(menu: Menu, node: str) -> str:
    """`node` if it is one of the line's own (a forged address could carry anything)."""
    return node if node in menu.nodes or node in callback_flow.OWN_NODES else "(unknown node)"


def _turn(step, menu: Menu, *args) -> Turn:
    """`step(menu, *args)`, worked out once per loaded menu: the engine is a pure function of the
    menu and the input, and keys, nodes and tries are few (what callers say is never cached)."""
    return menu.remembered((step.__name__, *args), lambda: step(menu, *args))


def _not_understood(menu: Menu) -> str:
    return menu.remembered("sms_not_understood",
                           lambda: engine.written(menu, menu.phrases["sms_not_understood"]))


def _node_of(menu: Menu, reply: Reply) -> str | None:
    # A menu reply names its menu; a summary's reply keeps the menu it was chosen from, so the
    # summary is the node whose text the reply begins with.
    def find() -> str | None:
        for node in menu.nodes.values():
            if node.type != "menu" and node.text and reply.text.startswith(engine.written(menu, node.text)):
                return node.id
        return reply.menu

    return menu.remembered(("node_of", reply), find)
