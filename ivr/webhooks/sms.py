"""The messaging webhook: Twilio's form post in, the engine's reply out as TwiML."""

from __future__ import annotations

import logging
from functools import lru_cache

from flask import Blueprint, Response, request, session
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException

from ..conversation import engine
from ..conversation.engine import Reply
from ..line import current_line
from ..logs import printable
from ..model import reserved
from ..model.matching import normalise
from ..model.menu import Menu
from ..storage import StoreError
from ..usage import record
from .signature import require_twilio_signature

bp = Blueprint("sms", __name__, url_prefix="/sms")
bp.before_request(require_twilio_signature)
log = logging.getLogger("ivr")

# Twilio keeps cookies for a conversation between two numbers for up to four hours of quiet, so the
# menu a texter was last shown lives in Flask's signed session cookie: no store, any worker answers.
# Only a menu other than the first is kept; without a cookie, numbers mean the first menu's choices.
MENU_KEY = "menu"
LANGUAGE_KEY = "lang"  # kept only when the texter chose a language other than the line's first


@lru_cache(maxsize=1024)
def _document(reply: Reply) -> str:
    response = MessagingResponse()
    if reply.text is not None:
        response.message(reply.text)
    return response.to_xml()


@bp.post("")
def incoming() -> Response:
    """A text comes in: reply from the menu, remembering which menu a number sent next refers to."""
    _remember_opt_out()
    _record_opt_out()
    if request.form.get("OptOutType"):
        # Twilio's Advanced Opt-Out has already answered this STOP, START or HELP: a second reply
        # would only confuse the family.
        return _answer(Reply(None, None))
    menu = current_line().menu
    # Only our own signed cookie gets here, but be strict about what it holds anyway.
    language, last_menu = (value if isinstance(value, str) else None
                           for value in (session.get(LANGUAGE_KEY), session.get(MENU_KEY)))
    # Not cached: a cache keyed on what families write would keep their words in memory.
    reply, now_in = engine.text_turn(menu, request.form.get("Body", ""), language, last_menu)
    if now_in in (None, menu.language):
        session.pop(LANGUAGE_KEY, None)
    else:
        session[LANGUAGE_KEY] = now_in
    if reply.menu == menu.start:
        session.pop(MENU_KEY, None)
    elif reply.menu:
        session[MENU_KEY] = reply.menu
    _record_text(engine.translation(menu, now_in), reply)
    return _answer(reply)


def _record_opt_out() -> None:
    kind, words = request.form.get("OptOutType", "").upper(), normalise(request.form.get("Body", ""))
    if kind == "STOP" or words in reserved.OPT_OUT_WORDS:
        record("text_received", None, None, "opt_out")
    elif kind == "START" or words in reserved.OPT_IN_WORDS:
        record("text_received", None, None, "opt_in")
    elif kind == "HELP":
        record("text_received", None, None, "help")


def _record_text(menu: Menu, reply: Reply) -> None:
    """Which reply a text got: a summary or a menu (by node), help or not understood; never its words."""
    if reply.text is None:
        return  # an opt-out word: recorded by _record_opt_out
    words = normalise(request.form.get("Body", ""))
    segments = reply.encoding.segments if reply.encoding else None
    if words in reserved.HELP_WORDS:
        outcome, node = "help", None
    elif reply.text.startswith(_not_understood(menu)):
        outcome, node = "not_understood", None
    else:
        node = _node_of(menu, reply)
        kind = menu.nodes[node].type if node in menu.nodes else "menu"
        outcome = "menu" if kind == "menu" else "summary"
    record("text_received", node, menu.language, outcome, segments)


@lru_cache(maxsize=64)
def _not_understood(menu: Menu) -> str:
    return engine.written(menu, menu.phrases["sms_not_understood"])


@lru_cache(maxsize=1024)
def _node_of(menu: Menu, reply: Reply) -> str | None:
    # A menu reply names its menu; a summary's reply keeps the menu it was chosen from, so the
    # summary is the node whose text the reply begins with.
    for node in menu.nodes.values():
        if node.type != "menu" and node.text and reply.text.startswith(engine.written(menu, node.text)):
            return node.id
    return reply.menu


def _remember_opt_out() -> None:
    """Keep the line's own opt-out list: Twilio forwards STOP and START to us after handling them."""
    kind = request.form.get("OptOutType", "").upper()
    words = normalise(request.form.get("Body", ""))
    sender = request.form.get("From", "")
    try:
        if kind == "STOP" or words in reserved.OPT_OUT_WORDS:
            current_line().store.opt_out(sender)
        elif kind == "START" or words in reserved.OPT_IN_WORDS:
            current_line().store.opt_in(sender)
    except StoreError:
        log.exception("text %s: could not record an opt-out or opt-in",
                      printable(request.form.get("MessageSid", "-"), 40))


def _answer(reply: Reply) -> Response:
    if log.isEnabledFor(logging.DEBUG):  # the segment count of every reply, never its words
        log.debug("text %s: %s", printable(request.form.get("MessageSid", "-"), 40),
                  f"{reply.encoding.segments} segment(s) {reply.encoding.name}, menu {reply.menu}"
                  if reply.encoding else "no reply (opt-out word)")
    return Response(_document(reply), mimetype="text/xml")


@bp.errorhandler(Exception)
def failed(error: Exception):
    """Never fail a texter: a short apology with the scheduling number."""
    if isinstance(error, HTTPException):
        return error
    log.exception("text %s: SMS webhook failed", printable(request.form.get("MessageSid", "-"), 40))
    language = session.get(LANGUAGE_KEY)
    menu = engine.translation(current_line().menu, language if isinstance(language, str) else None)
    return _answer(engine.text_failed(menu))
