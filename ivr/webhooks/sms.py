"""The messaging webhook: parse Twilio's form once, step the conversation, its reply out as TwiML."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request, session
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException

from ..conversation.engine import Reply
from ..conversation.service import Text
from ..line import current_line
from ..logs import printable
from ..model.menu import Menu
from .signature import require_twilio_signature

bp = Blueprint("sms", __name__, url_prefix="/sms")
bp.before_request(require_twilio_signature)
log = logging.getLogger("ivr")

# Twilio keeps cookies for a conversation between two numbers for up to four hours of quiet, so the
# menu a texter was last shown lives in Flask's signed session cookie: no store, any worker answers.
# Only a menu other than the first is kept; without a cookie, numbers mean the first menu's choices.
MENU_KEY = "menu"
LANGUAGE_KEY = "lang"  # kept only when the texter chose a language other than the line's first


def _document(reply: Reply) -> str:
    response = MessagingResponse()
    if reply.text is not None:
        response.message(reply.text)
    return response.to_xml()


@bp.post("")
def incoming() -> Response:
    """A text comes in: reply from the menu, remembering which menu a number sent next refers to."""
    line = current_line()
    menu = line.menu
    # Only our own signed cookie gets here, but be strict about what it holds anyway.
    language, last_menu = (value if isinstance(value, str) else None
                           for value in (session.get(LANGUAGE_KEY), session.get(MENU_KEY)))
    form = request.form
    # Not cached: a cache keyed on what families write would keep their words in memory.
    text = Text(body=form.get("Body", ""), sid=printable(form.get("MessageSid", "-"), 40),
                sender=form.get("From", ""), opt_out_type=form.get("OptOutType", ""), language=language,
                last_menu=last_menu)
    step = line.conversation.text(menu, text)
    _keep(LANGUAGE_KEY, None if step.language == menu.language else step.language)
    _keep(MENU_KEY, None if step.last_menu == menu.start else step.last_menu)
    return _answer(step.reply, menu)


def _keep(key: str, value: str | None) -> None:
    """Keep `value` in the conversation's cookie under `key` (None: nothing), touching it only when
    it changes."""
    if value is None:
        session.pop(key, None)
    elif session.get(key) != value:
        session[key] = value


def _answer(reply: Reply, menu: Menu) -> Response:
    if log.isEnabledFor(logging.DEBUG):  # the segment count of every reply, never its words
        log.debug("text %s: %s", printable(request.form.get("MessageSid", "-"), 40),
                  f"{reply.encoding.segments} segment(s) {reply.encoding.name}, menu {reply.menu}"
                  if reply.encoding else "no reply (opt-out word)")
    # The replies come from the menu's own words, so their documents are kept with the menu.
    return Response(menu.remembered(("twiml", reply), lambda: _document(reply)), mimetype="text/xml")


@bp.errorhandler(Exception)
def failed(error: Exception):
    """Never fail a texter: a short apology with the scheduling number."""
    if isinstance(error, HTTPException):
        return error
    log.exception("text %s: SMS webhook failed", printable(request.form.get("MessageSid", "-"), 40))
    language = session.get(LANGUAGE_KEY)
    line = current_line()
    reply = line.conversation.text_failed(line.menu, language if isinstance(language, str) else None)
    return _answer(reply, line.menu)
