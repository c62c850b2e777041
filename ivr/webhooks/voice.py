"""The voice webhooks: parse Twilio's form once, step the conversation, render its Turn as TwiML."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, request, url_for
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from ..conversation import callback_flow
from ..conversation.engine import CALLBACK_REASONS, Turn
from ..conversation.ports import StorageUnavailable
from ..conversation.service import MAX_TOPICS, Call, CallStep, known, listened
from ..line import current_line
from ..logs import printable
from ..model.menu import NODE_ID
from ..model.phone import is_callable_caller_id
from .signature import require_twilio_signature
from .twiml import ASKED, ATTESTATION, INFORMED, NUMBER, REPLACES, REQUEST, TEXTED, TOPICS, WHY, Urls, render

bp = Blueprint("voice", __name__, url_prefix="/voice")
bp.before_request(require_twilio_signature)
log = logging.getLogger("ivr")

# The apology when even the menu is unusable carries the 911 notice in Spanish too, in this voice.
FALLBACK_SPANISH_VOICE = "Polly.Lupe-Neural"
# Put through here when not even the last good menu can be read: the clinic's scheduling line.
FALLBACK_SCHEDULING_NUMBER = "+15026356397"
MAX_TRIES = 20  # a tries value above this in a URL is forged or a loop; treat it as the limit


def _document(step: CallStep, call: Call) -> str:
    """The TwiML for `step`. Only a transfer depends on who is calling (its caller ID); every other
    document is the same for every caller, so it is kept with the menu it came from."""
    prefix = current_line().settings.public_base_url or request.script_root
    menu = step.menu
    # Topics are carried only for a callback request: a line that takes none keeps them out of URLs.
    topics = listened(step, call.topics) if _conversation().takes_callbacks else ()
    urls = _urls(prefix, step, call, topics)
    if step.turn.dial:
        return render(step.turn, menu, urls, _caller_id())
    if callback_flow.is_private(step.turn) or topics:
        # A request's id, a number (or its last digits), a number sealed afresh, or the summaries this
        # caller heard (a sequence of up to MAX_TOPICS: too many to keep): worked out afresh.
        return render(step.turn, menu, urls, None)
    key = ("twiml", step.turn, prefix, step.informed, call.attestation)
    return menu.remembered(key, lambda: render(step.turn, menu, urls, None))


def _urls(prefix: str, step: CallStep, call: Call, topics: tuple[str, ...]) -> Urls:
    language = step.menu.language if step.menu.is_translation else ""
    seal = current_line().seal
    return Urls(prefix, url_for, request.script_root, language, step.informed, call.attestation,
                topics, seal.seal if seal is not None else None)


def _answer(step: CallStep, call: Call, how: str = "", node: str = "") -> Response:
    if how:
        _log_step(step.turn, how, known(step.menu, node))
    return Response(_document(step, call), mimetype="text/xml")


def _call() -> Call:
    """The call as this request gives it: the state in the URL, the numbers in the form."""
    form, args = request.form, request.args
    language = args.get("lang")
    tries = args.get("tries", default=0, type=int)
    return Call(sid=printable(form.get("CallSid", "-"), 40),
                language=language if isinstance(language, str) else None,
                tries=min(max(tries, 0), MAX_TRIES), informed=args.get(INFORMED) == "1",
                attestation=_attestation(form, args), caller=form.get("From", ""),
                clinic=form.get("To", ""), reason=_reason(args), number=_number(args),
                topics=_topics(args))


def _reason(args) -> str:
    why = args.get(WHY, "")
    return why if why in CALLBACK_REASONS else ""


def _number(args) -> str:
    """The keyed callback number sealed in the URL ("" when absent, altered or expired)."""
    sealed, seal = args.get(NUMBER, ""), current_line().seal
    return seal.open(sealed) if seal is not None and sealed and len(sealed) < 400 else ""


def _topics(args) -> tuple[str, ...]:
    """The summaries heard on this call, as the URL carries them; anything that is not a node id
    is dropped (a forged URL could carry anything)."""
    seen = args.get(TOPICS, "")
    return tuple(t for t in seen.split(".") if NODE_ID.match(t))[-MAX_TOPICS:] if seen else ()


def _conversation():
    return current_line().conversation


def _attestation(form, args) -> str:
    """The caller ID's attestation level (A, B, C; "" for none): StirVerstat when this request has
    it, else what the call's first request had, kept in the URL (only Twilio requests our URLs)."""
    if "StirVerstat" in form:
        return ATTESTED.get(form["StirVerstat"].strip(), "")
    kept = args.get(ATTESTATION, "")
    return kept if kept in ATTESTED.values() else ""


def _caller_id() -> str | None:
    """Caller ID for the transfer: the caller's own number, so scheduling sees who is calling;
    the clinic number they dialled when theirs is withheld."""
    caller, called = request.form.get("From", ""), request.form.get("To", "")
    if is_callable_caller_id(caller):
        return caller
    return called if is_callable_caller_id(called) else None


def _sid() -> str:
    return printable(request.form.get("CallSid", "-"), 40)


