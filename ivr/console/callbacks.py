"""The callback queue (schedulers and admins): the families waiting for a call back, one request's page
with its number, topics and message (streamed from Twilio through the app), and take, note, close.
Every view, play and change is in the audit log, naming the request by its id alone."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..line import current_line
from ..model.phone import for_reading
from ..recordings import MediaError
from ..storage.callbacks import (
    CLOSED_STATES,
    CallbackError,
    CallbackKeyError,
    CallbackRequest,
    Callbacks,
    CallbackTakenError,
)
from ..storage.tables import audit as audit_table
from ..usage import EXTENSION as USAGE
from .auth import audit, console, role_required
from .dashboard import CALLBACK_REASON_LABELS as REASONS
from .dashboard import _title
from .forms import MAX_ID
from .views import bp
from .views import when as format_when

NOTE_LIMIT = 1000  # characters of a staff note
QUEUE_LIMIT = 500  # requests listed (the purge keeps the table far smaller)
STATUSES = {"new": "New", "in_progress": "In progress", "done": "Done", "unreachable": "Could not reach"}
LANGUAGES = {"en": "English", "es": "Spanish"}
ID = f"<int(max={MAX_ID}):request_id>"
# Every GET of a message is a listen and is audited, but a browser fetches one play in several ranges
# (and seeks): at most one "callback message played" per account and request in this many seconds.
PLAY_AUDIT_SECONDS = 600
PLAYED = "callback message played"


def subject(request_id: int) -> str:
    """How the audit log names a request: its id, never its number."""
    return f"callback request {request_id}"


def requests() -> Callbacks | None:
    """The line's callback requests, or None when they are off (no IVR_CALLBACK_KEYS)."""
    return console().callbacks


