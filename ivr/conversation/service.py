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
from . import engine
from .engine import Reply, Turn
from .ports import Clock, Events, OptOuts, StorageUnavailable, Texting

# Twilio's DialCallStatus, as usage events count it.
TRANSFER_OUTCOMES = {"completed": "answered", "answered": "answered", "busy": "busy",
                     "no-answer": "no-answer"}
# CallStatus values of a call that has ended (the call status callback).
CALL_ENDED = ("completed", "busy", "failed", "no-answer", "canceled")
log = logging.getLogger("ivr")


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

    def after(self, step: CallStep) -> Call:
        """The call's state for its next step, as the URLs of `step` carry it."""
        gather = step.turn.gather
        language = step.menu.language if step.menu.is_translation else None
        return replace(self, language=language, informed=step.informed,
                       tries=gather.tries if gather else 0)


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
                 clock: Clock = utc_now):
        self.texting = texting
        self.events = events or NoEvents()
        self.opt_outs = opt_outs
        self.clock = clock

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
        return self._answer(call, menu, node, _turn(engine.press, menu, node, digits, call.tries), "key")

    def speech(self, line: Menu, call: Call, node: str, speech: str, confidence: float | None) -> CallStep:
        """The caller said `speech` at `node` (never cached: a family's words are not kept)."""
        menu = engine.translation(line, call.language)
        return self._answer(call, menu, node, engine.heard(menu, node, speech, confidence, call.tries),
                            "speech")

    def silence(self, line: Menu, call: Call, node: str) -> CallStep:
        """The caller pressed nothing before the timeout at `node`."""
        menu = engine.translation(line, call.language)
        turn = _turn(engine.silence, menu, node, call.tries)
        self.events.record(call.sid, "answered", known(menu, node), menu.language, "silence")
        self._entered(call, turn, menu, node)
        return self._finish(call, turn, menu)

    def transfer_ended(self, line: Menu, call: Call, status: str) -> CallStep:
        """The transfer to scheduling ended with Twilio's DialCallStatus `status`."""
        menu = engine.translation(line, call.language)
        self.events.record(call.sid, "transfer", menu.operator, menu.language,
                           TRANSFER_OUTCOMES.get(status, "failed"))
        turn = _turn(engine.dial_ended, menu, status)
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
            turn = engine.text_result(menu, turn.send_text, outcome)
        self._entered(call, turn, menu, node)
        return self._finish(call, turn, menu)

    def _entered(self, call: Call, turn: Turn, menu: Menu, node: str | None) -> None:
        """The node the caller is taken to, when it is another one than where they were."""
        if turn.dial:
            self.events.record(call.sid, "node_entered", menu.operator, menu.language)
        elif turn.gather is not None and turn.gather.node != node:
            self.events.record(call.sid, "node_entered", known(menu, turn.gather.node), menu.language)

    def _finish(self, call: Call, turn: Turn, menu: Menu) -> CallStep:
        if turn.dial and self._closed(menu):
            turn = engine.instead_of_transfer(menu, turn)
            log.info("call %s: scheduling is closed; hours and number given instead", call.sid)
            self.events.record(call.sid, "closed_message", menu.operator, menu.language)
        informed = call.informed
        if not informed:  # the general-information sentence, once per call, after the first summary
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
        reply, now_in = engine.text_turn(line, text.body, text.language, text.last_menu)
        if reply.text is not None:  # no reply: an opt-out word, recorded above
            self._record_reply(text, engine.translation(line, now_in), reply, words)
        return TextStep(reply, now_in, reply.menu)

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
    own = (engine.UNAVAILABLE, engine.CLOSED)
    return node if node in menu.nodes or node in own else "(unknown node)"


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
