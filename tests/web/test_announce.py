"""Staff are told of new callback requests by email (a local SMTP server) or by text (the fake
Twilio), off the request's thread, at most once a window, with no family's details."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from conftest import ACCOUNT, CLINIC, TOKEN, close_app, environment
from cryptography.fernet import Fernet
from fake_smtp import FakeSmtp, certificate
from fake_twilio import FakeTwilio

from ivr import create_app
from ivr.announce import AnnouncementFailed, BackgroundAnnouncer, EmailChannel
from ivr.model.gsm import encoding_of
from ivr.settings import SmtpSettings, StartupError
from ivr.storage.announced import AnnouncementWindow
from ivr.storage.callbacks import Callbacks

KEY = Fernet.generate_key().decode()
BASE = "https://line.example.org"
FAMILIES = ("+15025551234", "+15025554321", "+15025556789")
STAFF_PHONE = "+15025550199"
PASSWORD = "smtp-password-never-shown-7f3a"
WAIT = 5  # seconds: the most a test waits for the announcer's thread


def email_environment(smtp: FakeSmtp, **overrides: str) -> dict[str, str]:
    """A line announcing by email through `smtp`, without TLS (a local test server)."""
    return environment(**{"IVR_CALLBACK_KEYS": KEY, "IVR_CALLBACK_NOTIFY": "email",
                          "IVR_SMTP_HOST": "127.0.0.1", "IVR_SMTP_PORT": str(smtp.port),
                          "IVR_SMTP_SECURITY": "none", "IVR_SMTP_FROM": "line@clinic.example.org",
                          "IVR_SMTP_TO": "scheduling@clinic.example.org, nurse@clinic.example.org",
                          "IVR_PUBLIC_BASE_URL": BASE, "IVR_CONSOLE": "1", **overrides})


def record(app, *numbers: str, reason: str = "closed") -> None:
    """Callback requests from `numbers`, as the webhooks record them (with topics and a language)."""
    line = app.extensions["ivr"]
    callbacks = Callbacks.for_store(line.store, line.settings.callback_keys)
    for number in numbers:
        callbacks.request(number, True, "es", reason, ["botox", "pump"], time.time())


@pytest.fixture
def raw_log():
    """Every message the "ivr" logger is given, before the redacting formatter masks anything."""
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("ivr")
    handler = Keep(logging.DEBUG)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield messages
    logger.setLevel(level)
    logger.removeHandler(handler)


def no_family_details(text: str) -> None:
    """Nothing of the families' requests in `text`: no number or part of one, reason, topic or language."""
    digits = re.sub(r"\D", "", text)
    for number in FAMILIES:
        assert number[-4:] not in digits and number[2:5] + number[5:8] not in digits
    for word in ("botox", "pump", "closed", "es"):
        assert not re.search(rf"\b{word}\b", text, re.IGNORECASE), word


class Clock:
    """A clock tests move by hand (the app's clock is a datetime one)."""

    def __init__(self):
        self.now = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_the_email_says_how_many_are_waiting_and_links_to_the_console(raw_log):
    with FakeSmtp() as smtp:
        app = create_app(email_environment(smtp))
        announcer = app.extensions["ivr"].announcer
        record(app, *FAMILIES)
        announcer.new_request()
        assert smtp.arrived.wait(WAIT) and announcer.idle(WAIT)
        close_app(app)
    (received,) = smtp.received
    assert received.sender == "line@clinic.example.org"
    assert received.recipients == ("scheduling@clinic.example.org", "nurse@clinic.example.org")
    message = received.message
    assert message["Subject"] == "Spasticity Clinic line: 3 callback requests are waiting"
    assert message["To"] == "scheduling@clinic.example.org, nurse@clinic.example.org"
    body = message.get_content()
    assert body.strip() == ("Spasticity Clinic line: 3 callback requests are waiting. "
                            "Open the console: https://line.example.org/console/callbacks")
    no_family_details(message.as_string())
    assert "Callback announcement sent by email: 3 waiting" in raw_log
    no_family_details(" ".join(raw_log))


