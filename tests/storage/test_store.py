"""The line's persistent state: opt-outs and the limits on texts, across restarts and worker processes."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from conftest import close_app, fresh_postgres_database, need_postgres, race
from sqlalchemy import create_engine, text

from ivr.storage import (
    DatabaseUrlError,
    Store,
    StoreError,
    StoreKeyMismatch,
    StoreSchemaBehind,
    database_url,
    open_store,
)
from ivr.storage.sql import HEAD, SqliteStore, SqlStore, upgrade

KEY = "test-secret-key"
CALLER = "+15025550123"
OTHER = "+15025550199"
T0 = 1_700_000_000.0


@pytest.fixture
def db(tmp_path):
    return tmp_path / "line.sqlite3"


@pytest.fixture
def store(database_url):
    """The store on each backend (the database_url fixture in conftest), migrated as `ivr db upgrade` does."""
    upgrade(database_url)
    with SqlStore(database_url, KEY) as store:
        yield store


def _rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_sqlite_store_is_a_store(store):
    def use(s: Store) -> bool:
        return s.is_opted_out(CALLER)

    assert use(store) is False


def test_opt_out_then_opt_in(store):
    assert not store.is_opted_out(CALLER)
    store.opt_out(CALLER)
    assert store.is_opted_out(CALLER)
    assert not store.is_opted_out(OTHER)
    store.opt_out(CALLER)  # a second STOP changes nothing
    assert store.is_opted_out(CALLER)
    store.opt_in(CALLER)
    assert not store.is_opted_out(CALLER)
    store.opt_in(CALLER)  # START from a number that never sent STOP
    assert not store.is_opted_out(CALLER)


def test_a_number_written_another_way_is_the_same_number(store):
    store.opt_out("(502) 555-0123")
    assert store.is_opted_out(CALLER)


def test_numbers_are_stored_only_as_keyed_hashes(db):
    store = SqliteStore(db, KEY)
    store.opt_out(CALLER)
    assert store.reserve_text(OTHER, "CA1", "pump", T0, 3) == "ok"
    store.close()  # and checkpoint the WAL into the main file
    raw = b"".join(path.read_bytes() for path in db.parent.iterdir() if path.name.startswith(db.name))
    for number in (CALLER, OTHER):
        for form in (number, number[1:], number[2:], number[-7:]):
            assert form.encode() not in raw
            assert form.encode("utf-16-le") not in raw
    assert b"CA1" not in raw and b"pump" not in raw  # nor which call asked about which treatment
    with SqliteStore(db.parent / "other.sqlite3", "another key") as other:
        other.opt_out(CALLER)
        assert other._hash(CALLER) != store._hash(CALLER)  # the hash depends on the key


def test_another_key_on_an_existing_file_is_refused(db):
    with SqliteStore(db, KEY) as store:
        store.opt_out(CALLER)
    with pytest.raises(StoreKeyMismatch, match="made with another IVR_SECRET_KEY"):
        SqliteStore(db, "a rotated key")
    with SqliteStore(db, KEY) as store:  # the right key still opens it, list intact
        assert store.is_opted_out(CALLER)
    raw = db.read_bytes()
    assert KEY.encode() not in raw  # the fingerprint is not the key


def test_another_key_is_refused_on_every_backend(database_url):
    upgrade(database_url)
    with SqlStore(database_url, KEY) as store:
        store.opt_out(CALLER)
    with pytest.raises(StoreKeyMismatch, match="made with another IVR_SECRET_KEY"):
        SqlStore(database_url, "a rotated key")
    with SqlStore(database_url, KEY) as store:
        assert store.is_opted_out(CALLER)
    stored = _rows(database_url, "SELECT name, value FROM meta")
    assert len(stored) == 1 and KEY not in stored[0][1]


def test_numbers_are_kept_only_as_hashes_on_every_backend(store, database_url):
    store.opt_out(CALLER)
    assert store.reserve_text(OTHER, "CA1", "pump", T0, 3) == "ok"
    dump = repr([_rows(database_url, f"SELECT * FROM {table}") for table in ("opt_outs", "texts", "meta")])
    for form in (CALLER, CALLER[2:], OTHER, OTHER[2:], "CA1", "pump"):
        assert form not in dump


def test_once_per_node_per_call(store):
    assert store.reserve_text(CALLER, "CA1", "pump", T0, 3) == "ok"
    assert store.reserve_text(CALLER, "CA1", "pump", T0 + 1, 3) == "already_sent"
    assert store.reserve_text(CALLER, "CA1", "botox", T0 + 2, 3) == "ok"
    assert store.reserve_text(CALLER, "CA2", "pump", T0 + 3, 3) == "ok"  # a new call


def test_per_hour_limit_slides(store):
    for i, node in enumerate(("a", "b", "c")):
        assert store.reserve_text(CALLER, "CA1", node, T0 + i * 600, 3) == "ok"
    assert store.reserve_text(CALLER, "CA2", "d", T0 + 1800, 3) == "too_many"
    assert store.reserve_text(OTHER, "CA3", "d", T0 + 1800, 3) == "ok"  # each caller has their own
    assert store.reserve_text(CALLER, "CA2", "d", T0 + 3599, 3) == "too_many"
    # An hour after the first text, one more is allowed: the window slides, it does not reset.
    assert store.reserve_text(CALLER, "CA2", "d", T0 + 3600, 3) == "ok"
    assert store.reserve_text(CALLER, "CA2", "e", T0 + 3601, 3) == "too_many"
    assert store.reserve_text(CALLER, "CA2", "e", T0 + 4200, 3) == "ok"


def test_per_hour_is_configurable(store):
    assert store.reserve_text(CALLER, "CA1", "a", T0, 1) == "ok"
    assert store.reserve_text(CALLER, "CA1", "b", T0, 1) == "too_many"
    assert store.reserve_text(OTHER, "CA2", "a", T0, 0) == "too_many"


def test_an_opted_out_caller_is_refused_before_anything_else(store):
    store.opt_out(CALLER)
    assert store.reserve_text(CALLER, "CA1", "pump", T0, 3) == "opted_out"
    store.opt_in(CALLER)
    assert store.reserve_text(CALLER, "CA1", "pump", T0, 3) == "ok"
    store.opt_out(CALLER)
    assert store.reserve_text(CALLER, "CA1", "pump", T0, 3) == "opted_out"


def test_release_frees_the_allowance_and_the_node(store):
    assert store.reserve_text(CALLER, "CA1", "a", T0, 2) == "ok"
    assert store.reserve_text(CALLER, "CA1", "b", T0, 2) == "ok"
    store.release_text(CALLER, "CA1", "b")  # the send failed
    assert store.reserve_text(CALLER, "CA1", "b", T0 + 1, 2) == "ok"  # pressing again may retry
    assert store.reserve_text(CALLER, "CA1", "c", T0 + 2, 2) == "too_many"
    store.release_text(OTHER, "CA1", "a")  # another caller's release frees nothing
    assert store.reserve_text(CALLER, "CA1", "a", T0 + 3, 2) == "already_sent"


def test_old_sends_are_pruned(store, database_url):
    for i in range(5):
        assert store.reserve_text(CALLER, f"CA{i}", "pump", T0 + i, 10) == "ok"
    assert store.reserve_text(OTHER, "CA9", "pump", T0 + 86400 + 10, 10) == "ok"
    assert _rows(database_url, "SELECT COUNT(*) FROM texts") == [(1,)]


def test_state_survives_a_restart(db):
    with SqliteStore(db, KEY) as first:
        first.opt_out(OTHER)
        assert first.reserve_text(CALLER, "CA1", "pump", T0, 1) == "ok"
    with SqliteStore(db, KEY) as second:
        assert second.is_opted_out(OTHER)
        assert second.reserve_text(CALLER, "CA1", "pump", T0 + 5, 1) == "already_sent"
        assert second.reserve_text(CALLER, "CA2", "pump", T0 + 5, 1) == "too_many"


def test_state_survives_a_restart_on_every_backend(database_url):
    upgrade(database_url)
    with SqlStore(database_url, KEY) as first:
        first.opt_out(OTHER)
        assert first.reserve_text(CALLER, "CA1", "pump", T0, 1) == "ok"
    with SqlStore(database_url, KEY) as second:
        assert second.is_opted_out(OTHER)
        assert second.reserve_text(CALLER, "CA1", "pump", T0 + 5, 1) == "already_sent"


def test_the_file_uses_wal_and_a_busy_timeout(db):
    with SqliteStore(db, KEY) as store:
        store.opt_out(CALLER)
        with store._engine_here().connect() as connection:
            raw = connection.connection.driver_connection
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert raw.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_threads_share_the_store(store):
    errors = []

    def work(number):
        try:
            store.opt_out(number)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"+1502555{i:04d}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(store.is_opted_out(f"+1502555{i:04d}") for i in range(8))


def test_an_unusable_path_is_a_store_error(tmp_path):
    with pytest.raises(StoreError):
        SqliteStore(tmp_path / "missing" / "folder" / "line.sqlite3", KEY)


def _reserve_in_process(where, node_for, index, start, results):
    # Each process opens the database itself, like a gunicorn worker, all at the same moment.
    start.wait(timeout=30)
    store = SqliteStore(where, KEY) if isinstance(where, Path) else SqlStore(where, KEY)
    try:
        results.put(store.reserve_text(CALLER, "CA1", node_for(index), T0, 2))
    finally:
        store.close()


def _same_node(index):
    return "pump"


def _own_node(index):
    return f"node{index}"


def _race(path, node_for, processes):
    return race(_reserve_in_process, lambda index: (path, node_for, index), processes)


def test_processes_racing_for_one_text_send_it_once(db):
    # No SqliteStore in this process first: the workers also race to create the file, switch it to WAL
    # and create the tables.
    assert _race(db, _same_node, 4) == ["already_sent"] * 3 + ["ok"]


def test_processes_racing_share_the_hourly_limit(db):
    assert _race(db, _own_node, 4) == ["ok"] * 2 + ["too_many"] * 2


@pytest.fixture
def postgres_url():
    yield from fresh_postgres_database()


def test_processes_racing_on_postgresql_send_once_and_share_the_limit(postgres_url):
    # The advisory lock, not SQLite's BEGIN IMMEDIATE, makes the decision atomic here.
    upgrade(postgres_url)
    assert _race(postgres_url, _same_node, 6) == ["already_sent"] * 5 + ["ok"]
    # CALLER already has one text this hour, and the limit is 2: one more across all six.
    assert _race(postgres_url, _own_node, 6) == ["ok"] + ["too_many"] * 5


def test_the_head_revision_is_alembics():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import ivr.storage.sql

    config = Config()
    config.set_main_option("script_location", str(Path(ivr.storage.sql.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def test_upgrade_creates_the_schema_once(database_url):
    assert upgrade(database_url) == (None, HEAD)
    assert upgrade(database_url) == (HEAD, HEAD)  # a second run changes nothing


def test_a_schema_behind_is_refused_with_what_to_run(database_url):
    with pytest.raises(StoreSchemaBehind, match="ivr db upgrade"):
        SqlStore(database_url, KEY)


def test_a_file_made_before_migrations_is_migrated_with_its_list(db):
    # The schema the line created itself before Alembic: the same tables, no alembic_version.
    with sqlite3.connect(db) as old:
        old.executescript("""
            CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE opt_outs (number_hash TEXT PRIMARY KEY, since REAL NOT NULL);
            CREATE TABLE texts (call_sid TEXT NOT NULL, node TEXT NOT NULL, caller_hash TEXT NOT NULL,
                                sent_at REAL NOT NULL, PRIMARY KEY (call_sid, node));
            CREATE TABLE sending (call_sid TEXT NOT NULL, node TEXT NOT NULL, started_at REAL NOT NULL,
                                  PRIMARY KEY (call_sid, node));
        """)
    old.close()
    with SqliteStore(db, KEY) as first:
        first.opt_out(CALLER)
    hashed = first._hash(CALLER)
    with sqlite3.connect(db) as old:
        old.execute("DELETE FROM alembic_version")
    old.close()
    with SqliteStore(db, KEY) as store:  # migrated again from "no revision": nothing lost
        assert store.is_opted_out(CALLER)
    assert _rows(f"sqlite:///{db}", "SELECT number_hash FROM opt_outs") == [(hashed,)]


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p@db.example.com:5432/line", "postgresql+psycopg://u:p@db.example.com:5432/line"),
    ("postgresql://u:p@host/line", "postgresql+psycopg://u:p@host/line"),
    ("postgresql+psycopg://u@host/line", "postgresql+psycopg://u@host/line"),
    ("sqlite:////var/line.sqlite3", "sqlite:////var/line.sqlite3"),
    ("", "sqlite:///ivr.sqlite3"),
])
def test_database_urls(given, expected):
    assert database_url(given, "ivr.sqlite3") == expected


@pytest.mark.parametrize("given", ["mysql://u:secret@host/line", "line.sqlite3"])
def test_other_database_urls_are_refused_without_their_password(given):
    with pytest.raises(DatabaseUrlError) as error:
        database_url(given, "ivr.sqlite3")
    assert "secret" not in str(error.value)


def test_an_unreachable_postgresql_fails_fast_as_a_store_error():
    dead = "postgresql+psycopg://nobody@127.0.0.1:9/line"
    started = time.monotonic()
    store = open_store(dead, b"k" * 32)  # the line starts while the database is down...
    with pytest.raises(StoreError):
        store.is_opted_out(CALLER)  # ...and each use fails at once, as a StoreError
    with pytest.raises(StoreError):
        store.reserve_text(CALLER, "CA1", "pump", T0, 3)
    assert time.monotonic() - started < 10
    with pytest.raises(StoreError):
        SqlStore(dead, KEY)  # without lazy_check, at once


def test_a_forked_worker_opens_its_own_connections(store):
    # gunicorn --preload: the master may have used the store before forking the workers.
    store.opt_out(CALLER)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            store.opt_out(OTHER)
            ok = store.is_opted_out(CALLER) and store.is_opted_out(OTHER)
            os.write(writer, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(writer)
    assert os.read(reader, 1) == b"1"
    os.close(reader)
    os.waitpid(child, 0)
    assert store.is_opted_out(OTHER)  # the parent's own connections still work


def test_the_app_refuses_an_unmigrated_postgresql(postgres_url):
    from conftest import environment

    from ivr import create_app
    from ivr.settings import StartupError

    with pytest.raises(StartupError, match="ivr db upgrade"):
        create_app(environment(DATABASE_URL=postgres_url))
    upgrade(postgres_url)
    close_app(create_app(environment(DATABASE_URL=postgres_url)))


def test_postgresql_is_there_in_ci():
    # Skipped on a machine without IVR_TEST_POSTGRES_URL; in CI (CI=true) a missing one fails.
    need_postgres()


def test_ivr_db_upgrade_creates_then_keeps_the_schema(database_url, monkeypatch, capsys):
    from ivr.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url.replace("postgresql+psycopg://", "postgres://"))
    assert main(["db", "upgrade"]) == 0
    assert f"migrated from nothing (a new database) to revision {HEAD}" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    upgrade(database_url)
    with SqlStore(database_url, KEY) as store:  # the app's check now passes
        assert not store.is_opted_out(CALLER)


def test_ivr_db_upgrade_says_why_it_cannot(monkeypatch, capsys):
    from ivr.cli import main

    monkeypatch.setenv("DATABASE_URL", "postgres://nobody:hunter2@127.0.0.1:9/line")
    assert main(["db", "upgrade"]) == 1
    error = capsys.readouterr().err
    assert "cannot migrate the line's database" in error and "hunter2" not in error


def test_the_procfile_migrates_on_release():
    from conftest import ROOT

    lines = (ROOT / "Procfile").read_text().splitlines()
    release = next(line for line in lines if line.startswith("release:"))
    assert release == "release: python -m ivr check && python -m ivr db upgrade"


def test_the_store_recovers_by_itself_when_postgresql_drops_its_connections(postgres_url):
    # What a PostgreSQL restart or failover does to the workers' pooled connections.
    upgrade(postgres_url)
    with SqlStore(postgres_url, KEY) as store:
        store.opt_out(CALLER)
        _rows(postgres_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        answers = []
        for _ in range(3):
            try:
                answers.append(store.is_opted_out(CALLER))
            except StoreError:
                answers.append("error")  # the request that meets the dropped connection, at most
        assert answers[-2:] == [True, True] and answers.count("error") <= 1
