"""A keyed callback number carried in a call's URLs, sealed: encrypted and authenticated (Fernet,
with a key derived from IVR_SECRET_KEY) and good for an hour, so no address holds it in clear."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken

# A call asking for a callback takes minutes; an older sealed number is refused (asked again).
SEAL_SECONDS = 3600


class Seal:
    """Seals and opens short values with one derived key (32 bytes, settings.callback_seal_key)."""

    def __init__(self, key: bytes):
        self._fernet = Fernet(base64.urlsafe_b64encode(key[:32]))

    def seal(self, value: str) -> str:
        """`value` encrypted and signed, as URL-safe text (letters, digits, - and _ only)."""
        # Without base64's "=" padding: nothing in the address needs a percent-escape, which a
        # signature check could see decoded.
        return self._fernet.encrypt(value.encode()).decode("ascii").rstrip("=")

    def open(self, token: str) -> str:
        """The value sealed in `token`; "" when it was not sealed with this key, was changed, or is
        older than SEAL_SECONDS."""
        try:
            padded = token + "=" * (-len(token) % 4)
            return self._fernet.decrypt(padded.encode("ascii"), ttl=SEAL_SECONDS).decode()
        except (InvalidToken, UnicodeError, ValueError):
            return ""
