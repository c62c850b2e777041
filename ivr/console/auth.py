"""Signing in and out of the console, and who may see what: accounts in the database (Flask-Login
keeps the signed-in account per request), sessions as database rows, lock-out after wrong passwords, and
the half-signed-in state between a right password and the second factor of the roles that see families."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from ..recordings import Recordings
from ..storage.accounts import Accounts, User
from ..storage.callbacks import Callbacks
from ..storage.second_factors import SecondFactors
from . import passwords
from .roles import SEES_FAMILIES, may
from .session import id_hash

EXTENSION = "ivr_console"
LOCK_AFTER = 5  # wrong passwords in a row
LOCK_SECONDS = 15 * 60
# Seconds in which no password is tried after the 1st, 2nd, ... wrong one in a row: guessing slows
# down before the lock, without holding a worker in a sleep.
PAUSES = (0, 2, 10, 30)
FORGET_SESSIONS_AFTER = 24 * 3600  # seconds past a session's lifetime
# Between a right password and a right code a browser is only half signed in: it reaches nothing but
# the second factor's page, for this long. The cookie holds the account's id, never a secret.
HALF_SIGNED_IN_SECONDS = 5 * 60
HALF_SIGNED_IN = "half_signed_in"
SIGN_IN_REFUSED = ("The username or password is not right, or the account is locked or disabled. "
                   "After a wrong password, wait a few seconds before trying again.")


@dataclass
class Console:
    """The console's shared state (app.extensions["ivr_console"])."""

    accounts: Accounts
    idle_seconds: int
    lifetime_seconds: int
    clock: Callable[[], float] = field(default=time.time)  # tests move it on
    second_factors: SecondFactors | None = None
    # The callback queue's requests (None: IVR_CALLBACK_KEYS unset) and the account's recordings at
    # Twilio (None: no TWILIO_ACCOUNT_SID), made once so their keys and HTTP connections are reused.
    callbacks: Callbacks | None = None
    recordings: Recordings | None = None


def console() -> Console:
    return current_app.extensions[EXTENSION]


class SignedIn(UserMixin):
    """The account signed in on this request (Flask-Login's user)."""

    def __init__(self, user: User):
        self.user = user
        self.id = str(user.id)
        self.username = user.username
        self.role = user.role

    def may(self, role: str) -> bool:
        return may(self.role, role)


login_manager = LoginManager()
login_manager.session_protection = None  # the session id itself is checked against the database
login_manager.login_view = "console.sign_in"
login_manager.login_message = None


@login_manager.user_loader
def _load(user_id: str) -> SignedIn | None:
    """The account of this request's session: its row must exist, not be revoked, idle or too old,
    and belong to an enabled account with that id."""
    session_id = session.get("sid")
    if not session_id:
        return None
    state = console()
    found = state.accounts.session(id_hash(session_id))
    if found is None:
        return None
    created, last_seen, revoked, user = found
    now = state.clock()
    if (revoked or user is None or user.disabled or str(user.id) != user_id
            or now - last_seen > state.idle_seconds or now - created > state.lifetime_seconds):
        return None
    if now - last_seen > 30:  # a write per half minute of use, not per request
        state.accounts.touch_session(id_hash(session_id), now)
    return SignedIn(user)


def role_required(role: str):
    """Guard a console page: signed in (or off to the sign-in page), with at least `role` (or 403)."""
    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                if request.method == "GET":
                    return redirect(url_for("console.sign_in", next=request.path))
                abort(401)
            if not current_user.may(role):
                abort(403)
            return view(*args, **kwargs)

        guarded.console_role = role
        return guarded

    return decorate


def audit(action: str, subject: str = "", detail: str = "", actor: str | None = None) -> None:
    """One line of the audit log: never a phone number or a message's words."""
    if actor is None:
        actor = current_user.username if current_user.is_authenticated else ""
    state = console()
    state.accounts.log(state.clock(), actor, action, subject, detail)