def test_without_the_line_s_address_the_email_says_where_to_look_in_words():
    with FakeSmtp() as smtp:
        app = create_app(email_environment(smtp, IVR_PUBLIC_BASE_URL=""))
        record(app, FAMILIES[0])
        app.extensions["ivr"].announcer.new_request()
        assert smtp.arrived.wait(WAIT)
        close_app(app)
    body = smtp.received[0].message.get_content()
    assert body.startswith("Spasticity Clinic line: 1 callback request is waiting. ")
    assert "Callbacks page of the staff console" in body and "IVR_PUBLIC_BASE_URL" in body
    assert "http" not in body


def test_a_refusing_mail_server_is_logged_and_the_next_request_tries_again(raw_log):
    with FakeSmtp("refuse") as smtp:
        app = create_app(email_environment(smtp))
        announcer = app.extensions["ivr"].announcer
        record(app, FAMILIES[0])
        assert announcer.new_request() is None  # nothing raised
        assert announcer.idle(WAIT)
        assert "Callback announcement by email not sent: the mail server refused it (SMTP 554)" in raw_log
        # Not sent, so the window was given back: the next request tries at once.
        announcer.new_request()
        assert announcer.idle(WAIT)
        close_app(app)
    assert smtp.connections == 2 and smtp.received == []
    no_family_details(" ".join(raw_log))


def test_the_request_never_waits_on_a_hanging_mail_server():
    with FakeSmtp("hang") as smtp:
        app = create_app(email_environment(smtp))
        announcer = app.extensions["ivr"].announcer
        record(app, FAMILIES[0])
        started = time.perf_counter()
        announcer.new_request()
        returned = time.perf_counter() - started
        # new_request() has returned while the server holds the connection without a word.
        assert smtp.connected.wait(WAIT)
        assert not smtp.release.is_set() and not smtp.arrived.is_set()
        smtp.release.set()
        assert smtp.arrived.wait(WAIT)
        close_app(app)
    print(f"new_request() returned in {returned * 1000:.3f} ms while the mail server hung")


def test_a_mail_server_that_never_answers_is_given_up_on_and_logged(raw_log):
    with FakeSmtp("hang") as smtp:
        app = create_app(email_environment(smtp))
        line = app.extensions["ivr"]
        announcer = BackgroundAnnouncer(EmailChannel(line.settings.smtp, timeout=0.2),
                                        lambda: 1, AnnouncementWindow.for_store(line.store, 600),
                                        time.time, BASE)
        announcer.new_request()
        assert smtp.connected.wait(WAIT) and announcer.idle(WAIT)
        announcer.close()
        close_app(app)
    assert "Callback announcement by email not sent: the mail server did not answer within 0.2 s" in raw_log


def test_the_staff_text_goes_from_the_line_s_number_through_twilio(raw_log):
    with FakeTwilio(ACCOUNT, TOKEN) as twilio:
        app = create_app(environment(IVR_CALLBACK_KEYS=KEY, IVR_CALLBACK_NOTIFY="text",
                                     IVR_CALLBACK_NOTIFY_TEXT_TO=STAFF_PHONE, IVR_LINE_NUMBER=CLINIC,
                                     TWILIO_API_BASE_URL=twilio.base_url, IVR_PUBLIC_BASE_URL=BASE))
        announcer = app.extensions["ivr"].announcer
        record(app, *FAMILIES[:2])
        announcer.new_request()
        assert announcer.idle(WAIT)
        close_app(app)
    (sent,) = twilio.requests
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert sent.auth == (ACCOUNT, TOKEN)
    assert sent.form["To"] == STAFF_PHONE and sent.form["From"] == CLINIC
    assert sent.form["Body"] == ("Spasticity Clinic line: 2 callback requests are waiting. "
                                 "Open the console: https://line.example.org/console/callbacks")
    no_family_details(sent.form["Body"])
    # One plain GSM-7 segment: the cheapest text there is.
    encoding = encoding_of(sent.form["Body"])
    assert (encoding.name, encoding.segments) == ("GSM-7", 1)
    assert "Callback announcement sent by text: 2 waiting" in raw_log


