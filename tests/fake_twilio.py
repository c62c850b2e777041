"""A local stand-in for Twilio's Messages and Recordings APIs (sending texts; a recording's MP3 and
deleting it), so tests drive the real twilio client without the internet."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

_MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json\Z")
_RECORDING_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account>[^/]+)/Recordings/(?P<sid>RE[0-9a-f]{32})\.json\Z")
_MEDIA_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account>[^/]+)/Recordings/(?P<sid>RE[0-9a-f]{32})\.mp3\Z")
_RANGE = re.compile(r"bytes=(?P<first>\d+)-(?P<last>\d*)\Z")


@dataclass(frozen=True)
class Recorded:
    """One request the fake received: method, path, form fields, basic-auth user and password, headers."""

    method: str
    path: str
    form: dict[str, str]
    auth: tuple[str, str] | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    """How to answer one request: an HTTP status and Twilio error code, a raw status, or a delay first."""

    status: int = 201
    code: int | None = None
    message: str = ""
    delay: float = 0.0
    raw_body: str | None = None
    trickle: float = 0.0  # spread the answer's body over this many seconds, a byte at a time


class FakeTwilio:
    """Twilio's `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, on 127.0.0.1, one port per fake.

    By default every request with the right basic auth gets 201 and a message resource, as Twilio
    answers. `refuse`, `fail_with_status`, `delay` and `trickle` program the next answers, in order;
    `answer_after` makes every answer slow, as a Twilio having a bad day.
    """

    def __init__(self, account_sid: str, auth_token: str, answer_after: float = 0.0):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.answer_after = answer_after  # seconds every request waits before its answer
        self.requests: list[Recorded] = []
        # The audio of each recording the account has ({SID: MP3 bytes}); DELETE removes one.
        self.recordings: dict[str, bytes] = {}
        self._plans: deque[_Plan] = deque()
        self._lock = threading.Lock()
        # Set on stop, so a handler told to delay wakes at once instead of outliving the test.
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # Join every handler thread on close: nothing keeps running after the test.
        self._server.daemon_threads = False
        self._server.block_on_close = True
        # A short poll: stop() waits up to one poll for the server loop, and tests stop a fake each.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="fake-twilio", daemon=True)

    @property
    def base_url(self) -> str:
        """The address to give the client instead of https://api.twilio.com."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def refuse(self, code: int, status: int = 400, message: str | None = None) -> None:
        """Answer the next request with Twilio's error JSON for error `code`."""
        self._plan(_Plan(status=status, code=code, message=message or f"Twilio error {code}"))

    def fail_with_status(self, status: int, body: str = "") -> None:
        """Answer the next request with a bare HTTP `status` (such as 500) and `body`, not Twilio JSON."""
        self._plan(_Plan(status=status, raw_body=body))

    def delay(self, seconds: float) -> None:
        """Wait `seconds` before answering the next request (normally), to make the client time out."""
        self._plan(_Plan(delay=seconds))

    def trickle(self, seconds: float) -> None:
        """Answer the next request at once, but send its body a byte at a time over `seconds`: no
        single wait is long, so only a deadline for the whole request ends it."""
        self._plan(_Plan(trickle=seconds))

    def _plan(self, plan: _Plan) -> None:
        with self._lock:
            self._plans.append(plan)

    def _next_plan(self) -> _Plan:
        with self._lock:
            return self._plans.popleft() if self._plans else _Plan()

    def _record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def fake_twilio(account_sid: str, auth_token: str) -> Iterator[FakeTwilio]:
    """A running FakeTwilio for the length of the `with` block."""
    with FakeTwilio(account_sid, auth_token) as fake:
        yield fake


