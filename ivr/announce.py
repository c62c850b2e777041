"""Telling staff that callback requests are waiting, by email or by text, without naming any family:
off the request's thread, at most once a window, never raising."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import threading
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from .settings import Settings, SmtpSettings

log = logging.getLogger("ivr")

# The most one try at the mail server may wait for each answer. The request thread never waits on
# it (the announcer's own thread does), so it can be generous.
SMTP_TIMEOUT_SECONDS = 10.0
LINE_NAME = "Spasticity Clinic line"
CONSOLE_PATH = "/console/callbacks"


class Announcer(Protocol):
    """What the webhooks call when a new callback request is recorded."""

    def new_request(self) -> None:
        """A new request was recorded: tell staff soon. Returns at once and never raises."""


class AnnouncementFailed(Exception):
    """An announcement was not delivered; the message says why in words with no family details."""


class Channel(Protocol):
    """One way of reaching staff."""

    name: str

    def deliver(self, subject: str, body: str) -> None:
        """Send the announcement, or raise AnnouncementFailed (or any error) saying why not."""


def announcement(count: int, public_base_url: str) -> tuple[str, str]:
    """The subject and the words of an announcement of `count` waiting requests: only the count and
    the console's address, never a number, name or message."""
    waiting = "1 callback request is" if count == 1 else f"{count} callback requests are"
    subject = f"{LINE_NAME}: {waiting} waiting"
    if public_base_url:
        where = f"Open the console: {public_base_url}{CONSOLE_PATH}"
    else:
        where = ("Open the Callbacks page of the staff console (the line's address, "
                 "IVR_PUBLIC_BASE_URL, is not set, so this message cannot link to it).")
    return subject, f"{subject}. {where}"


