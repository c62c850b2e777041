"""A small SMTP server on 127.0.0.1 for the tests (no TLS): it keeps what it is sent, and can refuse
or hang, as a mail server having a bad day."""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass(frozen=True)
class Received:
    """One message as the server got it: the envelope and the parsed message."""

    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage


class FakeSmtp:
    """An SMTP server speaking enough of RFC 5321 for smtplib: EHLO/HELO, MAIL, RCPT, DATA, RSET,
    NOOP, QUIT. `mode` is "accept", "refuse" (554 on connecting) or "hang" (says nothing until
    `release` is set, then carries on)."""

    def __init__(self, mode: str = "accept"):
        self.mode = mode
        self.received: list[Received] = []
        self.connections = 0
        self.connected = threading.Event()  # set when a client connects
        self.arrived = threading.Event()  # set when a message arrives
        self.release = threading.Event()  # a hanging server carries on once it is set
        self._lock = threading.Lock()
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="fake-smtp", daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._server.server_address[1]

    def __enter__(self) -> FakeSmtp:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_for(fake: FakeSmtp) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        timeout = 10

        def say(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            with fake._lock:
                fake.connections += 1
            fake.connected.set()
            if fake.mode == "refuse":
                return self.say("554 no service here")
            if fake.mode == "hang":
                fake.release.wait(10)
            self.say("220 fake.smtp ESMTP ready")
            sender, recipients = "", []
            for raw in self.rfile:
                line = raw.decode().rstrip("\r\n")
                verb = line[:4].upper()
                if verb == "EHLO":
                    self.say("250-fake.smtp")
                    self.say("250 8BITMIME")
                elif verb == "HELO":
                    self.say("250 fake.smtp")
                elif verb == "MAIL":
                    sender, recipients = line.partition(":")[2].strip().strip("<>").split(">")[0], []
                    self.say("250 OK")
                elif verb == "RCPT":
                    recipients.append(line.partition(":")[2].strip().strip("<>"))
                    self.say("250 OK")
                elif verb == "DATA":
                    self.say("354 end with <CRLF>.<CRLF>")
                    self._data(sender, recipients)
                    self.say("250 OK queued")
                elif verb in ("RSET", "NOOP"):
                    self.say("250 OK")
                elif verb == "QUIT":
                    return self.say("221 bye")
                else:
                    self.say("502 not implemented")

        def _data(self, sender: str, recipients: list[str]) -> None:
            lines = []
            for raw in self.rfile:
                if raw in (b".\r\n", b".\n"):
                    break
                lines.append(raw[1:] if raw.startswith(b"..") else raw)  # dot-stuffing undone
            message = message_from_bytes(b"".join(lines), policy=policy.default)
            with fake._lock:
                fake.received.append(Received(sender, tuple(recipients), message))
            fake.arrived.set()

    return Handler
