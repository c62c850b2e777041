"""The line status pages with Flask's test client: every worker on the database listed with the menu it
serves, stale and other versions flagged, a broken menus.yaml shown but not served, `ivr check`'s
warnings, the clinician script in every language, the diagram, roles, and the heartbeat itself."""

from __future__ import annotations

import html
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import time

from conftest import MENUS, ROOT, Call, environment
from console_helpers import add_account, console_app, sign_in

from ivr import create_app
from ivr.console import SECURITY_HEADERS
from ivr.heartbeat import EXTENSION as HEARTBEAT
from ivr.heartbeat import FORGET_SECONDS, Heartbeat
from ivr.menufile.build import load_menus
from ivr.review.diagram import render_diagram
from ivr.review.lint import lint
from ivr.review.script import render_script
from ivr.storage.sql import upgrade
from ivr.storage.workers import Worker, Workers

ABBREVIATED = "say: Other treatments, as Dr. Lee explains."


def rows(page: str) -> list[str]:
    """The workers table's body rows, tags and all."""
    body = page.split('<table class="workers">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr class=[^>]*>.*?</tr>", body, re.S)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def wait_for(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def viewer(app):
    add_account(app, "vera", "viewer")
    return viewer_of(app)


def viewer_of(app):
    """A client signed in as vera, an account already in the database."""
    client = app.test_client()
    sign_in(client, "vera")
    return client


def workers_of(app) -> Workers:
    return app.extensions[HEARTBEAT].workers


def test_the_worker_storage_on_both_databases(database_url):
    upgrade(database_url)
    from sqlalchemy import create_engine

    engine = create_engine(database_url)

    def run(what, work, immediate=False):
        with engine.begin() as connection:
            return work(connection)

    try:
        workers = Workers(run)
        workers.beat(Worker("a", "host1", 10, 100.0, 200.0, "s" * 64, "2026-01-01T00:00:00+00:00"))
        workers.beat(Worker("b", "host2", 11, 100.0, 300.0, "t" * 64, "2026-01-01T00:01:00+00:00", "bad"))
        workers.beat(Worker("a", "host1", 10, 100.0, 400.0, "u" * 64, "2026-01-01T00:02:00+00:00"))
        assert [(w.id, w.seen, w.menu_sha256[0]) for w in workers.seen_since(0)] == [("a", 400.0, "u"),
                                                                                   ("b", 300.0, "t")]
        assert workers.seen_since(350) == [Worker("a", "host1", 10, 100.0, 400.0, "u" * 64,
                                                  "2026-01-01T00:02:00+00:00", "")]
        assert workers.count_before(350) == 1
        # A beat forgets workers not seen since forget_before, in the same transaction.
        workers.beat(Worker("c", "host3", 12, 500.0, 500.0, "v" * 64, "x"), forget_before=350.0)
        assert sorted(w.id for w in workers.seen_since(0)) == ["a", "c"]
    finally:
        engine.dispose()


def test_two_apps_on_one_database_are_two_workers_both_listed():
    first, second = console_app(), console_app()
    # A worker's heartbeat starts with its first request (here a call), never on the call's path.
    assert Call(first.test_client()).start() is not None
    one = first.extensions[HEARTBEAT]
    wait_for(lambda: one.beats >= 1)
    page = viewer(second).get("/console/status").get_data(as_text=True)
    listed = rows(page)
    assert len(listed) == 2
    mine = [row for row in listed if "This worker" in row]
    assert len(mine) == 1 and second.extensions[HEARTBEAT].id in mine[0]
    other = next(row for row in listed if row not in mine)
    assert one.id in other and f"<td>{os.getpid()}</td>" in other
    sha = first.extensions["ivr"].live_menu.status().sha256
    assert sha in other and sha[:12] in other
    assert "different version" not in page and "Stale" not in page  # same file, both fresh
    assert "All 2 worker(s) seen in the last 3 minutes serve this version." in page
    assert re.search(r"<dd>\d+ written, 0 missed", page)


def test_a_worker_not_seen_for_long_is_marked_then_no_longer_listed_then_forgotten():
    app = console_app()
    heartbeat = app.extensions[HEARTBEAT]
    now = time.time()
    sha = app.extensions["ivr"].live_menu.status().sha256
    workers_of(app).beat(Worker("gone5minutes", "old-host", 4242, now - 3600, now - 300, sha, "then"))
    workers_of(app).beat(Worker("gone1hour", "older-host", 4343, now - 7200, now - 3600, sha, "then"))
    page = viewer(app).get("/console/status").get_data(as_text=True)
    stale = next(row for row in rows(page) if "gone5minutes" in row)
    assert "Stale: not seen for 5 min" in text_of(stale)
    assert "1 worker(s) not seen for 3 minutes or more" in page
    assert "gone1hour" not in page
    assert "1 more worker(s) last seen over 15 minutes ago are not listed" in page
    # The next beat of any worker deletes the rows not seen for a day.
    workers_of(app).beat(Worker("gone2days", "oldest-host", 4444, now - 9e5, now - 2 * 86400, sha, "then"))
    assert workers_of(app).count_before(now - FORGET_SECONDS) == 1
    assert heartbeat.beat()
    remaining = {w.id for w in workers_of(app).seen_since(now - FORGET_SECONDS - 10)}
    assert remaining == {"gone5minutes", "gone1hour", heartbeat.id}
    assert workers_of(app).count_before(now - FORGET_SECONDS) == 0


def test_another_version_is_flagged(tmp_path):
    menus = tmp_path / "menus.yaml"
    menus.write_text(MENUS.read_text().replace("say: Other treatments.", ABBREVIATED))
    edited = console_app(IVR_MENUS_FILE=str(menus))
    shipped = console_app()
    edited.extensions[HEARTBEAT].beat()
    page = viewer(shipped).get("/console/status").get_data(as_text=True)
    other = next(row for row in rows(page) if edited.extensions[HEARTBEAT].id in row)
    assert "Serves a different version" in text_of(other)
    assert "1 of the 2 workers seen in the last 3 minutes serve a different version" in page
    assert edited.extensions["ivr"].live_menu.status().sha256 in other
    assert "different version" not in next(row for row in rows(page) if "This worker" in row)


def test_a_broken_file_on_disk_shows_its_problems_and_the_served_version_stays(tmp_path):
    menus = tmp_path / "menus.yaml"
    menus.write_text(MENUS.read_text())
    app = console_app(IVR_MENUS_FILE=str(menus), IVR_RELOAD_SECONDS="0")
    client = viewer(app)
    served = app.extensions["ivr"].live_menu.status().sha256
    menus.write_text(MENUS.read_text().replace("type: menu", "type: menuu", 1))
    stamp = menus.stat().st_mtime_ns + 2_000_000_000
    os.utime(menus, ns=(stamp, stamp))
    page = client.get("/console/status").get_data(as_text=True)
    assert "menus.yaml on disk has problems: it is not served." in page
    problems = html.unescape(page.split('<pre class="problems">', 1)[1].split("</pre>", 1)[0])
    assert re.search(rf"{re.escape(str(menus))}:\d+:\d+: error: ", problems), problems
    assert "menuu" in problems
    assert f'<code class="sha" id="served-sha">{served}</code>' in page
    # This worker's row (written by its heartbeat) carries the problems too, for the other workers.
    app.extensions[HEARTBEAT].beat()
    mine = workers_of(app).seen_since(0)[0]
    assert mine.menu_sha256 == served and "menus.yaml:" in mine.menu_error
    assert str(tmp_path) not in mine.menu_error
    # Another worker's page flags it, with its problems.
    other = next(row for row in rows(viewer_of(console_app()).get("/console/status").get_data(as_text=True))
                 if app.extensions[HEARTBEAT].id in row)
    assert "Its menus.yaml on disk has problems" in other and "menuu" in other
    assert "different version" not in other


def test_the_served_menus_warnings_as_ivr_check_prints_them(tmp_path):
    menus = tmp_path / "menus.yaml"
    menus.write_text(MENUS.read_text().replace("say: Other treatments.", ABBREVIATED))
    app = console_app(IVR_MENUS_FILE=str(menus))
    page = viewer(app).get("/console/status").get_data(as_text=True)
    shown = html.unescape(page.split('<pre class="problems" id="check-problems">', 1)[1].split("</pre>")[0])
    # What `ivr check` prints on stdout for the same file, line for line.
    printed = subprocess.run([sys.executable, "-m", "ivr", "check", str(menus)], capture_output=True,
                             text=True, cwd=ROOT).stdout
    assert shown.splitlines() == printed.splitlines()
    assert any(": warning: " in line and "Dr." in line for line in shown.splitlines()), shown
    assert re.match(rf"{re.escape(str(menus))}:\d+:\d+: warning: ", shown)


def test_no_warnings_says_so():
    page = viewer(console_app()).get("/console/status").get_data(as_text=True)
    assert "<code>ivr check</code> finds no problem in the version served." in page
    assert not [*load_menus(MENUS).warnings, *lint(load_menus(MENUS))]


def test_the_script_has_every_language_with_the_same_content_as_ivr_script():
    app = console_app()
    page = viewer(app).get("/console/status/script").get_data(as_text=True)
    menu = load_menus(MENUS)
    assert menu.translations  # the fixture has Spanish
    articles = re.findall(r'<article class="script" id="script-([^"]+)" lang="([^"]+)"', page)
    assert [a[0] for a in articles] == [menu.language, *menu.translations] == [a[1] for a in articles]
    for one in (menu, *menu.translations.values()):
        article = re.search(rf'<article class="script" id="script-{one.language}".*?</article>', page,
                            re.S)[0]
        cli = render_script(one, "html")
        cli_body = cli.split("<body>", 1)[1].split("</body>", 1)[0]
        # The same words in the same order; the page adds only the language after the title.
        assert text_of(article).replace(f" ({one.language})", "", 1) == text_of(cli_body)
    # The print stylesheet: no navigation, each language on its own pages.
    with app.test_client().get("/console/static/status.css") as response:
        css = response.get_data(as_text=True)
    assert "@media print" in css and "header.top" in css and "break-before: page" in css


def test_the_diagram_page_has_the_mermaid_source_and_no_inline_script():
    app = console_app()
    client = viewer(app)
    response = client.get("/console/status/diagram")
    page = response.get_data(as_text=True)
    source = html.unescape(page.split('<pre id="diagram-source">', 1)[1].split("</pre>", 1)[0])
    assert source == render_diagram(load_menus(MENUS))
    assert "<details>" in page
    # The one exception to the console's CSP: inline styles on this page; scripts stay 'self'.
    strict = SECURITY_HEADERS["Content-Security-Policy"]
    assert response.headers["Content-Security-Policy"] == strict.replace(
        "style-src 'self';", "style-src 'self' 'unsafe-inline';")
    assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    for other in ("/console/status", "/console/status/script", "/console/"):
        assert client.get(other).headers["Content-Security-Policy"] == strict
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert [s[0] for s in scripts] == [' src="/console/static/vendor/mermaid/mermaid.min.js"',
                                       ' src="/console/static/diagram.js"']
    assert all(body == "" for _, body in scripts)
    with client.get("/console/static/diagram.js") as script:
        assert script.status_code == 200


def test_roles_and_the_links():
    app = console_app()
    anonymous = app.test_client()
    for path in ("/console/status", "/console/status/script", "/console/status/diagram"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/console/sign-in" in response.headers["Location"]
    client = viewer(app)
    page = client.get("/console/status").get_data(as_text=True)
    assert 'href="/console/status/script"' in page and 'href="/console/status/diagram"' in page
    for path in ("/console/status", "/console/status/script", "/console/status/diagram"):
        assert client.get(path).status_code == 200
    for endpoint in ("console.status", "console.status_script", "console.status_diagram"):
        assert app.view_functions[endpoint].console_role == "viewer"


def test_no_caller_number_on_the_status_page():
    app = console_app()
    Call(app.test_client()).start()
    page = viewer(app).get("/console/status").get_data(as_text=True)
    assert "5550123" not in page


def test_with_the_database_down_the_heartbeat_is_skipped_and_counted_and_calls_go_on(tmp_path, caplog):
    # A PostgreSQL that is not there: the line starts (the store checks it on first use) and answers.
    down = f"postgresql://postgres@/postgres?host={tmp_path / 'no-server-here'}"
    app = create_app(environment(DATABASE_URL=down))
    heartbeat = app.extensions[HEARTBEAT]
    call = Call(app.test_client())
    assert call.start() is not None
    wait_for(lambda: heartbeat.missed >= 1)
    assert heartbeat.beats == 0
    assert call.press("1") is not None  # still answered
    assert heartbeat.beat() is False and heartbeat.missed >= 2
    heartbeat.stop()
    warnings = [r for r in caplog.records if r.getMessage().startswith("heartbeat:")]
    assert [r.levelname for r in warnings] == ["WARNING"], warnings
    assert "cannot record itself" in warnings[0].getMessage()


def test_the_heartbeat_thread_starts_with_the_first_request_and_beats_every_interval():
    app = console_app()
    heartbeat = app.extensions[HEARTBEAT]
    time.sleep(0.1)
    assert heartbeat._thread is None and heartbeat.beats == 0  # nothing before a request
    app.test_client().get("/healthz")
    wait_for(lambda: heartbeat.beats >= 1)
    heartbeat.stop()
    fast = Heartbeat(heartbeat.workers, heartbeat.live_menu, interval=0.05)
    fast.start()
    wait_for(lambda: fast.beats >= 3)
    fast.stop()
    row = next(w for w in fast.workers.seen_since(0) if w.id == fast.id)
    assert row.pid == os.getpid() and row.menu_sha256 == fast.live_menu.status().sha256


def test_a_forked_worker_gets_its_own_id_and_row(tmp_path):
    path = tmp_path / "line.sqlite3"
    script = textwrap.dedent(f"""
        import os, time
        from pathlib import Path
        from ivr.heartbeat import Heartbeat
        from ivr.live_menu import LiveMenu
        from ivr.storage.sql import SqliteStore
        from ivr.storage.workers import Workers
        store = SqliteStore({str(path)!r}, b"k" * 32)
        heartbeat = Heartbeat(Workers.for_store(store), LiveMenu(Path({str(MENUS)!r})), interval=0.05)
        parent = heartbeat.id
        pid = os.fork()
        if pid == 0:
            assert heartbeat.id != parent and heartbeat.pid == os.getpid() and heartbeat._thread is None
            heartbeat.start()
            deadline = time.monotonic() + 10
            while heartbeat.beats < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            os._exit(0 if heartbeat.beats >= 1 else 3)
        _, code = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(code) == 0, code
        rows = Workers.for_store(store).seen_since(0)
        assert [(r.pid, r.id) for r in rows] == [(pid, rows[0].id)] and rows[0].id != parent, rows
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.stdout.strip().endswith("ok"), done.stderr


def test_a_call_never_waits_for_the_heartbeat():
    app = create_app(environment())
    heartbeat = app.extensions[HEARTBEAT]
    # Another process holds the database's write lock: the heartbeat's write waits for it.
    locker = sqlite3.connect(app.extensions["ivr"].settings.database, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        call = Call(app.test_client())
        assert call.start() is not None and call.press("1") is not None
        answered = time.monotonic() - started
        assert heartbeat._thread is not None and heartbeat._thread.is_alive()
        assert heartbeat.beats == 0  # its first beat is still waiting for the lock
        assert answered < 1.0, answered
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    wait_for(lambda: heartbeat.beats >= 1)
    heartbeat.stop()
