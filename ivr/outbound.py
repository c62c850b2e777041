"""Sending one SMS through Twilio's REST API: every failure becomes an outcome, never an exception."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .phone import is_callable_caller_id

log = logging.getLogger("ivr")

Status = Literal["sent", "opted_out", "invalid_number", "not_mobile", "failed"]

TWILIO_API_BASE_URL = "https://api.twilio.com"

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
                 timeout: float = 5.0):
        """A sender for the account `account_sid`, talking to `base_url` (Twilio's, or a test double).

        `timeout` (seconds) bounds connecting and then waiting for the answer, each separately, so a send
        can take up to about twice it: a caller is on hold meanwhile, gunicorn restarts a worker stuck
        for 10 s and Twilio gives up on a webhook after 15 s.
        """
        base = (base_url or TWILIO_API_BASE_URL).rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ValueError(f"the Twilio API base URL must start with https:// (it is {base!r})")
        if timeout <= 0:
            raise ValueError(f"the Twilio timeout must be more than 0 seconds (it is {timeout!r})")
        self._http = TwilioHttpClient(timeout=timeout)
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
        if not is_callable_caller_id(to):
            # A withheld caller ID ("anonymous", or a carrier's placeholder that is someone else's
            # number) must never be texted.
            outcome = SendOutcome("invalid_number")
            log.info("Text not sent: the number is withheld or not a phone number")
            return outcome
        try:
            message = self._client.messages.create(to=to, from_=from_, body=body)
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
        if self._http.session is not None:
            self._http.session.close()