def test_a_text_twilio_refuses_is_logged_not_raised(raw_log):
    with FakeTwilio(ACCOUNT, TOKEN) as twilio:
        twilio.refuse(21610, 400)
        app = create_app(environment(IVR_CALLBACK_KEYS=KEY, IVR_CALLBACK_NOTIFY="text",
                                     IVR_CALLBACK_NOTIFY_TEXT_TO=STAFF_PHONE, IVR_LINE_NUMBER=CLINIC,
                                     TWILIO_API_BASE_URL=twilio.base_url))
        record(app, FAMILIES[0])
        app.extensions["ivr"].announcer.new_request()
        assert app.extensions["ivr"].announcer.idle(WAIT)
        close_app(app)
    assert "Callback announcement by text not sent: Twilio did not take the text (opted_out)" in raw_log


def test_one_announcement_a_window_shared_by_the_workers(raw_log):
    clock = Clock()
    with FakeSmtp() as smtp:
        env = email_environment(smtp, IVR_CALLBACK_NOTIFY_MINUTES="10")
        app, other_worker = create_app(env, clock=clock), create_app(env, clock=clock)
        first, second = (a.extensions["ivr"].announcer for a in (app, other_worker))
        record(app, FAMILIES[0])
        first.new_request()
        assert first.idle(WAIT) and len(smtp.received) == 1
        # Within the window: another request, on this worker or another, is not announced.
        clock.now += timedelta(minutes=9, seconds=59)
        record(app, FAMILIES[1])
        first.new_request()
        second.new_request()
        assert first.idle(WAIT) and second.idle(WAIT)
        assert len(smtp.received) == 1
        assert raw_log.count("Callback announcement skipped: staff were told less than 10 minutes ago") == 2
        # After it: the next one is, with the count then.
        clock.now += timedelta(seconds=1)
        record(app, FAMILIES[2])
        second.new_request()
        assert second.idle(WAIT)
        close_app(app)
        close_app(other_worker)
    assert [r.message["Subject"] for r in smtp.received] == [
        "Spasticity Clinic line: 1 callback request is waiting",
        "Spasticity Clinic line: 3 callback requests are waiting"]


def test_requests_arriving_together_make_one_announcement():
    clock = Clock()
    with FakeSmtp("hang") as smtp:
        app = create_app(email_environment(smtp), clock=clock)
        announcer = app.extensions["ivr"].announcer
        record(app, *FAMILIES)
        announcer.new_request()
        assert smtp.connected.wait(WAIT)
        # While the first is being sent, forty more requests: folded into one more turn, refused
        # by the window.
        for _ in range(40):
            announcer.new_request()
        smtp.release.set()
        assert announcer.idle(WAIT)
        close_app(app)
    assert smtp.connections == 1 and len(smtp.received) == 1


def test_with_nothing_open_any_more_nothing_is_sent():
    with FakeSmtp() as smtp:
        app = create_app(email_environment(smtp))
        announcer = app.extensions["ivr"].announcer
        announcer.new_request()
        assert announcer.idle(WAIT)
        close_app(app)
    assert smtp.connections == 0


def test_none_by_default_sends_nothing():
    with FakeSmtp() as smtp:
        env = email_environment(smtp)
        del env["IVR_CALLBACK_NOTIFY"]
        app = create_app(env)
        assert app.extensions["ivr"].settings.callback_notify == "none"
        assert app.extensions["ivr"].announcer is None
        record(app, FAMILIES[0])
        close_app(app)
    assert smtp.connections == 0


