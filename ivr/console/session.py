"""The console's cookie session: its own cookie (ivr_console, Path=/console, HttpOnly, SameSite=Lax,
Secure over https), signed with the console's own key, never the texting cookie's. It holds only a
random session id (and Flask-WTF's CSRF token); the id's SHA-256 is a row in the database."""

from __future__ import annotations

import hashlib
import hmac

from flask import request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "ivr_console"
SALT = "ivr-console-session"
PREFIX = "/console"


def is_console_path(path: str) -> bool:
    """Whether a request path (below the app's script root) is the console's."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def sub_key(key: bytes, purpose: bytes) -> bytes:
    """A key for one purpose of the console (cookie, CSRF), derived from the console's key."""
    return hmac.new(key, purpose, hashlib.sha256).digest()


def id_hash(session_id: str) -> str:
    """What the database keeps of a session id: its SHA-256 (a stolen table signs no one in)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, under the console's own name, path and key."""

    def __init__(self, key: bytes, lifetime_seconds: int):
        self._serializer = URLSafeTimedSerializer(sub_key(key, b"cookie"), salt=SALT,
                                                  serializer=self.serializer,
                                                  signer_kwargs={"key_derivation": "hmac",
                                                                 "digest_method": hashlib.sha256})
        self._lifetime = lifetime_seconds

    def get_signing_serializer(self, app):
        return self._serializer

    def get_cookie_name(self, app):
        return COOKIE_NAME

    def get_cookie_domain(self, app):
        return None

    def get_cookie_path(self, app):
        return (request.script_root or "") + PREFIX

    def get_cookie_httponly(self, app):
        return True

    def get_cookie_samesite(self, app):
        return "Lax"

    def get_cookie_secure(self, app):
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure

    def get_cookie_partitioned(self, app):
        return False

    def get_expiration_time(self, app, session):
        return None  # a browser-session cookie; the database row says how long the session lasts

    def open_session(self, app, request):
        value = request.cookies.get(COOKIE_NAME)
        if not value:
            return self.session_class()
        try:
            return self.session_class(self._serializer.loads(value, max_age=self._lifetime))
        except BadSignature:
            return self.session_class()
