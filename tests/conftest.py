"""Fixtures that drive the webhooks exactly as Twilio does: signed form posts, TwiML followed back."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from ivr import create_app

# The console's browser fixtures (served, browser, page), for the browser tests under tests/console.
pytest_plugins = ["browser_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MENUS = ROOT / "menus.yaml"
# The behaviour tests run on a frozen copy, so staff rewording the shipped file never turns CI red;
# tests/test_shipped_menus.py checks the shipped file itself.
MENUS = ROOT / "tests" / "fixtures" / "menus.yaml"
TOKEN = "test-auth-token-0123456789abcdef"
# Made once with secrets.token_urlsafe(48), as the README says; fixed so every test's app agrees
# with the databases earlier tests made.
SECRET_KEY = "uh9pCWL747LKL4TVsFRxwu0_5ABZyOJ7pIL5lBGFo0to82tShcHVzrgB8aFfAChj"
CLINIC = "+15025550100"  # the Twilio number families dial
CALLER = "+15025550123"
SCHEDULING = "+15026356397"


def english_only(menus_text: str) -> str:
    """A menu file's text without its languages: section, for tests that change the menu's shape
    (a translation must follow every node, which is not what they are about)."""
    start = menus_text.index("\n# The line in Spanish.")
    end = menus_text.find("\n# When the scheduling line is open.", start)
    return menus_text[:start] + ("\n" + menus_text[end:] if end != -1 else "\n")


def without_texting(menus_text: str) -> str:
    """A menu file's text with every text_ phrase (and its continuation lines) removed."""
    kept, dropping = [], False
    for line in menus_text.splitlines(keepends=True):
        if line.startswith("  ") and not line.startswith("    "):
            dropping = line.startswith("  text_")
        if not dropping:
            kept.append(line)
    return "".join(kept)


def sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


ACCOUNT = "AC" + "5" * 32
# The database lives outside the repository; a closed port stands in for Twilio's API, so a test
# that sends a text without its own fake server fails fast rather than reaching the internet.
DATA = Path(tempfile.mkdtemp(prefix="ivr-tests-"))
NO_API = "http://127.0.0.1:9"


# Each test's own SQLite file (see own_database): a copy of one migrated when the run started.
_DATABASE = [DATA / "ivr.sqlite3"]


def environment(**overrides: str) -> dict[str, str]:
    """The environment a deployment would have, for create_app(test_config); the database is the
    current test's own."""
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "IVR_SECRET_KEY": SECRET_KEY, "IVR_MENUS_FILE": str(MENUS),
           "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_API_BASE_URL": NO_API,
           "IVR_DATABASE": str(_DATABASE[0])}
    env.update(overrides)
    return env


# The PostgreSQL server the storage tests use (a superuser's URL: each test gets its own database).
# Unset, the PostgreSQL cases are skipped, except in CI (CI=true), where they fail.
POSTGRES_URL = os.environ.get("IVR_TEST_POSTGRES_URL", "").strip()
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgresql")


