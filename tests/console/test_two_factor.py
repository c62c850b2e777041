"""The console's second factor with Flask's test client: schedulers and admins enrol (QR code, secret,
recovery codes) and then give a code at each sign-in; wrong, replayed and drifting codes, recovery
codes, the lock-out, the half-signed-in state refused everywhere and ending after 5 minutes, resets by
an admin and by `ivr users reset-2fa`, other roles not asked, no secret in the database in clear."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from console_helpers import (
    PASSWORD,
    add_account,
    console_app,
    post_form,
    secret_on,
    sign_in,
    token_in,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ivr import cli
from ivr.console import two_factor
from ivr.console.auth import EXTENSION
from ivr.console.roles import ROLES, SEES_FAMILIES

CODE_PAGE = "/console/two-factor"


@pytest.fixture
def app():
    return console_app()


@pytest.fixture
def client(app):
    return app.test_client()


def state(app):
    return app.extensions[EXTENSION]


def move_clock(app, seconds: float) -> None:
    start = state(app).clock()
    state(app).clock = lambda: start + seconds


def step_now(app) -> int:
    return two_factor.current_step(state(app).clock())


def password_only(client, username: str, password: str = PASSWORD, next_path: str | None = None):
    """The first step alone: the sign-in form's password."""
    token = token_in(client.get("/console/sign-in").get_data(as_text=True))
    action = "/console/sign-in" + (f"?next={next_path}" if next_path else "")
    return client.post(action, data={"csrf_token": token, "username": username, "password": password})


def enter(client, code: str, location: str = CODE_PAGE):
    page = client.get(location)
    assert page.status_code == 200, page.status_code
    return client.post(location, data={"csrf_token": token_in(page.get_data(as_text=True)), "code": code})


def enrol(app, client, username: str) -> tuple[str, list[str]]:
    """Password, then the enrolment page: its secret and recovery codes; confirmed with a code."""
    assert password_only(client, username).headers["Location"] == CODE_PAGE
    page = client.get(CODE_PAGE).get_data(as_text=True)
    secret = secret_on(page)
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", page)
    response = client.post(CODE_PAGE, data={"csrf_token": token_in(page),
                                            "code": two_factor.code_at(secret, step_now(app))})
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    return secret, codes


def actions(app) -> list[str]:
    return [e.action for e in reversed(state(app).accounts.audit_log()) if e.action != "menu published"]


def test_a_scheduler_enrols_then_signs_in_with_a_code(app, client):
    add_account(app, "sam", "scheduler")
    response = password_only(client, "sam")
    assert response.status_code == 302 and response.headers["Location"] == CODE_PAGE
    page = client.get(CODE_PAGE).get_data(as_text=True)
    assert "Set up your second factor" in page
    assert re.search(r'<svg [^>]*class="qr"', page) and "<title>QR code to add the account sam" in page
    secret = secret_on(page)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", page)
    assert len(codes) == 10 and len(set(codes)) == 10
    factor = state(app).second_factors.get(state(app).accounts.find_user("sam").id)
    assert not factor.enrolled  # not until a code confirms it
    assert client.get("/console/").status_code == 302  # still only half signed in
    # The QR code holds the same secret an app would read from the otpauth address.
    assert two_factor.provisioning_uri(secret, "sam").startswith("otpauth://totp/")
    response = client.post(CODE_PAGE, data={"csrf_token": token_in(page),
                                            "code": two_factor.code_at(secret, step_now(app))})
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    home = client.get("/console/").get_data(as_text=True)
    assert "Signed in as sam" in home and "Your second factor is set up" in home
    assert client.get(CODE_PAGE).headers["Location"] == "/console/"  # signed in: nothing more to do
    post_form(client, "/console/", "/console/sign-out")

    move_clock(app, 30)
    response = password_only(client, "sam")
    assert response.headers["Location"] == CODE_PAGE
    page = client.get(CODE_PAGE).get_data(as_text=True)
    assert "Code from your app" in page and secret_on(page) is None  # the secret is never shown again
    assert enter(client, two_factor.code_at(secret, step_now(app))).headers["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    assert actions(app) == ["password accepted", "second factor enrolled", "sign-in", "sign-out",
                            "password accepted", "sign-in"]
    details = [e.detail for e in reversed(state(app).accounts.audit_log()) if e.action == "sign-in"]
    assert details == ["with a code, just enrolled", "with a code"]


