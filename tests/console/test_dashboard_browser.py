"""The dashboard end to end in headless Chromium: signed in by keyboard, it shows the counts of calls
and texts made through the signed webhooks, draws its uPlot charts, changes period by keyboard alone,
passes axe-core, downloads its CSV, and never shows a caller's number or a text's words."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from browser_helpers import axe_violations, keyboard_sign_in, serving
from console_helpers import add_account, console_app
from dashboard_helpers import SECRETS, use_the_line

from ivr.usage import EXTENSION as USAGE

pytestmark = pytest.mark.browser

TODAY = datetime.now(timezone.utc).date()


@pytest.fixture
def line(twilio):
    """The console's app after four calls and seven texts through the signed webhooks, served."""
    app = console_app(TWILIO_API_BASE_URL=twilio.base_url)
    use_the_line(app.test_client())
    app.extensions[USAGE].flush()
    add_account(app, "vera", "viewer")
    with serving(app) as base:
        yield app, base


@pytest.fixture
def page(browser):
    """A page in a fresh context with a US English locale (the date fields' order: month, day, year)."""
    context = browser.new_context(locale="en-US", timezone_id="UTC", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


def cell(page, table: str, row: str, column: int = 0) -> str:
    return page.locator(f"#{table} tbody tr").filter(has=page.locator(f'th:text-is("{row}")')) \
        .locator("td").nth(column).inner_text()


def tab_to(page, test: str, limit: int = 60) -> None:
    """Press Tab until document.activeElement passes the JavaScript `test` (of `e`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const e = document.activeElement; return !!({test}); }})()"):
            return
    pytest.fail(f"nothing matching {test} is reachable by Tab")


def test_the_dashboard_shows_the_calls_and_texts_and_draws_its_charts(line, page):
    app, base = line
    keyboard_sign_in(page, base, "vera")
    tab_to(page, "e.textContent.trim() === 'Dashboard'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == base + "/console/dashboard"
    assert cell(page, "table-summary", "Calls") == "4"
    assert cell(page, "table-summary", "Texts") == "7"
    assert cell(page, "table-summary", "Opt-outs (STOP)") == "1"
    assert cell(page, "table-summary", "Calls that ended without reaching a person") == "2"
    assert cell(page, "table-transfers", "busy") == "1"
    assert cell(page, "table-per-day", TODAY.isoformat()) == "4"
    assert cell(page, "table-topics", "The intrathecal baclofen pump", 1) == "1"
    # uPlot drew the four charts: per day, topics, transfers and the drop-off, each a canvas.
    page.wait_for_function("document.querySelectorAll('.chart-area .uplot canvas').length === 4")
    for chart in ("per-day", "topics", "transfers", "drop-off"):
        box = page.locator(f"#chart-{chart} canvas").bounding_box()
        assert box["width"] > 300 and box["height"] > 100, chart
    assert page.errors == []
    assert axe_violations(page) == []
    html = page.content()
    for secret in SECRETS:
        assert secret.lower() not in html.lower(), secret


def test_the_period_changes_by_keyboard_alone(line, page):
    app, base = line
    keyboard_sign_in(page, base, "vera")
    page.goto(base + "/console/dashboard")
    # The radio group is one Tab stop; the arrow keys move the choice, as in every browser.
    tab_to(page, "e.name === 'period'")
    assert page.evaluate("document.activeElement.value") == "7"
    page.keyboard.press("ArrowDown")
    tab_to(page, "e.textContent.trim() === 'Show'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "period=30" in page.url
    first = (TODAY - timedelta(days=29)).isoformat()
    assert page.get_by_role("heading", name=f"From {first} to {TODAY.isoformat()} (30 UTC days)").is_visible()
    assert page.locator("#table-per-day tbody tr").count() == 30
    assert cell(page, "table-summary", "Calls") == "4"
    # A custom range typed into the labelled date fields: a month in 2020, when the line was quiet.
    tab_to(page, "e.name === 'period'")
    page.keyboard.press("ArrowDown")  # Custom range
    assert page.get_by_role("radio", name="Custom range").is_checked()
    tab_to(page, "e.id === 'since'")
    page.keyboard.type("01012020")
    tab_to(page, "e.id === 'until'")
    page.keyboard.type("01312020")
    tab_to(page, "e.textContent.trim() === 'Show'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text("No calls or texts from 2020-01-01 to 2020-01-31.").is_visible()
    assert axe_violations(page) == []
    # Reversed days: said plainly, in the page, with the fields still there to fix them.
    page.get_by_label("First day (custom range)", exact=True).focus()
    page.keyboard.type("02012020")
    tab_to(page, "e.textContent.trim() === 'Show'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    alert = page.get_by_role("alert").inner_text()
    assert alert.startswith("The first day (2020-02-01) is after the last day")
    assert axe_violations(page) == []
    assert page.errors == []


def test_the_csv_link_downloads_what_is_shown(line, page):
    app, base = line
    keyboard_sign_in(page, base, "vera")
    page.goto(base + "/console/dashboard?period=30")
    tab_to(page, "e.id === 'csv-link'")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    first = (TODAY - timedelta(days=29)).isoformat()
    assert download.suggested_filename == f"line-usage-{first}-to-{TODAY.isoformat()}.csv"
    with open(download.path(), encoding="utf-8") as file:
        content = file.read()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == ["table", "row", "column", "count"]
    assert ["The period in numbers", "Calls", "Count", "4"] in rows
    assert ["Calls and texts per day, by language", TODAY.isoformat(), "Calls (en-US)", "4"] in rows
    assert len([r for r in rows if r[0] == "Calls and texts per day, by language"]) == 30 * 5
    for secret in SECRETS:
        assert secret.lower() not in content.lower(), secret


def test_signed_out_the_dashboard_asks_for_a_sign_in_and_every_role_sees_it(line, page):
    app, base = line
    page.goto(base + "/console/dashboard")
    assert page.url.startswith(base + "/console/sign-in")
    assert page.locator("#table-summary").count() == 0
    for role in ("editor", "clinician", "admin"):
        add_account(app, f"who-{role}", role)
        page.context.clear_cookies()
        keyboard_sign_in(page, base, f"who-{role}")
        page.goto(base + "/console/dashboard")
        assert cell(page, "table-summary", "Calls") == "4", role


def test_an_empty_line_says_so_and_passes_axe(browser):
    app = console_app()
    add_account(app, "vera", "viewer")
    context = browser.new_context()
    page = context.new_page()
    try:
        with serving(app) as base:
            keyboard_sign_in(page, base, "vera")
            page.goto(base + "/console/dashboard")
            first = (TODAY - timedelta(days=6)).isoformat()
            assert page.get_by_text(f"No calls or texts from {first} to {TODAY.isoformat()}.").is_visible()
            assert page.locator("canvas").count() == 0
            assert axe_violations(page) == []
    finally:
        context.close()
