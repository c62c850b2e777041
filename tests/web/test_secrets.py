"""Secrets, cookies and logs: IVR_SECRET_KEY required and checked, keys derived from it alone, a
database made with another key refused, request data escaped and numbers masked in logs, the
texting cookie's attributes, oversize forms refused, and the last good menu kept privately."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import stat
import tempfile
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from conftest import (
    ACCOUNT,
    CALLER,
    CLINIC,
    MENUS,
    SECRET_KEY,
    TOKEN,
    Call,
    Texter,
    environment,
    sid,
    signed_post,
    twiml,
)

from ivr import create_app
from ivr.live_menu import last_good_path, private_folder
from ivr.logs import printable, redact
from ivr.settings import MAKE_KEY, StartupError, read_settings, secret_key_problem


def dev_environment(tmp_path, **overrides: str) -> dict[str, str]:
    """A development machine's environment: the signature check skipped, no account, no key."""
    env = {"IVR_MENUS_FILE": str(MENUS), "IVR_DATABASE": str(tmp_path / "dev.sqlite3"),
           "IVR_SKIP_SIGNATURE_CHECK": "1"}
    env.update(overrides)
    return env


@pytest.fixture
def log_output():
    """What the real "ivr" handler (with its redacting formatter) writes, every level included."""
    logger = logging.getLogger("ivr")
    create_app(environment())  # make sure the handler exists
    handler = next(h for h in logger.handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    old, level = handler.setStream(stream), logger.level
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.setLevel(level)
    handler.setStream(old)


# --- IVR_SECRET_KEY ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key,reason", [
    ("", "is not set"),
    ("short-but-not-empty", "too short"),
    (secrets.token_hex(31), "too short"),  # 31 bytes in hex
    (secrets.token_urlsafe(31), "too short"),
    ("a" * 64, "only 1 different characters"),
    ("x" * 200, "only 1 different characters"),
    ("0123456789abcdef" * 4, "a sequence repeated"),
    ("Pa55word" * 8, "only 7 different characters"),
    ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "runs through the alphabet"),
    ("e" * 30 + secrets.token_urlsafe(40), "mostly one character"),
])
def test_a_missing_short_or_patterned_key_stops_the_start_with_a_command_that_makes_one(key, reason):
    with pytest.raises(StartupError, match=re.escape(reason)) as refused:
        create_app(environment(IVR_SECRET_KEY=key))
    assert MAKE_KEY in str(refused.value) and "IVR_SECRET_KEY" in str(refused.value)


def test_the_command_in_the_message_makes_a_key_the_line_accepts():
    # MAKE_KEY runs secrets.token_urlsafe(48); the README's and the message's command is this one.
    assert MAKE_KEY == 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
    for _ in range(2000):
        for key in (secrets.token_urlsafe(48), secrets.token_urlsafe(32), secrets.token_hex(32)):
            assert secret_key_problem(key) is None, key


def test_a_random_key_starts_the_line(tmp_path):
    env = environment(IVR_SECRET_KEY=secrets.token_hex(32), IVR_DATABASE=str(tmp_path / "db.sqlite3"))
    twiml(signed_post(create_app(env).test_client(), "/voice", {"CallSid": sid("CA"), "From": CALLER}))


def test_the_key_is_required_even_when_the_menu_offers_no_texts(tmp_path):
    # Every worker must agree on the cookie key: there is no safe default, texts or not.
    env = environment(TWILIO_ACCOUNT_SID="", IVR_SECRET_KEY="")
    env["IVR_MENUS_FILE"] = str(tmp_path / "menus.yaml")
    (tmp_path / "menus.yaml").write_text(MENUS.read_text().replace("  text_me_key:", "  # text_me_key:"))
    with pytest.raises(StartupError, match="IVR_SECRET_KEY is not set"):
        create_app(env)