def test_the_page_asked_for_at_sign_in_is_where_the_code_leads(app, client):
    add_account(app, "root", "admin")
    response = password_only(client, "root", next_path="/console/audit")
    assert response.headers["Location"] == "/console/two-factor?next=/console/audit"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    done = client.post(response.headers["Location"], data={
        "csrf_token": token_in(page), "code": two_factor.code_at(secret_on(page), step_now(app))})
    assert done.headers["Location"] == "/console/audit"


def test_a_wrong_code_at_enrolment_shows_new_recovery_codes_and_the_same_secret(app, client):
    add_account(app, "sam", "scheduler")
    password_only(client, "sam")
    page = client.get(CODE_PAGE).get_data(as_text=True)
    secret, codes = secret_on(page), re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", page)
    bad = "000000" if two_factor.code_at(secret, step_now(app)) != "000000" else "111111"
    wrong = client.post(CODE_PAGE, data={"csrf_token": token_in(page), "code": bad})
    assert wrong.status_code == 401
    again = wrong.get_data(as_text=True)
    assert "That code is not right" in again and "recovery codes below are new" in again
    assert secret_on(again) == secret
    new_codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", again)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert client.get("/console/").status_code == 302
    empty = client.post(CODE_PAGE, data={"csrf_token": token_in(again), "code": " "})
    assert empty.status_code == 400 and secret_on(empty.get_data(as_text=True)) == secret
    assert state(app).accounts.find_user("sam").failed_count == 1  # the wrong code, not the empty one
    # Opened again, the page has a new secret: one seen by someone else with the password is gone.
    reopened = secret_on(client.get(CODE_PAGE).get_data(as_text=True))
    assert reopened != secret
    assert enter(client, two_factor.code_at(secret, step_now(app))).status_code == 401


def test_wrong_codes_are_refused_and_not_signed_in(app, client):
    add_account(app, "sam", "scheduler")
    secret, _ = enrol(app, client, "sam")
    post_form(client, "/console/", "/console/sign-out")
    move_clock(app, 60)
    password_only(client, "sam")
    right = two_factor.code_at(secret, step_now(app))
    for wrong, status in ((f"{(int(right) + 1) % 10**6:06d}", 401), ("12345", 401), ("abcdef", 401),
                          ("  ", 400)):  # the last one is no code at all: not counted
        response = enter(client, wrong)
        assert response.status_code == status, wrong
        assert client.get("/console/").status_code == 302
    assert state(app).accounts.find_user("sam").failed_count == 3
    assert "That code is not right" in enter(client, "999999" if right != "999999" else "888888").get_data(
        as_text=True)


def test_a_code_works_once(app, client):
    add_account(app, "sam", "scheduler")
    secret, _ = enrol(app, client, "sam")
    post_form(client, "/console/", "/console/sign-out")
    move_clock(app, 30)
    code = two_factor.code_at(secret, step_now(app))
    password_only(client, "sam")
    assert enter(client, code).status_code == 302
    post_form(client, "/console/", "/console/sign-out")
    password_only(client, "sam")
    replayed = enter(client, code)
    assert replayed.status_code == 401 and client.get("/console/").status_code == 302
    # Nor an earlier step's code, though drift would allow it: a step older than the last is used.
    assert enter(client, two_factor.code_at(secret, step_now(app) - 1)).status_code == 401
    assert enter(client, two_factor.code_at(secret, step_now(app) + 1)).status_code == 302
    failures = [e.detail for e in state(app).accounts.audit_log() if e.action == "failed second factor"]
    assert failures == ["code already used", "code already used"]