def age(seconds: float) -> str:
    """How long ago, for the eye: "under a minute", "5 min", "3 h 20 min", "2 days 4 h"."""
    minutes = int(max(seconds, 0) // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    days_text = f"{days} day{'s' if days != 1 else ''}"
    return f"{days_text} {hours} h" if hours else days_text


def language_name(code: str) -> str:
    """A language code as staff say it ("es-US": Spanish), or the code itself."""
    return LANGUAGES.get(code.split("-")[0].lower(), code)


@bp.app_template_filter("callback_reason")
def _reason(reason: str) -> str:
    return REASONS.get(reason, reason)


@bp.app_template_filter("callback_status")
def _status(status: str) -> str:
    return STATUSES.get(status, status)


@bp.get("/callbacks")
@role_required("scheduler")
def callbacks_queue():
    """The queue: the waiting requests newest first, then the closed ones; no numbers."""
    found = requests()
    if found is None:
        return render_template("console/callbacks.html", off=True, waiting=[], closed=[])
    # Every open request, however many closed ones the purge has yet to delete.
    waiting = sorted(found.list_open(QUEUE_LIMIT), key=lambda r: (r.created, r.id), reverse=True)
    closed = [r for r in found.newest(QUEUE_LIMIT) if not r.open]
    return render_template("console/callbacks.html", off=False, now=console().clock(), age=age,
                           language_name=language_name, waiting=waiting, closed=closed)


def _summary(request_id: int) -> CallbackRequest:
    found = requests()
    if found is None:
        abort(404)
    summary = found.summary(request_id)
    if summary is None:
        abort(404)
    return summary


def taken_at(request_id: int, since: float) -> float | None:
    """When the request (made at `since`) was last taken: its audit entry's time, or None."""
    # From `since` on only (less an hour for machines' clocks apart): the audit log's time index then
    # reads the request's own weeks, not the whole log.
    statement = (select(audit_table.c.at).where(audit_table.c.at >= since - 3600,
                                                audit_table.c.action == "callback taken",
                                                audit_table.c.subject == subject(request_id))
                 .order_by(audit_table.c.id.desc()).limit(1))
    return current_line().store._run("read the audit log in", lambda c: c.execute(statement).scalar())


@bp.get(f"/callbacks/{ID}")
@role_required("scheduler")
def callback_page(request_id: int):
    """One request: its number (and tel: link), topics, message, and the forms to take and close it."""
    found = requests()
    if found is None:
        abort(404)
    problem = None
    try:
        shown = found.get(request_id)
    except CallbackKeyError:
        # Its key left IVR_CALLBACK_KEYS: the page still shows everything else about it.
        shown = found.summary(request_id)
        problem = ("This request's number cannot be read: it was encrypted with a key that is no longer in "
                   "IVR_CALLBACK_KEYS. Ask whoever runs the line to put that key back.")
    if shown is None:
        abort(404)
    audit("callback viewed", subject(request_id))
    menu = current_line().menu
    return render_template(
        "console/callbacks_request.html", r=shown, problem=problem, now=console().clock(), age=age,
        language_name=language_name, topics=[_title(menu, node) for node in shown.topics],
        shown_number=for_reading(shown.number) if shown.number else None,
        taken_at=taken_at(request_id, shown.created) if shown.taken_by else None, note_limit=NOTE_LIMIT)


@bp.get(f"/callbacks/{ID}/recording")
@role_required("scheduler")
def callback_recording(request_id: int):
    """The family's message, fetched from Twilio's REST API and streamed on: the page holds only this
    address, never Twilio's, and nothing is kept on disk or in caches."""
    found = _summary(request_id)
    recordings = console().recordings
    if not found.recording_sid or recordings is None:
        abort(404)
    byte_range = request.headers.get("Range")
    try:
        media = recordings.media(found.recording_sid, byte_range)
    except MediaError as error:
        if error.missing:
            abort(404)
        return Response("Twilio did not give the message's audio. Try again in a minute.\n", 502,
                        mimetype="text/plain")
    # Every GET that gets audio, whatever its range (HEAD gets none): no listen goes unrecorded.
    if request.method == "GET" and media.status != 416 and not _played_lately(request_id):
        audit(PLAYED, subject(request_id))
    # The Media itself: the response closes it (and Twilio's connection) however the browser ends.
    response = Response(media, status=media.status, headers=media.headers, direct_passthrough=True)
    response.headers["Cache-Control"] = "no-store"
    return response


def _played_lately(request_id: int) -> bool:
    """This account's play of the request is already in the audit log, within PLAY_AUDIT_SECONDS."""
    statement = (select(audit_table.c.id).where(audit_table.c.at >= console().clock() - PLAY_AUDIT_SECONDS,
                                                audit_table.c.actor == current_user.username,
                                                audit_table.c.action == PLAYED,
                                                audit_table.c.subject == subject(request_id)).limit(1))
    return current_line().store._run("read the audit log in",
                                     lambda c: c.execute(statement).first()) is not None


def _back(request_id: int):
    return redirect(url_for("console.callback_page", request_id=request_id), 303)


def _closed_kindly(request_id: int):
    latest = _summary(request_id)
    who = f", by {latest.taken_by}" if latest.taken_by else ""
    flash(f"Callback request {request_id} is already closed ({_status(latest.status).lower()}{who}): "
          f"nothing more to do.")
    return _back(request_id)


@bp.post(f"/callbacks/{ID}/take")
@role_required("scheduler")
def take_callback(request_id: int):
    """Take the request (or, with `over`, take it over from who has it), only if no one else has."""
    found = _summary(request_id)
    over = (request.form.get("over") or "").strip()[:100] or None
    try:
        requests().claim(request_id, current_user.username, console().clock(), over=over)
    except CallbackTakenError as error:
        when = taken_at(request_id, found.created)
        at = f" at {format_when(when)}" if when else ""
        flash(f"Nothing changed: {error.taken_by} took callback request {request_id}{at}. "
              "Take it over only if they are not calling the family.")
        return _back(request_id)
    except CallbackError:
        return _closed_kindly(request_id)
    audit("callback taken", subject(request_id), f"from {over}" if over else "")
    flash(f"Callback request {request_id} is yours: in progress. Call the family, then close it.")
    return _back(request_id)


def _note() -> str:
    return (request.form.get("note") or "").replace("\r\n", "\n").strip()[:NOTE_LIMIT]


@bp.post(f"/callbacks/{ID}/note")
@role_required("scheduler")
def note_callback(request_id: int):
    """Save the staff note."""
    _summary(request_id)
    requests().set_note(request_id, _note(), console().clock())
    audit("callback note saved", subject(request_id))
    flash(f"The note of callback request {request_id} is saved.")
    return _back(request_id)


@bp.post(f"/callbacks/{ID}/close")
@role_required("scheduler")
def close_callback(request_id: int):
    """Close the request as done or could not reach, with the note."""
    found = _summary(request_id)
    outcome = request.form.get("outcome", "")
    if outcome not in CLOSED_STATES:
        flash("Choose how it ended: done, or could not reach.")
        return _back(request_id)
    now = console().clock()
    try:
        requests().close(request_id, outcome, current_user.username, _note(), now)
    except CallbackError:
        return _closed_kindly(request_id)
    audit("callback closed", subject(request_id), _status(outcome).lower())
    # For the usage charts: how long the family waited, and nothing that names them.
    current_app.extensions[USAGE].record("callback_closed", f"callback-{request_id}", None, found.language,
                                         outcome, int(now - found.created))
    flash(f"Callback request {request_id} is closed: {_status(outcome).lower()}.")
    return redirect(url_for("console.callbacks_queue"), 303)
