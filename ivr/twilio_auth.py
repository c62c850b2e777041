"""Check that each webhook request really comes from Twilio, rebuilding the address Twilio signed."""

from __future__ import annotations

import logging

from flask import abort, current_app, request
from twilio.request_validator import SIGNATURE_HEADER

log = logging.getLogger("ivr")


def signed_url(public_base_url: str) -> str:
    """The full address Twilio requested, as it signed it.

    The query string is taken raw: werkzeug's request.url would decode percent-escapes that Twilio
    signed encoded.
    """
    if public_base_url:
        url = public_base_url + request.script_root + request.path
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
        log.warning("rejected %s: no %s header", request.path, SIGNATURE_HEADER)
        abort(403)
    url = signed_url(line.settings.public_base_url)
    if not line.validator.validate(url, request.form, signature):
        hint = ""
        if request.headers.get("X-Forwarded-Proto") and not line.settings.trusted_proxies \
                and not line.settings.public_base_url:
            hint = (" (the request came through a proxy: set IVR_TRUSTED_PROXIES or "
                    "IVR_PUBLIC_BASE_URL so the signed https address can be rebuilt)")
        log.warning("rejected %s: X-Twilio-Signature does not match %s%s", request.path, url, hint)
        abort(403)

