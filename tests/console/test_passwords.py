"""The console's password policy and hashing."""

import pytest

# argon2-cffi joins the dependencies when the lead regenerates requirements.txt (the lock test).
pytest.importorskip("argon2")

from ivr.console.passwords import common_passwords, hash_password, password_problem, verify  # noqa: E402


def test_policy_refuses_short_and_common_passwords():
    assert len(common_passwords()) > 19000
    assert "at least 12" in password_problem("short")
    assert "common" in password_problem(min(p for p in common_passwords() if len(p) >= 12))
    assert password_problem("plum harbour lantern 42") is None


def test_hash_and_verify_with_a_dummy_for_unknown_users():
    stored = hash_password("plum harbour lantern 42")
    assert stored.startswith("$argon2id$")
    assert verify(stored, "plum harbour lantern 42")
    assert not verify(stored, "wrong password here")
    assert not verify(None, "plum harbour lantern 42")
