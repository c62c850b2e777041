"""Callback requests in the usage report and on the dashboard, as counts only: per day, by reason, and
the median time to close; the same from the daily totals as from the raw events, on both backends;
viewers see them, and no number is in them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import close_app
from console_helpers import add_account, console_app, sign_in
from dashboard_helpers import counts, tables_in
from sqlalchemy import text
from test_usage_totals import read

from ivr.storage.sql import make_engine, upgrade
from ivr.storage.tables import events
from ivr.usage import EXTENSION as USAGE
from ivr.usage_report import as_csv, maintain, median_seconds, raw_usage, usage

DAY = 86400
START = datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp()  # 2026-03-01 00:00 UTC
MINUTE = 60


def row(at: float, kind: str, subject: str, outcome=None, value=None, language="en-US") -> dict:
    return {"at": at, "day": datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d"), "kind": kind,
            "subject": subject, "node": None, "language": language, "outcome": outcome, "value": value}


# Two days: four requests (closed hours twice, busy, by text), three closes (10, 30 and 90 minutes).
ROWS = [row(START + 3600, "callback_requested", "call1", "closed"),
        row(START + 7200, "callback_requested", "call2", "closed", language="es-US"),
        row(START + 9000, "callback_requested", "call3", "busy"),
        row(START + 9600, "callback_closed", "callback-1", "done", 10 * MINUTE),
        row(START + DAY + 100, "callback_requested", "text1", "text"),
        row(START + DAY + 200, "callback_closed", "callback-2", "unreachable", 90 * MINUTE),
        row(START + DAY + 300, "callback_closed", "callback-3", "done", 30 * MINUTE)]


def test_the_median_of_a_histogram():
    assert median_seconds({}) is None
    assert median_seconds({"600": 1}) == 600
    assert median_seconds({"600": 1, "1800": 1}) == 1200
    assert median_seconds({"5400": 1, "600": 2, "1800": 0}) == 600
    assert median_seconds({"600": 1, "1800": 1, "5400": 1}) == 1800


def test_callbacks_counted_per_day_by_reason_with_the_median_from_totals_as_from_raw(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(events.insert(), ROWS)
    report = read(database_url, raw_usage, None, None)
    found = report["callbacks"]
    assert (found["requested"], found["closed"]) == (4, 3)
    assert found["by_reason"] == {"closed": 2, "busy": 1, "text": 1}
    assert median_seconds(found["close_seconds"]) == 30 * MINUTE
    first, second = report["days"]["2026-03-01"]["callbacks"], report["days"]["2026-03-02"]["callbacks"]
    assert (first["requested"], first["closed"], second["requested"], second["closed"]) == (3, 1, 1, 2)
    # Rolled up into the daily totals, the report is the same, and so is the median.
    assert maintain(engine, 400, now=START + 5 * DAY)["rolled"] == ["2026-03-01", "2026-03-02"]
    engine.dispose()
    assert read(database_url, usage, None, None) == report
    assert read(database_url, usage, "2026-03-02", None)["callbacks"]["by_reason"] == {"text": 1}
    csv = as_csv(report)
    assert "all,callbacks,requested,4" in csv and "all,callbacks,requested:closed,2" in csv
    assert "all,callbacks,median_seconds_to_close,1800" in csv


@pytest.fixture
def dashboard(database_url):
    upgrade(database_url)
    if database_url.startswith("sqlite"):
        app = console_app(IVR_DATABASE=database_url.removeprefix("sqlite:///"), DATABASE_URL="")
    else:
        app = console_app(DATABASE_URL=database_url)
    yield app
    close_app(app)


def test_viewers_see_the_counts_on_the_dashboard(dashboard):
    app = dashboard
    today = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    recorder = app.extensions[USAGE]
    # As the phone and text flows and the queue record them: one event each, no number in any.
    recorder.record("callback_requested", "CA" + "1" * 32, outcome="no_answer", at=yesterday.timestamp())
    recorder.record("callback_requested", "SM" + "2" * 32, outcome="text", at=today.timestamp())
    recorder.record("callback_requested", "CA" + "3" * 32, outcome="no_answer", at=today.timestamp())
    recorder.record("callback_closed", "callback-1", outcome="done", value=25 * MINUTE, at=today.timestamp())
    recorder.flush()
    add_account(app, "vera", "viewer")
    client = app.test_client()
    sign_in(client, "vera")
    page = client.get("/console/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert counts(html, "table-callbacks") == {
        "Callback requests": 3, "Requests, closed hours": 0, "Requests, scheduling was busy": 0,
        "Requests, no one answered": 2, "Requests, the transfer failed": 0,
        "Requests, waited through the retries": 0, "Requests, by text": 1, "Closed by staff": 1,
        "Median time to close, in minutes": 25}
    tables, columns = tables_in(html)
    assert columns["table-callbacks-per-day"] == [
        "Day", "Closed hours", "Scheduling was busy", "No one answered", "The transfer failed",
        "Waited through the retries", "By text", "Closed by staff"]
    per_day = tables["table-callbacks-per-day"]
    assert per_day[today.date().isoformat()] == ["0", "0", "1", "0", "0", "1", "1"]
    assert per_day[yesterday.date().isoformat()] == ["0", "0", "1", "0", "0", "0", "0"]
    # The queue itself stays closed to viewers.
    assert client.get("/console/callbacks").status_code == 403
    csv = client.get("/console/dashboard.csv").get_data(as_text=True)
    assert "Callback requests in numbers,Callback requests,Count,3" in csv


def test_a_period_without_callbacks_shows_no_callback_tables(dashboard):
    app = dashboard
    add_account(app, "vera", "viewer")
    client = app.test_client()
    sign_in(client, "vera")
    html = client.get("/console/dashboard").get_data(as_text=True)
    assert "table-callbacks" not in html
    engine = make_engine(app.extensions["ivr"].settings.database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM events")).scalar() == 0
    engine.dispose()