def test_the_smtp_password_is_never_shown(raw_log):
    with FakeSmtp() as smtp:
        # TLS from the start against a plain server: the connection fails, the password unsent.
        app = create_app(email_environment(smtp, IVR_SMTP_SECURITY="ssl", IVR_SMTP_USER="line",
                                           IVR_SMTP_PASSWORD=PASSWORD))
        line = app.extensions["ivr"]
        assert line.settings.smtp.password == PASSWORD
        assert PASSWORD not in repr(line.settings)
        assert PASSWORD not in app.test_client().get("/healthz").get_data(as_text=True)
        record(app, FAMILIES[0])
        line.announcer.new_request()
        assert line.announcer.idle(WAIT)
        close_app(app)
    logged = " ".join(raw_log)
    assert "Callback announcement by email not sent: cannot reach the mail server" in logged
    assert PASSWORD not in logged


OFF = {"IVR_CALLBACK_KEYS": KEY}
EMAIL = {**OFF, "IVR_CALLBACK_NOTIFY": "email", "IVR_SMTP_HOST": "smtp.example.org",
         "IVR_SMTP_FROM": "line@clinic.example.org", "IVR_SMTP_TO": "staff@clinic.example.org"}
TEXT = {**OFF, "IVR_CALLBACK_NOTIFY": "text", "IVR_CALLBACK_NOTIFY_TEXT_TO": STAFF_PHONE,
        "IVR_LINE_NUMBER": CLINIC}


@pytest.mark.parametrize("env,message", [
    ({**OFF, "IVR_CALLBACK_NOTIFY": "pager"}, "IVR_CALLBACK_NOTIFY must be none, email or text"),
    ({**EMAIL, "IVR_CALLBACK_KEYS": ""}, "callback requests are off"),
    ({**EMAIL, "IVR_CALLBACK_NOTIFY_MINUTES": "-1"}, "IVR_CALLBACK_NOTIFY_MINUTES must be a whole number"),
    ({**EMAIL, "IVR_SMTP_HOST": ""}, "IVR_SMTP_HOST is not set"),
    ({**EMAIL, "IVR_SMTP_FROM": ""}, "IVR_SMTP_FROM is not set"),
    ({**EMAIL, "IVR_SMTP_TO": ""}, "IVR_SMTP_TO is not set"),
    ({**EMAIL, "IVR_SMTP_HOST": "", "IVR_SMTP_TO": ""}, "IVR_SMTP_HOST and IVR_SMTP_TO are not set"),
    ({**EMAIL, "IVR_SMTP_TO": "staff@clinic.example.org, nurse"}, "IVR_SMTP_TO: address 2 is not"),
    ({**EMAIL, "IVR_SMTP_FROM": "Line <line@clinic.example.org>"}, "IVR_SMTP_FROM: address 1 is not"),
    ({**EMAIL, "IVR_SMTP_TO": "a@b.org\r\nBcc: x@y.org"}, "IVR_SMTP_TO: address 1 is not"),
    ({**EMAIL, "IVR_SMTP_SECURITY": "tls1"}, "IVR_SMTP_SECURITY must be starttls, ssl or none"),
    ({**EMAIL, "IVR_SMTP_PORT": "99999"}, "IVR_SMTP_PORT must be a whole number"),
    ({**EMAIL, "IVR_SMTP_USER": "line"}, "IVR_SMTP_USER and IVR_SMTP_PASSWORD go together"),
    ({**EMAIL, "IVR_SMTP_PASSWORD": PASSWORD}, "IVR_SMTP_USER and IVR_SMTP_PASSWORD go together"),
    ({**EMAIL, "IVR_SMTP_USER": "line", "IVR_SMTP_PASSWORD": PASSWORD, "IVR_SMTP_SECURITY": "none"},
     "the password would cross the network in clear"),
    ({**TEXT, "IVR_CALLBACK_NOTIFY_TEXT_TO": ""}, "IVR_CALLBACK_NOTIFY_TEXT_TO .* is not set"),
    ({**TEXT, "IVR_CALLBACK_NOTIFY_TEXT_TO": "5025550199"}, "IVR_CALLBACK_NOTIFY_TEXT_TO .* is not a US"),
    ({**TEXT, "IVR_CALLBACK_NOTIFY_TEXT_TO": "+18005550199"}, "IVR_CALLBACK_NOTIFY_TEXT_TO .* is not a US"),
    ({**TEXT, "IVR_CALLBACK_NOTIFY_TEXT_TO": "+442079460018"}, "IVR_CALLBACK_NOTIFY_TEXT_TO .* is not a US"),
    ({**TEXT, "IVR_LINE_NUMBER": ""}, "IVR_LINE_NUMBER .* is not set"),
    ({**TEXT, "TWILIO_ACCOUNT_SID": ""}, "TWILIO_ACCOUNT_SID is not set"),
])
def test_an_announcing_choice_that_cannot_work_stops_the_start(env, message):
    with pytest.raises(StartupError, match=message) as refused:
        create_app(environment(**env))
    assert PASSWORD not in str(refused.value)


