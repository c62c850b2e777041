"""Every page of the console, found from the app's routes (so a new page is covered without being
listed): it answers a signed-in admin, passes axe-core, and shows no caller's number, no text's
words and no speech, after real calls and texts through the webhooks."""

from __future__ import annotations

import pytest
from browser_helpers import axe_violations, keyboard_sign_in
from conftest import Call, Texter
from console_helpers import add_account
from sqlalchemy import create_engine, text

from ivr.usage import EXTENSION as USAGE

pytestmark = pytest.mark.browser

FAMILY = "+15025550187"
# The number in every way a page might write it.
NUMBER_FORMS = (FAMILY, FAMILY[1:], FAMILY[2:], "502-555-0187", "(502) 555-0187", "502.555.0187",
                "502 555 0187")
TEXT_WORDS = "Zebrafish marmalade question"
SPOKEN_WORDS = "purple elephant"


def console_pages(app) -> list[str]:
    """The paths of every console page a browser can open: GET routes without parameters."""
    paths = []
    for rule in app.url_map.iter_rules():
        if (rule.endpoint.startswith("console.") and rule.endpoint != "console.static"
                and "GET" in rule.methods and not rule.arguments):
            paths.append(rule.rule)
    return sorted(paths)


def families_use_the_line(app) -> None:
    client = app.test_client()
    call = Call(client, caller=FAMILY)
    call.start()
    call.press("1")
    call.say(SPOKEN_WORDS)
    call.press("0")
    Texter(app.test_client(), number=FAMILY).send(TEXT_WORDS)
    Texter(app.test_client(), number=FAMILY).send("MENU")
    app.extensions[USAGE].flush()
    engine = create_engine(app.extensions["ivr"].settings.database_url)
    with engine.connect() as connection:
        kinds = dict(connection.execute(text(
            "SELECT kind, COUNT(*) FROM events GROUP BY kind")).all())
    engine.dispose()
    # The calls and texts really reached the line, so the pages had something to leak.
    assert kinds["call_started"] == 1 and kinds["text_received"] == 2 and kinds["answered"] >= 2


def test_every_console_page_is_accessible_and_keeps_families_private(served, page):
    app, base = served
    families_use_the_line(app)
    add_account(app, "root", "admin")
    keyboard_sign_in(page, base, "root")
    paths = console_pages(app)
    assert {"/console/", "/console/accounts", "/console/audit"} <= set(paths)
    for path in paths:
        response = page.request.get(base + path)
        assert response.status == 200, path
        body = response.text()
        for shown in (*NUMBER_FORMS, TEXT_WORDS, "Zebrafish", SPOKEN_WORDS, "elephant"):
            assert shown not in body, (path, shown)
        if response.headers["content-type"].startswith("text/html"):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            assert axe_violations(page) == [], path
            # What scripts added to the page after it loaded is checked too.
            rendered = page.content()
            for shown in (*NUMBER_FORMS, "Zebrafish", "elephant"):
                assert shown not in rendered, (path, shown)
