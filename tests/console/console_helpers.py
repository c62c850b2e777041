"""Shared helpers of the console tests: an app with the console on, accounts, signing in (with the
second factor of the roles that see families, enrolled or entered transparently)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from conftest import environment
from sqlalchemy import update

from ivr.console import passwords, two_factor
from ivr.console.auth import EXTENSION
from ivr.factory import create_app
from ivr.storage.tables import second_factors

PASSWORD = "correct horse battery staple"


def console_app(**overrides: str):
    """The line's app with IVR_CONSOLE=1 (on the test's own SQLite database unless DATABASE_URL)."""
    return create_app(environment(IVR_CONSOLE="1", **overrides))


def add_account(app, username: str, role: str, password: str = PASSWORD):
    state = app.extensions[EXTENSION]
    return state.accounts.add_user(username, role, passwords.hash_password(password), state.clock())


def token_in(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in as the sign-in form does; an account asked for a second factor enrols (first time) or
    enters a code, and the response is the last step's (a redirect to the console when it worked)."""
    token = token_in(client.get("/console/sign-in").get_data(as_text=True))
    response = client.post("/console/sign-in", data={"csrf_token": token, "username": username,
                                                     "password": password})
    if response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/console/two-factor":
        return enter_second_factor(client, response.headers["Location"], username)
    return response


def secret_on(page: str) -> str | None:
    """The TOTP secret an enrolment page shows as text (without its spaces), or None."""
    match = re.search(r'id="totp-secret"[^>]*>([^<]+)<', page)
    return html.unescape(match.group(1)).replace(" ", "") if match else None


def fresh_code(app, username: str, secret: str) -> str:
    """A code the account has not used yet: now's step, else the next one (drift allows it); an
    account signed in many times within 30 seconds has its last step set back, as waiting would."""
    state = app.extensions[EXTENSION]
    user = state.accounts.find_user(username)
    factor = state.second_factors.get(user.id)
    now = two_factor.current_step(state.clock())
    step = now
    if factor is not None and factor.last_step is not None and factor.last_step >= now:
        step = now + 1
        if factor.last_step >= step:
            state.second_factors._run("set a last step back in", lambda c: c.execute(
                update(second_factors).where(second_factors.c.account == user.id)
                .values(last_step=now - 2)), True)
            step = now
    return two_factor.code_at(secret, step)


def enter_second_factor(client, location: str, username: str):
    """The second step of signing in at `location`: enrol with the secret the page shows, or enter a
    code computed from the secret in the database."""
    app = client.application
    page = client.get(location).get_data(as_text=True)
    secret = secret_on(page)
    if secret is None:
        state = app.extensions[EXTENSION]
        secret = state.second_factors.secret(state.accounts.find_user(username).id)
    return client.post(location, data={"csrf_token": token_in(page),
                                       "code": fresh_code(app, username, secret)})


def post_form(client, page_path: str, action: str, data: dict[str, str] | None = None):
    """POST to `action` with the CSRF token of the page at `page_path`."""
    token = token_in(client.get(page_path).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})})