def test_the_two_keys_are_derived_separately_and_never_from_the_auth_token():
    first = read_settings(environment())
    rotated = read_settings(environment(TWILIO_AUTH_TOKEN="a-new-auth-token-after-rotation"))
    assert first.cookie_key != first.number_hash_key
    assert SECRET_KEY.encode() not in (first.cookie_key, first.number_hash_key)
    assert (rotated.cookie_key, rotated.number_hash_key) == (first.cookie_key, first.number_hash_key)
    other = read_settings(environment(IVR_SECRET_KEY=secrets.token_urlsafe(48)))
    assert other.cookie_key != first.cookie_key and other.number_hash_key != first.number_hash_key


def test_changing_the_auth_token_keeps_the_opt_out_list_and_the_conversation(tmp_path, twilio):
    db = str(tmp_path / "line.sqlite3")
    before = create_app(environment(IVR_DATABASE=db)).test_client()
    Texter(before, number="+15025550111").send("4")  # in the Other treatments menu: a cookie now
    assert Texter(before).send("STOP") is None
    new_token = "the-rotated-auth-token-0123456789"
    after = create_app(environment(IVR_DATABASE=db, TWILIO_AUTH_TOKEN=new_token,
                                   TWILIO_API_BASE_URL=twilio.base_url)).test_client()
    # The cookie the first app signed still means the submenu: 2 is casting there.
    cookie = before.get_cookie("ivr_sms", path="/sms")
    after.set_cookie(cookie.key, cookie.value, path="/sms")
    assert Texter(after, number="+15025550111", token=new_token).send("2").startswith("Casting")
    # The number that texted STOP is still never texted after the token changed.
    call = Call(after, token=new_token)
    call.start()
    call.press("2")
    call.press("1")
    assert call.heard.startswith("Your number has asked not to get texts") and twilio.requests == []


def test_a_conversation_cookie_signed_with_another_key_is_not_trusted(tmp_path):
    first = create_app(environment(IVR_DATABASE=str(tmp_path / "a.sqlite3"))).test_client()
    Texter(first).send("4")
    cookie = first.get_cookie("ivr_sms", path="/sms")
    other = create_app(environment(IVR_DATABASE=str(tmp_path / "b.sqlite3"),
                                   IVR_SECRET_KEY=secrets.token_urlsafe(48))).test_client()
    other.set_cookie(cookie.key, cookie.value, path="/sms")
    assert Texter(other).send("2").startswith("Intrathecal baclofen pump")  # the main menu's 2


# --- The database's key fingerprint -----------------------------------------------------------------

def test_a_database_made_with_another_key_stops_the_start(tmp_path):
    db = str(tmp_path / "line.sqlite3")
    Texter(create_app(environment(IVR_DATABASE=db)).test_client()).send("STOP")
    with pytest.raises(StartupError, match="made with another IVR_SECRET_KEY") as refused:
        create_app(environment(IVR_DATABASE=db, IVR_SECRET_KEY=secrets.token_urlsafe(48)))
    message = str(refused.value)
    assert "opt-out list" in message and "move the file aside" in message and "STOP" in message
    create_app(environment(IVR_DATABASE=db))  # the right key still opens it


def test_the_development_key_cannot_open_a_real_database(tmp_path):
    db = str(tmp_path / "line.sqlite3")
    create_app(environment(IVR_DATABASE=db))
    with pytest.raises(StartupError, match="made with another IVR_SECRET_KEY"):
        create_app(dev_environment(tmp_path, IVR_DATABASE=db))


# --- IVR_SKIP_SIGNATURE_CHECK -----------------------------------------------------------------------

def test_skipping_the_check_is_refused_when_the_line_can_send_texts(tmp_path):
    with pytest.raises(StartupError, match="IVR_SKIP_SIGNATURE_CHECK is on while TWILIO_ACCOUNT_SID"):
        create_app(dev_environment(tmp_path, TWILIO_ACCOUNT_SID=ACCOUNT))
    with pytest.raises(StartupError, match="TWILIO_ACCOUNT_SID"):  # with every secret set, too
        create_app(environment(IVR_SKIP_SIGNATURE_CHECK="1"))


def test_skipping_the_check_is_refused_on_heroku(tmp_path):
    with pytest.raises(StartupError, match=r"on Heroku \(DYNO is set\)"):
        create_app(dev_environment(tmp_path, DYNO="web.1"))


