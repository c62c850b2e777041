"""The browser phone and texting simulator: the conversation service on the live menu or on any
stored version (a draft), alone or side by side with the live menu, nothing sent, dialled or
recorded. Each page is a form post that carries the call's or conversation's inputs in hidden
fields (as the voice webhook's URLs carry a call's state) and shows the transcript again."""

from __future__ import annotations

from flask import render_template, request

from ..line import current_line
from . import comparison, simulation, tried
from .auth import role_required
from .simulation import SimulationError
from .views import bp


def _now_value(zone) -> str:
    """Now in the clinic's zone (the line's own clock, so a test's fixed clock holds here too)."""
    return simulation.moment_value(current_line().conversation.clock(), zone)


def _hours_context(menu, moment, zone) -> dict:
    return {"moment_text": simulation.describe_moment(moment, zone),
            "open": simulation.is_open(menu, moment), "has_hours": menu.hours is not None}


def _menus(values) -> dict:
    """The menu the form or query names, the live one to compare it with (None unless `compare`),
    and the list to switch with: the template's context for which menu is tried."""
    chosen = tried.chosen(values.get("version"))
    live = tried.live() if chosen.version is not None and values.get("compare") == "1" else None
    return {"tried": chosen, "live": live, "choices": tried.choices(chosen)}


def _unloadable(template: str, menus: dict):
    """The page for a version that cannot be loaded: its problems, and no call or conversation."""
    return render_template(template, **menus)


# -- the browser phone ----------------------------------------------------------------------------

def _phone_page(menus: dict) -> dict:
    return {**menus, "keys": simulation.KEYS, "key_names": simulation.KEY_NAMES,
            "outcomes": simulation.OUTCOME_LABELS}


def _compared_call(menus: dict, moment, call) -> dict:
    """The live menu's call from the tried call's inputs, and both aligned by turn (compare only)."""
    live = menus["live"]
    if live is None or call is None:
        return {}
    other = simulation.call(live.menu, moment, call.steps, partial=True)
    zone = simulation.clinic_zone(menus["tried"].menu)
    return {"live_call": other, "rows": comparison.phone_rows(call, other),
            "live_hours": _hours_context(live.menu, moment, zone)}


@bp.get("/phone")
@role_required("viewer")
def phone():
    """The browser phone, before a call: the menu to try, the time to call at, and the Call button."""
    menus = _menus(request.args)
    if menus["tried"].menu is None:
        return _unloadable("console/phone.html", menus)
    zone = simulation.clinic_zone(menus["tried"].menu)
    return render_template("console/phone.html", when=_now_value(zone), zone=zone.key, call=None,
                           error=None, **_phone_page(menus))


@bp.post("/phone")
@role_required("viewer")
def phone_step():
    """One thing the caller does (or Call, to start again): the call replayed with it, on the menu
    tried and, when comparing, on the live menu too."""
    menus = _menus(request.form)
    menu = menus["tried"].menu
    if menu is None:
        return _unloadable("console/phone.html", menus)
    zone = simulation.clinic_zone(menu)
    form = request.form
    steps = form.getlist("step")
    when = form.get("moment", "")
    page = {**_phone_page(menus), "zone": zone.key}
    try:
        if "call" in form:  # a new call, at the time chosen
            when, steps = form.get("when", ""), []
        else:
            steps = [*steps, _input(form)]
        moment = simulation.parse_moment(when, zone)
        result = simulation.call(menu, moment, steps)
    except SimulationError as problem:
        return _phone_error(menus, zone, when, form.getlist("step"), str(problem), page)
    return render_template("console/phone.html", when=simulation.moment_value(moment, zone), call=result,
                           moment=simulation.moment_value(moment, zone), error=None,
                           **_hours_context(menu, moment, zone), **_compared_call(menus, moment, result),
                           **page)


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


def _phone_error(menus, zone, when, steps, message, page):
    """The page with `message`, and the call as it was before the refused input, when it can be had."""
    menu = menus["tried"].menu
    call, context = None, {}
    try:
        moment = simulation.parse_moment(when, zone)
        context = {**_hours_context(menu, moment, zone), "moment": simulation.moment_value(moment, zone)}
        call = simulation.call(menu, moment, steps)
        context.update(_compared_call(menus, moment, call))
        when = context["moment"]
    except SimulationError:
        call, context, when = None, {}, _now_value(zone)
    return render_template("console/phone.html", when=when, call=call, error=message, **context,
                           **page), 400


# -- the texting simulator ------------------------------------------------------------------------

def _compared_texts(menus: dict, moment, conversation) -> dict:
    """The live menu's answers to the same messages, and both aligned by message (compare only)."""
    live = menus["live"]
    if live is None or conversation is None:
        return {}
    other = simulation.texts(live.menu, moment, [e.message for e in conversation.exchanges])
    return {"live_conversation": other, "rows": comparison.text_rows(conversation, other)}


@bp.get("/texting")
@role_required("viewer")
def texting():
    """The texting simulator, before the first message."""
    menus = _menus(request.args)
    if menus["tried"].menu is None:
        return _unloadable("console/texting.html", menus)
    zone = simulation.clinic_zone(menus["tried"].menu)
    return render_template("console/texting.html", when=_now_value(zone), zone=zone.key,
                           conversation=None, error=None, max_message=simulation.MAX_MESSAGE, **menus)


@bp.post("/texting")
@role_required("viewer")
def texting_send():
    """One message to the line (or a new conversation): the conversation replayed with it, on the
    menu tried and, when comparing, on the live menu too."""
    menus = _menus(request.form)
    menu = menus["tried"].menu
    if menu is None:
        return _unloadable("console/texting.html", menus)
    zone = simulation.clinic_zone(menu)
    form = request.form
    sent = form.getlist("sent")
    page = {"zone": zone.key, "max_message": simulation.MAX_MESSAGE, **menus}
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
        context = {}
        try:
            moment = simulation.parse_moment(form.get("when"), zone)
            conversation = simulation.texts(menu, moment, sent)
            context = _compared_texts(menus, moment, conversation)
        except SimulationError:
            conversation = None
        when = form.get("when", "")
        return render_template("console/texting.html", when=when if _valid(when, zone) else _now_value(zone),
                               conversation=conversation, error=str(problem), **context, **page), 400
    return render_template("console/texting.html", when=simulation.moment_value(moment, zone),
                           conversation=conversation, error=None,
                           **_compared_texts(menus, moment, conversation), **page)


def _valid(when: str, zone) -> bool:
    try:
        simulation.parse_moment(when, zone)
    except SimulationError:
        return False
    return True
