"""The dashboard with Flask's test client: real counts after signed webhook calls and texts, the period
picker, custom and bad ranges, an empty period, the CSV, roles, and no number or words shown."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from conftest import MENUS, close_app, environment
from console_helpers import add_account, console_app, sign_in
from dashboard_helpers import SECRETS, counts, tables_in, use_the_line

from ivr.console.auth import EXTENSION
from ivr.factory import create_app
from ivr.storage.sql import upgrade
from ivr.usage import EXTENSION as USAGE

TODAY = datetime.now(timezone.utc).date()


def move_clock(app, client, days: int) -> None:
    """The console's today `days` on (its sessions would have ended: signed in again)."""
    state = app.extensions[EXTENSION]
    start = state.clock()
    state.clock = lambda: start + days * 86400
    sign_in(client, "vera")


@pytest.fixture
def used(database_url, twilio):
    """The console's app on each backend after four calls and seven texts, flushed; a viewer signed in."""
    upgrade(database_url)
    if database_url.startswith("sqlite"):
        app = console_app(IVR_DATABASE=database_url.removeprefix("sqlite:///"), DATABASE_URL="",
                          TWILIO_API_BASE_URL=twilio.base_url)
    else:
        app = console_app(DATABASE_URL=database_url, TWILIO_API_BASE_URL=twilio.base_url)
    use_the_line(app.test_client())
    app.extensions[USAGE].flush()
    add_account(app, "vera", "viewer")
    client = app.test_client()
    sign_in(client, "vera")
    yield app, client
    close_app(app)


def page(client, query: str = "", status: int = 200) -> str:
    response = client.get("/console/dashboard" + query)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_the_counts_are_those_of_the_calls_and_texts_made(used):
    app, client = used
    html = page(client)
    assert counts(html, "table-summary") == {
        "Calls": 4, "Calls in closed hours": 0, "Calls that ended without reaching a person": 2,
        "Transfers to a person": 2, "Speech understood": 1, "Speech not understood": 1, "Texts": 7,
        "Texts not understood": 1, "Opt-outs (STOP)": 1}
    assert counts(html, "table-transfers") == {"answered": 1, "busy": 1}
    # Call b hung up at the rhizotomy summary, call c at the main menu; a and d were transferred.
    assert counts(html, "table-drop-off") == {"Dorsal rhizotomy": 1, "The main menu": 1}
    assert counts(html, "table-answers") == {"A key": 4, "Words (speech)": 2, "Nothing (silence)": 1,
                                             "A key the menu does not have": 1}
    assert counts(html, "table-texts") == {
        "Answered with a topic's summary": 1, "Answered with the menu": 2, "HELP": 1, "Not understood": 1,
        "Opt-outs (STOP)": 1, "Opt-ins again (START)": 1}
    tables, columns = tables_in(html)
    # Topic ids shown by their titles in the live menu.
    assert tables["table-topics"]["The intrathecal baclofen pump"] == ["1", "1", "1"]
    assert tables["table-topics"]["Dorsal rhizotomy"] == ["1", "0", "0"]
    assert tables["table-topics"]["The main menu"][0] == "4"
    assert columns["table-per-day"] == ["Day", "Calls (en-US)", "Calls (es-US)", "Texts (en-US)",
                                        "Texts (es-US)", "Texts (no language)"]
    per_day = tables["table-per-day"]
    assert list(per_day) == [(TODAY - timedelta(days=n)).isoformat() for n in range(6, -1, -1)]
    # Four English calls; four English texts (pump, menu, xyzzy plugh, HELP), one Spanish, and STOP
    # and START in no language (an opt-out is no conversation's).
    assert per_day[TODAY.isoformat()] == ["4", "0", "4", "1", "2"]
    assert all(cells == ["0"] * 5 for day, cells in per_day.items() if day != TODAY.isoformat())
    assert f"From {(TODAY - timedelta(days=6)).isoformat()} to {TODAY.isoformat()} (7 UTC days)" in html
    assert "UTC" in html and 'id="dashboard-data"' in html


def test_the_period_picker_and_a_custom_range(used):
    app, client = used
    assert len(tables_in(page(client, "?period=30"))[0]["table-per-day"]) == 30
    first, last = (TODAY - timedelta(days=2)).isoformat(), TODAY.isoformat()
    html = page(client, f"?period=custom&since={first}&until={last}")
    assert list(tables_in(html)[0]["table-per-day"]) == [(TODAY - timedelta(days=n)).isoformat()
                                                         for n in (2, 1, 0)]
    assert counts(html, "table-summary")["Calls"] == 4
    assert f'value="{first}"' in html and 'value="custom" checked' in html
    # Ten days on, the last 7 days hold nothing and the last 30 still hold everything.
    move_clock(app, client, 10)
    assert counts(page(client, "?period=30"), "table-summary")["Texts"] == 7
    empty = page(client)
    start, end = (TODAY + timedelta(days=4)).isoformat(), (TODAY + timedelta(days=10)).isoformat()
    assert f"No calls or texts from {start} to {end}." in empty
    assert "table-summary" not in empty and "dashboard-data" not in empty


