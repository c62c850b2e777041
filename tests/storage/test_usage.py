"""Usage events: whole signed calls and texts through the webhooks, then `ivr usage` counts them; the
events never hold a number, a text body or what a caller said; the buffer's batches and failures."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest
from conftest import CALLER, ROOT, TOKEN, Call, Texter, close_app, environment, signed_post
from sqlalchemy import create_engine, text

from ivr import create_app
from ivr.cli import main
from ivr.storage.sql import upgrade
from ivr.usage import EXTENSION

SPANISH_TEXTER = "+15025550177"
SAID = ("rhizotomy", "purple elephant")
BODIES = ("pump", "menu", "xyzzy plugh", "HELP", "STOP", "START", "ESPAÑOL")


@pytest.fixture
def line(database_url, twilio, monkeypatch):
    """The app on each backend (a fresh database), with its usage recorder; `ivr usage` reads the same."""
    upgrade(database_url)
    if database_url.startswith("sqlite"):
        env = environment(IVR_DATABASE=database_url.removeprefix("sqlite:///"), DATABASE_URL="")
    else:
        env = environment(DATABASE_URL=database_url)
    env["TWILIO_API_BASE_URL"] = twilio.base_url
    for name in ("DATABASE_URL", "IVR_DATABASE"):
        monkeypatch.setenv(name, env.get(name, ""))
    app = create_app(env)
    yield app, database_url
    close_app(app)


def status(client, call: Call, duration: str) -> None:
    params = {**call.params, "CallStatus": "completed", "CallDuration": duration}
    assert signed_post(client, "/voice/status", params).status_code == 204


def report(capsys, *args: str) -> dict:
    assert main(["usage", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def use_the_line(client) -> list[Call]:
    a = Call(client)  # main -> pump summary -> text me -> scheduling, answered
    a.start()
    a.press("2")
    a.press("1")
    a.press("0")
    a.dial_ends("completed", "60")
    status(client, a, "120")
    b = Call(client)  # speech understood, then not; hangs up at the rhizotomy summary
    b.start()
    b._post(b.gather.get("action"), SpeechResult=SAID[0], Confidence="0.9")
    b._post(b.gather.get("action"), SpeechResult=SAID[1], Confidence="0.9")
    status(client, b, "30")
    c = Call(client)  # a wrong key and silence at the main menu, then hangs up there
    c.start()
    c.press("7")
    c.wait()
    status(client, c, "20")
    d = Call(client)  # straight to scheduling: busy
    d.start()
    d.press("0")
    d.dial_ends("busy")
    texter = Texter(client)
    for body in BODIES[:-1]:
        texter.send(body)
    Texter(client, number=SPANISH_TEXTER).send(BODIES[-1])
    return [a, b, c, d]


def test_calls_and_texts_are_counted_exactly(line, capsys):
    app, _ = line
    client = app.test_client()
    use_the_line(client)
    app.extensions[EXTENSION].flush()
    got = report(capsys)
    assert got["calls"] == {"total": 4, "by_language": {"en-US": 4}, "closed_hours": 0,
                            "closed_messages": 0, "ended": 3, "seconds": 170}
    assert got["transfers"] == {"answered": 1, "busy": 1}
    assert got["ended_at"] == {"rhizotomy": 1, "main": 1}
    assert got["answers"] == {"key": 4, "speech": 2, "silence": 1, "invalid": 1}
    assert got["speech"] == {"understood": 1, "not_understood": 1}
    assert got["text_me"] == {"sent": 1, "refused": {}}
    assert got["topics"]["baclofen_pump"] == {"listens": 1, "texted": 1, "text_me_sent": 1}
    assert got["topics"]["rhizotomy"] == {"listens": 1, "texted": 0, "text_me_sent": 0}
    assert got["topics"]["main"]["listens"] == 4
    assert got["topics"]["scheduling"]["listens"] == 2
    texts = got["texts"]
    assert (texts["total"], texts["summary"], texts["menu"], texts["help"], texts["not_understood"],
            texts["opt_out"], texts["opt_in"]) == (7, 1, 2, 1, 1, 1, 1)
    assert texts["by_language"] == {"en-US": 4, "es-US": 1}
    assert texts["segments"] >= 5
    [(day, per_day)] = got["days"].items()
    assert per_day["calls"] == got["calls"] and per_day["ended_at"] == got["ended_at"]
    assert report(capsys, "--until", "2000-01-01")["calls"]["total"] == 0
    assert report(capsys, "--since", day, "--until", day)["transfers"] == got["transfers"]
    assert main(["usage", "--format", "csv"]) == 0
    assert "all,transfers,busy,1" in capsys.readouterr().out
    assert main(["usage"]) == 0
    assert "ended_at" in capsys.readouterr().out


def test_no_number_body_speech_or_sid_is_kept(line):
    app, url = line
    calls = use_the_line(app.test_client())
    app.extensions[EXTENSION].flush()
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(text("SELECT * FROM events"))]
    engine.dispose()
    # The bodies that are not also the names of kinds or nodes (menu, pump...), which the rows hold.
    secrets = [CALLER, CALLER[2:], SPANISH_TEXTER, SPANISH_TEXTER[2:], SAID[1], "xyzzy", "ESPAÑOL",
               *(call.params["CallSid"] for call in calls)]
    assert len(rows) > 30
    for row in rows:
        for value in row:
            for secret in secrets:
                if isinstance(value, str):
                    assert secret.lower() not in value.lower(), (row, secret)


def test_a_failing_database_drops_and_counts_events_and_the_webhook_still_answers(line, caplog):
    app, url = line
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE events"))
    engine.dispose()
    call = Call(app.test_client())
    call.start()
    call.press("2")
    assert "pump" in call.heard.lower()
    recorder = app.extensions[EXTENSION]
    with caplog.at_level(logging.ERROR, logger="ivr"):
        recorder.flush()
    # The call started, the main menu entered, key 2, the pump summary entered.
    assert recorder.dropped == 4 and recorder.written == 0
    assert "dropped" in caplog.text


def test_events_are_written_in_batches_by_the_background_thread(tmp_path):
    from ivr.storage.sql import SqliteStore
    from ivr.usage import Recorder

    store = SqliteStore(tmp_path / "line.sqlite3", b"k" * 32)
    recorder = Recorder(store, b"e" * 32, batch=10, interval=60)
    for _ in range(10):
        recorder.record("node_entered", "CA" + "1" * 32, "main", "en-US")
    for _ in range(100):
        if recorder.written == 10:
            break
        import time

        time.sleep(0.02)
    assert recorder.written == 10  # the tenth woke the writer long before its minute


def test_buffered_events_are_written_on_a_graceful_shutdown(tmp_path):
    path = tmp_path / "line.sqlite3"
    script = textwrap.dedent(f"""
        from ivr.storage.sql import SqliteStore
        from ivr.usage import Recorder
        recorder = Recorder(SqliteStore({str(path)!r}, b"k" * 32), b"e" * 32, interval=3600)
        for n in range(25):
            recorder.record("call_started", "CA%032d" % n, "main", "en-US", "open")
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=60)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM events")).scalar() == 25
    engine.dispose()


