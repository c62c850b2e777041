"""The voice webhooks: a few lines turn Twilio's form post into an engine call and its Turn into TwiML."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request, url_for
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from . import engine
from .engine import Turn
from .line import current_line
from .phone import is_callable_caller_id
from .twilio_auth import require_twilio_signature
from .twiml import Urls, render

bp = Blueprint("voice", __name__, url_prefix="/voice")
bp.before_request(require_twilio_signature)
log = logging.getLogger("ivr")

MAX_TRIES = 20  # a tries value above this in a URL is forged or a loop; treat it as the limit


def _answer(turn: Turn) -> Response:
    line = current_line()
    urls = Urls(url_for, line.settings.public_base_url)
    return Response(render(turn, line.menu, urls, _caller_id()), mimetype="text/xml")


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
    return request.form.get("CallSid", "-")[:64]


@bp.post("")
def incoming() -> Response:
    """A call comes in: greeting, emergency notice, main menu."""
    log.info("call %s started", _sid())
    return _answer(engine.start_call(current_line().menu))


@bp.post("/<node>")
def keys(node: str) -> Response:
    """The caller pressed a key (Gather action)."""
    digits = request.form.get("Digits", "").strip()
    turn = engine.press(current_line().menu, node, digits, _tries())
    log.info("call %s key at %s -> %s", _sid(), node, _where(turn))
    return _answer(turn)


@bp.post("/<node>/silence")
def silence(node: str) -> Response:
    """The caller pressed nothing before the Gather timed out."""
    tries = _tries()
    turn = engine.silence(current_line().menu, node, tries)
    log.info("call %s no input at %s (tries %d) -> %s", _sid(), node, tries, _where(turn))
    return _answer(turn)


@bp.post("/dial-ended")
def dial_ended() -> Response:
    """The transfer to scheduling ended (Dial action), with DialCallStatus."""
    status = request.form.get("DialCallStatus", "")
    log.info("call %s transfer ended: %s", _sid(), status[:20] or "no status")
    return _answer(engine.dial_ended(current_line().menu, status))


def _where(turn: Turn) -> str:
    if turn.dial:
        return "transfer"
    if turn.hangup:
        return "hang up"
    return turn.gather.node if turn.gather else "end"


@bp.errorhandler(Exception)
def failed(error: Exception):
    """Never let a caller hear Twilio's "application error": apologise and transfer instead."""
    if isinstance(error, HTTPException):
        return error
    log.exception("call %s: voice webhook failed at %s", _sid(), request.path)
    try:
        return _answer(engine.failed(current_line().menu))
    except Exception:  # the menu itself is unusable: a fixed apology and the number
        log.exception("call %s: could not build the apology", _sid())
        response = VoiceResponse()
        response.say("Sorry, something went wrong. Please hold while I connect you.")
        response.dial().number(current_line().menu.operator_number)
        return Response(response.to_xml(), mimetype="text/xml")