def race(target, args_for, processes: int) -> list:
    """Start `processes` fresh interpreters (spawn, safe under pytest's threads) at one moment, each
    running target(*args_for(index), start, results) and putting one outcome in `results`; the
    outcomes, sorted, once every process has ended well."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=target, args=(*args_for(i), start, results)) for i in range(processes)]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = sorted(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    results.close()
    results.join_thread()
    return outcomes


def close_app(app) -> None:
    """Stop an app's heartbeat thread, then close its database connections: a test on its own
    PostgreSQL database calls it before the database is dropped, so no connection is left open
    (nor reopened by a beat after the close)."""
    from ivr.heartbeat import EXTENSION as HEARTBEAT

    heartbeat = app.extensions.get(HEARTBEAT)
    if heartbeat is not None:
        heartbeat.stop()
    announcer = app.extensions["ivr"].announcer
    if announcer is not None:
        announcer.close()
    app.extensions["ivr"].store.close()


def need_postgres() -> str:
    """IVR_TEST_POSTGRES_URL, or skip the test (fail it in CI: a broken setup must not pass)."""
    if not POSTGRES_URL:
        message = "IVR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against"
        if IN_CI:
            pytest.fail(message + " (CI=true: .ci/run starts one and sets it)", pytrace=False)
        pytest.skip(message)
    return POSTGRES_URL


def fresh_postgres_database():
    """Create a new, empty PostgreSQL database; yield its SQLAlchemy URL; drop it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from ivr.storage import database_url

    server = make_url(database_url(need_postgres(), ""))
    name = "ivr_test_" + secrets.token_hex(6)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """An empty database of each backend, the test's own: a new SQLite file, a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'line.sqlite3'}"
    else:
        yield from fresh_postgres_database()


STORE_KEY = b"k" * 32  # the number-hash key of the `store` fixture's store


@pytest.fixture
def store(database_url):
    """The store on each backend (`database_url`), migrated as `ivr db upgrade` does."""
    from ivr.storage import open_store
    from ivr.storage.sql import upgrade

    upgrade(database_url)
    with open_store(database_url, STORE_KEY) as store:
        yield store


@pytest.fixture(scope="session")
def _migrated_database() -> Path:
    """An empty line database, migrated once for the whole run."""
    from ivr.settings import read_settings
    from ivr.storage import open_store

    settings = read_settings(environment(IVR_DATABASE=str(DATA / "template.sqlite3")))
    open_store(settings.database_url, settings.number_hash_key).close()
    return DATA / "template.sqlite3"


@pytest.fixture(autouse=True)
def own_database(_migrated_database, tmp_path_factory):
    """Every test gets its own database: a copy of the migrated template, in a folder of its own."""
    import shutil

    folder = tmp_path_factory.mktemp("db", numbered=True)
    _DATABASE[0] = folder / "ivr.sqlite3"
    shutil.copyfile(_migrated_database, _DATABASE[0])
    yield _DATABASE[0]
    _DATABASE[0] = DATA / "ivr.sqlite3"


@pytest.fixture
def app():
    return create_app(environment())


@pytest.fixture
def client(app):
    return app.test_client()


def signed_post(client, path: str, params: dict[str, str], *, token: str = TOKEN,
                base: str = "http://localhost", headers: dict[str, str] | None = None):
    """POST `params` to `path` as Twilio would, signed for the address base + path."""
    signature = RequestValidator(token).compute_signature(base + path, params)
    all_headers = {"X-Twilio-Signature": signature, **(headers or {})}
    return client.post(path, data=params, headers=all_headers)


def route(url: str) -> str:
    """A webhook address without the caller ID's attestation (stir=A), which every call made with
    `Call` carries from its first request on; tests that are not about texting compare the rest."""
    path, _, query = url.partition("?")
    kept = "&".join(pair for pair in query.split("&") if pair and not pair.startswith("stir="))
    return f"{path}?{kept}" if kept else path


def twiml(response) -> ET.Element:
    """Parse a webhook's TwiML, checking what Twilio checks: 200, an XML type, a <Response> root."""
    assert response.status_code == 200, response.data
    assert response.mimetype in ("text/xml", "application/xml")
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root


def said(say: ET.Element) -> str:
    """The words of one <Say>, with words inside SSML (<sub>, <phoneme>) as written."""
    return "".join(say.itertext())


def spoken_text(root: ET.Element) -> str:
    """Everything a caller hears from this document, in order."""
    return " ".join(said(say) for say in root.iter("Say"))