def silent_mp3(frames: int = 40) -> bytes:
    """A short silent MP3: `frames` MPEG-1 Layer III frames of 128 kbit/s at 44.1 kHz (26 ms each),
    each a header and zeros (no main data: every sample decodes as silence)."""
    header = bytes((0xFF, 0xFB, 0x90, 0x64))  # sync, MPEG-1 layer III, 128 kbit/s, 44.1 kHz, joint stereo
    frame = header + bytes(144 * 128000 // 44100 - len(header))  # 417 bytes a frame
    return frame * frames


def message_sid() -> str:
    """A message SID as Twilio writes it: SM and 32 hex digits, 34 characters."""
    return "SM" + secrets.token_hex(16)


def recording_sid() -> str:
    """A recording SID as Twilio writes it: RE and 32 hex digits."""
    return "RE" + secrets.token_hex(16)


def _error(code: int, status: int, message: str) -> dict[str, object]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no handler thread waits on an idle keep-alive.
        protocol_version = "HTTP/1.0"
        timeout = 10

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 -- the base's name
            pass  # quiet: pytest shows stderr of failing tests, and request lines hold no interest

        def do_POST(self) -> None:  # noqa: N802 -- http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {name: values[-1] for name, values in parse_qs(raw, keep_blank_values=True).items()}
            auth = _basic_auth(self.headers.get("Authorization", ""))
            fake._record(Recorded("POST", self.path, form, auth, dict(self.headers.items())))
            match = _MESSAGES_PATH.match(self.path.split("?")[0])
            if not match or match["account"] != fake.account_sid:
                return self._json(404, _error(20404, 404, "The requested resource was not found"))
            if auth != (fake.account_sid, fake.auth_token):
                return self._json(401, _error(20003, 401, "Authenticate"))
            plan = fake._next_plan()
            delay = plan.delay or fake.answer_after
            if delay and fake._stopping.wait(delay):
                return  # stopped while delaying: the client has long gone
            if plan.trickle:
                return self._trickle(_message(fake.account_sid, form), plan.trickle)
            if plan.raw_body is not None:
                return self._send(plan.status, plan.raw_body.encode(), "text/html")
            if plan.code is not None:
                return self._json(plan.status, _error(plan.code, plan.status, plan.message))
            if not form.get("To"):
                return self._json(400, _error(21604, 400, "A 'To' phone number is required."))
            if not form.get("Body"):
                return self._json(400, _error(21602, 400, "Message body is required."))
            return self._json(201, _message(fake.account_sid, form))

        def do_GET(self) -> None:  # noqa: N802 -- http.server's naming
            # A recording's MP3 (GET .../Recordings/{Sid}.mp3), whole or the one byte range asked.
            auth = _basic_auth(self.headers.get("Authorization", ""))
            fake._record(Recorded("GET", self.path, {}, auth, dict(self.headers.items())))
            match = _MEDIA_PATH.match(self.path.split("?")[0])
            if not match or match["account"] != fake.account_sid:
                return self._json(404, _error(20404, 404, "The requested resource was not found"))
            if auth != (fake.account_sid, fake.auth_token):
                return self._json(401, _error(20003, 401, "Authenticate"))
            plan = fake._next_plan()
            if plan.raw_body is not None:
                return self._send(plan.status, plan.raw_body.encode(), "text/html")
            if plan.code is not None:
                return self._json(plan.status, _error(plan.code, plan.status, plan.message))
            with fake._lock:
                audio = fake.recordings.get(match["sid"])
            if audio is None:
                return self._json(404, _error(20404, 404, "The requested resource was not found"))
            wanted = _RANGE.match(self.headers.get("Range", "").strip())
            if wanted is None:
                return self._send(200, audio, "audio/mpeg", {"Accept-Ranges": "bytes"})
            first = int(wanted["first"])
            last = min(int(wanted["last"]) if wanted["last"] else len(audio) - 1, len(audio) - 1)
            if first > last:
                return self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(audio)}"})
            return self._send(206, audio[first:last + 1], "audio/mpeg", {
                "Accept-Ranges": "bytes", "Content-Range": f"bytes {first}-{last}/{len(audio)}"})

        def do_DELETE(self) -> None:  # noqa: N802 -- http.server's naming
            # Recordings: 204 (deleted), or what refuse()/fail_with_status() planned, such as a 404
            # for a recording already gone.
            auth = _basic_auth(self.headers.get("Authorization", ""))
            fake._record(Recorded("DELETE", self.path, {}, auth, dict(self.headers.items())))
            match = _RECORDING_PATH.match(self.path.split("?")[0])
            if not match or match["account"] != fake.account_sid:
                return self._json(404, _error(20404, 404, "The requested resource was not found"))
            if auth != (fake.account_sid, fake.auth_token):
                return self._json(401, _error(20003, 401, "Authenticate"))
            plan = fake._next_plan()
            if plan.raw_body is not None:
                return self._send(plan.status, plan.raw_body.encode(), "text/html")
            if plan.code is not None:
                return self._json(plan.status, _error(plan.code, plan.status, plan.message))
            with fake._lock:
                fake.recordings.pop(match["sid"], None)
            return self._send(204, b"", "application/json")

        def _trickle(self, payload: dict[str, object], seconds: float) -> None:
            body = json.dumps(payload).encode()
            try:
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.flush()
                for byte in range(len(body)):
                    if fake._stopping.wait(seconds / len(body)):
                        return
                    self.wfile.write(body[byte:byte + 1])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

        def _json(self, status: int, payload: dict[str, object]) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str,
                  headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

    return Handler


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _message(account_sid: str, form: dict[str, str]) -> dict[str, object]:
    """The message resource Twilio returns for a new outbound message (status queued)."""
    sid = message_sid()
    now = formatdate(usegmt=True)
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": form.get("To"),
        "uri": f"{uri}.json",
    }
