"""The line's persistent state: opt-outs and the limits on texts, across restarts and worker processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import pytest

from ivr.store import SqliteStore, Store, StoreError, StoreKeyMismatch

KEY = "test-secret-key"
CALLER = "+15025550123"
OTHER = "+15025550199"
T0 = 1_700_000_000.0


@pytest.fixture
def db(tmp_path):
    return tmp_path / "line.sqlite3"


@pytest.fixture
def store(db):
    with SqliteStore(db, KEY) as store:
        yield store


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


def test_numbers_are_stored_only_as_keyed_hashes(store, db):
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


def test_old_sends_are_pruned(store, db):
    for i in range(5):
        assert store.reserve_text(CALLER, f"CA{i}", "pump", T0 + i, 10) == "ok"
    assert store.reserve_text(OTHER, "CA9", "pump", T0 + 86400 + 10, 10) == "ok"
    with sqlite3.connect(db) as check:
        (rows,) = check.execute("SELECT COUNT(*) FROM texts").fetchone()
    check.close()
    assert rows == 1


def test_state_survives_a_restart(db):
    with SqliteStore(db, KEY) as first:
        first.opt_out(OTHER)
        assert first.reserve_text(CALLER, "CA1", "pump", T0, 1) == "ok"
    with SqliteStore(db, KEY) as second:
        assert second.is_opted_out(OTHER)
        assert second.reserve_text(CALLER, "CA1", "pump", T0 + 5, 1) == "already_sent"
        assert second.reserve_text(CALLER, "CA2", "pump", T0 + 5, 1) == "too_many"


def test_the_file_uses_wal_and_a_busy_timeout(store, db):
    store.is_opted_out(CALLER)
    connection = store._connection()
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_each_thread_has_its_own_connection(store):
    seen = []

    def work():
        seen.append(store._connection())
        store.opt_out(OTHER)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen[0] is not store._connection()
    assert store.is_opted_out(OTHER)  # written by the other thread, read by this one


def test_an_unusable_path_is_a_store_error(tmp_path):
    with pytest.raises(StoreError):
        SqliteStore(tmp_path / "missing" / "folder" / "line.sqlite3", KEY)


def _reserve_in_process(path, node_for, start, results, index):
    # Each process opens the file itself, like a gunicorn worker, all at the same moment.
    start.wait(timeout=30)
    store = SqliteStore(path, KEY)
    try:
        results.put(store.reserve_text(CALLER, "CA1", node_for(index), T0, 2))
    finally:
        store.close()


def _same_node(index):
    return "pump"


def _own_node(index):
    return f"node{index}"


def _race(path, node_for, processes):
    # spawn, not fork: a fresh interpreter per worker, as safe under pytest's threads on every platform.
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_reserve_in_process, args=(path, node_for, start, results, i))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = sorted(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    results.close()
    results.join_thread()
    return outcomes


def test_processes_racing_for_one_text_send_it_once(db):
    # No SqliteStore in this process first: the workers also race to create the file, switch it to WAL
    # and create the tables.
    assert _race(db, _same_node, 4) == ["already_sent"] * 3 + ["ok"]


def test_processes_racing_share_the_hourly_limit(db):
    assert _race(db, _own_node, 4) == ["ok"] * 2 + ["too_many"] * 2
