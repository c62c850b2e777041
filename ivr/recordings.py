"""Families' recorded messages, which stay at Twilio: streaming one's audio to the console through the
REST API (never written to disk), and deleting one (the purge, a replaced or refused message). Logs
say only the recording's SID, status and code."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger("ivr")

TWILIO_API_BASE_URL = "https://api.twilio.com"
TIMEOUT_SECONDS = 10.0
CHUNK_BYTES = 64 * 1024
# A recording SID as Twilio writes it; nothing else is ever put into a media URL.
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}\Z")
# What of Twilio's answer is passed on to the browser (never Twilio's own URLs or cookies).
PASSED_HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges")


class MediaError(Exception):
    """A recording's audio cannot be had: `missing` when Twilio has no such recording (a 404)."""

    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing


@dataclass
class Media:
    """A recording's audio as Twilio answers it: its status (200, or 206 for a range), the headers
    to pass on, and its bytes, read from Twilio as they are sent on."""

    sid: str
    status: int
    headers: dict[str, str]
    _response: object

    def __iter__(self) -> Iterator[bytes]:
        """The audio, as chunks() gives it."""
        return self.chunks()

    def chunks(self) -> Iterator[bytes]:
        """The audio a chunk at a time; Twilio's connection is closed at the end. Given to a response
        whole (iterating it), its close() also runs when the browser goes away before the first."""
        try:
            yield from self._response.iter_content(CHUNK_BYTES)
        except OSError as error:  # requests' errors are OSErrors: Twilio stopped half-way
            log.warning("recording %s: Twilio stopped sending its audio (%s)", self.sid, type(error).__name__)
        finally:
            self._response.close()

    def close(self) -> None:
        """Close Twilio's connection (again is harmless)."""
        self._response.close()


class Recordings:
    """The account's recordings at Twilio, through twilio's own REST client."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str = TWILIO_API_BASE_URL,
                 timeout: float = TIMEOUT_SECONDS):
        self.account_sid = account_sid
        self.base_url = (base_url or TWILIO_API_BASE_URL).rstrip("/")
        self.timeout = timeout
        self._token = auth_token
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

    def media_url(self, sid: str) -> str:
        """The REST API's address of recording `sid`'s audio as MP3."""
        if not RECORDING_SID.match(sid or ""):
            raise MediaError(f"not a recording SID: {sid!r}"[:60], missing=True)
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}.mp3"

    def media(self, sid: str, byte_range: str | None = None) -> Media:
        """Open recording `sid`'s MP3 at Twilio (with the account's credentials), passing on the
        browser's Range header if any (a range past the end is Twilio's 416, passed on too);
        MediaError when Twilio has none or cannot be reached."""
        url = self.media_url(sid)
        headers = {"Range": byte_range} if byte_range else {}
        try:
            # twilio's own HTTP client's session (its connection pool), streamed: the audio goes
            # on to the browser as it arrives and is never kept whole, nor written to disk.
            response = self._http.session.get(url, auth=(self.account_sid, self._token), headers=headers,
                                              stream=True, timeout=self.timeout, allow_redirects=True)
        except OSError as error:
            log.warning("cannot reach Twilio for recording %s (%s)", sid, type(error).__name__)
            raise MediaError(f"cannot reach Twilio for recording {sid}") from None
        if response.status_code == 416:
            # A range past the end (a browser seeking at the very end): the browser's to handle.
            passed = {"Content-Range": response.headers["Content-Range"]} \
                if "Content-Range" in response.headers else {}
            response.close()
            return Media(sid, 416, {"Content-Type": "text/plain", **passed}, _Empty())
        if response.status_code not in (200, 206):
            if response.status_code != 404:
                # Only the status and Twilio's error code (16109: an encrypted recording has no MP3).
                log.warning("Twilio refused recording %s's audio (HTTP %s, error %s)", sid,
                            response.status_code, _error_code(response))
            response.close()
            raise MediaError(f"Twilio answered HTTP {response.status_code} for recording {sid}",
                             missing=response.status_code == 404)
        passed = {name: response.headers[name] for name in PASSED_HEADERS if name in response.headers}
        if not passed.get("Content-Type", "").startswith("audio/"):
            passed["Content-Type"] = "audio/mpeg"
        return Media(sid, response.status_code, passed, response)

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


class _Empty:
    """The body of an answer that has none (a 416), as Media reads a response's."""

    def iter_content(self, size: int) -> Iterator[bytes]:
        return iter(())

    def close(self) -> None:
        pass


def _error_code(response) -> object:
    """Twilio's error code from an error answer's JSON, or None (never its message)."""
    try:
        return response.json().get("code")
    except (ValueError, AttributeError, OSError):
        return None
