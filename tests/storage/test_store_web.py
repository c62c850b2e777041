"""The webhooks on each database: opt-outs and limits through real calls and texts, on SQLite and
PostgreSQL, across two apps (two gunicorn instances, as on two machines), and with the database down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from conftest import MENUS, ROOT, Call, Texter, close_app, environment

from ivr import create_app
from ivr.menufile.build import load_menus
from ivr.storage.sql import upgrade

MENU = load_menus(MENUS)
SENT = "I have sent it to the phone you are calling from."
OPTED_OUT = "Your number has asked not to get texts from us."


def at_summary(client, key: str) -> Call:
    call = Call(client)
    call.start()
    call.press(key)
    return call


@pytest.fixture
def line_env(database_url, twilio):
    upgrade(database_url)
    return environment(TWILIO_API_BASE_URL=twilio.base_url, DATABASE_URL=database_url,
                       IVR_TEXTS_PER_HOUR="2")


@pytest.fixture
def make_client():
    """create_app(env).test_client(), with the app's store closed when the test ends."""
    apps = []

    def make(env):
        apps.append(create_app(env))
        return apps[-1].test_client()

    yield make
    for app in apps:
        close_app(app)


def test_stop_and_start_through_the_webhooks(line_env, twilio, make_client):
    client = make_client(line_env)
    assert Texter(client).send("STOP") is None
    call = at_summary(client, "2")
    call.press("1")
    assert call.heard.startswith(OPTED_OUT) and twilio.requests == []
    Texter(client).send("START")
    call = at_summary(client, "2")
    call.press("1")
    assert call.heard.startswith(SENT) and len(twilio.requests) == 1


def test_two_apps_on_one_database_share_the_opt_outs_and_the_limit(line_env, twilio, make_client):
    # Two apps, each with its own engine and connections, as two machines would have.
    first, second = (make_client(line_env) for _ in range(2))
    Texter(first).send("STOP")
    call = at_summary(second, "2")
    call.press("1")
    assert call.heard.startswith(OPTED_OUT)
    Texter(second).send("START")
    for client, key in ((first, "1"), (second, "2"), (first, "3"), (second, "1")):
        at_summary(client, key).press("1")
    assert len(twilio.requests) == 2  # IVR_TEXTS_PER_HOUR=2, across both


def _every_menu_and_summary(client) -> int:
    """Press every key of the main menu, and 1 (text me this) on each summary; all must answer 200."""
    pressed, texted = 0, []
    for option in MENU.nodes["main"].options:
        call = Call(client)
        call.start()
        call.press(option.key)  # twiml() asserts a 200 and a <Response>
        pressed += 1
        if call.doc.find("Gather") is not None and "press 1" in call.heard:
            call.press("1")
            assert "text" in call.heard.lower()
            texted.append(call.heard)
    assert texted, "no summary offered to text"
    return pressed


def test_a_dead_database_keeps_every_menu_and_summary(twilio, make_client):
    env = environment(TWILIO_API_BASE_URL=twilio.base_url,
                      DATABASE_URL="postgresql://nobody@127.0.0.1:9/line")
    client = make_client(env)  # starts while the database is down
    started = time.monotonic()
    assert _every_menu_and_summary(client) >= 3
    for body in ("hi", "pump", "STOP", "START", "menu"):
        Texter(client).send(body)  # 200 each, with or without a reply
    assert twilio.requests == []  # nothing sent without the limits' record
    assert time.monotonic() - started < 60


# Two gunicorn instances on one PostgreSQL.

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _HttpClient:
    """Enough of Flask's test client for Call and Texter, over HTTP to a running server."""

    class _Response:
        def __init__(self, status: int, mimetype: str, data: bytes):
            self.status_code, self.mimetype, self.data = status, mimetype, data

    def __init__(self, base: str):
        self.base = base

    def post(self, path, data, headers):
        from conftest import TOKEN
        from twilio.request_validator import RequestValidator

        if path.startswith(self.base):
            path = path[len(self.base):]
        # Signed, as Twilio does, for the address this server is reached at.
        signature = RequestValidator(TOKEN).compute_signature(self.base + path, data)
        headers = {**headers, "X-Twilio-Signature": signature}
        request = urllib.request.Request(self.base + path, data=urlencode(data).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return self._Response(response.status, response.headers.get_content_type(), response.read())
        except urllib.error.HTTPError as error:
            return self._Response(error.code, error.headers.get_content_type(), error.read())


@pytest.fixture
def postgres_line(twilio, tmp_path):
    from conftest import fresh_postgres_database

    for url in fresh_postgres_database():
        upgrade(url)
        env = {**os.environ, **environment(TWILIO_API_BASE_URL=twilio.base_url, DATABASE_URL=url,
                                           IVR_TEXTS_PER_HOUR="2",
                                           IVR_DATABASE=str(tmp_path / "unused.sqlite3"))}
        servers, clients = [], []
        try:
            for _ in range(2):
                port = _free_port()
                servers.append(subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                     "--preload", "app:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL))
                clients.append(_HttpClient(f"http://127.0.0.1:{port}"))
            for client in clients:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        urllib.request.urlopen(client.base + "/healthz", timeout=2).close()
                        break
                    except OSError:
                        assert time.monotonic() < deadline, "gunicorn did not start"
                        time.sleep(0.1)
            yield clients
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=15)


def test_two_gunicorn_instances_on_one_postgresql(postgres_line, twilio):
    first, second = postgres_line
    Texter(first).send("STOP")  # received by one machine...
    call = at_summary(second, "2")
    call.press("1")
    assert call.heard.startswith(OPTED_OUT)  # ...honoured by the other
    Texter(second).send("START")
    # Six presses over both instances and their workers: the per-number limit (2 an hour) holds.
    for client, key in ((first, "1"), (second, "2"), (first, "3"), (second, "1"), (first, "2"),
                        (second, "3")):
        at_summary(client, key).press("1")
    assert len(twilio.requests) == 2
