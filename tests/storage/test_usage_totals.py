"""Daily usage totals and retention: the report from totals + raw equals the report from raw alone, late
events are neither lost nor counted twice, expired raw events go only once rolled up, on both backends."""

from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timezone

import pytest
from conftest import environment
from sqlalchemy import text

from ivr.cli import main
from ivr.settings import StartupError, events_retention_days, read_settings
from ivr.storage.sql import make_engine, upgrade
from ivr.storage.tables import events
from ivr.usage_report import GRACE_SECONDS, ROLLUP_LOCK, maintain, raw_days, raw_usage, usage

DAY = 86400
# 2026-03-01 00:00 UTC
START = datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp()
NODES = ("main", "oral_baclofen", "baclofen_pump", "rhizotomy", "scheduling")


def day_of(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d")


def row(at: float, kind: str, subject: str, node=None, language=None, outcome=None, value=None) -> dict:
    return {"at": at, "day": day_of(at), "kind": kind, "subject": subject, "node": node,
            "language": language, "outcome": outcome, "value": value}


def a_call(rng: random.Random, subject: str, at: float, steps: int | None = None,
           transfer: bool | None = None, gap: float = 20.0) -> list[dict]:
    """One call's events from `at`, a step every `gap` seconds."""
    language = rng.choice(("en-US", "en-US", "es-US"))
    rows = [row(at, "call_started", subject, "main", language, rng.choice(("open", "closed")))]
    for _ in range(rng.randint(1, 4) if steps is None else steps):
        at += gap
        rows.append(row(at, "answered", subject, rng.choice(NODES), language,
                        rng.choice(("key", "speech", "silence", "invalid")), rng.randint(0, 1)))
        rows.append(row(at + 0.5, "node_entered", subject, rng.choice(NODES), language))
    if transfer if transfer is not None else rng.random() < 0.3:
        at += gap
        rows.append(row(at, "transfer", subject, "scheduling", language,
                        rng.choice(("answered", "busy", "no-answer", "failed"))))
    rows.append(row(at + 1, "text_me", subject, rng.choice(NODES), language,
                    rng.choice(("sent", "too_many"))))
    rows.append(row(at + 2, "call_ended", subject, None, None, "completed", rng.randint(5, 600)))
    return rows


def a_text(rng: random.Random, subject: str, at: float) -> list[dict]:
    return [row(at, "text_received", subject, rng.choice(NODES), rng.choice(("en-US", "es-US", None)),
                rng.choice(("summary", "menu", "help", "not_understood", "opt_out", "opt_in")), 1)]


def generated(days: int, seed: int = 7) -> list[dict]:
    """A few calls and texts a day, and every day a call that crosses midnight into the next."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for d in range(days):
        for n in range(12):
            at = START + d * DAY + rng.random() * (DAY - 600)
            maker = a_call if n % 3 else a_text
            rows += maker(rng, f"d{d}n{n}", at)
        # Starts at 23:59:10, last moves after midnight; half of them then transferred.
        rows += a_call(rng, f"d{d}midnight", START + (d + 1) * DAY - 50, steps=4, transfer=bool(d % 2))
    return rows


def insert(url: str, rows: list[dict]) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(events.insert(), rows)
    engine.dispose()


def read(url: str, fn, *args):
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            return fn(connection, *args)
    finally:
        engine.dispose()


def run(url: str, now: float, retention_days: int = 400, wait: bool = True) -> dict:
    engine = make_engine(url)
    try:
        return maintain(engine, retention_days, now=now, wait=wait)
    finally:
        engine.dispose()


def stored_days(url: str) -> dict[str, tuple]:
    return dict(read(url, lambda c: [(d, (json.loads(p), k)) for d, p, k in
                                     c.execute(text("SELECT day, part, raw_kept FROM usage_days"))]))


PERIODS = [(None, None), ("2026-03-02", None), (None, "2026-03-04"), ("2026-03-03", "2026-03-03"),
           ("2026-03-04", "2026-03-06"), ("2026-03-09", "2026-03-20"), ("2027-01-01", None)]


def assert_same_as_raw(url: str) -> None:
    for since, until in PERIODS:
        assert read(url, usage, since, until) == read(url, raw_usage, since, until), (since, until)


@pytest.fixture
def db(database_url):
    upgrade(database_url)
    return database_url


def test_totals_and_raw_give_the_same_report_as_raw_alone(db):
    rows = generated(10)
    insert(db, rows)
    before = read(db, raw_usage, None, None)
    assert before["calls"]["total"] == 10 * 9 and before["ended_at"] and before["transfers"]
    # Day 7 (2026-03-08) is over but its grace period is not: days 0 to 6 are rolled up.
    now = START + 8 * DAY + GRACE_SECONDS - 1
    done = run(db, now)
    assert done["rolled"] == [f"2026-03-0{d}" for d in range(1, 8)] and done["deleted"] == 0
    stored = stored_days(db)
    assert sorted(stored) == done["rolled"]
    for day, (part, raw_kept) in stored.items():
        # Exactly the per-day part of the raw report, drop-off included.
        assert part == before["days"][day] and raw_kept == 1
    # The call that crosses midnight into 2026-03-08 (not closed) keeps 2026-03-07 read raw.
    assert read(db, raw_days) == {"2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10", "2026-03-11"}
    assert_same_as_raw(db)
    assert read(db, usage, None, None) == before
    assert run(db, now + 3 * DAY)["rolled"] == ["2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"]
    assert read(db, raw_days) == {"2026-03-10", "2026-03-11"}
    assert_same_as_raw(db)
    # Rolling up again changes nothing: every day is recomputed from the same events.
    parts = stored_days(db)
    assert run(db, now + 30 * DAY)["rolled"] == ["2026-03-10", "2026-03-11"]
    assert run(db, now + 30 * DAY)["rolled"] == []
    assert {d: p for d, p in stored_days(db).items() if d in parts} == parts
    assert read(db, usage, None, None) == before


def test_a_midnight_call_counts_once_on_the_day_it_last_moved(db):
    rng = random.Random(3)
    call = a_call(rng, "late", START + DAY - 50, steps=4, transfer=False)
    insert(db, call)
    last = max((r for r in call if r["kind"] == "node_entered"), key=lambda r: r["at"])
    assert last["day"] == "2026-03-02"
    for source in (raw_usage, usage):
        assert read(db, source, "2026-03-01", "2026-03-01")["ended_at"] == {}
        assert read(db, source, "2026-03-02", "2026-03-02")["ended_at"] == {last["node"]: 1}
        assert read(db, source, None, None)["ended_at"] == {last["node"]: 1}
    run(db, START + 3 * DAY)
    assert sum(stored_days(db)["2026-03-02"][0]["ended_at"].values()) == 1
    assert stored_days(db)["2026-03-01"][0]["ended_at"] == {}
    assert read(db, usage, None, None)["ended_at"] == {last["node"]: 1}


def test_events_that_arrive_for_a_closed_day_are_counted_once(db):
    insert(db, generated(4))
    now = START + 4 * DAY + GRACE_SECONDS
    run(db, now)
    assert "2026-03-02" in stored_days(db)
    before = read(db, usage, None, None)
    rng = random.Random(11)
    # Late: a text for a closed day, a transfer for a call already counted as a drop-off, and a node
    # entered, after midnight, by a call whose last node was on a closed day.
    late = a_text(rng, "late-text", START + DAY + 3600)
    dropped = read(db, lambda c: c.execute(text(
        "SELECT DISTINCT subject FROM events WHERE day = '2026-03-02' AND kind = 'node_entered' AND subject "
        "NOT IN (SELECT subject FROM events WHERE kind = 'transfer') ORDER BY subject LIMIT 2"))
        .scalars().all())
    late.append(row(START + DAY + 7200, "transfer", dropped[0], "scheduling", "en-US", "busy"))
    late.append(row(START + 2 * DAY + 10, "node_entered", dropped[1], "rhizotomy", "en-US"))
    insert(db, late)
    assert {"2026-03-02", "2026-03-03"} <= read(db, raw_days)
    after = read(db, usage, None, None)
    assert after == read(db, raw_usage, None, None)
    assert after["texts"]["total"] == before["texts"]["total"] + 1
    assert after["transfers"].get("busy", 0) == before["transfers"].get("busy", 0) + 1
    assert sum(after["ended_at"].values()) == sum(before["ended_at"].values()) - 1
    assert after["days"]["2026-03-03"]["ended_at"].get("rhizotomy", 0) == \
        before["days"]["2026-03-03"]["ended_at"].get("rhizotomy", 0) + 1
    assert_same_as_raw(db)
    assert set(run(db, now)["rolled"]) >= {"2026-03-02", "2026-03-03"}
    assert read(db, usage, None, None) == after
    assert read(db, raw_days) == {"2026-03-04", "2026-03-05"}  # a call crossing into 2026-03-05
    assert_same_as_raw(db)


def test_raw_events_past_retention_go_only_once_rolled_up_and_the_totals_stay(db):
    insert(db, generated(6))
    before = read(db, raw_usage, None, None)
    # 2026-03-10: with 6 days kept, days before 2026-03-04 have expired.
    now = START + 9 * DAY + 12 * 3600
    # Not closed yet, so not rolled up: kept, however old (here all days are "closed" only later).
    early = run(db, START + 1 * DAY, retention_days=1)
    assert early["rolled"] == [] and early["deleted"] == 0
    expected = sum(1 for r in generated(6) if r["day"] < "2026-03-04")
    done = run(db, now, retention_days=6)
    assert done["expired"] == ["2026-03-01", "2026-03-02", "2026-03-03"] and done["deleted"] == expected
    remaining = read(db, lambda c: c.execute(text("SELECT MIN(day), COUNT(*) FROM events")).one())
    assert remaining[0] == "2026-03-04"
    assert {d: k for d, (_, k) in stored_days(db).items()} == {
        **dict.fromkeys(["2026-03-01", "2026-03-02", "2026-03-03"], 0),
        **dict.fromkeys(["2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07"], 1)}
    assert read(db, usage, None, None) == before  # the totals are kept for good
    assert run(db, now, retention_days=6) == {"rolled": [], "deleted": 0, "expired": [], "busy": False}
    # An event stamped for an expired day (a clock far off) is added to that day, not lost.
    insert(db, a_text(random.Random(5), "very-late", START + DAY + 60))
    assert read(db, usage, None, None)["texts"]["total"] == before["texts"]["total"] + 1
    assert run(db, now, retention_days=6)["rolled"] == ["2026-03-02"]
    assert read(db, usage, None, None)["texts"]["total"] == before["texts"]["total"] + 1
    assert read(db, usage, "2026-03-02", "2026-03-02")["texts"]["total"] == \
        before["days"]["2026-03-02"]["texts"]["total"] + 1
    assert read(db, lambda c: c.execute(text("SELECT COUNT(*) FROM events WHERE day < '2026-03-04'"))
                .scalar()) == 0


def test_two_rollups_at_once_count_each_day_once(db):
    insert(db, generated(8))
    before = read(db, raw_usage, None, None)
    now = START + 8 * DAY + GRACE_SECONDS
    results, errors = [], []

    def one() -> None:
        try:
            results.append(run(db, now))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and len(results) == 3
    # Together they rolled every closed day; each day's totals are the raw day's.
    assert sorted(stored_days(db)) == [f"2026-03-0{d}" for d in range(1, 9)]
    for day, (part, _) in stored_days(db).items():
        assert part == before["days"][day]
    assert read(db, usage, None, None) == before


def test_a_worker_skips_the_rollup_while_another_machine_runs_it(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's; SQLite's writers take turns (test above)")
    upgrade(database_url)
    insert(database_url, generated(2))
    engine = make_engine(database_url)
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ROLLUP_LOCK})
            holder.commit()
            assert maintain(engine, 400, now=START + 5 * DAY, wait=False)["busy"] is True
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ROLLUP_LOCK})
            holder.commit()
        done = maintain(engine, 400, now=START + 5 * DAY, wait=False)
        assert done["rolled"] == ["2026-03-01", "2026-03-02", "2026-03-03"] and not done["busy"]
    finally:
        engine.dispose()


def test_ivr_usage_rollup_prints_what_it_did(db, monkeypatch, capsys):
    insert(db, generated(3, seed=2))
    monkeypatch.setenv("DATABASE_URL", db)
    monkeypatch.setenv("IVR_EVENTS_RETENTION_DAYS", "30")
    before = read(db, raw_usage, None, None)
    assert main(["usage", "rollup"]) == 0  # today is long after March 2026: every day has expired
    out = capsys.readouterr().out
    assert "rolled up 4 day(s), 2026-03-01 to 2026-03-04" in out
    assert f"deleted {sum(1 for _ in generated(3, seed=2))} raw event(s) of 4 day(s)" in out
    assert "IVR_EVENTS_RETENTION_DAYS=30" in out
    assert main(["usage", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == before
    assert main(["usage", "rollup"]) == 0
    assert "no closed day to roll up" in capsys.readouterr().out
    monkeypatch.setenv("IVR_EVENTS_RETENTION_DAYS", "0")
    assert main(["usage", "rollup"]) == 1
    assert "IVR_EVENTS_RETENTION_DAYS must be a whole number from 1" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "a year", "99999"])
def test_a_retention_that_is_not_a_whole_number_of_days_stops_the_line(value):
    with pytest.raises(StartupError, match="IVR_EVENTS_RETENTION_DAYS must be a whole number from 1"):
        read_settings(environment(IVR_EVENTS_RETENTION_DAYS=value))


def test_the_retention_setting_and_its_default():
    assert read_settings(environment()).events_retention_days == 400
    assert read_settings(environment(IVR_EVENTS_RETENTION_DAYS=" 30 ")).events_retention_days == 30
    assert events_retention_days({}) == 400


def test_the_writer_thread_rolls_up_and_deletes_on_its_own(tmp_path):
    import time

    from ivr.storage.sql import SqliteStore
    from ivr.usage import Recorder

    store = SqliteStore(tmp_path / "line.sqlite3", b"k" * 32)
    url = store.url
    recorder = Recorder(store, b"e" * 32, interval=0.02, retention_days=400)
    old = time.time() - 500 * DAY
    for n in range(5):
        recorder.record("call_started", f"CA{n}", "main", "en-US", "open", at=old + n)
    recorder.record("call_started", "CAnow", "main", "en-US", "open")
    recorder._next_maintain = 0  # due now, not in the first few minutes
    for _ in range(250):
        if read(url, lambda c: c.execute(text("SELECT COUNT(*) FROM events")).scalar()) == 1:
            break
        time.sleep(0.02)
    days = stored_days(url)
    assert days == {day_of(old): (days[day_of(old)][0], 0)}  # rolled up, then its raw events deleted
    assert days[day_of(old)][0]["calls"]["total"] == 5
    assert read(url, lambda c: c.execute(text("SELECT COUNT(*) FROM events")).scalar()) == 1
    assert read(url, usage, None, None)["calls"]["total"] == 6
    assert recorder._next_maintain > time.monotonic() + 3000  # not again for an hour


def test_a_database_at_revision_0002_keeps_its_events_and_rolls_them_up(database_url):
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    import ivr.storage.sql as sql

    config = Config()
    config.set_main_option("script_location", str(Path(sql.__file__).parent / "migrations"))
    engine = make_engine(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    rows = generated(2)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO events (at, day, kind, subject, node, language, outcome, value) "
                                "VALUES (:at, :day, :kind, :subject, :node, :language, :outcome, :value)"),
                           rows)
    engine.dispose()
    before = read(database_url, raw_usage, None, None)
    assert upgrade(database_url) == ("0002", sql.HEAD)
    assert read(database_url, usage, None, None) == before
    assert run(database_url, START + 4 * DAY)["rolled"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert read(database_url, usage, None, None) == before
