"""The menu editor (editors and up): menus.yaml with line numbers, checked on the server as it is
typed, with every problem at its line and the text messages each reply would take; saved as a
draft version, from the live version or any earlier one."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..line import current_line
from ..menufile.build import parse_menus
from ..menufile.yaml_strict import MenuFileError
from ..review.diff import describe_changes
from ..review.draft import MAX_DRAFT_BYTES, check_draft
from ..storage.versions import MenuVersion, StaleDraft, VersionError
from . import content_security_policy
from .auth import console, role_required
from .forms import row_number
from .menus import versions
from .versions import NOTE_LIMIT, drafts
from .views import bp


@dataclass(frozen=True)
class Editing:
    """What the editor has open: a draft to save over (draft_id with the sha256 it was opened at), or
    a new draft from the version base_id."""

    draft_id: int | None = None
    expected_sha256: str = ""
    base_id: int | None = None
    note: str = ""

    @property
    def title(self) -> str:
        if self.draft_id:
            return f"Draft version {self.draft_id}"
        return f"A new draft from version {self.base_id}" if self.base_id else "A new draft"


def _opened(number: int | None) -> tuple[str, Editing]:
    """The text and Editing for ?version=N, or for the live version when none is asked for."""
    if number is None:
        number = current_line().live_menu.status().version
        if number is None:  # the database has no version yet: the deployed file
            return current_line().live_menu.path.read_text("utf-8", "replace"), Editing()
    version = versions().get(number)
    if version is None:
        abort(404)
    if version.state in ("draft", "approved"):
        return version.yaml, Editing(version.id, version.sha256, version.base_id, version.note)
    return version.yaml, Editing(base_id=version.id)


def _posted() -> tuple[str | None, Editing]:
    """The posted draft (None when missing; the browser's CRLF become the file's LF) and Editing."""
    text = request.form.get("draft")
    form = request.form
    editing = Editing(row_number(form.get("draft_id")), form.get("expected_sha256", ""),
                      row_number(form.get("base_id")), " ".join(form.get("note", "").split())[:NOTE_LIMIT])
    return (None if text is None else text.replace("\r\n", "\n")), editing


def _editor_page(text: str, editing: Editing, status: int = 200, stale: dict | None = None):
    """The editor page. CodeMirror puts its styles in a <style> element, which the console's CSP
    allows on this page only with this response's nonce (scripts stay 'self' only)."""
    nonce = secrets.token_urlsafe(16)
    response = make_response(render_template(
        "console/editor.html", draft=text, editing=editing, style_nonce=nonce, stale=stale,
        result=check_draft(text, "menus.yaml"), limit_kib=MAX_DRAFT_BYTES // 1024), status)
    response.headers["Content-Security-Policy"] = content_security_policy(f"'self' 'nonce-{nonce}'")
    return response


@bp.get("/editor")
@role_required("editor")
def editor():
    asked = request.args.get("version")
    number = row_number(asked)
    if asked is not None and number is None:
        abort(404)
    text, editing = _opened(number)
    return _editor_page(text, editing)


@bp.post("/editor")
@role_required("editor")
def editor_check_page():
    """Without JavaScript: the Check button posts the draft and the page comes back with its problems."""
    text, editing = _posted()
    if text is None:
        return _nothing_posted()
    return _editor_page(text, editing)


def _nothing_posted():
    return render_template("console/error.html", title="Nothing to check",
                           message="The form held no draft. Go back and try again."), 400


def _theirs_against_yours(saved: MenuVersion, text: str) -> str:
    """What the other person's saved draft says that yours does not, in plain words (when both load)."""
    try:
        return describe_changes(parse_menus(text, "your draft"), parse_menus(saved.yaml, "their draft"))
    except MenuFileError:
        return "One of the two drafts has errors, so they cannot be compared in plain words."


@bp.post("/editor/save")
@role_required("editor")
def editor_save():
    """Save the draft: over the open draft if nobody saved it since, else as a new draft. A draft
    with errors may be saved (never approved)."""
    text, editing = _posted()
    if text is None:
        return _nothing_posted()
    data = text.encode("utf-8")
    if len(data) > MAX_DRAFT_BYTES:
        flash(f"Not saved: a draft is at most {MAX_DRAFT_BYTES // 1024} KiB.")
        return _editor_page(text, editing, 413)
    by, now = current_user.username, console().clock()
    try:
        if editing.draft_id:
            draft = drafts().save(editing.draft_id, data, by=by, now=now,
                                  expected_sha256=editing.expected_sha256, note=editing.note)
        else:
            if editing.base_id is not None and versions().get(editing.base_id) is None:
                raise VersionError(f"there is no version {editing.base_id} to start a draft from")
            draft = drafts().start(data, by=by, now=now, base_id=editing.base_id, note=editing.note)
    except StaleDraft as stale:
        saved = stale.saved
        # Nothing is lost: the page keeps this text, says who saved what, and offers a new draft.
        return _editor_page(text, Editing(base_id=saved.id, note=editing.note), 409, stale={
            "message": f"Not saved: {stale}. Your text is still here.", "version": saved,
            "difference": _theirs_against_yours(saved, text)})
    except VersionError as error:
        flash(f"Not saved: {error}.")
        return _editor_page(text, editing, 409)
    problems = check_draft(text).errors
    flash(f"Draft version {draft.id} is saved" + (f"; it has {problems} error(s) to fix before a clinician "
                                                  "can approve it." if problems else "."))
    return redirect(url_for("console.editor", version=draft.id), 303)


@bp.post("/editor/check")
@role_required("editor")
def editor_check():
    """The draft's problems and text replies as JSON, for the editor's markers as staff type."""
    text, _ = _posted()
    if text is None:
        return jsonify(error="Send the draft as the form field 'draft'."), 400
    result = check_draft(text, "menus.yaml")
    return jsonify(errors=result.errors, loads=result.loads,
                   problems=[asdict(p) for p in result.problems],
                   replies=[asdict(r) for r in result.replies])