def test_healthz_shows_whether_signatures_are_checked(client, tmp_path):
    assert client.get("/healthz").get_json()["signature_check"] == "on"
    dev = create_app(dev_environment(tmp_path)).test_client()
    assert dev.get("/healthz").get_json()["signature_check"] == "off"


def test_the_readme_first_command_still_works_on_a_fresh_machine(tmp_path):
    # IVR_SKIP_SIGNATURE_CHECK=1 flask --app ivr run: no token, no key, no account SID.
    client = create_app(dev_environment(tmp_path)).test_client()
    twiml(client.post("/voice", data={"CallSid": "CA1", "From": CALLER}))
    root = twiml(client.post("/sms", data={"Body": "pump"}))
    assert root.find("Message").text.startswith("Intrathecal baclofen pump")


# --- Logs --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,hidden", [
    ("POST /voice/%2B15025550123", "5025550123"),
    ("From=%2B15025550123&To=%2B15025550100", "5025550"),
    ("From=%2B1%20502%20555%200123", "555"),
    ("call 502/635/6397 later", "635"),
    ("+1 (502) 555-0123", "555"),
    ("sip:alice@example.com;transport=tls", "alice"),
    ("From sips:+15025550123@trunk.example.org", "trunk"),
    ("From client:bob, To +15025550100", "bob"),
    ("Caller=sip%3Aalice%40example.com&x=1", "alice"),
    ("tel%3A%2B15025550123", "5025550123"), ("a=%3D5025550123", "5550123"), ("x%2C5025550123", "5550123"),
    ("From%3D%2B15025550123", "5550123"), ("SIP:alice@example.com", "alice"), ("Client:Bob", "Bob"),
    ("502_555_0123", "555"), ("502\u2011555\u20110123", "555"), ("502\u2014555\u20140123", "555"),
])
def test_masking_catches_numbers_and_identities_in_every_form(text, hidden):
    masked = redact(text)
    assert hidden not in masked
    assert "[number]" in masked or "[identity]" in masked


@pytest.mark.parametrize("text", ["CA" + "3f2a9c" * 5 + "12", "sha256 3f2a1b2c3d4e", "tries=0",
                                  "/voice/main/silence", "the HTTP client: timed out"])
def test_masking_leaves_sids_hashes_and_words_alone(text):
    assert redact(text) == text


def test_printable_escapes_control_characters_and_cuts():
    assert printable("/voice\r\nINFO ivr: forged") == "/voice\\r\\nINFO ivr: forged"
    assert printable("a\u2028b\x1b[31m\tc\\") == "a\\u2028b\\x1b[31m\\tc\\\\"
    assert printable("/" + "x" * 200) == "/" + "x" * 79 + "..."
    assert len(printable("\n" * 200)) <= 83


def test_a_path_with_cr_lf_cannot_forge_a_log_line(client, log_output):
    forged = "/voice/main%0D%0A2026-12-02 12:00:00,000 INFO ivr: call CA1 -> transfer"
    assert client.post(forged, data={"CallSid": "CA1"}).status_code == 403  # unsigned
    signed_post(client, forged, {"CallSid": "CA1"}, token="not-the-token")  # signed badly
    logged = log_output.getvalue()
    assert logged.count("rejected /voice/main\\r\\n") == 2
    assert not any(line.startswith("2026-12-02 12:00:00,000") for line in logged.splitlines())


def test_a_failure_at_a_path_is_logged_escaped(tmp_path, log_output, monkeypatch):
    from ivr.conversation import engine

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "press", broken)
    client = create_app(dev_environment(tmp_path)).test_client()  # so the forged path reaches the handler
    logging.getLogger("ivr").setLevel(logging.DEBUG)
    root = twiml(client.post("/voice/main%0AINFO%20forged?tries=0", data={"CallSid": "CA1", "Digits": "1"}))
    assert root.find("Dial") is not None  # the caller is put through, as on any failure
    logged = log_output.getvalue()
    assert "voice webhook failed at /voice/main\\nINFO forged" in logged
    assert "\nINFO forged" not in logged


