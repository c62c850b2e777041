"""`ivr usage` over generated usage events: python benchmarks/usage_report.py URL [EVENTS].

Fills the events table of the database at URL (a SQLAlchemy URL, migrated first; use an empty one)
with EVENTS (default 1,000,000) events shaped like real calls and texts over a year, then times the
report from raw events alone, the first roll-up into daily totals, the report from the totals, the
roll-up of one busy day, and retention deleting a day of raw events (so the database ends thinned).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from ivr.storage.sql import make_engine, upgrade
from ivr.storage.tables import events
from ivr.usage_report import GRACE_SECONDS, maintain, raw_usage, usage

NODES = ("main", "oral_baclofen", "baclofen_pump", "rhizotomy", "other_treatments", "injections",
         "casting", "medication_change")
START = 1_760_000_000.0  # 2025-10-09
DAYS = 365


def generate(n: int, seed: int = 1):
    rng = random.Random(seed)
    made, call = 0, 0
    while made < n:
        call += 1
        at = START + rng.random() * DAYS * 86400
        day = datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d")
        subject = f"{call:032x}"
        language = "es-US" if rng.random() < 0.2 else "en-US"
        if rng.random() < 0.3:  # a text
            rows = [("text_received", rng.choice(NODES), language,
                     rng.choice(("summary", "menu", "help", "not_understood", "opt_out")), 2)]
        else:
            rows = [("call_started", "main", language, "closed" if rng.random() < 0.3 else "open", None)]
            for _ in range(rng.randint(1, 4)):
                rows.append(("answered", rng.choice(NODES), language,
                             rng.choice(("key", "key", "speech", "silence", "invalid")), rng.randint(0, 1)))
                rows.append(("node_entered", rng.choice(NODES), language, None, None))
            if rng.random() < 0.3:
                rows.append(("transfer", "scheduling", language,
                             rng.choice(("answered", "busy", "no-answer", "failed")), None))
            rows.append(("call_ended", None, None, "completed", rng.randint(5, 600)))
        for i, (kind, node, lang, outcome, value) in enumerate(rows):
            yield {"at": at + i, "day": day, "kind": kind, "subject": subject, "node": node,
                   "language": lang, "outcome": outcome, "value": value}
        made += len(rows)


def insert(engine, rows) -> None:
    """Add generated events in batches of 20,000, then vacuum and analyse."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == 20_000:
            with engine.begin() as connection:
                connection.execute(events.insert(), batch)
            batch = []
    if batch:
        with engine.begin() as connection:
            connection.execute(events.insert(), batch)
    _vacuum(engine)


def _vacuum(engine) -> None:
    # What autovacuum does to a real table soon after: statistics, and the visibility map that lets
    # the report read its covering indexes alone.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET statement_timeout = 0"))
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def _best(fn, rounds: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def _report(engine, source, since, until) -> dict:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL statement_timeout = 0"))
        return source(connection, since, until)


def main() -> None:
    url, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    upgrade(url)
    engine = make_engine(url)
    name = engine.dialect.name
    with engine.begin() as connection:
        count = connection.execute(text("SELECT COUNT(*) FROM events")).scalar()
        if connection.execute(text("SELECT COUNT(*) FROM usage_days WHERE raw_kept = 0")).scalar():
            sys.exit("this database's raw events were already thinned by retention: use an empty one")
    if count < n:
        started = time.perf_counter()
        insert(engine, generate(n - count, seed=count + 1))
        print(f"generated {n - count} events in {time.perf_counter() - started:.1f} s")
    with engine.begin() as connection:
        first, last = connection.execute(text("SELECT MIN(day), MAX(day) FROM events")).one()
    end = datetime.fromisoformat(last).replace(tzinfo=timezone.utc).timestamp() + 86400
    now = end + GRACE_SECONDS + 1  # every generated day closed, none expired
    keep = int((end - datetime.fromisoformat(first).replace(tzinfo=timezone.utc).timestamp()) // 86400) + 2
    periods = (("all", None, None), ("one month", "2026-01-01", "2026-01-31"))
    raw = {}
    for label, since, until in periods:
        best, raw[label] = _best(lambda since=since, until=until: _report(engine, raw_usage, since, until))
        print(f"{name} raw events only, {label}: {best:.3f} s (best of 3), "
              f"{raw[label]['calls']['total']} calls, {len(raw[label]['days'])} days")
    started = time.perf_counter()
    done = maintain(engine, keep, now=now)
    print(f"{name} first roll-up of every day ({len(done['rolled'])} days, {first} to {last}): "
          f"{time.perf_counter() - started:.2f} s")
    _vacuum(engine)
    for label, since, until in periods:
        best, report = _best(lambda since=since, until=until: _report(engine, usage, since, until))
        assert report == raw[label], f"the report from the totals differs from the raw one ({label})"
        print(f"{name} daily totals, {label}: {best * 1000:.1f} ms (best of 3), the same numbers as raw")
    # As on a running line: today and yesterday are not rolled up yet, so they are read raw.
    with engine.begin() as connection:
        connection.execute(text("UPDATE events SET rolled = NULL WHERE day >= :d"),
                           {"d": (datetime.fromisoformat(last) - timedelta(days=1)).date().isoformat()})
    _vacuum(engine)
    best, report = _best(lambda: _report(engine, usage, None, None))
    assert report == raw["all"], "the report from totals and two raw days differs from the raw one"
    print(f"{name} daily totals and the last two days raw, all: {best * 1000:.1f} ms (best of 3), "
          "the same numbers")
    maintain(engine, keep, now=now)
    # One busy day rolled up again, as after late events: the whole run a worker makes each hour.
    with engine.begin() as connection:
        busy, size = connection.execute(text("SELECT day, COUNT(*) FROM events GROUP BY day "
                                             "ORDER BY COUNT(*) DESC LIMIT 1")).one()

    def roll_one() -> dict:
        with engine.begin() as connection:
            connection.execute(text("UPDATE events SET rolled = NULL WHERE day = :d"), {"d": busy})
        started = time.perf_counter()
        result = maintain(engine, keep, now=now)
        timings.append(time.perf_counter() - started)
        return result

    timings: list[float] = []
    _best(roll_one)
    print(f"{name} roll-up of one busy day ({busy}, {size} events): {min(timings) * 1000:.1f} ms (best of 3)")
    best, _ = _best(lambda: maintain(engine, keep, now=now))
    print(f"{name} roll-up with nothing to do (each worker, hourly): {best * 1000:.1f} ms (best of 3)")
    # Retention: each run deletes the oldest day's raw events, as a daily run does.
    deleted = []
    for extra in range(1, 4):  # IVR_EVENTS_RETENTION_DAYS such that days before first + extra expire
        started = time.perf_counter()
        result = maintain(engine, keep - 2 - extra, now=now)
        deleted.append((time.perf_counter() - started, result["deleted"]))
    seconds, rows = min(deleted)
    print(f"{name} retention deleting one day ({rows} events): {seconds * 1000:.1f} ms (best of 3)")
    report = _report(engine, usage, None, None)
    assert report == raw["all"], "the report changed when raw events were deleted"
    best, _ = _best(lambda: _report(engine, usage, None, None))
    print(f"{name} daily totals after retention, all: {best * 1000:.1f} ms (best of 3), the same numbers")
    engine.dispose()


if __name__ == "__main__":
    main()
