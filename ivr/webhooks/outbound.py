"""Sending one SMS through Twilio's REST API: every failure becomes an outcome, never an exception."""

from __future__ import annotations

import logging
import os
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Literal

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..model.phone import is_textable_caller

log = logging.getLogger("ivr")

Status = Literal["sent", "opted_out", "invalid_number", "not_mobile", "failed"]

TWILIO_API_BASE_URL = "https://api.twilio.com"
# The most a send may take, connecting and answering together: a caller is on hold meanwhile and the
# webhook worker answers no one else, so it is well under gunicorn's 10 s and Twilio's 15 s.
SEND_BUDGET_SECONDS = 1.5
# Sends running at once in one process. A send past its budget is abandoned by the webhook but its
# thread lives on until the per-phase timeouts end it; this bounds how many can pile up.
SENDS_IN_FLIGHT = 4

# Twilio error codes that say something about the number, so the caller can be told something useful:
# https://www.twilio.com/docs/errors/21610 (the number texted STOP), /21211 (not a valid number),
# /21614 (not a mobile: a landline cannot receive texts). Everything else is "failed".
_STATUS_BY_CODE: dict[int, Status] = {21610: "opted_out", 21211: "invalid_number", 21614: "not_mobile"}


@dataclass(frozen=True)
class SendOutcome:
    """What became of one text: `status`, Twilio's error `code` if it refused, the message `sid` if sent."""

    status: Status
    code: int | None = None
    sid: str | None = None

    @property
    def sent(self) -> bool:
        """True when Twilio accepted the message (queued for delivery; delivery itself is not known)."""
        return self.status == "sent"


class TextSender:
    """Sends one SMS at a time with twilio's own REST client; `send` never raises."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str = TWILIO_API_BASE_URL,
                 timeout: float = SEND_BUDGET_SECONDS):
        """A sender for the account `account_sid`, talking to `base_url` (Twilio's, or a test double).

        `timeout` (seconds) is the whole budget of one send: connecting, sending and reading the
        answer together. A Twilio that trickles its answer cannot stretch it.
        """
        base = (base_url or TWILIO_API_BASE_URL).rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ValueError(f"the Twilio API base URL must start with https:// (it is {base!r})")
        if timeout <= 0:
            raise ValueError(f"the Twilio timeout must be more than 0 seconds (it is {timeout!r})")
        self.timeout = float(timeout)
        self._http = TwilioHttpClient(timeout=timeout)
        # requests' timeouts are per phase (connect, then each wait for bytes): they only end an
        # abandoned send's thread. The overall deadline is the wait in send().
        self._http.timeout = (self.timeout, self.timeout)
        self._pool: futures.ThreadPoolExecutor | None = None
        self._pool_pid: int | None = None
        self._pool_lock = threading.Lock()
        # An explicit environment: the client would otherwise read TWILIO_EDGE and TWILIO_REGION from the
        # process and rewrite the host; the line's configuration is read in settings.py alone.
        self._client = Client(account_sid, auth_token, http_client=self._http,
                              environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""})
        # The Messages resource lives on the "api" domain; its base_url is what every request's address
        # is built from (twilio.base.domain.Domain.absolute_url), so this points the real client
        # elsewhere without touching its HTTP handling.
        self._client.api.base_url = base

    def send(self, to: str, from_: str, body: str) -> SendOutcome:
        """Text `body` to `to` from the line's number `from_`; say what happened, never raise."""
        if not is_textable_caller(to):
            # A withheld caller ID ("anonymous", or a carrier's placeholder that is someone else's
            # number) must never be texted, nor a number that cannot be a family's own US or
            # Canadian phone (toll-free, premium, Caribbean +1, international: where pumping goes).
            outcome = SendOutcome("invalid_number")
            log.info("Text not sent: the number is withheld or not a US or Canadian phone number")
            return outcome
        try:
            message = self._create(to, from_, body)
        except TwilioRestException as error:
            return self._refused(error.code, error.status)
        except TwilioException as error:
            # TwilioServiceException (a newer error shape) also carries a code; anything else is local.
            return self._refused(getattr(error, "code", None), getattr(error, "status", None))
        except requests.Timeout:
            log.warning("Text not sent: Twilio did not answer within the timeout")
            return SendOutcome("failed")
        except requests.RequestException as error:
            log.warning("Text not sent: cannot reach Twilio (%s)", type(error).__name__)
            return SendOutcome("failed")
        except Exception as error:
            # A caller on the phone must never hear an application error. Only the type is logged: the
            # message could quote the request, and with it the number or the words.
            log.error("Text not sent: unexpected %s from the Twilio client", type(error).__name__)
            return SendOutcome("failed")
        sid = message.sid if isinstance(message.sid, str) else None
        log.info("Text sent: %s", sid or "(Twilio gave no message SID)")
        return SendOutcome("sent", sid=sid)

    def _create(self, to: str, from_: str, body: str):
        """The Messages API call, given up on (raising requests.Timeout) after the whole budget."""
        job = self._threads().submit(self._client.messages.create, to=to, from_=from_, body=body)
        try:
            return job.result(timeout=self.timeout)
        except futures.TimeoutError:
            # Not started yet (every thread busy with a slow Twilio): it never will be. Started: it
            # may still be accepted, so it is not released; a late answer is logged when it comes.
            if not job.cancel():
                job.add_done_callback(_late_answer)
            raise requests.Timeout(f"no answer from Twilio within {self.timeout:g} s") from None

    def _threads(self) -> futures.ThreadPoolExecutor:
        # Made in the process that sends: gunicorn --preload forks workers from the master, and
        # threads do not survive a fork.
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = futures.ThreadPoolExecutor(SENDS_IN_FLIGHT, thread_name_prefix="twilio-send")
                self._pool_pid = os.getpid()
            return self._pool

    @staticmethod
    def _refused(code: object, http_status: object) -> SendOutcome:
        # Without a Twilio error in the body, the client puts the HTTP status in `code`: that is no code.
        code = code if isinstance(code, int) and code != http_status else None
        status = _STATUS_BY_CODE.get(code, "failed") if code is not None else "failed"
        # Twilio's message text can quote the number ("The 'To' number +1502... is not valid"): only the
        # code and HTTP status are logged.
        log.warning("Text not sent: Twilio refused it (%s, error %s, HTTP %s)", status, code, http_status)
        return SendOutcome(status, code=code)

    def close(self) -> None:
        """Close the pooled HTTP connections to Twilio."""
        with self._pool_lock:
            if self._pool is not None and self._pool_pid == os.getpid():
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._http.session is not None:
            self._http.session.close()


def _late_answer(job: futures.Future) -> None:
    """Log what became of a send the caller was told had failed (it timed out)."""
    error = job.exception()
    if error is None:
        sid = getattr(job.result(), "sid", None)
        log.warning("A text that timed out was accepted by Twilio after all: %s",
                    sid if isinstance(sid, str) else "(no message SID)")
    else:
        log.info("A text that timed out then failed (%s)", type(error).__name__)
