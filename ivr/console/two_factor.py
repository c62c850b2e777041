"""The console's second factor, without Flask: TOTP codes (RFC 6238 with pyotp: 30-second steps,
6 digits, one step of clock drift either way), recovery codes and the enrolment QR code (segno)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # a phone's clock a step behind or ahead still works
RECOVERY_CODES = 10
# 16 characters of 32 symbols: 80 random bits, so a SHA-256 of one cannot be reversed by trying them.
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: nothing to misread
_RECOVERY_LENGTH = 16
ISSUER = "Spasticity Clinic line"


def new_secret() -> str:
    """A new random secret: 160 bits in base32 (32 characters), as authenticator apps expect."""
    return pyotp.random_base32()


def grouped(secret: str) -> str:
    """The secret in groups of four characters, to read and type by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def current_step(now: float) -> int:
    """The RFC 6238 time step of `now` (seconds since the epoch)."""
    return int(now // STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    """The code of time step `step`."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def normal_code(code: str) -> str:
    """A code as typed, without spaces or dashes and in lower case."""
    return "".join(c for c in code if not c.isspace() and c != "-").lower()


def looks_like_totp(code: str) -> bool:
    """Whether a typed code is a time-based one (6 digits) rather than a recovery code."""
    code = normal_code(code)
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (now's, or one either side) whose code `code` is, or None."""
    code = normal_code(code)
    if not looks_like_totp(code):
        return None
    here = current_step(now)
    for step in (here, here - DRIFT_STEPS, here + DRIFT_STEPS):
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten new recovery codes, each as four groups of four characters."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def recovery_hash(code: str) -> str:
    """What the database keeps of a recovery code: the SHA-256 of it as normal_code writes it."""
    return hashlib.sha256(normal_code(code).encode()).hexdigest()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The QR code of `uri` as an SVG element to put inline in the page (no script, no image file)."""
    import segno

    # A light background of its own: the code must be dark on light whatever the page's colours.
    return segno.make(uri, error="m").svg_inline(scale=4, light="#fff", title=title, svgclass="qr")
