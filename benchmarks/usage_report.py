"""`ivr usage` over generated usage events: python benchmarks/usage_report.py URL [EVENTS].

Fills the events table of the database at URL (a SQLAlchemy URL, migrated first) with EVENTS
(default 1,000,000) events shaped like real calls and texts over 400 days, then times the report.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timezone

from sqlalchemy import text

from ivr.storage.sql import make_engine, upgrade
from ivr.storage.tables import events
from ivr.usage_report import usage

NODES = ("main", "oral_baclofen", "baclofen_pump", "rhizotomy", "other_treatments", "injections",
         "casting", "medication_change")
START = 1_760_000_000.0


def generate(n: int, seed: int = 1):
    rng = random.Random(seed)
    made, call = 0, 0
    while made < n:
        call += 1
        at = START + rng.random() * 400 * 86400
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


def main() -> None:
    url, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        count = connection.execute(text("SELECT COUNT(*) FROM events")).scalar()
    if count < n:
        started = time.perf_counter()
        batch = []
        for row in generate(n - count, seed=count + 1):
            batch.append(row)
            if len(batch) == 20_000:
                with engine.begin() as connection:
                    connection.execute(events.insert(), batch)
                batch = []
        if batch:
            with engine.begin() as connection:
                connection.execute(events.insert(), batch)
        # What autovacuum does to a real table soon after: statistics, and the visibility map that
        # lets the report read its covering indexes alone.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SET statement_timeout = 0"))
            connection.execute(text("VACUUM ANALYZE events" if engine.dialect.name == "postgresql"
                                    else "ANALYZE"))
        print(f"generated {n - count} events in {time.perf_counter() - started:.1f} s")
    for label, since, until in (("all", None, None), ("one month", "2026-01-01", "2026-01-31")):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SET LOCAL statement_timeout = 0"))
                report = usage(connection, since, until)
            best = min(best, time.perf_counter() - started)
        print(f"{engine.dialect.name} {label}: {best:.3f} s (best of 3), {report['calls']['total']} calls, "
              f"{len(report['days'])} days")
    engine.dispose()


if __name__ == "__main__":
    main()