class Call:
    """One phone call, followed through the TwiML the app returns, as Twilio would."""

    def __init__(self, client, caller: str = CALLER, called: str = CLINIC, token: str = TOKEN):
        self.client = client
        self.token = token  # the auth token Twilio signs with
        self.params = {
            "CallSid": sid("CA"), "AccountSid": sid("AC"), "From": caller, "To": called,
            "Caller": caller, "Called": called, "CallStatus": "ringing", "ApiVersion": "2010-04-01",
            "Direction": "inbound", "FromCity": "LOUISVILLE", "FromState": "KY", "FromZip": "",
            "FromCountry": "US",
            # A mobile caller whose carrier signed the caller ID with full attestation (SHAKEN/STIR).
            "StirVerstat": "TN-Validation-Passed-A",
        }
        self.doc: ET.Element | None = None
        self.transcript: list[str] = []

    def _post(self, path: str, **extra: str) -> ET.Element:
        self.doc = twiml(signed_post(self.client, path, {**self.params, **extra}, token=self.token))
        self.transcript.append(spoken_text(self.doc))
        self.params["CallStatus"] = "in-progress"
        return self.doc

    def start(self) -> ET.Element:
        """The number's "A call comes in" webhook."""
        return self._post("/voice")

    @property
    def gather(self) -> ET.Element:
        gather = self.doc.find("Gather")
        assert gather is not None, "the caller is not being asked for a key"
        return gather

    @property
    def heard(self) -> str:
        """What the caller hears from the current document."""
        return spoken_text(self.doc)

    def press(self, digits: str) -> ET.Element:
        """The caller presses keys during the current Gather."""
        return self._post(self.gather.get("action"), Digits=digits)

    def say(self, words: str, confidence: str = "0.9") -> ET.Element:
        """The caller speaks during the current Gather: Twilio's speech result."""
        return self._post(self.gather.get("action"), SpeechResult=words, Confidence=confidence)

    def wait(self) -> ET.Element:
        """The caller presses nothing: Twilio goes on to the verb after the Gather, a Redirect."""
        assert self.doc.find("Gather") is not None
        children = list(self.doc)
        redirect = children[children.index(self.gather) + 1]
        assert redirect.tag == "Redirect"
        return self._post(redirect.text)

    @property
    def dial(self) -> ET.Element | None:
        return self.doc.find("Dial")

    def dial_ends(self, status: str, duration: str = "0") -> ET.Element:
        """The transfer ends with Twilio's DialCallStatus."""
        dial = self.dial
        assert dial is not None, "the call is not being transferred"
        return self._post(dial.get("action"), DialCallStatus=status, DialCallSid=sid("CA"),
                          DialCallDuration=duration)


class Texter:
    """One family texting the line; the test client keeps Twilio's conversation cookie."""

    def __init__(self, client, number: str = CALLER, token: str = TOKEN):
        self.client = client
        self.number = number
        self.token = token  # the auth token Twilio signs with

    def send(self, body: str) -> str | None:
        """Text `body`; return the reply's text, or None when the line sends nothing."""
        params = {
            "MessageSid": sid("SM"), "SmsSid": sid("SM"), "AccountSid": sid("AC"),
            "From": self.number, "To": CLINIC, "Body": body, "NumMedia": "0", "NumSegments": "1",
            "ApiVersion": "2010-04-01", "SmsStatus": "received",
        }
        root = twiml(signed_post(self.client, "/sms", params, token=self.token))
        messages = root.findall("Message")
        assert len(messages) <= 1
        return messages[0].text if messages else None


@pytest.fixture(autouse=True)
def _line_log_in_caplog(request):
    """For a test that asks for caplog: the line's logger writes to caplog's handler itself, as once an
    app has set it up it does not propagate to the root logger, where caplog listens (so what caplog
    sees never depends on which test made the first app)."""
    if "caplog" not in request.fixturenames:
        yield
        return
    handler = request.getfixturevalue("caplog").handler
    logger = logging.getLogger("ivr")
    propagates = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # else, before any app, each record would reach the handler twice
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagates


@pytest.fixture
def twilio():
    """A local fake of Twilio's Messages API for the real twilio client to talk to."""
    from fake_twilio import FakeTwilio

    with FakeTwilio(ACCOUNT, TOKEN) as fake:
        yield fake


@pytest.fixture
def call(client):
    return Call(client)


@pytest.fixture
def texter(client):
    return Texter(client)
