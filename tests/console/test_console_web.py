"""The console with Flask's test client: off by default, sign-in and out, roles on every page, CSRF,
the cookie kept apart from the texting one, session lifetimes, lock-out, headers and the audit log."""

from __future__ import annotations

import re

import pytest
from conftest import Call, Texter, close_app, environment, fresh_postgres_database
from console_helpers import PASSWORD, add_account, console_app, post_form, sign_in, token_in
from sqlalchemy import create_engine, text

from ivr.console import SECURITY_HEADERS
from ivr.console.auth import EXTENSION
from ivr.console.roles import ROLES
from ivr.factory import create_app


@pytest.fixture
def app():
    return console_app()


@pytest.fixture
def client(app):
    return app.test_client()


def move_clock(app, seconds: float) -> None:
    state = app.extensions[EXTENSION]
    start = state.clock()
    state.clock = lambda: start + seconds


def test_the_console_is_off_by_default():
    client = create_app(environment()).test_client()
    assert client.get("/console/sign-in").status_code == 404
    assert client.get("/console/").status_code == 404
    assert client.get("/").status_code == 404


def test_the_front_page_links_to_the_console_when_it_is_on(client):
    assert 'href="/console/"' in client.get("/").get_data(as_text=True)


def test_every_console_page_is_guarded_by_a_role(app):
    open_endpoints = {"console.sign_in", "console.static", "console.two_factor"}  # two_factor: half signed in
    guarded = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console"):
            continue
        assert rule.endpoint.startswith("console."), rule
        if rule.endpoint in open_endpoints:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "console_role", None) in ROLES, rule
        guarded.append(rule.endpoint)
    assert {"console.home", "console.accounts", "console.audit_log", "console.sign_out"} <= set(guarded)


