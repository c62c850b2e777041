"""Console passwords: hashed with argon2id (argon2-cffi), at least 12 characters, not a common one."""

from __future__ import annotations

import gzip
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
_hasher = PasswordHasher()


_loaded: dict[str, object] = {}  # the list and the dummy hash, made on first use (fixed data)


def common_passwords() -> frozenset[str]:
    """Django's list of 19,640 common passwords (data/README.md says where it comes from)."""
    if "common" not in _loaded:
        data = files("ivr.console").joinpath("data/common-passwords.txt.gz").read_bytes()
        _loaded["common"] = frozenset(gzip.decompress(data).decode().split())
    return _loaded["common"]


def password_problem(password: str) -> str | None:
    """Why `password` may not be used, or None."""
    if len(password) < MIN_LENGTH:
        return f"the password must be at least {MIN_LENGTH} characters long"
    if password.strip().lower() in common_passwords():
        return "the password is one of the most common passwords; choose another"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _dummy_hash() -> str:
    if "dummy" not in _loaded:
        _loaded["dummy"] = _hasher.hash("not anyone's password: unknown usernames are checked against this")
    return _loaded["dummy"]


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (an unknown username) a dummy hash is checked, so
    the answer takes as long either way."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
