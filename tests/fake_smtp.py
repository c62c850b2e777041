"""A small SMTP server on 127.0.0.1 for the tests: it keeps what it is sent, can refuse or hang as a
mail server having a bad day, and with a certificate speaks STARTTLS or TLS from the start and asks
for a password (AUTH PLAIN)."""

from __future__ import annotations

import base64
import socketserver
import ssl
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
    `release` is set, then carries on). With `tls` (a server context) it offers STARTTLS and, once
    it is on, AUTH PLAIN for `login` (user, password); `implicit` speaks TLS from the start."""

    def __init__(self, mode: str = "accept", tls: ssl.SSLContext | None = None, implicit: bool = False,
                 login: tuple[str, str] | None = None):
        self.mode = mode
        self.tls = tls
        self.implicit = implicit
        self.login = login
        self.signed_in: list[str] = []  # the user names that signed in
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

        def setup(self) -> None:
            if fake.tls is not None and fake.implicit:
                try:
                    self.request = fake.tls.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    self.request = None
            if self.request is not None:
                super().setup()

        def finish(self) -> None:
            if self.request is not None:
                super().finish()
                # A TLS socket is a new object over the same descriptor: the server closes only
                # the plain one it accepted.
                self.connection.close()

        def _start_tls(self) -> bool:
            try:
                self.connection = fake.tls.wrap_socket(self.connection, server_side=True)
            except (ssl.SSLError, OSError):
                return False  # the client did not trust the certificate
            self.rfile = self.connection.makefile("rb")
            self.wfile = self.connection.makefile("wb", buffering=0)
            return True

        def say(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            with fake._lock:
                fake.connections += 1
            fake.connected.set()
            if self.request is None:
                return
            if fake.mode == "refuse":
                return self.say("554 no service here")
            if fake.mode == "hang":
                fake.release.wait(10)
            self.say("220 fake.smtp ESMTP ready")
            sender, recipients = "", []
            secure = fake.implicit
            signed_in = fake.login is None
            while raw := self.rfile.readline():
                line = raw.decode().rstrip("\r\n")
                verb = line[:4].upper()
                if verb == "EHLO":
                    offers = ["8BITMIME"]
                    if fake.tls is not None and not secure:
                        offers.append("STARTTLS")
                    if fake.login is not None and secure:
                        offers.append("AUTH PLAIN")
                    self.say("250-fake.smtp")
                    for offer in offers[:-1]:
                        self.say("250-" + offer)
                    self.say("250 " + offers[-1])
                elif verb == "HELO":
                    self.say("250 fake.smtp")
                elif line.upper() == "STARTTLS" and fake.tls is not None and not secure:
                    self.say("220 go ahead")
                    if not self._start_tls():
                        return
                    secure = True
                elif verb == "AUTH" and fake.login is not None and secure:
                    _, _, answer = line.partition("PLAIN ")
                    _, user, password = base64.b64decode(answer).decode().split("\0")
                    if (user, password) != fake.login:
                        self.say("535 5.7.8 authentication failed")
                        continue
                    signed_in = True
                    with fake._lock:
                        fake.signed_in.append(user)
                    self.say("235 2.7.0 accepted")
                elif verb == "MAIL":
                    if not signed_in:
                        self.say("530 5.7.0 authentication required")
                        continue
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
            while raw := self.rfile.readline():
                if raw in (b".\r\n", b".\n"):
                    break
                lines.append(raw[1:] if raw.startswith(b"..") else raw)  # dot-stuffing undone
            message = message_from_bytes(b"".join(lines), policy=policy.default)
            with fake._lock:
                fake.received.append(Received(sender, tuple(recipients), message))
            fake.arrived.set()

    return Handler


def certificate(folder) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1, made now: (the server's context, a client context
    that trusts it and nothing else)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake.smtp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client
