"""The line's status: the menu each worker serves, its warnings, the clinician script and the diagram."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, make_response, render_template

from ..heartbeat import EXTENSION as HEARTBEAT
from ..heartbeat import STALE_SECONDS, Heartbeat
from ..line import current_line
from ..logs import redact
from ..model.problem import Problem
from ..review.diagram import render_diagram
from ..review.lint import lint
from ..review.script import INTRO, SIGN_OFF, script_sections, script_title
from ..storage import StoreError
from ..storage.workers import Worker
from . import content_security_policy
from .auth import console, role_required
from .views import bp

# The diagram page's one exception to the console's CSP. Mermaid lays the diagram out in the page
# itself and styles it as it goes: a <style> element in the SVG and style="" attributes on its nodes
# and labels (over a hundred for this menu), whose values (sizes measured in the browser) no hash or
# nonce can name in advance, and mermaid has no option to do without them. So this page alone allows
# inline styles. Scripts stay 'self' (mermaid and diagram.js are files of the console), and every other
# directive is the console's: a style cannot load anything from another site (default-src and img-src
# 'self'), and the menu's words reach the diagram escaped (ivr.review.diagram.mermaid_text) and
# sanitised by mermaid's securityLevel "strict".
DIAGRAM_CSP = content_security_policy("'self' 'unsafe-inline'")

# Workers seen in the last quarter of an hour are listed; older rows (kept for a day) are only counted.
LIST_SECONDS = 15 * 60


@dataclass(frozen=True)
class WorkerLine:
    """A row of the workers table as the page shows it: the worker, and what is worth a flag."""

    worker: Worker
    this: bool  # the worker answering this page
    stale: bool  # not seen for STALE_SECONDS: it has probably stopped
    other_version: bool  # serves another menu than this worker
    ago: int  # seconds since it was last seen


def menu_problems(menu) -> list[Problem]:
    """What `ivr check` prints for `menu` (without --walk): the loader's warnings and lint's, in
    file order."""
    return sorted([*menu.warnings, *lint(menu)], key=lambda p: (p.line, p.col))


def _heartbeat() -> Heartbeat:
    return current_app.extensions[HEARTBEAT]


def _worker_lines(heartbeat: Heartbeat, now: float) -> tuple[list[WorkerLine], int, str | None]:
    """(the workers seen lately, how many older ones are not shown, the database's error or None).
    This worker is shown from memory, so it is listed even before (or without) its first beat."""
    me = heartbeat.row()
    error = None
    try:
        rows = heartbeat.workers.seen_since(now - LIST_SECONDS)
        older = heartbeat.workers.count_before(now - LIST_SECONDS)
    except StoreError as exc:
        rows, older, error = [], 0, str(exc)
    rows = [me, *(row for row in rows if row.id != me.id)]
    lines = [WorkerLine(row, row.id == me.id, row.id != me.id and now - row.seen > STALE_SECONDS,
                        row.menu_sha256 != me.menu_sha256,
                        0 if row.id == me.id else max(0, int(now - row.seen)))
             for row in rows]
    return lines, older, error


@bp.get("/status")
@role_required("viewer")
def status():
    """This worker's menu, every worker seen lately, the served menu's warnings, links to the rest."""
    line = current_line()
    live = line.live_menu
    menu = live.menu  # also notices an edited file, as a call would
    served = live.status()
    file_error = None
    if served.last_error:
        file_error = redact(served.last_error)
    heartbeat = _heartbeat()
    now = console().clock()
    workers, older, database_error = _worker_lines(heartbeat, now)
    return render_template(
        "console/status.html", served=served, menu=menu, path=live.path, file_error=file_error,
        problems=[str(p) for p in menu_problems(menu)], workers=workers, older=older,
        database_error=database_error, heartbeat=heartbeat, list_minutes=LIST_SECONDS // 60,
        stale_minutes=int(STALE_SECONDS // 60), interval=int(heartbeat.interval),
        languages=(menu.language, *menu.translations))


@bp.get("/status/script")
@role_required("viewer")
def status_script():
    """The clinician script of the served menu in every language, as a printable page."""
    menu = current_line().menu
    # Every language of the line, the main one first: each is what `ivr script --language` prints.
    scripts = [(one, script_title(one), script_sections(one)) for one in (menu, *menu.translations.values())]
    return render_template("console/status_script.html", scripts=scripts, intro=INTRO,
                           sign_off=SIGN_OFF, served=current_line().live_menu.status())


@bp.get("/status/diagram")
@role_required("viewer")
def status_diagram():
    """The served menu's diagram: Mermaid source drawn in the page by the vendored mermaid."""
    menu = current_line().menu
    response = make_response(render_template("console/status_diagram.html", source=render_diagram(menu),
                                             served=current_line().live_menu.status()))
    response.headers["Content-Security-Policy"] = DIAGRAM_CSP
    return response
