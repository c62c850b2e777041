"""Families' recorded messages, which stay at Twilio: deleting one through the REST API (the purge,
a replaced or refused message). Never raises; says only the recording's SID, status and code."""

from __future__ import annotations

import logging

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger("ivr")

TWILIO_API_BASE_URL = "https://api.twilio.com"
TIMEOUT_SECONDS = 10.0


class Recordings:
    """The account's recordings at Twilio, through twilio's own REST client."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str = TWILIO_API_BASE_URL,
                 timeout: float = TIMEOUT_SECONDS):
        self.account_sid = account_sid
        self.base_url = (base_url or TWILIO_API_BASE_URL).rstrip("/")
        self.timeout = timeout
        self._http = TwilioHttpClient(timeout=timeout)
        # As ivr/webhooks/outbound.py: an explicit environment (the line's configuration is read in
        # settings.py alone), and the api domain's base_url pointed at TWILIO_API_BASE_URL.
        self._client = Client(account_sid, auth_token, http_client=self._http,
                              environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""})
        self._client.api.base_url = self.base_url

    @classmethod
    def from_settings(cls, settings) -> Recordings | None:
        """The account's recordings, or None when TWILIO_ACCOUNT_SID is not set."""
        if not settings.account_sid:
            return None
        return cls(settings.account_sid, settings.auth_token, settings.api_base_url)

    def delete(self, sid: str) -> bool:
        """Delete recording `sid`; True when it is gone at Twilio (deleted now, or already: 404)."""
        try:
            self._client.recordings(sid).delete()
            return True
        except TwilioRestException as error:
            if error.status == 404:
                return True
            # Only the status and code: Twilio's message could quote more than the SID.
            log.warning("Twilio refused to delete recording %s (HTTP %s, error %s)", sid, error.status,
                        error.code)
        except (TwilioException, OSError) as error:
            log.warning("cannot reach Twilio to delete recording %s (%s)", sid, type(error).__name__)
        except Exception as error:  # requests' errors and anything else: the caller keeps the row
            log.warning("cannot delete recording %s (%s)", sid, type(error).__name__)
        return False