def sign_in(username: str, password: str) -> User | None:
    """Check a username and password; on success start a new session (a new id), or for a role asked
    for a second factor a half-signed-in one (see half_signed_in), and return the account. Unknown
    usernames are checked against a dummy hash, so they take as long, and every refusal looks the same."""
    state = console()
    now = state.clock()
    user = state.accounts.find_user(username)
    matches = passwords.verify(user.password_hash if user else None, password)
    if user is None:
        audit("failed sign-in", "(unknown username)", actor="")
        return None
    if user.disabled:
        audit("failed sign-in", user.username, "account disabled", actor="")
        return None
    if is_locked(user, now):
        audit("failed sign-in", user.username,
              "account locked" if user.failed_count == 0 else "too soon after a wrong password", actor="")
        return None
    if not matches:
        _count_failure(user, now, "failed sign-in", "wrong password", "wrong passwords", PAUSES)
        return None
    two_factor = needs_second_factor(user.role)
    # An account asked for a code keeps its count of wrong tries until the code is right too, so
    # typing the password again never wipes out the wrong codes before it (5 in all lock it).
    if not two_factor and (user.failed_count or user.locked_until is not None):
        state.accounts.clear_failures(user.id)
    if passwords.needs_rehash(user.password_hash):
        state.accounts.set_password_hash(user.id, passwords.hash_password(password))
    end_session()
    # Rows of sessions that ended long ago say nothing the audit log does not: forget them.
    state.accounts.delete_sessions_before(now - state.lifetime_seconds - FORGET_SESSIONS_AFTER)
    session.clear()  # a new session id, and a new CSRF token, at every sign-in
    if two_factor:
        session[HALF_SIGNED_IN] = {"account": user.id, "since": now,
                                   "password_changed": user.password_changed}
        audit("password accepted", user.username, "second factor asked", actor=user.username)
        return user
    _start_session(user, now)
    audit("sign-in", user.username, actor=user.username)
    return user


def needs_second_factor(role: str) -> bool:
    """Whether an account with `role` signs in with a second factor (it sees families' details)."""
    return role in SEES_FAMILIES


def _start_session(user: User, now: float) -> None:
    session_id = secrets.token_urlsafe(32)
    console().accounts.start_session(id_hash(session_id), user.id, now)
    session["sid"] = session_id
    login_user(SignedIn(user))


def half_signed_in() -> User | None:
    """The account this browser gave the right password for, if it has yet to give its second factor:
    less than HALF_SIGNED_IN_SECONDS ago, enabled, with the same password and a role that asks it."""
    pending = session.get(HALF_SIGNED_IN)
    if not isinstance(pending, dict):
        return None
    state = console()
    age = state.clock() - float(pending.get("since", 0))
    if not 0 <= age <= HALF_SIGNED_IN_SECONDS:
        return None
    user = state.accounts.get_user(int(pending.get("account", 0)))
    if (user is None or user.disabled or not needs_second_factor(user.role)
            or user.password_changed != pending.get("password_changed")):
        return None
    return user


def complete_sign_in(user: User, how: str) -> None:
    """The second factor was right: a new session (a new id and CSRF token), fully signed in."""
    state = console()
    now = state.clock()
    state.accounts.clear_failures(user.id)
    session.clear()
    _start_session(user, now)
    audit("sign-in", user.username, how, actor=user.username)


def second_factor_failed(user: User, why: str) -> bool:
    """Count a wrong code as a wrong password is counted; True if the account locked now (the
    half-signed-in state then ends)."""
    locked = _count_failure(user, console().clock(), "failed second factor", why, "wrong passwords or codes")
    if locked:
        session.clear()
    return locked


def is_locked(user: User, now: float) -> bool:
    """Whether `user` may not sign in at `now`: locked out, or too soon after a wrong password."""
    return user.locked_until is not None and user.locked_until > now


def _count_failure(user: User, now: float, action: str, why: str, wrong: str,
                   pauses: tuple[float, ...] = ()) -> bool:
    """Count one wrong password or code (audited as `action`, `why`); True if the account locked now,
    after LOCK_AFTER `wrong` ones in a row."""
    locked = console().accounts.record_failure(user.id, now, LOCK_AFTER, LOCK_SECONDS, pauses)
    audit(action, user.username, why, actor="")
    if locked:
        audit("lock-out", user.username, f"{LOCK_AFTER} {wrong}: locked for {LOCK_SECONDS // 60} minutes",
              actor="")
    return locked


def end_session() -> None:
    """Revoke this browser's session row, if any."""
    session_id = session.get("sid")
    if session_id:
        console().accounts.revoke_session(id_hash(session_id))


def sign_out() -> None:
    if current_user.is_authenticated:
        audit("sign-out", current_user.username)
    end_session()
    logout_user()
    session.clear()
