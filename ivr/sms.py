"""The messaging webhook: Twilio's form post in, the engine's reply out as TwiML."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request, session
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException

from . import engine
from .engine import Reply
from .line import current_line
from .twilio_auth import require_twilio_signature

bp = Blueprint("sms", __name__, url_prefix="/sms")
bp.before_request(require_twilio_signature)
log = logging.getLogger("ivr")

# Twilio keeps cookies for a conversation between two numbers for up to four hours, so the menu a
# texter was last shown lives in Flask's signed session cookie: no store, any worker can answer.
MENU_KEY = "menu"


@bp.post("")
def incoming() -> Response:
    """A text comes in: reply from the menu, remembering which menu a number sent next refers to."""
    if request.form.get("OptOutType"):
        # Twilio's Advanced Opt-Out has already answered this STOP, START or HELP: a second reply
        # would only confuse the family.
        return _answer(Reply(None, None))
    body = request.form.get("Body", "")
    last_menu = session.get(MENU_KEY)
    if not isinstance(last_menu, str):  # only our own signed cookie gets here, but be strict anyway
        last_menu = None
    reply = engine.text_in(current_line().menu, body, last_menu)
    if reply.menu:
        session.permanent = True
        session[MENU_KEY] = reply.menu
    return _answer(reply)


def _answer(reply: Reply) -> Response:
    response = MessagingResponse()
    if reply.text is not None:
        response.message(reply.text)
    log.info("text %s: %s", request.form.get("MessageSid", "-")[:64],
             f"{reply.encoding.segments} segment(s) {reply.encoding.name}, menu {reply.menu}"
             if reply.encoding else "no reply (opt-out word)")
    return Response(response.to_xml(), mimetype="text/xml")


@bp.errorhandler(Exception)
def failed(error: Exception):
    """Never fail a texter: a short apology with the scheduling number."""
    if isinstance(error, HTTPException):
        return error
    log.exception("text %s: SMS webhook failed", request.form.get("MessageSid", "-")[:64])
    return _answer(engine.text_failed(current_line().menu))
