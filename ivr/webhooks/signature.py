"""Check that each webhook request really comes from Twilio, rebuilding the address Twilio signed."""

from __future__ import annotations

import logging

from flask import abort, current_app, request
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator

from ..logs import printable

log = logging.getLogger("ivr")


class TokenValidator(RequestValidator):
    """Twilio's validator for the account's auth token that also accepts a second token, while the
    account's token is being changed (TWILIO_AUTH_TOKEN_SECONDARY)."""

    def __init__(self, token: str, secondary: str = ""):
        super().__init__(token)
        self.secondary = RequestValidator(secondary) if secondary else None
        self._secondary_seen = False

    def validate(self, uri, params, signature) -> bool:
        """True when `signature` was made with either token."""
        if super().validate(uri, params, signature):
            return True
        if self.secondary is None or not self.secondary.validate(uri, params, signature):
            return False
        if not self._secondary_seen:  # once a process: the sign that Twilio has switched tokens
            self._secondary_seen = True
            log.info("a request was signed with TWILIO_AUTH_TOKEN_SECONDARY: Twilio signs with the new "
                     "token now; set TWILIO_AUTH_TOKEN to it and remove TWILIO_AUTH_TOKEN_SECONDARY")
        return True


def signed_url(public_base_url: str) -> str:
    """The full address Twilio requested, as it signed it.

    With a public base address, it alone gives the scheme, host and any path in front of the
    routes: nothing a client sends (Host, X-Forwarded-Host or -Prefix) can change the address
    checked, so a signature Twilio made for another address on the same account cannot be replayed
    here. The query string is taken raw: werkzeug's request.url would decode percent-escapes that
    Twilio signed encoded.
    """
    if public_base_url:
        url = public_base_url + request.path
    else:
        # With ProxyFix installed (IVR_TRUSTED_PROXIES), scheme and host reflect X-Forwarded-*.
        url = f"{request.scheme}://{request.host}{request.script_root}{request.path}"
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def require_twilio_signature() -> None:
    """Blueprint before_request hook: answer 403 unless X-Twilio-Signature is valid."""
    line = current_app.extensions["ivr"]
    if line.settings.skip_signature_check:
        return
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        log.warning("rejected %s: no %s header", printable(request.path), SIGNATURE_HEADER)
        abort(403)
    url = signed_url(line.settings.public_base_url)
    if not line.validator.validate(url, request.form, signature):
        hint = ""
        if request.headers.get("X-Forwarded-Proto") and not line.settings.trusted_proxies \
                and not line.settings.public_base_url:
            hint = (" (the request came through a proxy: set IVR_TRUSTED_PROXIES or "
                    "IVR_PUBLIC_BASE_URL so the signed https address can be rebuilt)")
        log.warning("rejected %s: X-Twilio-Signature does not match %s%s", printable(request.path),
                    printable(url, 200), hint)
        abort(403)