def test_status_callback_is_signed(line):
    app, _ = line
    response = app.test_client().post("/voice/status", data={"CallSid": "CA" + "0" * 32,
                                                             "CallStatus": "completed"})
    assert response.status_code == 403
    assert TOKEN


def test_a_forked_child_starts_its_own_buffer_and_writer(tmp_path):
    path = tmp_path / "line.sqlite3"
    script = textwrap.dedent(f"""
        import os, time
        from ivr.storage.sql import SqliteStore
        from ivr.usage import Recorder
        recorder = Recorder(SqliteStore({str(path)!r}, b"k" * 32), b"e" * 32, interval=0.05)
        recorder.record("call_started", "CA1", "main", "en-US", "open")  # the parent's, buffered
        recorder._wake.clear()
        pid = os.fork()
        if pid == 0:
            assert recorder._buffer == [] and recorder._thread is None
            recorder.record("text_received", "SM1", None, None, "opt_out")
            time.sleep(0.5)
            os._exit(0 if recorder.written == 1 else 3)
        _, code = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(code) == 0, code
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=60)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        kinds = sorted(k for (k,) in connection.execute(text("SELECT kind FROM events")))
    engine.dispose()
    assert kinds == ["call_started", "text_received"]  # each once: the child did not copy the parent's


def test_calls_in_closed_hours_and_the_closed_message_are_counted(tmp_path, monkeypatch, capsys):
    from test_hours import WITH_HOURS, utc


    menus = tmp_path / "menus.yaml"
    menus.write_text(WITH_HOURS)
    db = tmp_path / "line.sqlite3"
    monkeypatch.setenv("IVR_DATABASE", str(db))
    monkeypatch.setenv("DATABASE_URL", "")
    saturday = utc(2026, 11, 28, 15, 0)
    app = create_app(environment(IVR_MENUS_FILE=str(menus), IVR_DATABASE=str(db)), clock=lambda: saturday)
    call = Call(app.test_client())
    call.start()
    call.press("0")
    app.extensions[EXTENSION].flush()
    got = report(capsys)
    assert got["calls"]["closed_hours"] == 1 and got["calls"]["total"] == 1
    assert got["calls"]["closed_messages"] == 1  # pressed 0: told the hours instead of a transfer
    assert got["transfers"] == {}
