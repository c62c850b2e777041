"""The console's pages: sign-in, the overview, accounts and the audit log (admins)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..storage import StoreError
from ..storage.accounts import AccountError, normal_username
from . import passwords
from .auth import SIGN_IN_REFUSED, audit, console, needs_second_factor, role_required, sign_in, sign_out
from .forms import AddAccountForm, ButtonForm, ResetPasswordForm, SignInForm, row_number
from .roles import DESCRIPTIONS, ROLES

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()
log = logging.getLogger("ivr")
AUDIT_PAGE = 200  # entries on a page of the audit log


@bp.before_request
def _check_csrf():
    """Every state-changing console request carries the session's CSRF token (Flask-WTF)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.app_template_filter("when")
def when(seconds: float | None) -> str:
    """A moment as staff read it: "2026-12-03 14:05 UTC" ("" for none)."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@bp.app_context_processor
def _layout():
    return {"button_form": ButtonForm, "role_descriptions": DESCRIPTIONS,
            "self_approval_on": current_app.extensions["ivr"].settings.self_approval}


def _safe_next(target: str | None) -> str:
    """Only a console path of this site: never another host."""
    if (target and target.startswith("/console") and not urlsplit(target).netloc and "\\" not in target
            and target.isprintable() and not any(c.isspace() for c in target)):
        return target
    return url_for("console.home")


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        user = sign_in(form.username.data, form.password.data)
        if user and needs_second_factor(user.role):
            return redirect(url_for("console.two_factor", next=request.args.get("next")))
        if user:
            return redirect(_safe_next(request.args.get("next")))
        error = SIGN_IN_REFUSED
    elif request.method == "POST":
        error = "Enter a username and a password."
    status = 200 if error is None else 401
    return render_template("console/signin.html", form=form, error=error), status


@bp.post("/sign-out", endpoint="sign_out")
@role_required("viewer")
def sign_out_page():
    if not ButtonForm().validate_on_submit():
        abort(400)
    sign_out()
    flash("You are signed out.")
    return redirect(url_for("console.sign_in"))


@bp.get("/")
@role_required("viewer")
def home():
    return render_template("console/home.html")


@bp.get("/audit")
@role_required("admin")
def audit_log():
    before = row_number(request.args.get("before"))
    entries = console().accounts.audit_log(AUDIT_PAGE + 1, before)
    older = entries[AUDIT_PAGE - 1].id if len(entries) > AUDIT_PAGE else None
    return render_template("console/audit.html", entries=entries[:AUDIT_PAGE], older=older,
                           first_page=before is None)


@bp.get("/accounts")
@role_required("admin")
def accounts():
    return _accounts_page(AddAccountForm(formdata=None))


def _accounts_page(form: AddAccountForm, status: int = 200):
    return render_template("console/accounts.html", users=console().accounts.list_users(), form=form,
                           reset_form=ResetPasswordForm(formdata=None), now=console().clock(),
                           roles=ROLES, factors=console().second_factors.all(),
                           needs_second_factor=needs_second_factor), status


@bp.post("/accounts")
@role_required("admin")
def add_account():
    form = AddAccountForm()
    if not form.validate_on_submit():
        return _accounts_page(form, 400)
    username = normal_username(form.username.data)
    problem = username_problem(username) or passwords.password_problem(form.password.data)
    if problem:
        form.password.errors = [problem]
        return _accounts_page(form, 400)
    state = console()
    try:
        state.accounts.add_user(username, form.role.data, passwords.hash_password(form.password.data),
                                state.clock())
    except AccountError as error:
        form.username.errors = [str(error)]
        return _accounts_page(form, 400)
    audit("account added", username, f"role {form.role.data}")
    flash(f"Account {username} added, role {form.role.data}.")
    return redirect(url_for("console.accounts"))


def _account(user_id: int):
    user = console().accounts.get_user(user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/accounts/<int(max=2147483647):user_id>/disable")
@role_required("admin")
def disable_account(user_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    user = _account(user_id)
    if user.username == current_user.username:
        flash("You cannot disable your own account.")
        return redirect(url_for("console.accounts"))
    console().accounts.set_disabled(user.id, not user.disabled)
    audit("account enabled" if user.disabled else "account disabled", user.username)
    flash(f"Account {user.username} {'enabled' if user.disabled else 'disabled'}.")
    return redirect(url_for("console.accounts"))


@bp.post("/accounts/<int(max=2147483647):user_id>/reset-password")
@role_required("admin")
def reset_password(user_id: int):
    form = ResetPasswordForm()
    user = _account(user_id)
    if not form.validate_on_submit():
        flash("Enter the new password.")
        return redirect(url_for("console.accounts"))
    problem = passwords.password_problem(form.password.data)
    if problem:
        flash(f"The password of {user.username} was not changed: {problem}.")
        return redirect(url_for("console.accounts"))
    state = console()
    state.accounts.set_password(user.id, passwords.hash_password(form.password.data), state.clock())
    audit("password reset", user.username)
    flash(f"The password of {user.username} is changed; its sessions have ended.")
    return redirect(url_for("console.accounts"))


def username_problem(username: str) -> str | None:
    if not 2 <= len(username) <= 64 or not all(c.isalnum() or c in "._-" for c in username):
        return "a username is 2 to 64 letters, digits, dots, dashes or underscores"
    if sum(c.isdigit() for c in username) >= 7:
        return "a username may not look like a phone number"
    return None


@bp.errorhandler(CSRFError)
def _csrf_refused(error):
    return render_template("console/error.html", title="Form expired",
                           message="The form was missing its security token or it had expired. "
                                   "Go back, reload the page and try again."), 400


@bp.errorhandler(StoreError)
def _database_down(error):
    # Any console page or change while the line's database cannot be reached: a 503 that says so
    # (the error names the database, never a family's number). The dashboard words its own.
    log.warning("console: %s", error)
    return render_template("console/error.html", title="Database unavailable",
                           message="The line's database cannot be reached right now. "
                                   "Try again in a minute."), 503


@bp.errorhandler(401)
def _not_signed_in(error):
    return render_template("console/error.html", title="Not signed in",
                           message="Sign in to use the console."), 401


@bp.errorhandler(403)
def _forbidden(error):
    return render_template("console/error.html", title="Not allowed",
                           message="Your account's role does not give access to this page."), 403


@bp.errorhandler(404)
def _not_found(error):
    return render_template("console/error.html", title="Not found",
                           message="There is no such page in the console."), 404
