"""Shared helpers of the console tests: an app with the console on, accounts, signing in."""

from __future__ import annotations

import re

from conftest import environment

from ivr.console import passwords
from ivr.console.auth import EXTENSION
from ivr.factory import create_app

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
    token = token_in(client.get("/console/sign-in").get_data(as_text=True))
    return client.post("/console/sign-in", data={"csrf_token": token, "username": username,
                                                 "password": password})


def post_form(client, page_path: str, action: str, data: dict[str, str] | None = None):
    """POST to `action` with the CSRF token of the page at `page_path`."""
    token = token_in(client.get(page_path).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})})