@pytest.mark.parametrize("drift,accepted", [(-2, False), (-1, True), (1, True), (2, False)])
def test_one_step_of_clock_drift_either_way(app, client, drift, accepted):
    add_account(app, "sam", "scheduler")
    secret, _ = enrol(app, client, "sam")
    post_form(client, "/console/", "/console/sign-out")
    move_clock(app, 5 * 30)  # well past the enrolment's step
    password_only(client, "sam")
    response = enter(client, two_factor.code_at(secret, step_now(app) + drift))
    assert (response.status_code == 302) is accepted


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(app, client):
    add_account(app, "sam", "scheduler")
    _, codes = enrol(app, client, "sam")
    post_form(client, "/console/", "/console/sign-out")
    password_only(client, "sam")
    # Typed in capitals and without its dashes, it is the same code.
    response = enter(client, codes[3].upper().replace("-", " "))
    assert response.status_code == 302
    home = client.get("/console/").get_data(as_text=True)
    assert "signed in with a recovery code. You have 9 left" in home
    post_form(client, "/console/", "/console/sign-out")
    password_only(client, "sam")
    assert enter(client, codes[3]).status_code == 401
    assert enter(client, codes[4]).status_code == 302
    log = state(app).accounts.audit_log()
    assert [e.detail for e in log if e.action == "sign-in"][0] == "with a recovery code (8 left)"
    assert "wrong recovery code" in [e.detail for e in log if e.action == "failed second factor"]
    post_form(client, "/console/", "/console/sign-out")
    root = app.test_client()
    add_account(app, "root", "admin")
    sign_in(root, "root")
    assert "enrolled, 8 recovery codes left" in root.get("/console/accounts").get_data(as_text=True)


def test_five_wrong_codes_lock_the_account_even_with_the_password_typed_again(app, client):
    add_account(app, "sam", "scheduler")
    secret, _ = enrol(app, client, "sam")
    post_form(client, "/console/", "/console/sign-out")
    move_clock(app, 60)
    right = two_factor.code_at(secret, step_now(app))
    wrong = "000000" if right != "000000" else "111111"
    password_only(client, "sam")
    for _ in range(3):
        assert enter(client, wrong).status_code == 401
    # A right password again does not start the count again.
    assert password_only(client, "sam").headers["Location"] == CODE_PAGE
    assert enter(client, wrong).status_code == 401
    locked = enter(client, wrong)
    assert locked.status_code == 302 and locked.headers["Location"] == "/console/sign-in"
    assert "the account is locked for 15 minutes" in client.get("/console/sign-in").get_data(as_text=True)
    assert password_only(client, "sam").status_code == 401  # locked: not even the password
    assert client.get(CODE_PAGE).headers["Location"].startswith("/console/sign-in")
    assert actions(app).count("lock-out") == 1
    move_clock(app, 60 + 15 * 60 + 1)
    assert password_only(client, "sam").headers["Location"] == CODE_PAGE
    assert enter(client, two_factor.code_at(secret, step_now(app))).status_code == 302
    assert state(app).accounts.find_user("sam").failed_count == 0


HALF_SIGNED_IN_REFUSED = ["/console/", "/console/accounts", "/console/audit", "/console/dashboard",
                          "/console/status", "/console/versions", "/console/editor", "/console/phone"]


@pytest.mark.parametrize("role", SEES_FAMILIES)
def test_half_signed_in_reaches_nothing_but_the_code_page(app, client, role):
    add_account(app, "who", role)
    password_only(client, "who")
    page = client.get(CODE_PAGE)
    assert page.status_code == 200
    for path in HALF_SIGNED_IN_REFUSED:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith(
            "/console/sign-in"), path
    token = token_in(page.get_data(as_text=True))
    for action in ("/console/sign-out", "/console/accounts", "/console/accounts/1/disable"):
        assert client.post(action, data={"csrf_token": token, "username": "x", "password": "y" * 20,
                                         "role": "admin"}).status_code == 401, action
    assert state(app).accounts.find_user("x") is None
    assert "Signed in as" not in page.get_data(as_text=True)  # no console navigation either


def test_half_signed_in_ends_after_five_minutes(app, client):
    add_account(app, "sam", "scheduler")
    secret, _ = enrol(app, client, "sam")
    post_form(client, "/console/", "/console/sign-out")
    password_only(client, "sam")
    page = client.get(CODE_PAGE).get_data(as_text=True)
    move_clock(app, 5 * 60 + 1)
    late = client.post(CODE_PAGE, data={"csrf_token": token_in(page),
                                        "code": two_factor.code_at(secret, step_now(app))})
    assert late.status_code == 302 and late.headers["Location"].startswith("/console/sign-in")
    assert "Sign in again" in client.get("/console/sign-in").get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_a_password_changed_meanwhile_ends_the_half_signed_in_state(app, client):
    add_account(app, "sam", "scheduler")
    password_only(client, "sam")
    sam = state(app).accounts.find_user("sam")
    move_clock(app, 1)
    state(app).accounts.set_password(sam.id, sam.password_hash, state(app).clock())
    assert client.get(CODE_PAGE).headers["Location"].startswith("/console/sign-in")


