"""The menu editor (editors and up): menus.yaml with line numbers, checked on the server as it is
typed, with every problem at its line and the text messages each reply would take."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict

from flask import jsonify, make_response, render_template, request

from ..line import current_line
from ..review.draft import MAX_DRAFT_BYTES, check_draft
from . import SECURITY_HEADERS
from .auth import role_required
from .views import bp


def _served_text() -> tuple[str, bool]:
    """The text of the menu the line serves, and whether the file on disk still holds it."""
    line = current_line()
    status = line.live_menu.status()
    try:
        data = line.live_menu.path.read_bytes()
    except OSError:
        return "", False
    return data.decode("utf-8", "replace"), hashlib.sha256(data).hexdigest() == status.sha256


def _draft_from_form() -> str | None:
    """The posted draft, or None when it is missing; line endings as the browser sends them (CRLF)
    become the file's."""
    text = request.form.get("draft")
    return None if text is None else text.replace("\r\n", "\n")


def _editor_page(text: str, status: int = 200):
    """The editor page. CodeMirror puts its styles in a <style> element, which the console's CSP
    allows on this page only with this response's nonce (scripts stay 'self' only)."""
    _, current = _served_text()
    nonce = secrets.token_urlsafe(16)
    response = make_response(render_template(
        "console/editor.html", draft=text, file_is_served=current, style_nonce=nonce,
        result=check_draft(text, "menus.yaml"), limit_kib=MAX_DRAFT_BYTES // 1024), status)
    response.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")
    return response


@bp.get("/editor")
@role_required("editor")
def editor():
    return _editor_page(_served_text()[0])


@bp.post("/editor")
@role_required("editor")
def editor_check_page():
    """Without JavaScript: the Check button posts the draft and the page comes back with its problems."""
    text = _draft_from_form()
    if text is None:
        return render_template("console/error.html", title="Nothing to check",
                               message="The form held no draft. Go back and try again."), 400
    return _editor_page(text)


@bp.post("/editor/check")
@role_required("editor")
def editor_check():
    """The draft's problems and text replies as JSON, for the editor's markers as staff type."""
    text = _draft_from_form()
    if text is None:
        return jsonify(error="Send the draft as the form field 'draft'."), 400
    result = check_draft(text, "menus.yaml")
    return jsonify(errors=result.errors, loads=result.loads,
                   problems=[asdict(p) for p in result.problems],
                   replies=[asdict(r) for r in result.replies])
