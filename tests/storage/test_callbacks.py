"""Callback requests on both backends: the number never in clear, one open request per number, the
status flow, key rotation, the purge by age, and nothing about a request logged beyond its id."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import race
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, inspect, text

from ivr.conversation.ports import CallbacksFull
from ivr.storage import sql
from ivr.storage.callbacks import CallbackError, CallbackKeyError, Callbacks
from ivr.storage.sql import HEAD, make_engine, upgrade

NUMBER = "+15025550143"
OTHER = "+15025550188"
DAY = 86400.0
NOW = 1_800_000_000.0


def rows(url: str) -> list[tuple]:
    """Every row of the callbacks table, every column, read with plain SQL."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text("SELECT * FROM callbacks"))]
    finally:
        engine.dispose()


def test_the_number_is_never_kept_in_clear(store, database_url):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    callbacks.request(NUMBER, True, "en-US", "closed", ["pump", "botox"], NOW)
    callbacks.request("(502) 555-0188", False, "es-US", "busy", [], NOW)
    stored = rows(database_url)
    assert len(stored) == 2
    everything = " ".join(str(value) for row in stored for value in row)
    for digits in ("5025550143", "5550143", "5025550188", "5550188", "555-0188"):
        assert digits not in everything
    assert callbacks.get(1).number == NUMBER
    assert callbacks.get(2).number == OTHER  # kept as E.164, the form staff dial


