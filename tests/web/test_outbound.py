"""Sending a text with the real twilio client against a local fake of Twilio's Messages API."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from conftest import ACCOUNT, CALLER, CLINIC, TOKEN

from ivr.webhooks.outbound import SendOutcome, TextSender

BODY = "Oral baclofen relaxes tight muscles. Scheduling: (502) 635-6397."


@pytest.fixture
def fake(twilio):
    return twilio


@pytest.fixture
def sender(fake):
    sender = TextSender(ACCOUNT, TOKEN, base_url=fake.base_url, timeout=0.5)
    yield sender
    sender.close()


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(record.getMessage() for record in self.records)


@pytest.fixture(autouse=True)
def logs():
    """Every record from the line and from the twilio client, checked after each test for the number."""
    handler = _Records()
    loggers = [logging.getLogger("ivr"), logging.getLogger("twilio")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)
    # The raw messages, before any redacting formatter: the sender itself must not log these.
    for secret in (CALLER, CALLER[2:], "555-0123", "555 0123", "baclofen", TOKEN):
        assert secret not in handler.text


def test_a_text_is_sent(sender, fake, logs):
    outcome = sender.send(CALLER, CLINIC, BODY)
    assert outcome.status == "sent" and outcome.sent
    assert outcome.code is None
    assert outcome.sid.startswith("SM") and len(outcome.sid) == 34
    [request] = fake.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.form == {"To": CALLER, "From": CLINIC, "Body": BODY}
    assert request.auth == (ACCOUNT, TOKEN)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert outcome.sid in logs.text


@pytest.mark.parametrize(("code", "http_status", "status"), [
    (21610, 400, "opted_out"),
    (21211, 400, "invalid_number"),
    (21614, 400, "not_mobile"),
    (21408, 400, "failed"),  # permission to send to this region not enabled
    (20429, 429, "failed"),  # too many requests
    (20500, 500, "failed"),  # Twilio's internal error, in its JSON shape
    (30007, 400, "failed"),  # carrier filtering
])
def test_twilio_errors_become_outcomes(sender, fake, code, http_status, status, logs):
    fake.refuse(code, http_status, message=f"The 'To' number {CALLER} cannot be texted.")
    outcome = sender.send(CALLER, CLINIC, BODY)
    assert outcome == SendOutcome(status, code=code)
    assert not outcome.sent
    assert str(code) in logs.text


def test_a_server_error_without_twilio_json_fails(sender, fake):
    fake.fail_with_status(500, "<html>Internal Server Error</html>")
    assert sender.send(CALLER, CLINIC, BODY) == SendOutcome("failed")


def test_a_garbled_success_fails_without_raising(sender, fake):
    fake.fail_with_status(201, "not json")
    assert sender.send(CALLER, CLINIC, BODY) == SendOutcome("failed")


def test_a_slow_twilio_times_out_quickly(sender, fake, logs):
    fake.delay(2.0)
    started = time.monotonic()
    outcome = sender.send(CALLER, CLINIC, BODY)
    assert outcome == SendOutcome("failed")
    assert time.monotonic() - started < 1.5
    assert "timeout" in logs.text
    assert sender.send(CALLER, CLINIC, BODY).sent  # the next send is unaffected


def test_twilio_unreachable_fails():
    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = TextSender(ACCOUNT, TOKEN, base_url=f"http://127.0.0.1:{port}", timeout=0.5)
    try:
        assert sender.send(CALLER, CLINIC, BODY) == SendOutcome("failed")
    finally:
        sender.close()


def test_a_wrong_auth_token_fails(fake):
    sender = TextSender(ACCOUNT, "not-the-token", base_url=fake.base_url, timeout=0.5)
    try:
        assert sender.send(CALLER, CLINIC, BODY) == SendOutcome("failed", code=20003)
    finally:
        sender.close()
    assert fake.requests[0].auth == (ACCOUNT, "not-the-token")


@pytest.mark.parametrize("withheld", ["anonymous", "", "+266696687", "Restricted", "5025550123"])
def test_a_withheld_or_malformed_number_is_never_texted(sender, fake, withheld):
    assert sender.send(withheld, CLINIC, BODY) == SendOutcome("invalid_number")
    assert fake.requests == []


def test_an_unexpected_error_in_the_client_fails_without_raising(sender, fake, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError(f"something quoting {CALLER}")

    monkeypatch.setattr(sender._http, "request", broken)
    assert sender.send(CALLER, CLINIC, BODY) == SendOutcome("failed")


def test_twilio_edge_and_region_in_the_environment_are_ignored(fake, monkeypatch):
    # They would make the client rewrite the host (api.sydney.au1.twilio.com) and reach the internet.
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    sender = TextSender(ACCOUNT, TOKEN, base_url=fake.base_url + "/", timeout=0.5)
    try:
        assert sender.send(CALLER, CLINIC, BODY).sent
    finally:
        sender.close()


def test_the_default_base_url_is_twilios():
    sender = TextSender(ACCOUNT, TOKEN)
    try:
        assert sender._client.api.base_url == "https://api.twilio.com"
        assert sender.timeout == 1.5 and sender._http.timeout == (1.5, 1.5)
    finally:
        sender.close()


@pytest.mark.parametrize("base_url", ["api.twilio.com", "ftp://api.twilio.com"])
def test_a_base_url_without_http_is_refused_at_start(base_url):
    with pytest.raises(ValueError, match="https://"):
        TextSender(ACCOUNT, TOKEN, base_url=base_url)


def test_a_timeout_of_zero_is_refused_at_start():
    with pytest.raises(ValueError, match="timeout"):
        TextSender(ACCOUNT, TOKEN, timeout=0)
