"""Every webhook checks X-Twilio-Signature, behind proxies too; secrets and numbers stay out of logs."""

from __future__ import annotations

import io
import logging

import pytest
from conftest import CALLER, TOKEN, Call, environment, signed_post, twiml
from twilio.request_validator import RequestValidator

from ivr import create_app
from ivr.conversation import engine
from ivr.settings import SETTINGS, StartupError

WEBHOOKS = ["/voice", "/voice/main?tries=0", "/voice/main/silence?tries=1", "/voice/dial-ended",
            "/sms"]
PARAMS = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC" + "2" * 32, "From": CALLER,
          "To": "+15025550100", "Digits": "1", "Body": "pump", "MessageSid": "SM" + "3" * 32}


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_correctly_signed_request_is_answered(client, path):
    twiml(signed_post(client, path, PARAMS))


@pytest.mark.parametrize("path", WEBHOOKS)
def test_an_unsigned_request_is_refused(client, path):
    assert client.post(path, data=PARAMS).status_code == 403


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_request_signed_with_another_token_is_refused(client, path):
    assert signed_post(client, path, PARAMS, token="not-the-token").status_code == 403


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_parameter_changed_after_signing_is_refused(client, path):
    signature = RequestValidator(TOKEN).compute_signature("http://localhost" + path, PARAMS)
    forged = {**PARAMS, "Digits": "0"}
    response = client.post(path, data=forged, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_a_signature_for_another_address_is_refused(client):
    signature = RequestValidator(TOKEN).compute_signature("http://localhost/sms", PARAMS)
    response = client.post("/voice", data=PARAMS, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_the_retry_count_in_the_url_is_covered_by_the_signature(client):
    signature = RequestValidator(TOKEN).compute_signature(
        "http://localhost/voice/main/silence?tries=0", PARAMS)
    response = client.post("/voice/main/silence?tries=2", data=PARAMS,
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "line.example.org",
                 "X-Forwarded-For": "54.172.60.1"}


def test_behind_a_tls_proxy_the_public_https_address_is_validated():
    client = create_app(environment(IVR_TRUSTED_PROXIES="1")).test_client()
    response = signed_post(client, "/voice/main?tries=0", PARAMS,
                           base="https://line.example.org", headers=PROXY_HEADERS)
    twiml(response)
    # The address the app saw (http, internal host) is not what Twilio signed.
    assert signed_post(client, "/voice/main?tries=0", PARAMS, headers=PROXY_HEADERS
                       ).status_code == 403


def test_proxy_headers_are_not_trusted_unless_configured(client):
    response = signed_post(client, "/voice", PARAMS, base="https://line.example.org",
                           headers=PROXY_HEADERS)
    assert response.status_code == 403


def test_a_configured_public_base_url_is_the_address_validated():
    client = create_app(environment(IVR_PUBLIC_BASE_URL="https://line.example.org/")).test_client()
    twiml(signed_post(client, "/sms", PARAMS, base="https://line.example.org"))
    assert signed_post(client, "/sms", PARAMS).status_code == 403


def test_a_signature_with_the_default_port_is_accepted(client):
    twiml(signed_post(client, "/voice", PARAMS, base="http://localhost:80"))


def test_the_line_will_not_start_without_an_auth_token():
    with pytest.raises(StartupError, match="TWILIO_AUTH_TOKEN is not set"):
        create_app({"IVR_MENUS_FILE": environment()["IVR_MENUS_FILE"],
                    "IVR_DATABASE": environment()["IVR_DATABASE"]})


def test_skipping_the_check_must_be_asked_for_and_is_warned_about(capture_log, tmp_path):
    # The development key makes a database of its own: the shared test one has the test key.
    app = create_app({"IVR_MENUS_FILE": environment()["IVR_MENUS_FILE"],
                      "IVR_DATABASE": str(tmp_path / "dev.sqlite3"), "IVR_SKIP_SIGNATURE_CHECK": "1"})
    logged = capture_log.getvalue()
    assert "IVR_SKIP_SIGNATURE_CHECK is on" in logged
    assert "IVR_SECRET_KEY is not set: a fixed development key" in logged
    twiml(app.test_client().post("/voice", data=PARAMS))
    assert app.test_client().get("/healthz").get_json()["signature_check"] == "off"


@pytest.mark.parametrize("name,value,message", [
    ("IVR_TRUSTED_PROXIES", "two", "IVR_TRUSTED_PROXIES"),
    ("IVR_PUBLIC_BASE_URL", "line.example.org", "IVR_PUBLIC_BASE_URL"),
    ("IVR_LOG_LEVEL", "LOUD", "IVR_LOG_LEVEL"),
])
def test_a_bad_setting_stops_the_start_with_its_name(name, value, message):
    with pytest.raises(StartupError, match=message):
        create_app(environment(**{name: value}))


@pytest.fixture
def capture_log():
    """The real "ivr" log handler's output (its redacting formatter included)."""
    logger = logging.getLogger("ivr")
    create_app(environment())  # make sure the handler exists
    handler = next(h for h in logger.handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    old = handler.setStream(stream)
    level = logger.level
    logger.setLevel(logging.DEBUG)  # every line the line can write, routine steps included
    yield stream
    logger.setLevel(level)
    handler.setStream(old)


def test_logs_hold_no_caller_number_or_message_text(client, capture_log):
    call = Call(client, caller="+15025551234")
    call.start()
    call.press("0")
    signed_post(client, "/sms", {**PARAMS, "From": "+15025551234", "Body": "my son has a pump"})
    logged = capture_log.getvalue()
    assert PARAMS["MessageSid"] in logged and call.params["CallSid"] in logged
    assert "5551234" not in logged and "+1502" not in logged
    assert "my son" not in logged


def test_a_failure_is_logged_with_the_sid_and_no_number(client, capture_log, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("lookup failed for +1 (502) 555-1234")

    monkeypatch.setattr(engine, "press", broken)
    call = Call(client, caller="+15025551234")
    call.start()
    call.press("1")
    logged = capture_log.getvalue()
    assert call.params["CallSid"] in logged and "RuntimeError" in logged
    assert "555-1234" not in logged and "[number]" in logged


def test_every_setting_is_documented_in_the_readme():
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in readme, f"{setting.name} is missing from README.md"


@pytest.mark.parametrize("name,value", [("IVR_TRUSTED_PROXIES", "9"), ("IVR_RELOAD_SECONDS", "-1"),
                                        ("IVR_RELOAD_SECONDS", "soon")])
def test_a_number_setting_out_of_range_stops_the_start(name, value):
    with pytest.raises(StartupError, match=f"{name} must be a"):
        create_app(environment(**{name: value}))


SECONDARY = "the-new-secondary-auth-token-987"


@pytest.mark.parametrize("path", WEBHOOKS)
def test_while_the_token_is_changed_the_secondary_token_is_accepted_too(path, capture_log):
    client = create_app(environment(TWILIO_AUTH_TOKEN_SECONDARY=SECONDARY)).test_client()
    twiml(signed_post(client, path, PARAMS))  # Twilio still signing with the old token
    twiml(signed_post(client, path, PARAMS, token=SECONDARY))  # the new one, once promoted
    twiml(signed_post(client, path, PARAMS, token=SECONDARY))
    assert signed_post(client, path, PARAMS, token="neither-of-the-two").status_code == 403
    assert capture_log.getvalue().count("signed with TWILIO_AUTH_TOKEN_SECONDARY") == 1


def test_without_the_setting_the_new_token_is_refused(client):
    assert signed_post(client, "/voice", PARAMS, token=SECONDARY).status_code == 403


@pytest.mark.parametrize("proxies", ["0", "1"])
def test_with_a_public_base_url_forwarded_host_and_prefix_are_ignored(proxies):
    client = create_app(environment(IVR_PUBLIC_BASE_URL="https://line.example.org",
                                    IVR_TRUSTED_PROXIES=proxies)).test_client()
    spoofed = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "other-app.example.com",
               "X-Forwarded-Prefix": "/hooks", "Host": "other-app.example.com"}
    # A signature Twilio made for another app on the same account does not pass here...
    for base in ("https://other-app.example.com/hooks", "https://other-app.example.com",
                 "https://line.example.org/hooks"):
        assert signed_post(client, "/sms", PARAMS, base=base, headers=spoofed).status_code == 403
    # ...and the line's own address is checked whatever the headers say.
    twiml(signed_post(client, "/sms", PARAMS, base="https://line.example.org", headers=spoofed))
    root = twiml(signed_post(client, "/voice", PARAMS, base="https://line.example.org", headers=spoofed))
    assert root.find("Gather").get("action") == "https://line.example.org/voice/main?tries=0"


def test_the_secondary_token_is_not_used_without_a_primary():
    with pytest.raises(StartupError, match="TWILIO_AUTH_TOKEN is not set"):
        create_app({**environment(TWILIO_AUTH_TOKEN=""), "TWILIO_AUTH_TOKEN_SECONDARY": SECONDARY})