def test_a_number_in_a_rejected_path_is_masked(client, log_output):
    client.post("/voice/%2B15025551234", data={})
    client.post("/voice/sip:alice@example.com", data={})
    logged = log_output.getvalue()
    assert "5551234" not in logged and "alice" not in logged
    assert "rejected /voice/[number]" in logged and "rejected /voice/sip:[identity]" in logged


def test_which_topic_a_call_heard_is_debug_not_info(tmp_path, twilio, log_output):
    env = environment(TWILIO_API_BASE_URL=twilio.base_url, IVR_DATABASE=str(tmp_path / "db.sqlite3"))
    call = Call(create_app(env).test_client())  # IVR_LOG_LEVEL's default, INFO
    call.start()
    call.press("2")  # the pump summary
    call.press("1")  # text it to me
    call.press("0")  # scheduling
    logged = log_output.getvalue()
    assert call.params["CallSid"] in logged and "-> transfer" in logged
    assert "baclofen_pump" not in logged and "pump" not in logged
    call = Call(create_app(env).test_client())
    logging.getLogger("ivr").setLevel(logging.DEBUG)
    call.start()
    call.press("2")
    call.press("0")
    assert "key at baclofen_pump -> transfer" in log_output.getvalue()


# --- The texting cookie -----------------------------------------------------------------------------

def set_cookie(response) -> dict[str, str]:
    """The ivr_sms Set-Cookie header's attributes, lower-cased names ('' for a flag)."""
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("ivr_sms="))
    attributes = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


SMS = {"MessageSid": "SM" + "3" * 32, "From": CALLER, "To": CLINIC, "Body": "4"}


def test_the_cookie_is_httponly_samesite_for_sms_only_and_lasts_four_hours(client):
    response = signed_post(client, "/sms", SMS)
    twiml(response)
    cookie = set_cookie(response)
    assert "httponly" in cookie and cookie["samesite"] == "Lax" and cookie["path"] == "/sms"
    assert "secure" not in cookie  # plain http, as on a development machine
    expires = parsedate_to_datetime(cookie["expires"])
    left = expires - datetime.now(timezone.utc)
    assert timedelta(hours=3, minutes=59) < left <= timedelta(hours=4)


def test_the_cookie_is_secure_with_a_public_https_address(tmp_path):
    base = "https://line.example.org/clinic"
    client = create_app(environment(IVR_PUBLIC_BASE_URL=base)).test_client()
    cookie = set_cookie(signed_post(client, "/sms", SMS, base=base))
    assert "secure" in cookie and cookie["path"] == "/clinic/sms"


def test_the_cookie_is_secure_when_the_trusted_proxy_says_https():
    client = create_app(environment(IVR_TRUSTED_PROXIES="1")).test_client()
    response = signed_post(client, "/sms", SMS, base="https://line.example.org",
                           headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "line.example.org"})
    assert "secure" in set_cookie(response)


def test_a_cookie_older_than_four_hours_is_not_trusted(client, monkeypatch):
    texter = Texter(client)
    texter.send("4")
    import itsdangerous.timed

    later = datetime.now(timezone.utc).timestamp() + 4 * 3600 + 60
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert texter.send("2").startswith("Intrathecal baclofen pump")  # the main menu's 2


# --- Oversize requests ------------------------------------------------------------------------------

def test_a_body_over_16_kib_is_refused_with_413(client, log_output):
    response = signed_post(client, "/sms", {**SMS, "Body": "x" * (16 * 1024)})
    assert response.status_code == 413 and b"Traceback" not in response.data
    assert "refused /sms: the request is over 16384 bytes" in log_output.getvalue()
    response = signed_post(client, "/voice", {"CallSid": sid("CA"), "Padding": "y" * 17000})
    assert response.status_code == 413


def test_more_than_200_parameters_are_refused_with_413(client):
    many = {**SMS, **{f"P{i}": "1" for i in range(200 - len(SMS) + 1)}}
    assert len(many) == 201
    assert signed_post(client, "/sms", many).status_code == 413
    assert signed_post(client, "/voice/main?tries=0", many).status_code == 413


