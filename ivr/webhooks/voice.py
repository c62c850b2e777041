"""The voice webhooks: Twilio's form post in, an engine call, its Turn out as TwiML."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from functools import lru_cache

from flask import Blueprint, Response, request, url_for
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from ..conversation import engine
from ..conversation.engine import Turn
from ..line import current_line
from ..logs import printable
from ..model.menu import Menu
from ..model.phone import is_callable_caller_id, is_textable_caller
from ..storage import StoreError
from ..usage import record
from .signature import require_twilio_signature
from .twiml import ATTESTATION, INFORMED, Urls, render

bp = Blueprint("voice", __name__, url_prefix="/voice")
bp.before_request(require_twilio_signature)
log = logging.getLogger("ivr")

# The apology when even the menu is unusable carries the 911 notice in Spanish too, in this voice.
FALLBACK_SPANISH_VOICE = "Polly.Lupe-Neural"
# Put through here when not even the last good menu can be read: the clinic's scheduling line.
FALLBACK_SCHEDULING_NUMBER = "+15026356397"
MAX_TRIES = 20  # a tries value above this in a URL is forged or a loop; treat it as the limit


@lru_cache(maxsize=4096)
def _turn(step, menu: Menu, *args) -> Turn:
    # The engine is a pure function of the menu and the input, so each answer is worked out once per
    # loaded menu. `step` is the engine function itself: a new menu or function is a new entry.
    return step(menu, *args)


@lru_cache(maxsize=4096)
def _document(turn: Turn, menu: Menu, prefix: str, caller_id: str | None, informed: bool = False,
              attestation: str = "") -> str:
    language = menu.language if menu.is_translation else ""
    urls = Urls(prefix, url_for, request.script_root, language, informed, attestation)
    return render(turn, menu, urls, caller_id)


def _menu() -> Menu:
    """The menu in the call's language (from the URL; the line's first language without one)."""
    return engine.translation(current_line().menu, request.args.get("lang"))


def _now() -> datetime:
    """The current time (a function, so tests can stop the clock)."""
    return datetime.now(timezone.utc)


def _answer(turn: Turn, menu: Menu) -> Response:
    # `menu` is the one the turn was worked out with: a reload in between must not mix two versions.
    if turn.dial and menu.hours is not None and not menu.hours.is_open(_now()):
        # The engine is pure and knows no clock; whether the line is open is decided here, per call.
        turn = engine.instead_of_transfer(menu, turn)
        log.info("call %s: scheduling is closed; hours and number given instead", _sid())
        record("closed_message", menu.operator, menu.language)
    prefix = current_line().settings.public_base_url or request.script_root
    # Only a transfer depends on who is calling; every other document is the same for every caller.
    caller_id = _caller_id() if turn.dial else None
    # The general-information sentence, once per call after the first summary; the URLs remember it.
    informed = request.args.get(INFORMED) == "1"
    if not informed:
        told = _turn(engine.with_general_info, menu, turn)
        # Compared by value: the cache may hand back an equal Turn object from another call.
        informed, turn = told != turn, told
    return Response(_document(turn, menu, prefix, caller_id, informed, _attestation()), mimetype="text/xml")


def _attestation() -> str:
    """The caller ID's attestation level (A, B, C; "" for none): StirVerstat when this request has
    it, else what the call's first request had, kept in the URL (only Twilio requests our URLs)."""
    if "StirVerstat" in request.form:
        return ATTESTED.get(request.form["StirVerstat"].strip(), "")
    kept = request.args.get(ATTESTATION, "")
    return kept if kept in ATTESTED.values() else ""


def _caller_id() -> str | None:
    """Caller ID for the transfer: the caller's own number, so scheduling sees who is calling;
    the clinic number they dialled when theirs is withheld."""
    caller, called = request.form.get("From", ""), request.form.get("To", "")
    if is_callable_caller_id(caller):
        return caller
    return called if is_callable_caller_id(called) else None


def _tries() -> int:
    return min(max(request.args.get("tries", default=0, type=int), 0), MAX_TRIES)


def _sid() -> str:
    return printable(request.form.get("CallSid", "-"), 40)


def _known(menu: Menu, node: str) -> str:
    """The node for a log line, if it is one of ours (a forged path could carry anything)."""
    own = (engine.UNAVAILABLE, engine.CLOSED)
    return node if node in menu.nodes or node in own else "(unknown node)"


@bp.post("")
def incoming() -> Response:
    """A call comes in: greeting, emergency notice, main menu."""
    log.debug("call %s started", _sid())
    menu = _menu()
    closed = menu.hours is not None and not menu.hours.is_open(_now())
    record("call_started", menu.start, menu.language, "closed" if closed else "open")
    turn = _turn(engine.start_call, menu)
    _record_step(turn, menu, None)
    return _answer(turn, menu)


