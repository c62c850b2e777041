"""The console's second-factor pages: enrolling (QR code, the secret as text, recovery codes, a code to
confirm), the code asked at each sign-in of the roles that see families, and an admin's reset."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..storage.second_factors import SecondFactorKeyError
from . import two_factor
from .auth import (
    HALF_SIGNED_IN_SECONDS,
    LOCK_AFTER,
    LOCK_SECONDS,
    audit,
    complete_sign_in,
    console,
    half_signed_in,
    is_locked,
    role_required,
    second_factor_failed,
)
from .forms import ButtonForm
from .views import _account, _safe_next, bp

WRONG_CODE = ("That code is not right, or it was already used. Enter the code your app shows now "
              "(a new one comes every 30 seconds), or one of your recovery codes.")
WRONG_ENROLMENT_CODE = ("That code is not right. Check that the app shows the line's account and "
                        "enter the code it shows now.")
LOCKED = ("Too many wrong passwords or codes: the account is locked for 15 minutes. An administrator "
          "can reset a lost second factor.")
NO_CODE = "Enter the code the app shows."
EXPIRED = "Sign in again: the password was given more than 5 minutes ago, or the account changed."


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=64)],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none",
                                  "spellcheck": "false"})


@bp.route("/two-factor", methods=["GET", "POST"], endpoint="two_factor")
def two_factor_page():
    """The second step of signing in: the enrolment page the first time, the code page after."""
    user = half_signed_in()
    if user is None and current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))  # already signed in (a back button)
    if user is None:
        flash(EXPIRED)
        return redirect(url_for("console.sign_in", next=request.args.get("next")))
    state = console()
    factors = state.second_factors
    factor = factors.get(user.id)
    form = CodeForm()
    if factor is None or not factor.enrolled:
        return _enrol(user, form)
    if request.method == "GET" or not form.validate_on_submit():
        return _code_page(form, None if request.method == "GET" else "Enter a code.")
    if _refused_now(user):
        return _code_page(form, LOCKED, 401)
    now = state.clock()
    code = form.code.data
    try:
        secret = factors.secret(user.id)
    except SecondFactorKeyError as error:
        return _code_page(form, str(error), 500)
    if two_factor.looks_like_totp(code):
        step = two_factor.matching_step(secret, code, now)
        if step is not None and factors.use_step(user.id, step):
            complete_sign_in(user, "with a code")
            return redirect(_safe_next(request.args.get("next")))
        why = "wrong code" if step is None else "code already used"
    else:
        if factors.use_recovery_code(user.id, two_factor.recovery_hash(code), now):
            left = factors.get(user.id).recovery_codes_left
            complete_sign_in(user, f"with a recovery code ({left} left)")
            flash(f"You signed in with a recovery code. You have {left} left; each works once. "
                  "An administrator can reset your second factor to get new ones.")
            return redirect(_safe_next(request.args.get("next")))
        why = "wrong recovery code"
    if second_factor_failed(user, why):
        flash(LOCKED)
        return redirect(url_for("console.sign_in"))
    return _code_page(form, WRONG_CODE, 401)


def _refused_now(user) -> bool:
    """Locked out, or too soon after a wrong password (`user` as half_signed_in read it this request)."""
    return is_locked(user, console().clock())


def _code_page(form: CodeForm, error: str | None, status: int | None = None):
    if status is None:
        status = 200 if error is None else 400
    return render_template("console/two_factor_code.html", form=form, error=error, lock_after=LOCK_AFTER,
                           lock_minutes=LOCK_SECONDS // 60), status


def _enrol(user, form: CodeForm):
    """First time: a new secret and recovery codes each time the page is opened (so a secret someone
    else saw with the password is replaced when its owner opens the page), the same secret again after
    a wrong code; a right code confirms."""
    state = console()
    factors = state.second_factors
    error = None
    secret = None
    if request.method == "POST":
        if _refused_now(user):
            flash(LOCKED)
            return redirect(url_for("console.sign_in"))
        try:
            secret = factors.secret(user.id)  # the one shown before: the app may have it already
        except SecondFactorKeyError:
            secret = None
        if secret is not None and not form.validate_on_submit():
            error = NO_CODE  # no code at all: not counted as a wrong one
        elif secret is not None:
            step = two_factor.matching_step(secret, form.code.data, state.clock())
            if step is not None and factors.confirm(user.id, step, state.clock()):
                audit("second factor enrolled", user.username, actor=user.username)
                complete_sign_in(user, "with a code, just enrolled")
                flash("Your second factor is set up: from now on you sign in with your password and a "
                      "code from the app. Keep your recovery codes somewhere safe.")
                return redirect(_safe_next(request.args.get("next")))
            if second_factor_failed(user, "wrong code at enrolment"):
                flash(LOCKED)
                return redirect(url_for("console.sign_in"))
            error = WRONG_ENROLMENT_CODE
    if secret is None:
        secret = two_factor.new_secret()
    # The recovery codes are new at each showing: only their hashes are kept, so the ones shown before
    # cannot be shown again (the page says so after a wrong code).
    codes = two_factor.new_recovery_codes()
    factors.begin_enrolment(user.id, secret, [two_factor.recovery_hash(c) for c in codes])
    uri = two_factor.provisioning_uri(secret, user.username)
    qr = two_factor.qr_svg(uri, f"QR code to add the account {user.username} to an authenticator app")
    form.code.data = ""
    return render_template("console/two_factor_enrol.html", form=form, error=error, username=user.username,
                           qr=qr, secret=two_factor.grouped(secret), codes=codes,
                           minutes=HALF_SIGNED_IN_SECONDS // 60), \
        200 if error is None else 400 if error == NO_CODE else 401


@bp.post("/accounts/<int(max=2147483647):user_id>/reset-second-factor")
@role_required("admin")
def reset_second_factor(user_id: int):
    """An admin removes an account's second factor (a lost phone): it enrols again at next sign-in."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    state = console()
    user = _account(user_id)
    if user.username == current_user.username:
        flash("You cannot reset your own second factor: ask another administrator, or use "
              "`ivr users reset-2fa`.")
        return redirect(url_for("console.accounts"))
    had = state.second_factors.reset(user.id)
    audit("second factor reset", user.username, "" if had else "it had none")
    flash(f"The second factor of {user.username} is reset; its sessions have ended and it enrols again "
          "at its next sign-in.")
    return redirect(url_for("console.accounts"))