class EmailChannel:
    """Announcements by email through the mail server of IVR_SMTP_* (smtplib, with a timeout)."""

    name = "email"

    def __init__(self, smtp: SmtpSettings, timeout: float = SMTP_TIMEOUT_SECONDS,
                 tls: ssl.SSLContext | None = None):
        self.smtp = smtp
        self.timeout = timeout
        self._tls = tls

    def _context(self) -> ssl.SSLContext:
        # Made on first use: the system's trusted certificates, and the host name checked.
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def deliver(self, subject: str, body: str) -> None:
        """Send one email to every address of IVR_SMTP_TO; raise AnnouncementFailed if the server
        refuses it, cannot be reached or does not answer in time."""
        smtp = self.smtp
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = smtp.sender
        message["To"] = ", ".join(smtp.recipients)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
        message.set_content(body + "\n")
        try:
            if smtp.security == "ssl":
                server = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=self.timeout,
                                          context=self._context())
            else:
                server = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
            with server:
                if smtp.security == "starttls":
                    server.starttls(context=self._context())
                if smtp.user:
                    server.login(smtp.user, smtp.password)
                refused = server.send_message(message)
        except smtplib.SMTPResponseException as error:
            # The code says enough; the server's words can quote addresses.
            raise AnnouncementFailed(f"the mail server refused it (SMTP {error.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused:
            raise AnnouncementFailed("the mail server refused every address of IVR_SMTP_TO") from None
        except smtplib.SMTPNotSupportedError:
            raise AnnouncementFailed("the mail server does not offer STARTTLS (IVR_SMTP_SECURITY)") from None
        except (TimeoutError, smtplib.SMTPServerDisconnected) as error:
            # smtplib turns a timed-out read into "Connection unexpectedly closed: timed out".
            if isinstance(error, TimeoutError) or "timed out" in str(error):
                raise AnnouncementFailed(f"the mail server did not answer within {self.timeout:g} s") \
                    from None
            raise AnnouncementFailed("the mail server closed the connection") from None
        except (OSError, smtplib.SMTPException) as error:
            raise AnnouncementFailed(f"cannot reach the mail server ({type(error).__name__})") from None
        if refused:
            log.warning("Callback announcement: the mail server refused %d of %d addresses",
                        len(refused), len(smtp.recipients))


class TextChannel:
    """Announcements by text to the staff phone, from the line's number, through the line's
    TextSender (Twilio's REST API)."""

    name = "text"

    def __init__(self, sender, to: str, from_: str):
        self.sender = sender
        self.to = to
        self.from_ = from_

    def deliver(self, subject: str, body: str) -> None:
        """Text `body` (the subject is its first sentence already); raise AnnouncementFailed if
        Twilio did not accept it."""
        outcome = self.sender.send(self.to, self.from_, body)
        if not outcome.sent:
            raise AnnouncementFailed(f"Twilio did not take the text ({outcome.status})")


class BackgroundAnnouncer:
    """The live Announcer: new_request() only raises a flag; a thread of its own claims the window,
    counts the open requests and delivers through `channel`. Requests arriving while it works are
    folded into the next turn, which the window then usually refuses."""

    def __init__(self, channel: Channel, count_open: Callable[[], int], window,
                 clock: Callable[[], float], public_base_url: str = ""):
        self.channel = channel
        self._count_open = count_open
        self._window = window
        self._clock = clock
        self._base = public_base_url
        self._changed = threading.Condition()
        self._pending = False
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def new_request(self) -> None:
        """A new request was recorded: announce it from the announcer's thread. Never waits on the
        mail server or Twilio, never raises."""
        try:
            with self._changed:
                self._pending = True
                self._changed.notify_all()
                # Started here, in the process that serves: a server that loads the app first and
                # then forks its workers would leave a thread started earlier behind in the parent.
                if self._thread is None or self._pid != os.getpid():
                    self._stopping = False
                    self._busy = False
                    self._pid = os.getpid()
                    self._thread = threading.Thread(target=self._work, name="ivr-announce", daemon=True)
                    self._thread.start()
        except Exception as error:  # a webhook must never fail because staff could not be told
            log.error("Callback announcement not started (%s)", type(error).__name__)

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    return
                self._pending = False
                self._busy = True
            try:
                self._announce()
            except Exception as error:
                log.error("Callback announcement failed: unexpected %s", type(error).__name__)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _announce(self) -> None:
        now = self._clock()
        try:
            if not self._window.claim(now):
                log.info("Callback announcement skipped: staff were told less than %g minutes ago",
                         self._window.seconds / 60)
                return
        except Exception as error:
            log.warning("Callback announcement not sent: cannot use the line's database (%s)",
                        type(error).__name__)
            return
        try:
            count = self._count_open()
            if count == 0:
                # Taken or closed already: nothing to say, and the next request may say it at once.
                self._window.release(now)
                return
            subject, body = announcement(count, self._base)
            self.channel.deliver(subject, body)
        except Exception as error:
            reason = str(error) if isinstance(error, AnnouncementFailed) else type(error).__name__
            log.warning("Callback announcement by %s not sent: %s", self.channel.name, reason)
            try:
                self._window.release(now)
            except Exception:
                log.warning("Callback announcement: the window could not be given back")
            return
        log.info("Callback announcement sent by %s: %d waiting", self.channel.name, count)

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until every new_request() so far has been dealt with (tests, and a clean stop);
        False if `timeout` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self, timeout: float = 1.0) -> None:
        """Stop the thread (after the announcement it may be sending, waiting `timeout` at most)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            thread = self._thread if self._pid == os.getpid() else None
        if thread is not None:
            thread.join(timeout)


def announcer_for(settings: Settings, store, sender,
                  clock: Callable[[], float]) -> BackgroundAnnouncer | None:
    """The announcer IVR_CALLBACK_NOTIFY chooses, on the line's store and text sender; None when it
    is none (or callback requests are off)."""
    if settings.callback_notify == "none" or not settings.callback_keys:
        return None
    from .storage.announced import AnnouncementWindow
    from .storage.callbacks import Callbacks

    if settings.callback_notify == "email":
        channel: Channel = EmailChannel(settings.smtp)
    else:
        channel = TextChannel(sender, settings.callback_notify_text_to, settings.line_number)
    if settings.callback_notify == "email":
        count = len(settings.smtp.recipients)
        where = f"by email to {count} {'address' if count == 1 else 'addresses'}"
    else:
        where = "by text to the staff phone"
    log.info("New callback requests are announced %s, at most once every %d minutes", where,
             settings.callback_notify_minutes)
    callbacks = Callbacks.for_store(store, settings.callback_keys)
    window = AnnouncementWindow.for_store(store, settings.callback_notify_minutes * 60)
    return BackgroundAnnouncer(channel, callbacks.count_open, window, clock, settings.public_base_url)
