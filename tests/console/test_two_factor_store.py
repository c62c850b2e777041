"""storage.second_factors on both backends: enrolment, the one-use time steps and recovery codes, the
reset (which ends sessions), the secret encrypted at rest, and migration 0008."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from ivr.storage.accounts import Accounts
from ivr.storage.second_factors import SecondFactorKeyError, SecondFactors, secrets_key
from ivr.storage.sql import HEAD, upgrade

KEY = b"c" * 32  # stands for settings.console_key
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_000.0


@pytest.fixture
def account(store) -> int:
    return Accounts.for_store(store).add_user("sam", "scheduler", "argon2-hash", NOW).id


def rows(database_url: str, query: str) -> list:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query)))
    finally:
        engine.dispose()


def test_enrolment_counts_only_once_confirmed(store, account):
    factors = SecondFactors.for_store(store, KEY)
    assert factors.get(account) is None and factors.secret(account) is None
    factors.begin_enrolment(account, SECRET, ["h1", "h2", "h3"])
    pending = factors.get(account)
    assert not pending.enrolled and pending.recovery_codes_left == 3
    assert factors.secret(account) == SECRET
    assert not factors.use_step(account, 100)  # no code counts before the enrolment is confirmed
    assert not factors.use_recovery_code(account, "h1", NOW)
    # Shown again (a reload, a wrong code): the pending secret and codes are replaced.
    factors.begin_enrolment(account, SECRET, ["h4", "h5"])
    assert factors.get(account).recovery_codes_left == 2
    assert factors.confirm(account, 100, NOW)
    assert not factors.confirm(account, 101, NOW)  # once
    enrolled = factors.get(account)
    assert enrolled.enrolled and enrolled.enrolled_at == NOW and enrolled.last_step == 100
    with pytest.raises(ValueError, match="already enrolled"):
        factors.begin_enrolment(account, "ANOTHERSECRETXXX", [])
    assert factors.secret(account) == SECRET
    assert factors.all() == {account: enrolled}


def test_each_time_step_and_each_recovery_code_is_used_once(store, account):
    factors = SecondFactors.for_store(store, KEY)
    factors.begin_enrolment(account, SECRET, ["h1", "h2"])
    factors.confirm(account, 100, NOW)
    assert not factors.use_step(account, 100)  # the step that confirmed the enrolment
    assert not factors.use_step(account, 99)  # nor an older one
    assert factors.use_step(account, 101)
    assert not factors.use_step(account, 101)
    assert factors.use_recovery_code(account, "h2", NOW)
    assert not factors.use_recovery_code(account, "h2", NOW + 1)
    assert not factors.use_recovery_code(account, "nope", NOW)
    assert factors.get(account).recovery_codes_left == 1


def test_the_secret_is_encrypted_at_rest_and_needs_its_key(store, account, database_url):
    factors = SecondFactors.for_store(store, KEY)
    factors.begin_enrolment(account, SECRET, ["h1"])
    stored = rows(database_url, "SELECT secret_encrypted FROM second_factors")[0][0]
    assert SECRET not in stored and SECRET.lower() not in stored.lower()
    with pytest.raises(SecondFactorKeyError, match="another IVR_SECRET_KEY"):
        SecondFactors.for_store(store, b"d" * 32).secret(account)
    with pytest.raises(SecondFactorKeyError, match="no key"):
        SecondFactors.for_store(store).secret(account)
    # The key is derived for this use alone: neither the console's key nor another derivation.
    assert secrets_key(KEY) != secrets_key(b"d" * 32) and KEY not in secrets_key(KEY)


def test_a_reset_removes_the_factor_and_codes_and_ends_the_sessions(store, account, database_url):
    accounts = Accounts.for_store(store)
    accounts.start_session("session-hash", account, NOW)
    factors = SecondFactors.for_store(store)  # no key needed, as for `ivr users reset-2fa`
    SecondFactors.for_store(store, KEY).begin_enrolment(account, SECRET, ["h1", "h2"])
    assert factors.reset(account)
    assert factors.get(account) is None
    assert rows(database_url, "SELECT COUNT(*) FROM recovery_codes")[0][0] == 0
    assert accounts.session("session-hash")[2] is True  # revoked
    assert not factors.reset(account)


def test_migration_0008_makes_the_tables_on_a_database_at_0007(database_url, store):
    accounts = Accounts.for_store(store)
    for name, role in (("sam", "scheduler"), ("root", "admin"), ("vera", "viewer"), ("eddie", "editor")):
        accounts.start_session(f"{name}-session", accounts.add_user(name, role, "hash", NOW).id, NOW)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE recovery_codes"))
        connection.execute(text("DROP TABLE second_factors"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    engine.dispose()
    assert upgrade(database_url) == ("0007", HEAD)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            assert {c["name"] for c in found.get_columns("second_factors")} == {
                "account", "secret_encrypted", "enrolled_at", "last_step"}
            assert {c["name"] for c in found.get_columns("recovery_codes")} == {
                "id", "account", "code_hash", "used_at"}
            indexes = {i["name"]: i["unique"] for i in found.get_indexes("recovery_codes")}
    finally:
        engine.dispose()
    assert indexes == {"recovery_codes_by_account": True}
    # Sessions started without a second factor end for the roles that now need one, and only those.
    revoked = {name: accounts.session(f"{name}-session")[2] for name in ("sam", "root", "vera", "eddie")}
    assert revoked == {"sam": True, "root": True, "vera": False, "eddie": False}