@bp.post("/<node>")
def keys(node: str) -> Response:
    """The caller pressed a key or said something (Gather action)."""
    menu = _menu()
    digits = request.form.get("Digits", "").strip()
    speech = request.form.get("SpeechResult", "").strip()[:200]
    if speech and not digits:
        # What was said is never logged: it may be a child's name or a medical detail.
        confidence = request.form.get("Confidence", type=float)
        # Not cached: what callers say (and Twilio's Confidence) would make every input a new entry
        # and keep their words in memory.
        turn, how = engine.heard(menu, node, speech, confidence, _tries()), "speech at %s"
    else:
        turn, how = _turn(engine.press, menu, node, digits, _tries()), "key at %s"
    if turn.switch_language:  # the caller chose Spanish: the rest of the call is in it
        menu = engine.translation(menu, turn.switch_language)
        turn = _turn(engine.switched, menu, turn.switch_node)  # the emergency notice in Spanish too
    _record_answer(turn, menu, node, "speech" if how.startswith("speech") else "key")
    if turn.send_text:
        outcome = _text_summary(menu, turn.send_text)
        record("text_me", turn.send_text, menu.language, outcome)
        turn = engine.text_result(menu, turn.send_text, outcome)
    _record_step(turn, menu, node)
    _log_step(turn, how, _known(menu, node))
    return _answer(turn, menu)


def _text_summary(menu: Menu, node: str) -> str:
    """Send `node`'s summary by text to the caller, from the number they dialled; the outcome."""
    line = current_line()
    settings = line.settings
    caller, clinic, call = request.form.get("From", ""), request.form.get("To", ""), _sid()
    if not is_textable_caller(caller) or not is_callable_caller_id(clinic):
        return "not_possible"
    if not caller_is_attested(_attestation(), settings.text_requires_attestation):
        # Anyone can show any caller ID; only the carrier's attestation says this caller owns it.
        # Texting the word in proves it too, so that is what the caller is told.
        log.debug("call %s: summary %s not texted: caller ID not attested", call, node)
        return "send_word"
    if line.sender is None:
        log.error("call %s: cannot send a text: TWILIO_ACCOUNT_SID is not set", call)
        return "not_sent"
    try:
        # While IVR_LINE_TEXTS_AT_ONCE sends wait on Twilio, callers are told the word to text: a
        # slow Twilio then holds that many webhook workers at most, never all of them. A send that
        # never finishes (its worker died) stops counting after twice the send's budget.
        reservation = line.store.reserve_text(
            caller, call, node, time.time(), settings.texts_per_hour, per_day=settings.texts_per_day,
            line_per_hour=settings.line_texts_per_hour, line_per_day=settings.line_texts_per_day,
            at_once=(settings.line_texts_at_once, 2 * line.sender.timeout))
        if reservation != "ok":
            log.debug("call %s: summary %s not texted: %s", call, node, reservation)
            if reservation in ("line_hour_full", "line_day_full"):
                _warn_line_full(reservation)
            return {"already_sent": "already_sent", "opted_out": "opted_out"}.get(reservation, "send_word")
        try:
            result = line.sender.send(caller, clinic, engine.texted_summary(menu, node))
        finally:
            _finish_text(call, node)
        if result.status == "opted_out":  # Twilio knows of a STOP we never saw
            line.store.opt_out(caller)
        if not result.sent and result.code is not None:
            # Twilio refused it for sure: it should not count against the caller's allowance. A send
            # that timed out may still have gone out, so it keeps counting rather than risk a copy.
            line.store.release_text(caller, call, node)
    except StoreError:
        log.exception("call %s: the store failed; no text sent", call)
        return "not_sent"
    log.debug("call %s: summary %s texted: %s", call, node, result.status)
    return {"sent": "sent", "opted_out": "opted_out", "invalid_number": "not_possible",
            "not_mobile": "not_possible"}.get(result.status, "not_sent")


def _finish_text(call: str, node: str) -> None:
    """Mark the send over; a store failure here must not turn a sent text into "not sent"."""
    try:
        current_line().store.finish_text(call, node)
    except StoreError:
        # The reservation stops counting as in flight on its own, after twice the send's budget.
        log.warning("call %s: could not record that a send ended", call, exc_info=True)


# Every StirVerstat Twilio sends for a call whose carrier signed its caller ID, and the attestation
# it means; TN-Validation-Failed(-A/B/C), No-TN-Validation and no parameter at all attest nothing.
ATTESTED = {"TN-Validation-Passed-A": "A", "TN-Validation-Passed-B": "B", "TN-Validation-Passed-C": "C"}


def caller_is_attested(level: str, required: str) -> bool:
    """True when the attestation `level` (A, B, C or "" for none) meets `required` (A, B, C, or none
    for every call)."""
    if required == "none":
        return True
    return level != "" and level <= required  # "A" < "B" < "C": A is the strongest


# When each line-wide limit was last reported by this worker (time.monotonic()).
_LINE_FULL_WARNED: dict[str, float] = {}
_LINE_FULL_WINDOWS = {"line_hour_full": 3600.0, "line_day_full": 86400.0}
_LINE_FULL_TEXT = {"line_hour_full": ("IVR_LINE_TEXTS_PER_HOUR", "an hour"),
                   "line_day_full": ("IVR_LINE_TEXTS_PER_DAY", "a day")}