def test_signing_in_and_out(app, client):
    add_account(app, "Alice", "viewer")
    assert client.get("/console/").status_code == 302
    response = sign_in(client, "ALICE", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    page = client.get("/console/").get_data(as_text=True)
    assert "alice" in page and "Sign out" in page
    assert "Accounts" not in page  # nav by role
    response = post_form(client, "/console/", "/console/sign-out")
    assert response.status_code == 302
    assert client.get("/console/").status_code == 302


def test_the_cookie_is_the_consoles_own(app, client):
    add_account(app, "alice", "viewer")
    response = sign_in(client, "alice")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ivr_console=")
    assert "HttpOnly" in cookie and "Path=/console" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    secure = app.test_client().get("/console/sign-in", base_url="https://line.example")
    assert "Secure" in secure.headers["Set-Cookie"]


def test_a_console_cookie_does_nothing_on_the_texting_webhook_and_the_reverse(app, client):
    add_account(app, "alice", "viewer")
    sign_in(client, "alice")
    console_cookie = client.get_cookie("ivr_console", path="/console").value

    # The console's value under the texting cookie's name: not a texting session.
    serializer = app.session_interface.texting.get_signing_serializer(app)
    with pytest.raises(Exception):  # noqa: B017 -- itsdangerous' BadSignature
        serializer.loads(console_cookie)
    # The texting cookie's value on the console: not signed in.
    texter = app.test_client()
    Texter(texter).send("4")  # in the Other treatments menu: a texting cookie now
    sms_cookie = texter.get_cookie("ivr_sms", path="/sms")
    assert sms_cookie is not None
    stranger = app.test_client()
    stranger.set_cookie("ivr_console", sms_cookie.value, path="/console")
    assert stranger.get("/console/").status_code == 302
    # And the console's cookie is never sent to /sms (its path), nor read there if it were.
    stranger.set_cookie("ivr_sms", console_cookie, path="/sms")
    with app.test_request_context("/sms", headers={"Cookie": f"ivr_sms={console_cookie}"}):
        from flask import request

        assert dict(app.session_interface.open_session(app, request)) == {}


def test_a_post_without_the_csrf_token_is_refused(app, client):
    add_account(app, "root", "admin")
    response = client.post("/console/sign-in", data={"username": "root", "password": PASSWORD})
    assert response.status_code == 400
    sign_in(client, "root")
    response = client.post("/console/accounts", data={"username": "bob", "role": "viewer",
                                                      "password": PASSWORD})
    assert response.status_code == 400
    assert app.extensions[EXTENSION].accounts.find_user("bob") is None
    assert client.post("/console/sign-out").status_code == 400


def test_the_webhooks_need_no_csrf_token(app):
    call = Call(app.test_client())
    assert call.start() is not None
    assert Texter(app.test_client()).send("hello")


def test_roles(app, client):
    add_account(app, "vera", "viewer")
    sign_in(client, "vera")
    assert client.get("/console/accounts").status_code == 403
    assert client.get("/console/audit").status_code == 403
    admin = app.test_client()
    add_account(app, "root", "admin")
    sign_in(admin, "root")
    assert admin.get("/console/accounts").status_code == 200
    assert admin.get("/console/audit").status_code == 200


def test_the_session_id_changes_at_sign_in_and_sign_out_revokes_it(app, client):
    add_account(app, "alice", "viewer")
    sign_in(client, "alice")
    first = client.get_cookie("ivr_console", path="/console").value
    sign_in(client, "alice")
    second = client.get_cookie("ivr_console", path="/console").value
    assert first != second
    thief = app.test_client()
    thief.set_cookie("ivr_console", first, path="/console")
    assert thief.get("/console/").status_code == 302  # the old session ended at the new sign-in
    thief.set_cookie("ivr_console", second, path="/console")
    assert thief.get("/console/").status_code == 200
    post_form(client, "/console/", "/console/sign-out")
    assert thief.get("/console/").status_code == 302  # revoked at once, wherever the cookie is


def test_disabling_an_account_ends_its_sessions_at_once(app, client):
    user = add_account(app, "alice", "viewer")
    sign_in(client, "alice")
    assert client.get("/console/").status_code == 200
    app.extensions[EXTENSION].accounts.set_disabled(user.id, True)
    assert client.get("/console/").status_code == 302
    assert sign_in(client, "alice").status_code == 401


def test_idle_timeout_and_absolute_lifetime():
    app = console_app(IVR_CONSOLE_IDLE_MINUTES="30", IVR_CONSOLE_SESSION_HOURS="1")
    add_account(app, "alice", "viewer")
    client = app.test_client()
    sign_in(client, "alice")
    move_clock(app, 29 * 60)
    assert client.get("/console/").status_code == 200
    move_clock(app, 29 * 60 + 31 * 60)
    assert client.get("/console/").status_code == 302  # idle for 31 minutes
    sign_in(client, "alice")
    state = app.extensions[EXTENSION]
    start = state.clock()
    for minutes in range(20, 80, 20):  # used every 20 minutes, but an hour is the most
        state.clock = lambda m=minutes: start + m * 60
        expected = 200 if minutes <= 60 else 302
        assert client.get("/console/").status_code == expected, minutes


def test_five_wrong_passwords_lock_the_account_with_the_same_message(app, client):
    add_account(app, "alice", "viewer")
    unknown = sign_in(client, "nobody", "whatever whatever").get_data(as_text=True)
    for attempt in range(5):
        move_clock(app, attempt * 60)  # past each pause, so every wrong password counts
        wrong = sign_in(client, "alice", "not the password at all")
        assert wrong.status_code == 401
    locked = sign_in(client, "alice", PASSWORD)
    assert locked.status_code == 401
    message = "The username or password is not right"
    assert message in unknown and message in wrong.get_data(as_text=True) and message in locked.get_data(
        as_text=True)
    move_clock(app, 15 * 60 + 1)
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    log = app.extensions[EXTENSION].accounts.audit_log()
    actions = [e.action for e in log]
    assert actions.count("lock-out") == 1 and "sign-in" in actions and actions.count("failed sign-in") == 7
    assert [e.detail for e in log if e.action == "failed sign-in"][0] == "account locked"


def test_signing_in_forgets_sessions_that_ended_long_ago(app, client):
    add_account(app, "alice", "viewer")
    sign_in(client, "alice")
    state = app.extensions[EXTENSION]
    first = [e for e in state.accounts.audit_log() if e.action == "sign-in"]
    assert first
    move_clock(app, state.lifetime_seconds + 24 * 3600 + 60)
    later = app.test_client()
    sign_in(later, "alice")
    engine = create_engine(app.extensions["ivr"].settings.database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT COUNT(*) FROM console_sessions")).scalar_one()
    engine.dispose()
    assert rows == 1  # only the new one


def test_wrong_passwords_slow_down_before_the_lock(app, client):
    """After the 2nd wrong password nothing is tried for 2 s, after the 3rd 10 s, after the 4th 30 s:
    even the right password is refused, with the same message, and the try is not counted."""
    add_account(app, "alice", "viewer")
    assert sign_in(client, "alice", "not the password at all").status_code == 401
    assert sign_in(client, "alice", "not the password at all").status_code == 401  # no pause after one
    refused = sign_in(client, "alice", PASSWORD)
    assert refused.status_code == 401 and "wait a few seconds" in refused.get_data(as_text=True)
    move_clock(app, 2.5)
    assert sign_in(client, "alice", "still not the password").status_code == 401  # the 3rd: 10 s
    move_clock(app, 9)  # move_clock moves on from where the clock is
    assert sign_in(client, "alice", PASSWORD).status_code == 401
    move_clock(app, 1.5)
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    state = app.extensions[EXTENSION]
    assert state.accounts.find_user("alice").failed_count == 0  # a good sign-in starts the count again
    details = [e.detail for e in state.accounts.audit_log() if e.action == "failed sign-in"]
    assert details.count("too soon after a wrong password") == 2 and details.count("wrong password") == 3


def test_security_headers_on_console_pages_only(app, client):
    for path in ("/console/sign-in", "/console/", "/console/nothing-here", "/console/static/console.css"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
        response.close()
    assert "Content-Security-Policy" not in client.get("/healthz").headers


def test_admins_manage_accounts_and_read_the_audit_log(app, client):
    add_account(app, "root", "admin")
    sign_in(client, "root")
    short = post_form(client, "/console/accounts", "/console/accounts",
                      {"username": "bob", "role": "editor", "password": "short"})
    assert short.status_code == 400 and "at least 12 characters" in short.get_data(as_text=True)
    common = post_form(client, "/console/accounts", "/console/accounts",
                       {"username": "bob", "role": "editor", "password": "password1234"})
    assert common.status_code == 400 and "common" in common.get_data(as_text=True)
    phone = post_form(client, "/console/accounts", "/console/accounts",
                      {"username": "5555550100", "role": "editor", "password": PASSWORD})
    assert phone.status_code == 400
    added = post_form(client, "/console/accounts", "/console/accounts",
                      {"username": "Bob", "role": "editor", "password": PASSWORD})
    assert added.status_code == 302
    bob = app.extensions[EXTENSION].accounts.find_user("bob")
    assert bob.role == "editor"
    bobs = app.test_client()
    assert sign_in(bobs, "bob").status_code == 302
    new_password = "a new and long passphrase"
    assert post_form(client, "/console/accounts", f"/console/accounts/{bob.id}/reset-password",
                     {"password": new_password}).status_code == 302
    assert bobs.get("/console/").status_code == 302  # a reset ends the account's sessions
    assert sign_in(bobs, "bob", new_password).status_code == 302
    assert post_form(client, "/console/accounts", f"/console/accounts/{bob.id}/disable").status_code == 302
    assert app.extensions[EXTENSION].accounts.find_user("bob").disabled
    page = client.get("/console/audit").get_data(as_text=True)
    for action in ("account added", "password reset", "account disabled", "sign-in"):
        assert action in page
    assert "5555550100" not in page


def test_a_sign_in_link_never_leads_off_the_console_or_breaks_the_redirect(app, client):
    add_account(app, "alice", "viewer")
    page = client.get("/console/sign-in").get_data(as_text=True)
    for target in ("/console/%0d%0aSet-Cookie:%20a=b", "//evil.example/console", "/console/ x",
                   "https://evil.example/console"):
        response = app.test_client().post(f"/console/sign-in?next={target}", data={
            "csrf_token": token_in(page), "username": "alice", "password": PASSWORD})
        assert response.status_code in (302, 400), target
        if response.status_code == 302:
            assert response.headers["Location"] == "/console/", target
    assert app.test_client().get("/console/audit?before=99999999999999999999").status_code == 302


def test_the_front_page_escapes_the_prefix_and_sends_the_headers():
    app = console_app()
    response = app.test_client().get("/", environ_base={"SCRIPT_NAME": '/"><script>x()</script>'})
    assert "<script>" not in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]


def test_the_audit_log_pages_through_older_entries(app, client):
    add_account(app, "root", "admin")
    sign_in(client, "root")
    accounts = app.extensions[EXTENSION].accounts
    for n in range(450):
        accounts.log(1000.0 + n, "root", f"action {n:03d}")
    pages, path = [], "/console/audit"
    while path:
        page = client.get(path).get_data(as_text=True)
        pages.append(re.findall(r"<td>(action \d{3})</td>", page))
        older = re.search(r'href="(/console/audit\?before=\d+)">Older entries', page)
        path = older.group(1) if older else None
    # 450 actions, newest first, 200 a page, none twice; the sign-in before them is the oldest.
    assert [len(p) for p in pages] == [200, 200, 50]
    listed = [a for p in pages for a in p]
    assert listed == [f"action {n:03d}" for n in range(449, -1, -1)]
    assert "Newest entries" in page and "<td>sign-in</td>" in page


def test_an_admin_cannot_disable_their_own_account(app, client):
    root = add_account(app, "root", "admin")
    sign_in(client, "root")
    post_form(client, "/console/accounts", f"/console/accounts/{root.id}/disable")
    assert not app.extensions[EXTENSION].accounts.find_user("root").disabled


def test_sign_in_only_returns_to_console_pages(app, client):
    add_account(app, "alice", "viewer")
    token = token_in(client.get("/console/sign-in").get_data(as_text=True))
    response = client.post("/console/sign-in?next=//evil.example/console", data={
        "csrf_token": token, "username": "alice", "password": PASSWORD})
    assert response.headers["Location"] == "/console/"


@pytest.fixture
def postgres_url():
    """A new, empty PostgreSQL database of the test's own (the other tests run on SQLite)."""
    yield from fresh_postgres_database()


def test_the_console_on_postgresql(postgres_url):
    from ivr.storage.sql import upgrade

    database_url = postgres_url
    upgrade(database_url)
    app = console_app(DATABASE_URL=database_url)
    add_account(app, "alice", "admin")
    client = app.test_client()
    assert sign_in(client, "alice").status_code == 302
    assert client.get("/console/audit").status_code == 200
    post_form(client, "/console/", "/console/sign-out")
    assert client.get("/console/").status_code == 302
    close_app(app)


def test_any_console_page_with_the_database_failing_is_a_503_that_says_so(app, client):
    add_account(app, "ada", "admin")
    sign_in(client, "ada")
    engine = create_engine(app.extensions["ivr"].settings.database_url)
    with engine.begin() as connection:  # the accounts page reads every second factor
        connection.execute(text("ALTER TABLE second_factors RENAME TO second_factors_away"))
    try:
        response = client.get("/console/accounts")
        assert response.status_code == 503
        assert "database cannot be reached right now." in response.get_data(as_text=True)
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE second_factors_away RENAME TO second_factors"))
        engine.dispose()
    assert client.get("/console/accounts").status_code == 200