def test_one_open_request_per_number(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    assert callbacks.request(NUMBER, False, "en-US", "closed", ["pump"], NOW) == (1, True)
    # The same number written another way is the same family.
    assert callbacks.request("502-555-0143", True, "es-US", "no_answer", ["botox", "pump"], NOW + 60) \
        == (1, False)
    assert callbacks.request(OTHER, False, "en-US", "text", [], NOW + 61) == (2, True)
    first = callbacks.get(1)
    assert (first.reason, first.language, first.topics, first.number_verified) == \
        ("no_answer", "es-US", ("pump", "botox"), True)
    assert (first.created, first.updated, first.status) == (NOW, NOW + 60, "new")
    assert [r.id for r in callbacks.list_open()] == [1, 2]
    assert all(r.number is None for r in callbacks.list_open())
    # Once closed, the number's next request is a new one.
    callbacks.close(1, "done", "ana", "called back", NOW + 120)
    assert callbacks.request(NUMBER, False, "en-US", "busy", [], NOW + 200) == (3, True)
    assert [r.id for r in callbacks.newest()] == [3, 2, 1]


def test_status_flow(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    request_id, _ = callbacks.request(NUMBER, False, "en-US", "retries", ["pump"], NOW)
    assert callbacks.set_recording(request_id, "RE" + "1" * 32) is None
    assert callbacks.set_recording(request_id, "RE" + "2" * 32) == "RE" + "1" * 32
    callbacks.take(request_id, "ana", NOW + 10)
    taken = callbacks.get(request_id)
    assert (taken.status, taken.taken_by, taken.open) == ("in_progress", "ana", True)
    callbacks.close(request_id, "unreachable", "ben", "no answer twice", NOW + 20)
    closed = callbacks.get(request_id)
    assert (closed.status, closed.taken_by, closed.note, closed.closed_at, closed.open) == \
        ("unreachable", "ana", "no answer twice", NOW + 20, False)
    assert closed.recording_sid == "RE" + "2" * 32
    with pytest.raises(CallbackError, match=f"callback request {request_id} is already closed"):
        callbacks.take(request_id, "ben", NOW + 30)
    with pytest.raises(CallbackError, match="already closed"):
        callbacks.close(request_id, "done", "ben", "", NOW + 30)
    with pytest.raises(CallbackError, match="done or unreachable"):
        callbacks.close(request_id, "new", "ben", "", NOW + 30)
    with pytest.raises(CallbackError, match="reason"):
        callbacks.request(NUMBER, False, "en-US", "bored", [], NOW)
    assert callbacks.get(999) is None


def test_rotation(store, database_url):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    Callbacks.for_store(store, [old]).request(NUMBER, False, "en-US", "closed", [], NOW)
    # The new key first: the old one still decrypts what it encrypted.
    both = Callbacks.for_store(store, [new, old])
    assert both.get(1).number == NUMBER
    with pytest.raises(CallbackKeyError, match=r"^callback request 1: .*no longer in IVR_CALLBACK_KEYS") \
            as raised:
        Callbacks.for_store(store, [new]).get(1)
    assert NUMBER not in str(raised.value)
    token_before = rows(database_url)[0]
    assert both.rekey() == 1
    assert rows(database_url)[0] != token_before
    assert Callbacks.for_store(store, [new]).get(1).number == NUMBER
    with pytest.raises(CallbackKeyError, match="callback request 1"):
        Callbacks.for_store(store, [old]).get(1)
    with pytest.raises(CallbackKeyError, match="IVR_CALLBACK_KEYS is not set"):
        Callbacks.for_store(store).request(NUMBER, False, "en-US", "closed", [], NOW)


def test_purge_by_closed_age_and_max_age(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    old_open, _ = callbacks.request("+15025550101", False, "en-US", "closed", [], NOW - 91 * DAY)
    callbacks.set_recording(old_open, "RE" + "a" * 32)
    closed_long_ago, _ = callbacks.request("+15025550102", False, "en-US", "busy", [], NOW - 40 * DAY)
    callbacks.close(closed_long_ago, "done", "ana", "", NOW - 31 * DAY)
    closed_recently, _ = callbacks.request("+15025550103", False, "en-US", "busy", [], NOW - 40 * DAY)
    callbacks.close(closed_recently, "done", "ana", "", NOW - 29 * DAY)
    young_open, _ = callbacks.request("+15025550104", False, "en-US", "busy", [], NOW - 89 * DAY)
    assert callbacks.due(NOW, 30, 90) == [(old_open, "RE" + "a" * 32), (closed_long_ago, None)]
    # Only what the caller says is gone at Twilio, with the same recording.
    assert callbacks.purge(NOW, 30, 90, only={old_open: "RE" + "b" * 32, closed_long_ago: None}) == \
        [(closed_long_ago, None)]
    assert callbacks.purge(NOW, 30, 90) == [(old_open, "RE" + "a" * 32)]
    assert sorted(r.id for r in callbacks.newest()) == [closed_recently, young_open]


def test_nothing_but_the_id_is_logged(store, caplog):
    caplog.set_level(logging.DEBUG)
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    request_id, _ = callbacks.request(NUMBER, True, "es-US", "closed", ["pump_refill"], NOW)
    callbacks.request(NUMBER, True, "es-US", "busy", ["botox"], NOW)
    callbacks.set_recording(request_id, "RE" + "c" * 32)
    callbacks.take(request_id, "ana", NOW)
    callbacks.close(request_id, "done", "ana", "spoke to mum", NOW)
    callbacks.purge(NOW + 31 * DAY, 30, 90)
    logged = caplog.text
    assert f"Callback request {request_id} recorded" in logged
    for secret in ("5025550143", "5550143", "es-US", "pump_refill", "botox", "RE" + "c" * 32, "ana",
                   "mum", "busy"):
        assert secret not in logged


def test_migration_0007_makes_the_table_on_a_database_at_0006(database_url, store):
    # 0001 makes every table from the current metadata, so a real 0006 database is made by
    # dropping the new table and stepping the revision back.
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE callbacks"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    engine.dispose()
    assert upgrade(database_url) == ("0006", HEAD)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = inspect(connection).get_indexes("callbacks")
            indexes = {index["name"]: index["unique"] for index in found}
    finally:
        engine.dispose()
    assert indexes == {"callbacks_open_by_number": True, "callbacks_by_closed": False,
                       "callbacks_by_created": False}
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    assert callbacks.request(NUMBER, False, "en-US", "closed", [], NOW) == (1, True)
    assert callbacks.request(NUMBER, False, "en-US", "busy", [], NOW) == (1, False)


def test_the_caps_count_new_requests_in_the_hour_and_the_day_and_never_refuse_an_update(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    assert callbacks.request(NUMBER, True, "en-US", "closed", [], NOW, caps=(1, 5)) == (1, True)
    with pytest.raises(CallbacksFull) as full:
        callbacks.request(OTHER, True, "en-US", "closed", [], NOW + 60, caps=(1, 5))
    assert full.value.period == "hour"
    # The family who asked already is updated, whatever the caps.
    assert callbacks.request(NUMBER, True, "en-US", "busy", [], NOW + 120, caps=(1, 5)) == (1, False)
    # An hour on, the hourly cap has room again; the daily one counts the whole day.
    assert callbacks.request(OTHER, True, "en-US", "closed", [], NOW + 3601, caps=(1, 2))[1] is True
    with pytest.raises(CallbacksFull) as full:
        callbacks.request("+15025550199", True, "en-US", "closed", [], NOW + 7300, caps=(1, 2))
    assert full.value.period == "day"
    assert len(callbacks.newest()) == 2


CAP_KEY = Fernet.generate_key().decode()


def _request_in_process(url, number, start, results):
    # Each process opens the database itself, as a worker of the line does, all at one moment.
    from conftest import STORE_KEY

    from ivr.storage import open_store

    start.wait(timeout=30)
    store = open_store(url, STORE_KEY)
    try:
        Callbacks.for_store(store, [CAP_KEY]).request(number, True, "en-US", "busy", [], NOW, caps=(2, 200))
        results.put("taken")
    except CallbacksFull:
        results.put("full")
    finally:
        store.close()


def test_callers_asking_at_one_moment_never_pass_the_cap(store, database_url):
    outcomes = race(_request_in_process, lambda index: (database_url, f"+1502555{index:04d}"), 5)
    assert outcomes == ["full"] * 3 + ["taken"] * 2
    assert len(Callbacks.for_store(store, [CAP_KEY]).newest()) == 2


def test_full_for_names_the_period_whose_cap_is_reached(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    assert callbacks.full_for(NOW, 1, 5) is None
    callbacks.request(NUMBER, True, "en-US", "closed", [], NOW)
    assert callbacks.full_for(NOW + 60, 1, 5) == "hour"
    assert callbacks.full_for(NOW + 3601, 1, 5) is None
    assert callbacks.full_for(NOW + 3601, 2, 1) == "day"
    assert callbacks.full_for(NOW + DAY + 1, 1, 1) is None
    assert callbacks.full_for(NOW, 0, 5) == "hour"  # a cap of 0 takes none


def test_an_offered_recording_never_deletes_the_one_a_request_holds(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    first, second, third = ("RE" + c * 32 for c in "123")
    request_id, _ = callbacks.request(NUMBER, True, "en-US", "busy", [], NOW)
    assert callbacks.offer_recording(request_id, first) == ("attached", ())
    assert callbacks.offer_recording(request_id, first) == ("again", ())
    assert callbacks.offer_recording(request_id, second) == ("replaced", (first,))
    callbacks.close(request_id, "done", "ana", "", NOW + 10)
    # A replay for the closed request: what it holds stays; anything else is deleted.
    assert callbacks.offer_recording(request_id, second) == ("again", ())
    assert callbacks.offer_recording(request_id, third) == ("refused", (third,))
    assert callbacks.get(request_id).recording_sid == second
    # A callback for another (or no) request naming a SID a request holds never deletes it.
    other, _ = callbacks.request(OTHER, True, "en-US", "busy", [], NOW + 20)
    assert callbacks.offer_recording(other, second) == ("refused", ())
    assert callbacks.offer_recording(999, second) == ("refused", ())
    assert callbacks.offer_recording(999, third) == ("refused", (third,))
    assert callbacks.get(other).recording_sid is None


def test_an_ask_that_may_not_replace_keeps_the_first_message(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    first, second = "RE" + "4" * 32, "RE" + "5" * 32
    request_id, _ = callbacks.request(NUMBER, True, "en-US", "busy", [], NOW)
    assert callbacks.offer_recording(request_id, first, may_replace=False) == ("attached", ())
    assert callbacks.offer_recording(request_id, second, may_replace=False) == ("kept", (second,))
    assert callbacks.get(request_id).recording_sid == first


def test_an_unverified_ask_only_adds_topics_to_a_verified_request(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    request_id, _ = callbacks.request(NUMBER, True, "en-US", "closed", ["pump"], NOW)
    assert callbacks.request(NUMBER, False, "es-US", "no_answer", ["botox"], NOW + 60) == (request_id, False)
    kept = callbacks.get(request_id)
    assert (kept.language, kept.reason, kept.topics, kept.number_verified, kept.updated) == \
        ("en-US", "closed", ("pump", "botox"), True, NOW + 60)
    # The family itself, verified again, changes what it asks.
    callbacks.request(NUMBER, True, "es-US", "busy", [], NOW + 120)
    assert (callbacks.get(request_id).language, callbacks.get(request_id).reason) == ("es-US", "busy")


def test_a_purged_request_s_id_is_never_given_again(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    kept, _ = callbacks.request(NUMBER, True, "en-US", "busy", [], NOW)
    purged, _ = callbacks.request(OTHER, True, "en-US", "busy", [], NOW)
    callbacks.close(purged, "done", "ana", "", NOW + 10)
    assert [i for i, _ in callbacks.purge(NOW + 31 * DAY, 30, 90)] == [purged]
    later, _ = callbacks.request("+15025550166", True, "en-US", "busy", [], NOW + 31 * DAY)
    assert later > purged > kept


def migrate_to(url: str, revision: str) -> None:
    """Migrate the database at `url` only as far as `revision`, as `ivr db upgrade` runs Alembic."""
    from alembic import command
    from alembic.config import Config

    engine = make_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            config = Config()
            config.set_main_option("script_location", str(Path(sql.__file__).parent / "migrations"))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def test_migration_0009_keeps_the_requests_and_never_reuses_an_id(database_url, store):
    # A real 0008 table (0007's, without AUTOINCREMENT on SQLite): dropped and made again by 0007.
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE callbacks"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    engine.dispose()
    migrate_to(database_url, "0008")
    key = Fernet.generate_key().decode()
    callbacks = Callbacks.for_store(store, [key])
    # Three requests as 0008's code wrote them, the last two since purged (the highest id included).
    with engine.begin() as connection:
        for number, verified in ((NUMBER, True), (OTHER, False), ("+15025550166", True)):
            connection.execute(text(
                "INSERT INTO callbacks (number_hash, number_encrypted, number_verified, language, reason, "
                "topics, recording_sid, created, updated, status, note) VALUES (:h, :e, :v, 'en-US', "
                "'closed', 'pump', :r, :now, :now, 'new', '')"),
                {"h": store._hash(number), "e": Fernet(key.encode()).encrypt(number.encode()).decode(),
                 "v": verified, "r": "RE" + "7" * 32 if number == NUMBER else None, "now": NOW})
        first, second, third = (row[0] for row in connection.execute(
            text("SELECT id FROM callbacks ORDER BY id")))
        connection.execute(text("DELETE FROM callbacks WHERE id IN (:a, :b)"), {"a": second, "b": third})
        # The audit log names the last one, purged.
        connection.execute(text("INSERT INTO audit (at, actor, action, subject, detail) VALUES "
                                "(:at, 'ana', 'callback closed', :subject, '')"),
                           {"at": NOW, "subject": f"callback request {third}"})
    engine.dispose()
    before = rows(database_url)
    assert upgrade(database_url) == ("0008", HEAD)
    assert [row[:len(before[0])] for row in rows(database_url)] == before  # 0010 adds a column
    kept = callbacks.get(first)
    assert (kept.number, kept.topics, kept.recording_sid) == (NUMBER, ("pump",), "RE" + "7" * 32)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            indexes = {i["name"]: i["unique"] for i in inspect(connection).get_indexes("callbacks")}
            if engine.dialect.name == "sqlite":
                made = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'callbacks'"))
                assert "AUTOINCREMENT" in made.scalar()
    finally:
        engine.dispose()
    assert indexes == {"callbacks_open_by_number": True, "callbacks_by_closed": False,
                       "callbacks_by_created": False}
    # One open request per number still (the partial index), and ids after every one seen.
    assert callbacks.request(NUMBER, True, "en-US", "busy", [], NOW + 31 * DAY) == (first, False)
    newest, created = callbacks.request(OTHER, True, "en-US", "busy", [], NOW + 31 * DAY)
    assert created and newest > third


def test_a_recording_of_an_older_ask_never_replaces_a_newer_message(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    old, new = "RE" + "8" * 32, "RE" + "9" * 32
    request_id, _ = callbacks.request(NUMBER, True, "en-US", "busy", [], NOW)
    assert callbacks.offer_recording(request_id, old, asked=NOW) == ("attached", ())
    callbacks.request(NUMBER, True, "en-US", "closed", [], NOW + 60)
    assert callbacks.get(request_id).asked == NOW + 60
    assert callbacks.offer_recording(request_id, new, asked=NOW + 60.0004) == ("replaced", (old,))
    # The first ask's callback again: refused, the newer message kept.
    assert callbacks.offer_recording(request_id, old, asked=NOW) == ("stale", (old,))
    assert callbacks.get(request_id).recording_sid == new
    # An ask that may not replace (keyed, not verified) does not make the family's ask older.
    callbacks.request(NUMBER, False, "en-US", "busy", [], NOW + 120)
    assert callbacks.get(request_id).asked == NOW + 60
    # A request with no message yet takes an older ask's, rather than none.
    other, _ = callbacks.request(OTHER, True, "en-US", "busy", [], NOW)
    callbacks.request(OTHER, True, "en-US", "busy", [], NOW + 60)
    assert callbacks.offer_recording(other, "RE" + "a" * 32, asked=NOW) == ("attached", ())
    # A callback address from before 0010 carries no time: as before.
    assert callbacks.offer_recording(other, "RE" + "b" * 32) == ("replaced", ("RE" + "a" * 32,))