def test_twilios_largest_real_requests_are_answered(client):
    # A 1,600-character text in Spanish with ten pictures, and 200 parameters exactly.
    body = ("¿Mi hijo puede usar la bomba de baclofeno? Tenemos preguntas sobre la cirugía, " * 30)[:1600]
    params = {"MessageSid": sid("MM"), "SmsSid": sid("MM"), "AccountSid": sid("AC"), "From": CALLER,
              "To": CLINIC, "Body": body, "NumMedia": "10", "NumSegments": "25", "ApiVersion": "2010-04-01",
              "SmsStatus": "received", "FromCity": "LOUISVILLE", "FromState": "KY", "FromCountry": "US"}
    for i in range(10):
        params[f"MediaUrl{i}"] = f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME{i:032}"
        params[f"MediaContentType{i}"] = "image/jpeg"
    twiml(signed_post(client, "/sms", params))
    exactly = {**SMS, **{f"P{i}": "1" for i in range(200 - len(SMS))}}
    twiml(signed_post(client, "/sms", exactly))


# --- The last good copy of menus.yaml ---------------------------------------------------------------

def test_the_last_good_copy_is_in_a_private_folder_beside_the_database(tmp_path):
    db = tmp_path / "state" / "line.sqlite3"
    db.parent.mkdir()
    # The name the line used to keep it under, in the system's temporary folder.
    old = Path(tempfile.gettempdir()) / ("ivr-last-good-" + hashlib.sha256(
        str(MENUS.resolve()).encode()).hexdigest()[:16] + ".yaml")
    old.unlink(missing_ok=True)
    app = create_app(environment(IVR_DATABASE=str(db)))
    folder = db.parent / "ivr-last-good"
    info = folder.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.geteuid()
    copy = app.extensions["ivr"].live_menu.last_good
    assert copy.parent == folder and copy.read_bytes() == MENUS.read_bytes()
    assert not old.exists()
    # Every worker of the deployment finds the same copy.
    assert last_good_path(MENUS, db.parent) == copy


def test_a_folder_others_can_open_is_refused(tmp_path):
    folder = tmp_path / "ivr-last-good"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with pytest.raises(StartupError, match=r"other users can open it \(mode 755\)"):
        create_app(environment(IVR_DATABASE=str(tmp_path / "line.sqlite3")))
    folder.chmod(0o700)
    assert private_folder(folder) == folder


def test_a_folder_of_another_user_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "ivr-last-good"
    folder.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(folder, 54321, 54321)  # made first by another local user
    else:
        other = os.geteuid() + 1
        monkeypatch.setattr(os, "geteuid", lambda: other)
    with pytest.raises(StartupError, match="belongs to another user"):
        private_folder(folder)


def test_a_symbolic_link_in_place_of_the_folder_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "ivr-last-good").symlink_to(elsewhere)
    with pytest.raises(StartupError, match="not a folder"):
        create_app(environment(IVR_DATABASE=str(tmp_path / "line.sqlite3")))


def test_signatures_use_the_token_not_the_secret_key(client):
    # The secret key is no Twilio token: a request signed with it is refused.
    assert signed_post(client, "/voice", {"CallSid": sid("CA")}, token=SECRET_KEY).status_code == 403
    twiml(signed_post(client, "/voice", {"CallSid": sid("CA")}, token=TOKEN))


def test_a_database_made_by_the_line_before_keeps_its_opt_outs_under_the_same_key(tmp_path, twilio):
    # Before keys were derived in settings, the store hashed numbers under HMAC(IVR_SECRET_KEY,
    # "ivr store phone number hash"): a line that had IVR_SECRET_KEY set opens its file unchanged.
    import hmac

    from ivr.storage.sql import SqliteStore

    db = tmp_path / "line.sqlite3"
    old_key = hmac.new(SECRET_KEY.encode(), b"ivr store phone number hash", hashlib.sha256).digest()
    with SqliteStore(db, old_key) as old:
        old.opt_out(CALLER)
    client = create_app(environment(IVR_DATABASE=str(db), TWILIO_API_BASE_URL=twilio.base_url)).test_client()
    call = Call(client)
    call.start()
    call.press("2")
    call.press("1")
    assert call.heard.startswith("Your number has asked not to get texts") and twilio.requests == []