@pytest.mark.parametrize(("query", "message"), [
    ("?period=custom&since=2026-13-01&until=2026-12-01", "The first day is not a date"),
    ("?period=custom&since=2026-11-01&until=yesterday", "The last day is not a date"),
    ("?period=custom&since=2026-11-10&until=2026-11-01", "The first day (2026-11-10) is after the last day"),
    ("?period=custom&since=2024-01-01&until=2026-01-01", "A custom range is at most 366 days"),
    ("?period=custom&since=2026-11-10", "A custom range needs both a first and a last day"),
    ("?period=90", "Choose the last 7 days, the last 30 days or a custom range"),
])
def test_bad_periods_say_what_is_wrong(query, message, tmp_path):
    app = console_app()
    add_account(app, "vera", "viewer")
    client = app.test_client()
    sign_in(client, "vera")
    html = page(client, query, status=400)
    assert message in html and 'role="alert"' in html
    response = client.get("/console/dashboard.csv" + query)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_a_year_long_range_is_allowed_and_an_empty_one_says_so():
    app = console_app()
    add_account(app, "vera", "viewer")
    client = app.test_client()
    sign_in(client, "vera")
    html = page(client, "?since=2025-01-01&until=2025-12-31")
    assert "No calls or texts from 2025-01-01 to 2025-12-31." in html
    assert "(365 UTC days)" in html


def test_calls_in_closed_hours_are_counted(tmp_path):
    path = tmp_path / "menus.yaml"
    path.write_text(MENUS.read_text() + '\nhours:\n  time_zone: America/Kentucky/Louisville\n'
                    '  monday: "08:00-17:00"\n  tuesday: closed\n  wednesday: closed\n  thursday: closed\n'
                    '  friday: closed\n  saturday: closed\n  sunday: closed\n')
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=timezone.utc)
    app = create_app(environment(IVR_CONSOLE="1", IVR_MENUS_FILE=str(path)), clock=lambda: saturday)
    from conftest import Call

    for _ in range(3):
        call = Call(app.test_client())
        call.start()
        call.press("0")  # scheduling is closed: the closed message, no transfer
    app.extensions[USAGE].flush()
    add_account(app, "vera", "viewer")
    client = app.test_client()
    sign_in(client, "vera")
    summary = counts(page(client), "table-summary")
    assert summary["Calls"] == 3 and summary["Calls in closed hours"] == 3
    assert summary["Transfers to a person"] == 0


def test_the_csv_is_what_is_shown(used):
    app, client = used
    response = client.get("/console/dashboard.csv?period=30")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    first = (TODAY - timedelta(days=29)).isoformat()
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="line-usage-{first}-to-{TODAY.isoformat()}.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["table", "row", "column", "count"]
    got = {(t, r, c): int(n) for t, r, c, n in rows[1:]}
    html = page(client, "?period=30")
    tables, columns = tables_in(html)
    # Every count of every table on the page, and nothing else.
    shown = {}
    for table_id, table in tables.items():
        caption = {"table-summary": "The period in numbers"}.get(table_id)
        for row, cells in table.items():
            for column, cell in zip(columns[table_id][1:], cells, strict=True):
                shown[(table_id, row, column)] = int(cell)
        if caption:
            assert got[(caption, "Calls", "Count")] == 4
    assert sorted(got.values()) == sorted(shown.values())
    assert len(got) == len(shown)
    assert got[("Calls and texts per day, by language", TODAY.isoformat(), "Calls (en-US)")] == 4
    assert got[("Transfers to a person, by outcome", "busy", "Transfers")] == 1
    # The page's CSV link asks for the same period.
    assert 'href="/console/dashboard.csv?period=30"' in html
    move_clock(app, client, 100)
    empty = client.get("/console/dashboard.csv")
    assert empty.status_code == 200 and empty.get_data(as_text=True).strip() == "table,row,column,count"


def test_no_number_or_words_on_the_page_or_in_the_csv(used):
    app, client = used
    html = page(client, "?period=30")
    text = client.get("/console/dashboard.csv?period=30").get_data(as_text=True)
    for secret in SECRETS:
        assert secret.lower() not in html.lower(), secret
        assert secret.lower() not in text.lower(), secret


def test_every_role_may_see_it_and_nobody_signed_out():
    app = console_app()
    anonymous = app.test_client()
    for path in ("/console/dashboard", "/console/dashboard.csv"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/console/sign-in" in response.headers["Location"]
    for role in ("viewer", "editor", "clinician", "admin"):
        add_account(app, f"who-{role}", role)
        client = app.test_client()
        sign_in(client, f"who-{role}")
        assert client.get("/console/dashboard").status_code == 200
        assert client.get("/console/dashboard.csv").status_code == 200
    assert app.view_functions["console.dashboard"].console_role == "viewer"
    assert app.view_functions["console.dashboard_csv"].console_role == "viewer"


def test_the_page_has_no_inline_script_or_style(used):
    app, client = used
    response = client.get("/console/dashboard")
    html = response.get_data(as_text=True)
    assert "style=" not in html and "<style" not in html
    scripts = html.count("<script")
    assert scripts == (html.count('<script src="/console/static/')
                       + html.count('<script type="application/json"'))
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
