"""The console's accounts, sessions and audit log on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ivr.storage.accounts import AccountError, open_accounts
from ivr.storage.sql import upgrade


def test_accounts_sessions_and_audit(database_url):
    upgrade(database_url)
    accounts, close = open_accounts(database_url)
    try:
        user = accounts.add_user("Alice", "admin", "hash", 1.0)
        assert user.username == "alice" and accounts.find_user("ALICE").id == user.id
        with pytest.raises(AccountError):
            accounts.add_user("alice", "viewer", "hash", 2.0)
        assert [u.username for u in accounts.list_users()] == ["alice"]
        assert accounts.record_failure(user.id, 3.0, 2, 900) is False
        assert accounts.record_failure(user.id, 4.0, 2, 900) is True
        assert accounts.get_user(user.id).locked_until == 904.0
        accounts.start_session("h1", user.id, 5.0)
        assert accounts.session("h1")[2] is False
        accounts.set_disabled(user.id, True)
        assert accounts.session("h1")[2] is True and accounts.get_user(user.id).disabled
        accounts.log(6.0, "alice", "sign-in")
        assert [e.action for e in accounts.audit_log()] == ["sign-in"]
        accounts.start_session("h2", user.id, 50.0)
        accounts.delete_sessions_before(10.0)
        assert accounts.session("h1") is None and accounts.session("h2") is not None
        accounts.clear_failures(user.id)
        assert accounts.record_failure(user.id, 60.0, 5, 900, (0, 2)) is False
        assert accounts.get_user(user.id).locked_until is None  # no pause after the first
        accounts.record_failure(user.id, 61.0, 5, 900, (0, 2))
        assert accounts.get_user(user.id).locked_until == 63.0
    finally:
        close()