def test_an_admin_resets_a_lost_second_factor(app, client):
    add_account(app, "sam", "scheduler")
    add_account(app, "root", "admin")
    secret, _ = enrol(app, client, "sam")
    admin = app.test_client()
    sign_in(admin, "root")
    sam = state(app).accounts.find_user("sam")
    page = admin.get("/console/accounts").get_data(as_text=True)
    assert "Reset second factor" in page and "enrolled, 10 recovery codes left" in page
    action = f"/console/accounts/{sam.id}/reset-second-factor"
    assert admin.post(action).status_code == 400  # no CSRF token
    assert state(app).second_factors.get(sam.id).enrolled
    root = state(app).accounts.find_user("root")
    refused = post_form(admin, "/console/accounts", f"/console/accounts/{root.id}/reset-second-factor")
    assert refused.status_code == 302 and state(app).second_factors.get(root.id).enrolled
    assert post_form(admin, "/console/accounts", action).status_code == 302
    assert state(app).second_factors.get(sam.id) is None
    assert client.get("/console/").status_code == 302  # sam's session ended
    assert "not enrolled: asked at the next sign-in" in admin.get("/console/accounts").get_data(as_text=True)
    log = state(app).accounts.audit_log()
    assert (log[0].actor, log[0].action, log[0].subject) == ("root", "second factor reset", "sam")
    new_secret, _ = enrol(app, client, "sam")  # enrols again, with a new secret
    assert new_secret != secret
    viewer = app.test_client()
    add_account(app, "vera", "viewer")
    sign_in(viewer, "vera")
    assert post_form(viewer, "/console/", action).status_code == 403


def test_ivr_users_reset_2fa(app, client, monkeypatch, capsys, own_database):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("IVR_DATABASE", str(own_database))
    add_account(app, "sam", "scheduler")
    enrol(app, client, "sam")
    assert cli.main(["users", "reset-2fa", "SAM"]) == 0
    assert "the second factor of sam is reset" in capsys.readouterr().out
    assert client.get("/console/").status_code == 302
    assert state(app).second_factors.get(state(app).accounts.find_user("sam").id) is None
    assert state(app).accounts.audit_log()[0].actor == "(ivr users)"
    assert password_only(client, "sam").headers["Location"] == CODE_PAGE
    assert secret_on(client.get(CODE_PAGE).get_data(as_text=True))  # the enrolment page again
    assert cli.main(["users", "reset-2fa", "nobody"]) == 1
    assert "no account named 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize("role", [r for r in ROLES if r not in SEES_FAMILIES])
def test_roles_that_see_no_family_are_not_asked(app, client, role):
    add_account(app, "who", role)
    response = password_only(client, "who")
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    assert state(app).second_factors.all() == {}
    assert client.get(CODE_PAGE).headers["Location"] == "/console/"  # nothing to ask
    assert app.test_client().get(CODE_PAGE).headers["Location"].startswith("/console/sign-in")


def test_no_secret_or_recovery_code_is_in_the_database_in_clear(app, client):
    add_account(app, "sam", "scheduler")
    secret, codes = enrol(app, client, "sam")
    url = app.extensions["ivr"].settings.database_url
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            stored = [str(v) for table in ("second_factors", "recovery_codes", "audit", "console_sessions")
                      for row in connection.execute(text(f"SELECT * FROM {table}")) for v in row]
    finally:
        engine.dispose()
    app.extensions["ivr"].store.close()
    path = Path(make_url(url).database)
    raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    for value in [secret, two_factor.grouped(secret), *codes, *[c.replace("-", "") for c in codes]]:
        assert value not in " ".join(stored)
        assert value.encode() not in raw
        assert value.lower().encode() not in raw
    assert len(stored) > 10  # the rows were read
