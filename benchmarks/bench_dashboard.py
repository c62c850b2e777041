"""The console's dashboard for a year of a busy line: python benchmarks/bench_dashboard.py [--postgres URL].

Fills a new SQLite file, and a new PostgreSQL database on the server at --postgres (or
IVR_TEST_POSTGRES_URL), with EVENTS (default 1,000,000) usage events over a year, shaped as
usage_report.py makes them; rolls them up as a running line would at 01:00 UTC on the last day (every
day but yesterday and today in the daily totals, those two read raw); then times the whole signed-in
GET /console/dashboard through Flask's test client for the last 7 days, 30 days and a 365-day custom
range: the median and 95th percentile of RUNS requests each, after one cold request. Each page's call
count is checked against a COUNT(*) of the raw events. The PostgreSQL database is dropped at the end
unless named with --postgres-database; --sqlite FILE and --postgres-database NAME reuse the events of
an earlier run.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from usage_report import _vacuum, generate, insert  # noqa: E402  (the same year of events as that benchmark)

from ivr.console import passwords  # noqa: E402
from ivr.console.auth import EXTENSION  # noqa: E402
from ivr.factory import create_app  # noqa: E402
from ivr.storage.sql import make_engine, upgrade  # noqa: E402
from ivr.usage_report import maintain  # noqa: E402

PASSWORD = "correct horse battery staple"
# Fixed, so a database filled by an earlier run (--sqlite FILE, --postgres-database NAME) opens again;
# a benchmark's throwaway database, never a line's.
KEY = "bench-dashboard-Qm9yZ2V0LW1lLW5vdC10aGlzLWlzLWEtYmVuY2htYXJr"


def fill(url: str, n: int) -> tuple[str, str]:
    """Migrate the database at `url`, add `n` generated events; their first and last days. A database
    that already holds events (an earlier run's) is used as it is."""
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        first, last = connection.execute(text("SELECT MIN(day), MAX(day) FROM events")).one()
    if last is not None:
        print(f"  reusing its events, {first} to {last}")
        engine.dispose()
        return first, last
    started = time.perf_counter()
    insert(engine, generate(n))
    with engine.begin() as connection:
        first, last = connection.execute(text("SELECT MIN(day), MAX(day) FROM events")).one()
    print(f"  {n} events, {first} to {last}, in {time.perf_counter() - started:.1f} s")
    # The line at 01:00 UTC on the last day: yesterday is still in its grace period, today is open.
    now = datetime.fromisoformat(last).replace(tzinfo=timezone.utc).timestamp() + 3600
    started = time.perf_counter()
    done = maintain(engine, 400, now=now)
    _vacuum(engine)
    print(f"  rolled up {len(done['rolled'])} days in {time.perf_counter() - started:.1f} s "
          f"(the last two read raw)")
    engine.dispose()
    return first, last


def calls_in(url: str, since: str, until: str) -> int:
    engine = make_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL statement_timeout = 0"))
        count = connection.execute(text("SELECT COUNT(*) FROM events WHERE kind = 'call_started' AND "
                                        "day BETWEEN :s AND :u"), {"s": since, "u": until}).scalar()
    engine.dispose()
    return count


def signed_in_client(env: dict[str, str], now: float):
    app = create_app(env)
    state = app.extensions[EXTENSION]
    state.clock = lambda: now  # the console's today is the data's last day
    if state.accounts.find_user("bench") is None:
        state.accounts.add_user("bench", "viewer", passwords.hash_password(PASSWORD), now)
    client = app.test_client()
    page = client.get("/console/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/console/sign-in", data={"csrf_token": token, "username": "bench",
                                                     "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def time_pages(name: str, env: dict[str, str], url: str, last: str, runs: int) -> list[tuple]:
    now = datetime.fromisoformat(last).replace(tzinfo=timezone.utc).timestamp() + 3600
    client = signed_in_client(env, now)
    end = datetime.fromisoformat(last).date()
    rows = []
    for label, query, days in (("7 days", "?period=7", 7), ("30 days", "?period=30", 30),
                               ("365 days", f"?period=custom&since={end - timedelta(days=364)}&until={end}",
                                365)):
        since = (end - timedelta(days=days - 1)).isoformat()
        timings = []
        for i in range(runs + 1):
            started = time.perf_counter()
            response = client.get("/console/dashboard" + query)
            body = response.get_data(as_text=True)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            if i == 0:
                cold = elapsed
                shown = re.search(r"<th scope=\"row\">Calls</th><td class=\"n\">(\d+)</td>", body)
                expected = calls_in(url, since, last)
                assert shown and int(shown.group(1)) == expected, (shown and shown.group(1), expected)
            else:
                timings.append(elapsed)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(round(0.95 * (len(timings) - 1))))]
        rows.append((name, label, expected, cold, statistics.median(timings), p95, len(body)))
        print(f"  {label}: {expected} calls, cold {cold * 1000:.1f} ms, median "
              f"{statistics.median(timings) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms "
              f"({len(body) // 1024} KiB)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per period")
    parser.add_argument("--postgres", default=os.environ.get("IVR_TEST_POSTGRES_URL", ""),
                        help="a PostgreSQL server URL (a superuser's: a new database is made on it)")
    parser.add_argument("--sqlite", type=Path, help="the SQLite file to fill (or reuse); a new one if unset")
    parser.add_argument("--postgres-database", help="a database on that server to fill (or reuse) and keep; "
                                                    "by default a new one, dropped at the end")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ivr-bench-dashboard-"))
    sqlite_file = args.sqlite or folder / "line.sqlite3"
    base = {"IVR_SECRET_KEY": KEY, "TWILIO_AUTH_TOKEN": "t" * 32,
            "TWILIO_ACCOUNT_SID": "AC" + "5" * 32, "IVR_MENUS_FILE": str(REPO / "menus.yaml"),
            "IVR_DATABASE": str(sqlite_file), "DATABASE_URL": "", "IVR_CONSOLE": "1",
            "IVR_LOG_LEVEL": "WARNING"}
    results = []
    print("SQLite:")
    url = f"sqlite:///{sqlite_file}"
    _, last = fill(url, args.events)
    results += time_pages("SQLite", base, url, last, args.runs)
    if args.postgres and not args.sqlite_only:
        from ivr.storage import database_url

        server = make_url(database_url(args.postgres, ""))
        name = args.postgres_database or "ivr_bench_dashboard_" + secrets.token_hex(4)
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": name}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            pg = server.set(database=name).render_as_string(hide_password=False)
            print(f"PostgreSQL ({name}):")
            _, last = fill(pg, args.events)
            results += time_pages("PostgreSQL", {**base, "DATABASE_URL": pg}, pg, last, args.runs)
        finally:
            if not args.postgres_database:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"\n| database | period | calls shown | cold | median | p95 (of {args.runs}) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for db, label, calls, cold, median, p95, _ in results:
        print(f"| {db} | {label} | {calls:,} | {cold * 1000:.1f} ms | {median * 1000:.1f} ms | "
              f"{p95 * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
