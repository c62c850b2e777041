"""Menu versions in the console: the history, one version with its diff against the live menu and
its walk, a clinician's approval of the exact sha256, publishing, bringing an earlier version back,
and downloading one. Drafts are saved from the editor (editor.py)."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..line import current_line
from ..menufile.yaml_strict import MenuFileError
from ..review.changes import changed_script, changes, walk_all, walk_blocks
from ..review.draft import check_draft
from ..storage.versions import Drafts, MenuVersion, VersionError
from .auth import console, role_required
from .menus import kept, menu_of, source_name, versions
from .views import bp

NOTE_LIMIT = 500


def drafts() -> Drafts:
    return Drafts(versions())


def self_approval() -> bool:
    """IVR_SELF_APPROVAL: a clinician may approve a draft they wrote (a one-person clinic)."""
    return current_line().settings.self_approval


def _version(number: int) -> MenuVersion:
    found = versions().get(number)
    if found is None:
        abort(404)
    return found


def _live() -> MenuVersion | None:
    served = current_line().live_menu.status()
    number = served.version
    return versions().get(number) if number else None


def review(version: MenuVersion) -> dict:
    """What a reviewer sees of `version`: its problems, the diff against the live menu in every
    language, the walk of every path, and whether (and why not) a clinician may approve it now.
    Kept per worker for this version's text and the live menu's, as it takes a while for a big menu."""
    live = current_line().live_menu.status().sha256
    return kept("reviews").get((version.id, version.sha256, version.state, live), lambda: _review(version))


def _review(version: MenuVersion) -> dict:
    check = check_draft(version.yaml, source_name(version.id))
    found = {"check": check, "changes": None, "walks": None, "blocked": None, "script": None}
    if not check.loads:
        found["blocked"] = "it has errors (listed below); edit it, then ask again"
        return found
    menu = menu_of(version)
    live = current_line().menu
    found["changes"] = changes(live, menu)
    found["script"] = changed_script(live, menu)
    if version.state in ("draft", "approved"):
        found["walks"] = walk_all(menu)
        if walk_blocks(found["walks"]):
            found["blocked"] = "the walk of every path found problems (listed below)"
    return found


def _approval_refusal(version: MenuVersion, reviewed: dict) -> str | None:
    """Why the signed-in clinician may not approve `version` now, or None."""
    if version.state != "draft":
        return f"it is {version.state}, not a draft waiting for approval"
    if reviewed["blocked"]:
        return reviewed["blocked"]
    if current_user.username in version.author_names and not self_approval():
        return "you wrote some of it: another clinician must approve it"
    return None


@bp.get("/versions")
@role_required("viewer")
def versions_list():
    served = current_line().live_menu.status()
    return render_template("console/versions.html", versions=versions().list(200),
                           served=served.version)


@bp.get("/versions/<int(max=2147483647):number>")
@role_required("viewer")
def version_page(number: int):
    version = _version(number)
    reviewed = review(version)
    refusal = _approval_refusal(version, reviewed) if current_user.may("clinician") else None
    return render_template("console/version.html", version=version, live=_live(), refusal=refusal,
                           served=current_line().live_menu.status().version,
                           self_approval=self_approval(), **reviewed)


def _posted_sha256() -> str:
    sha = request.form.get("sha256", "")
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        abort(400)
    return sha


def _refused(number: int, message: str):
    flash(f"Nothing changed: {message}.")
    return redirect(url_for("console.version_page", number=number)), 303


@bp.post("/versions/<int(max=2147483647):number>/approve")
@role_required("clinician")
def approve_version(number: int):
    sha = _posted_sha256()
    version = _version(number)
    if version.sha256 != sha:
        return _refused(number, f"version {number} changed after you reviewed it: review it again")
    refusal = _approval_refusal(version, review(version))
    if refusal:
        return _refused(number, f"version {number} cannot be approved: {refusal}")
    try:
        drafts().approve(number, sha256=sha, by=current_user.username, now=console().clock(),
                         own_allowed=self_approval())
    except VersionError as error:
        return _refused(number, str(error))
    flash(f"Version {number} is approved (sha256 {sha[:12]}). An editor, clinician or admin can "
          "now publish it.")
    return redirect(url_for("console.version_page", number=number)), 303


@bp.post("/versions/<int(max=2147483647):number>/publish")
@role_required("editor")
def publish_version(number: int):
    sha = _posted_sha256()
    try:
        drafts().publish(number, sha256=sha, by=current_user.username, now=console().clock())
    except VersionError as error:
        return _refused(number, str(error))
    flash(f"Version {number} is published. Every machine of the line serves it within "
          f"{current_line().settings.reload_seconds:g} seconds.")
    return redirect(url_for("console.version_page", number=number)), 303


@bp.post("/versions/<int(max=2147483647):number>/roll-back")
@role_required("editor")
def roll_back_version(number: int):
    why = " ".join(request.form.get("note", "").split())[:NOTE_LIMIT]
    if not why:
        return _refused(number, "say why this version is brought back (the note is in the audit log)")
    version = _version(number)
    try:
        menu_of(version)  # an earlier release's file may not load on this one
    except MenuFileError as error:
        return _refused(number, f"version {number} cannot be served by this release of the line: "
                                f"{error.problems[0]}")
    try:
        drafts().roll_back(number, by=current_user.username, now=console().clock(), why=why)
    except VersionError as error:
        return _refused(number, str(error))
    flash(f"Version {number} is published again. Every machine of the line serves it within "
          f"{current_line().settings.reload_seconds:g} seconds.")
    return redirect(url_for("console.version_page", number=number)), 303


@bp.get("/versions/<int(max=2147483647):number>/menus.yaml")
@role_required("editor")
def export_version(number: int):
    version = _version(number)
    drafts().exported(number, version.sha256, by=current_user.username, now=console().clock())
    return Response(version.data, mimetype="application/yaml", headers={
        "Content-Disposition": f'attachment; filename="menus-version-{number}.yaml"'})
