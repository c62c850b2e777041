"""`ivr users`: add, list, disable and reset-password, with clear errors, through cli.main()."""

from __future__ import annotations

import io

import pytest
from console_helpers import PASSWORD, console_app, sign_in

from ivr import cli
from ivr.console import passwords
from ivr.console.auth import EXTENSION


@pytest.fixture
def env(monkeypatch, own_database):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("IVR_DATABASE", str(own_database))
    return own_database


def users(monkeypatch, capsys, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = cli.main(["users", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_add_list_disable_and_reset(env, monkeypatch, capsys):
    assert users(monkeypatch, capsys, "list")[1].startswith("no accounts yet")
    status, out, _ = users(monkeypatch, capsys, "add", "Alice", "--role", "admin", "--password-stdin",
                           stdin=PASSWORD + "\n")
    assert status == 0 and "alice added, role admin" in out
    app = console_app()
    assert sign_in(app.test_client(), "alice").status_code == 302
    assert users(monkeypatch, capsys, "list")[1] == "alice\tadmin\tactive\n"

    status, _, err = users(monkeypatch, capsys, "add", "alice", "--role", "viewer", "--password-stdin",
                           stdin=PASSWORD + "\n")
    assert status == 1 and "already an account named 'alice'" in err
    status, _, err = users(monkeypatch, capsys, "add", "bob", "--role", "viewer", "--password-stdin",
                           stdin="short\n")
    assert status == 1 and "at least 12 characters" in err
    status, _, err = users(monkeypatch, capsys, "add", "bob", "--role", "viewer", "--password-stdin",
                           stdin="password1234\n")
    assert status == 1 and "common" in err
    status, _, err = users(monkeypatch, capsys, "disable", "nobody")
    assert status == 1 and "no account named 'nobody'" in err

    client = app.test_client()
    sign_in(client, "alice")
    new = "another long passphrase"
    status, out, _ = users(monkeypatch, capsys, "reset-password", "alice", "--password-stdin",
                           stdin=new + "\n")
    assert status == 0
    assert client.get("/console/").status_code == 302  # its sessions ended
    assert sign_in(client, "alice", new).status_code == 302
    assert users(monkeypatch, capsys, "disable", "alice")[0] == 0
    assert client.get("/console/").status_code == 302
    assert users(monkeypatch, capsys, "list")[1] == "alice\tadmin\tdisabled\n"
    actions = [e.action for e in app.extensions[EXTENSION].accounts.audit_log()]
    assert {"account added", "password reset", "account disabled"} <= set(actions)


def test_the_password_is_asked_for_twice(env, monkeypatch, capsys):
    answers = iter([PASSWORD, "something else entirely"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    status, _, err = users(monkeypatch, capsys, "add", "carol", "--role", "viewer")
    assert status == 1 and "the two passwords differ" in err
    answers = iter([PASSWORD, PASSWORD])
    assert users(monkeypatch, capsys, "add", "carol", "--role", "viewer")[0] == 0


def test_an_unknown_role_is_refused(env, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        cli.main(["users", "add", "dave", "--role", "owner"])
    assert "invalid choice: 'owner'" in capsys.readouterr().err


def test_a_postgresql_database_must_be_migrated_first(monkeypatch, capsys):
    from conftest import fresh_postgres_database

    for url in fresh_postgres_database():
        monkeypatch.setenv("DATABASE_URL", url)
        status, _, err = users(monkeypatch, capsys, "list")
        assert status == 1 and "ivr db upgrade" in err


def test_the_hash_is_argon2id(env, monkeypatch, capsys):
    users(monkeypatch, capsys, "add", "erin", "--role", "editor", "--password-stdin", stdin=PASSWORD)
    user = console_app().extensions[EXTENSION].accounts.find_user("erin")
    assert user.password_hash.startswith("$argon2id$") and passwords.verify(user.password_hash, PASSWORD)