def test_the_ports_follow_the_security_unless_given():
    for security, port in (("starttls", 587), ("ssl", 465), ("none", 25)):
        app = create_app(environment(**EMAIL, IVR_SMTP_SECURITY=security))
        assert app.extensions["ivr"].settings.smtp.port == port
        close_app(app)
    app = create_app(environment(**EMAIL, IVR_SMTP_PORT="2525"))
    assert app.extensions["ivr"].settings.smtp.port == 2525
    close_app(app)



def smtp_settings(smtp: FakeSmtp, security: str, password: str = PASSWORD) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=smtp.port, security=security, user="line",
                        password=password, sender="line@clinic.example.org",
                        recipients=("scheduling@clinic.example.org",))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_over_tls_the_line_signs_in_and_sends(tmp_path, security):
    server, client = certificate(tmp_path)
    with FakeSmtp(tls=server, implicit=security == "ssl", login=("line", PASSWORD)) as smtp:
        EmailChannel(smtp_settings(smtp, security), tls=client).deliver("Subject", "Words")
    assert smtp.signed_in == ["line"]
    assert smtp.received[0].message.get_content().strip() == "Words"


def test_a_wrong_password_is_refused_and_not_quoted(tmp_path):
    server, client = certificate(tmp_path)
    with FakeSmtp(tls=server, login=("line", "another-password")) as smtp:
        channel = EmailChannel(smtp_settings(smtp, "starttls"), tls=client)
        with pytest.raises(AnnouncementFailed, match=r"refused it \(SMTP 535\)") as refused:
            channel.deliver("Subject", "Words")
    assert PASSWORD not in str(refused.value) and smtp.received == []


def test_a_server_without_starttls_is_not_sent_the_password(raw_log):
    with FakeSmtp(login=("line", PASSWORD)) as smtp, \
            pytest.raises(AnnouncementFailed, match="does not offer STARTTLS"):
        EmailChannel(smtp_settings(smtp, "starttls")).deliver("Subject", "Words")
    assert smtp.signed_in == [] and smtp.received == []


def test_the_mail_server_s_certificate_is_checked(tmp_path, raw_log):
    server, _ = certificate(tmp_path)
    with FakeSmtp(tls=server, login=("line", PASSWORD)) as smtp:
        # The line's own context trusts only the system's authorities, not this self-signed one.
        app = create_app(email_environment(smtp, IVR_SMTP_SECURITY="starttls", IVR_SMTP_USER="line",
                                           IVR_SMTP_PASSWORD=PASSWORD))
        announcer = app.extensions["ivr"].announcer
        record(app, FAMILIES[0])
        announcer.new_request()
        assert announcer.idle(WAIT)
        close_app(app)
    assert smtp.signed_in == [] and smtp.received == []
    assert ("Callback announcement by email not sent: cannot reach the mail server "
            "(SSLCertVerificationError)") in raw_log