_warn_lock = threading.Lock()


def _warn_line_full(which: str) -> None:
    """Log, once per worker per window of that limit, that the line has sent all its texts."""
    now = time.monotonic()
    with _warn_lock:
        last = _LINE_FULL_WARNED.get(which)
        if last is not None and now - last < _LINE_FULL_WINDOWS[which]:
            return
        _LINE_FULL_WARNED[which] = now
    name, window = _LINE_FULL_TEXT[which]
    log.warning("The line has sent all the texts it may send in %s (%s): callers are told to text "
                "the word instead. Many callers at once, or someone pumping texts with spoofed caller "
                "IDs? Reported once %s per worker.", window, name, window)


@bp.post("/<node>/silence")
def silence(node: str) -> Response:
    """The caller pressed nothing before the Gather timed out."""
    menu = _menu()
    turn = _turn(engine.silence, menu, node, _tries())
    record("answered", _known(menu, node), menu.language, "silence")
    _record_step(turn, menu, node)
    _log_step(turn, "no input at %s", _known(menu, node))
    return _answer(turn, menu)


@bp.post("/dial-ended")
def dial_ended() -> Response:
    """The transfer to scheduling ended (Dial action), with DialCallStatus."""
    status = request.form.get("DialCallStatus", "")[:20]
    log.info("call %s transfer ended: %s", _sid(), status if status.isascii() else "(unreadable)")
    menu = _menu()
    record("transfer", menu.operator, menu.language, TRANSFER_OUTCOMES.get(status, "failed"))
    turn = _turn(engine.dial_ended, menu, status)
    _record_step(turn, menu, None)
    return _answer(turn, menu)


# Twilio's DialCallStatus, as the usage report counts it.
TRANSFER_OUTCOMES = {"completed": "answered", "answered": "answered", "busy": "busy",
                     "no-answer": "no-answer"}


@bp.post("/status")
def status() -> Response:
    """Twilio's call status callback (the number's "Call status changes" webhook): a call ended."""
    if request.form.get("CallStatus", "") in ("completed", "busy", "failed", "no-answer", "canceled"):
        duration = request.form.get("CallDuration", "")
        record("call_ended", None, None, request.form.get("CallStatus")[:20],
               int(duration) if duration.isdigit() else None)
    return Response("", status=204)


def _record_answer(turn: Turn, menu: Menu, node: str, how: str) -> None:
    """How the caller answered at `node`: a key, speech (understood or not), or an invalid key."""
    retried = turn.gather is not None and turn.gather.node == node and turn.gather.tries > _tries()
    if how == "speech":
        record("answered", _known(menu, node), menu.language, "speech", 0 if retried else 1)
    else:
        record("answered", _known(menu, node), menu.language, "invalid" if retried else "key")


def _record_step(turn: Turn, menu: Menu, node: str | None) -> None:
    """The node the caller is taken to, when it is another one than where they were."""
    if turn.dial:
        record("node_entered", menu.operator, menu.language)
    elif turn.gather is not None and turn.gather.node != node:
        record("node_entered", _known(menu, turn.gather.node), menu.language)


def _log_step(turn: Turn, what: str, node: str) -> None:
    # Every step at DEBUG; at INFO only what matters later, a transfer or the end of a call, without
    # the node: which treatment a family listened to is theirs.
    if turn.dial or turn.hangup:
        log.info("call %s -> %s", _sid(), "transfer" if turn.dial else "hang up")
    if log.isEnabledFor(logging.DEBUG):
        log.debug("call %s " + what + " -> %s", _sid(), node,
                  "transfer" if turn.dial else "hang up" if turn.hangup else
                  turn.gather.node if turn.gather else "end")


@bp.errorhandler(Exception)
def failed(error: Exception):
    """Never let a caller hear Twilio's "application error": apologise and transfer instead."""
    if isinstance(error, HTTPException):
        return error
    log.exception("call %s: voice webhook failed at %s", _sid(), printable(request.path))
    try:
        menu = _menu()
        at_start = request.endpoint == "voice.incoming" and not menu.is_translation
        return _answer(engine.failed(menu, at_start), menu)
    except Exception:  # the menu itself is unusable: a fixed apology and the number
        log.exception("call %s: could not build the apology", _sid())
        response = VoiceResponse()
        response.say("Sorry, something went wrong. If this is a medical emergency, hang up and dial 9 1 1. "
                     "Please hold while I connect you.")
        response.say("Si es una emergencia médica, cuelgue y marque el 9 1 1.", voice=FALLBACK_SPANISH_VOICE,
                     language="es-US")
        response.dial().number(_fallback_number())
        return Response(response.to_xml(), mimetype="text/xml")


def _fallback_number() -> str:
    """The scheduling number, even when no menu can be had at all (from the clinic's own page)."""
    try:
        return current_line().menu.operator_number
    except Exception:
        return FALLBACK_SCHEDULING_NUMBER
