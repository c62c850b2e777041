"""The console's second factors in the line's database: each account's TOTP secret (Fernet-encrypted
with a key derived from the console's key), the last time step a code was accepted for, and its
single-use recovery codes (SHA-256 hashes only)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, or_, select, update

from .accounts import Runner, _revoke_all
from .tables import recovery_codes, second_factors

# HKDF's "info": the key for this one purpose, never equal to another key derived from the same one.
SECRETS_KEY_INFO = b"ivr console second factor secrets"


class SecondFactorKeyError(ValueError):
    """An account's secret cannot be decrypted with this key (IVR_SECRET_KEY changed)."""


@dataclass(frozen=True)
class SecondFactor:
    """An account's second factor. `enrolled_at` is None while the enrolment is not yet confirmed."""

    account: int
    enrolled_at: float | None
    last_step: int | None
    recovery_codes_left: int

    @property
    def enrolled(self) -> bool:
        return self.enrolled_at is not None


def secrets_key(console_key: bytes) -> bytes:
    """The Fernet key of the secrets: HKDF-SHA256 of the console's key (settings.console_key)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SECRETS_KEY_INFO).derive(console_key)
    return base64.urlsafe_b64encode(derived)


class SecondFactors:
    """Second factors of console accounts. `run` is the store's transaction runner; `console_key` is
    needed to read or write a secret (resetting an account needs none, as `ivr users` has none)."""

    def __init__(self, run: Runner, console_key: bytes | None = None):
        self._run = run
        self._fernet = None
        if console_key is not None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(secrets_key(console_key))

    @classmethod
    def for_store(cls, store, console_key: bytes | None = None) -> SecondFactors:
        """Second factors on the same engine (and schema check) as the line's store."""
        return cls(store._run, console_key)

    def _box(self):
        if self._fernet is None:
            raise SecondFactorKeyError("no key was given to read or write second-factor secrets")
        return self._fernet

    def get(self, account: int) -> SecondFactor | None:
        """The account's second factor (without its secret), or None if it has none."""
        def read(connection: Connection) -> SecondFactor | None:
            row = connection.execute(select(second_factors.c.enrolled_at, second_factors.c.last_step)
                                     .where(second_factors.c.account == account)).first()
            if row is None:
                return None
            return SecondFactor(account, row.enrolled_at, row.last_step, _codes_left(connection, account))

        return self._run("read a second factor in", read)

    def all(self) -> dict[int, SecondFactor]:
        """Every account's second factor, by account id (for the accounts page)."""
        def read(connection: Connection) -> dict[int, SecondFactor]:
            left = dict(connection.execute(
                select(recovery_codes.c.account, func.count()).where(recovery_codes.c.used_at.is_(None))
                .group_by(recovery_codes.c.account)).all())
            return {row.account: SecondFactor(row.account, row.enrolled_at, row.last_step,
                                              left.get(row.account, 0))
                    for row in connection.execute(select(second_factors))}

        return self._run("read the second factors in", read)

    def secret(self, account: int) -> str | None:
        """The account's secret in clear (base32), or None if it has none."""
        from cryptography.fernet import InvalidToken

        token = self._run("read a second factor in", lambda c: c.execute(
            select(second_factors.c.secret_encrypted).where(second_factors.c.account == account)).scalar())
        if token is None:
            return None
        try:
            return self._box().decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecondFactorKeyError(
                "this account's second factor was made with another IVR_SECRET_KEY: an administrator "
                "must reset it, and the account enrols again") from None

    def begin_enrolment(self, account: int, secret: str, code_hashes: Iterable[str]) -> None:
        """Give an account that has not enrolled yet a new secret and new recovery codes, which count
        only once confirm() is called. An enrolled account is left as it is (ValueError)."""
        token = self._box().encrypt(secret.encode()).decode()
        hashes = list(dict.fromkeys(code_hashes))

        def write(connection: Connection) -> None:
            enrolled = connection.execute(select(second_factors.c.enrolled_at)
                                          .where(second_factors.c.account == account)).first()
            if enrolled is not None and enrolled.enrolled_at is not None:
                raise ValueError("this account has already enrolled a second factor")
            _forget(connection, account)
            connection.execute(second_factors.insert().values(account=account, secret_encrypted=token,
                                                              enrolled_at=None, last_step=None))
            if hashes:
                connection.execute(recovery_codes.insert(),
                                   [{"account": account, "code_hash": h, "used_at": None} for h in hashes])

        self._run("start enrolling a second factor in", write, True)

    def confirm(self, account: int, step: int, now: float) -> bool:
        """Finish an enrolment with a code accepted for time step `step`: True if it was waiting."""
        return self._run("enrol a second factor in", lambda c: c.execute(
            update(second_factors).where(second_factors.c.account == account,
                                         second_factors.c.enrolled_at.is_(None))
            .values(enrolled_at=now, last_step=step)).rowcount == 1, True)

    def use_step(self, account: int, step: int) -> bool:
        """Accept a code of time step `step` once: True unless that step (or a later one) was already
        used. One statement, so two requests with the same code cannot both pass."""
        column = second_factors.c.last_step
        return self._run("check a second factor in", lambda c: c.execute(
            update(second_factors).where(second_factors.c.account == account,
                                         second_factors.c.enrolled_at.is_not(None),
                                         or_(column.is_(None), column < step))
            .values(last_step=step)).rowcount == 1, True)

    def use_recovery_code(self, account: int, code_hash: str, now: float) -> bool:
        """Use up one recovery code of an enrolled account: True if it was there and unused."""
        def use(connection: Connection) -> bool:
            enrolled = connection.execute(select(second_factors.c.enrolled_at)
                                          .where(second_factors.c.account == account)).scalar()
            if enrolled is None:
                return False
            return connection.execute(
                update(recovery_codes).where(recovery_codes.c.account == account,
                                             recovery_codes.c.code_hash == code_hash,
                                             recovery_codes.c.used_at.is_(None))
                .values(used_at=now)).rowcount == 1

        return self._run("use a recovery code in", use, True)

    def reset(self, account: int) -> bool:
        """Remove an account's second factor and recovery codes, and end its sessions: it enrols
        again at its next sign-in. True if it had one."""
        def write(connection: Connection) -> bool:
            had = _forget(connection, account)
            _revoke_all(connection, account)
            return had

        return self._run("reset a second factor in", write, True)


def _codes_left(connection: Connection, account: int) -> int:
    return connection.execute(select(func.count()).select_from(recovery_codes).where(
        recovery_codes.c.account == account, recovery_codes.c.used_at.is_(None))).scalar_one()


def _forget(connection: Connection, account: int) -> bool:
    connection.execute(delete(recovery_codes).where(recovery_codes.c.account == account))
    return connection.execute(delete(second_factors).where(second_factors.c.account == account)).rowcount > 0