@bp.post("")
def incoming() -> Response:
    """A call comes in: greeting, emergency notice, main menu."""
    call = _call()
    log.debug("call %s started", call.sid)
    return _answer(_conversation().start(current_line().menu, call), call)


@bp.post("/<node>")
def keys(node: str) -> Response:
    """The caller pressed a key or said something (Gather action)."""
    call, line = _call(), current_line()
    digits = request.form.get("Digits", "").strip()
    speech = request.form.get("SpeechResult", "").strip()[:200]
    if speech and not digits:
        # What was said is never logged: it may be a child's name or a medical detail.
        confidence = request.form.get("Confidence", type=float)
        step = _conversation().speech(line.menu, call, node, speech, confidence)
        return _answer(step, call, "speech at %s", node)
    return _answer(_conversation().key(line.menu, call, node, digits), call, "key at %s", node)


# Every StirVerstat Twilio sends for a call whose carrier signed its caller ID, and the attestation
# it means; TN-Validation-Failed(-A/B/C), No-TN-Validation and no parameter at all attest nothing.
ATTESTED = {"TN-Validation-Passed-A": "A", "TN-Validation-Passed-B": "B", "TN-Validation-Passed-C": "C"}


@bp.post("/<node>/silence")
def silence(node: str) -> Response:
    """The caller pressed nothing before the Gather timed out."""
    call = _call()
    return _answer(_conversation().silence(current_line().menu, call, node), call, "no input at %s", node)


@bp.post("/dial-ended")
def dial_ended() -> Response:
    """The transfer to scheduling ended (Dial action), with DialCallStatus."""
    status = request.form.get("DialCallStatus", "")[:20]
    log.info("call %s transfer ended: %s", _sid(), status if status.isascii() else "(unreadable)")
    call = _call()
    return _answer(_conversation().transfer_ended(current_line().menu, call, status), call)


@bp.post("/_callback/done")
def callback_done() -> Response:
    """After the callback message (Record's action, or the Redirect when nothing was recorded)."""
    call = _call()
    step = _conversation().callback_done(current_line().menu, call, request.args.get(TEXTED) == "1")
    return _answer(step, call, "callback message at %s", "_callback")


# A recording's SID as Twilio writes it.
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}\Z")


@bp.post("/_callback/recording")
def callback_recording() -> Response:
    """Twilio's recording status callback: attach the family's message to their request (only the
    request's id is ever logged). Not TwiML: an empty answer, 400 for what is not Twilio's."""
    request_id = request.args.get(REQUEST, "")
    sid = request.form.get("RecordingSid", "")
    if not request_id.isdigit() or len(request_id) > 12 or not RECORDING_SID.match(sid):
        log.warning("refused a recording status callback: no request id or recording SID")
        return Response("", status=400)
    try:
        outcome = _conversation().recorded(int(request_id), sid, request.form.get("RecordingUrl", ""),
                                           request.form.get("RecordingStatus", ""),
                                           may_replace=request.args.get(REPLACES) == "1",
                                           asked=_asked(request.args.get(ASKED, "")))
        if outcome == "off":
            _recorded_while_off(sid)
    except Exception:  # never an error page to Twilio; the request stays without its message
        log.exception("Callback request %s: the recording status callback failed", request_id)
        return Response("", status=500)
    if outcome == "bad_url":
        return Response("", status=400)
    if outcome == "unavailable":
        return Response("", status=503)
    return Response("", status=204)


def _asked(value: str) -> float | None:
    """The ask's time from the callback's address (milliseconds), or None (an address from before)."""
    return int(value) / 1000 if value.isascii() and value.isdigit() and len(value) <= 15 else None


def _recorded_while_off(sid: str) -> None:
    """A message recorded while callback requests are off (IVR_CALLBACK_KEYS unset since the call
    began) has no request to go to: deleted at Twilio, unless a request kept from before holds it."""
    from ..recordings import Recordings
    from ..storage.callbacks import Callbacks

    line = current_line()
    recordings = Recordings.from_settings(line.settings)
    if recordings is None:
        log.error("recording %s is at Twilio, and callback requests are off: TWILIO_ACCOUNT_SID is not "
                  "set, so delete it in the Twilio Console", sid)
        return
    try:
        if Callbacks.for_store(line.store).holds(sid):  # the number's key is not needed to ask
            return
    except StorageUnavailable:
        log.exception("recording %s is at Twilio, and callback requests are off: the store failed; "
                      "delete it in the Twilio Console if no callback request has it", sid)
        return
    if recordings.delete(sid):
        log.info("recording %s deleted at Twilio: callback requests are off", sid)
    else:
        log.error("recording %s is still at Twilio: delete it in the Twilio Console", sid)


@bp.post("/status")
def status() -> Response:
    """Twilio's call status callback (the number's "Call status changes" webhook): a call ended."""
    duration = request.form.get("CallDuration", "")
    _conversation().ended(_call(), request.form.get("CallStatus", "")[:20],
                          int(duration) if duration.isdigit() else None)
    return Response("", status=204)


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
        call = _call()
        at_start = request.endpoint == "voice.incoming"
        return _answer(_conversation().failed(current_line().menu, call, at_start), call)
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
