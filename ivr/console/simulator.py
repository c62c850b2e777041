"""The browser phone and texting simulator: the conversation service on the live menu, nothing sent,
dialled or recorded. Each page is a form post that carries the call's or conversation's inputs in
hidden fields (as the voice webhook's URLs carry a call's state) and shows the transcript again."""

from __future__ import annotations

from flask import render_template, request

from ..line import current_line
from . import simulation
from .auth import role_required
from .simulation import SimulationError
from .views import bp


def _now_value(zone) -> str:
    """Now in the clinic's zone (the line's own clock, so a test's fixed clock holds here too)."""
    return simulation.moment_value(current_line().conversation.clock(), zone)


def _hours_context(menu, moment, zone) -> dict:
    return {"moment_text": simulation.describe_moment(moment, zone),
            "open": simulation.is_open(menu, moment), "has_hours": menu.hours is not None}


@bp.get("/phone")
@role_required("viewer")
def phone():
    """The browser phone, before a call: the time to call at, and the Call button."""
    menu = current_line().menu
    zone = simulation.clinic_zone(menu)
    return render_template("console/phone.html", when=_now_value(zone), zone=zone.key, call=None,
                           error=None, keys=simulation.KEYS, key_names=simulation.KEY_NAMES,
                           outcomes=simulation.OUTCOME_LABELS)


@bp.post("/phone")
@role_required("viewer")
def phone_step():
    """One thing the caller does (or Call, to start again): the call replayed with it."""
    menu = current_line().menu
    zone = simulation.clinic_zone(menu)
    form = request.form
    steps = form.getlist("step")
    when = form.get("moment", "")
    page = {"keys": simulation.KEYS, "key_names": simulation.KEY_NAMES,
            "outcomes": simulation.OUTCOME_LABELS, "zone": zone.key}
    try:
        if "call" in form:  # a new call, at the time chosen
            when, steps = form.get("when", ""), []
        else:
            steps = [*steps, _input(form)]
        moment = simulation.parse_moment(when, zone)
        result = simulation.call(menu, moment, steps)
    except SimulationError as problem:
        return _phone_error(menu, zone, when, form.getlist("step"), str(problem), page)
    return render_template("console/phone.html", when=simulation.moment_value(moment, zone), call=result,
                           moment=simulation.moment_value(moment, zone), error=None,
                           **_hours_context(menu, moment, zone), **page)


def _input(form) -> str:
    """The caller's input this form carries, as a step of the call."""
    if "key" in form:
        return f"key:{form['key']}"
    if "transfer" in form:
        return f"transfer:{form['transfer']}"
    action = form.get("do", "")
    if action == "say":
        return f"say:{form.get('speech', '')}"
    if action in ("wait", "hangup"):
        return action
    raise SimulationError("Choose what the caller does: press a key, say something, wait or hang up.")


def _phone_error(menu, zone, when, steps, message, page):
    """The page with `message`, and the call as it was before the refused input, when it can be had."""
    call, context = None, {}
    try:
        moment = simulation.parse_moment(when, zone)
        context = {**_hours_context(menu, moment, zone), "moment": simulation.moment_value(moment, zone)}
        call = simulation.call(menu, moment, steps)
        when = context["moment"]
    except SimulationError:
        call, context, when = None, {}, _now_value(zone)
    return render_template("console/phone.html", when=when, call=call, error=message, **context,
                           **page), 400


@bp.get("/texting")
@role_required("viewer")
def texting():
    """The texting simulator, before the first message."""
    menu = current_line().menu
    zone = simulation.clinic_zone(menu)
    return render_template("console/texting.html", when=_now_value(zone), zone=zone.key,
                           conversation=None, error=None, max_message=simulation.MAX_MESSAGE)


@bp.post("/texting")
@role_required("viewer")
def texting_send():
    """One message to the line (or a new conversation): the conversation replayed with it."""
    menu = current_line().menu
    zone = simulation.clinic_zone(menu)
    form = request.form
    sent = form.getlist("sent")
    page = {"zone": zone.key, "max_message": simulation.MAX_MESSAGE}
    if "new" in form:
        return render_template("console/texting.html", when=form.get("when") or _now_value(zone),
                               conversation=None, error=None, **page)
    try:
        moment = simulation.parse_moment(form.get("when"), zone)
        message = form.get("message", "")
        if not message.strip():
            raise SimulationError("Type a message to send.")
        conversation = simulation.texts(menu, moment, [*sent, message])
    except SimulationError as problem:
        try:
            conversation = simulation.texts(menu, simulation.parse_moment(form.get("when"), zone), sent)
        except SimulationError:
            conversation = None
        when = form.get("when", "")
        return render_template("console/texting.html", when=when if _valid(when, zone) else _now_value(zone),
                               conversation=conversation, error=str(problem), **page), 400
    return render_template("console/texting.html", when=simulation.moment_value(moment, zone),
                           conversation=conversation, error=None, **page)


def _valid(when: str, zone) -> bool:
    try:
        simulation.parse_moment(when, zone)
    except SimulationError:
        return False
    return True
