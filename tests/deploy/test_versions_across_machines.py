"""Two machines of the line, each the Procfile's real web server in a process of its own, on one
PostgreSQL database: a version approved and published from the console's storage is heard on both
within a few seconds, a rollback likewise, and a published version a machine cannot load (as a newer
release might write) leaves it serving its last good version, said so in /healthz."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from urllib.request import urlopen

import pytest
from conftest import MENUS, ROOT, fresh_postgres_database, spoken_text
from test_server import HOST, free_port, server_env, signed_voice, wait_for_answer, web_command

from ivr.storage.sql import upgrade
from ivr.storage.versions import Drafts, open_versions, sha256_of

RELOAD_SECONDS = 1
# The next request after IVR_RELOAD_SECONDS hears it; the rest is room for a busy test machine.
HEARD_WITHIN = 4.0

FIRST = MENUS.read_bytes()
GREETING = "Thank you for calling the Spasticity Clinic."
SECOND_GREETING = "Welcome to the Spasticity Clinic, version two."
SECOND = FIRST.replace(b"greeting: Thank you for calling the {name}.",
                       b"greeting: Welcome to the {name}, version two.", 1)
FOURTH_GREETING = "Hello from the Spasticity Clinic, version four."
FOURTH = FIRST.replace(b"greeting: Thank you for calling the {name}.",
                       b"greeting: Hello from the {name}, version four.", 1)
# As a newer release's console might write it: a top-level section this release does not know.
NEWER = FIRST.replace(b"\nphones:\n", b"\nrecordings:\n  greeting: welcome.mp3\n\nphones:\n", 1)
NEWER_LINE = NEWER.decode().splitlines().index("recordings:") + 1


@pytest.fixture
def postgres_url():
    url = next(database := fresh_postgres_database())
    upgrade(url)  # the release phase's `ivr db upgrade`
    yield url
    next(database, None)  # drops it


@pytest.fixture
def drafts(postgres_url):
    """The console's storage on the same database: what staff publish through a machine."""
    versions, close = open_versions(postgres_url)
    yield Drafts(versions)
    close()


@contextmanager
def machines(tmp_path: Path, url: str, names: tuple[str, ...] = ("a", "b")):
    """Start one web server per name, together, each with its own folder (as separate machines have)
    but the same database and secrets; yields {name: port}, and kills them all at the end."""
    secret = secrets.token_hex(32)
    started: dict[str, tuple[int, subprocess.Popen, Path]] = {}
    try:
        for name in names:
            folder = tmp_path / name
            folder.mkdir()
            port = free_port()
            env = server_env(folder, port)
            env.update(DATABASE_URL=url, IVR_RELOAD_SECONDS=str(RELOAD_SECONDS), IVR_SECRET_KEY=secret)
            log = folder / "server.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(["bash", "-c", web_command()], cwd=ROOT, env=env, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            started[name] = (port, proc, log)
        for name, (port, proc, log) in started.items():
            wait_for_answer(port, proc,
                            lambda name=name, log=log: f"machine {name} exited:\n{log.read_text()}",
                            lambda name=name, log=log: f"machine {name} is silent:\n{log.read_text()}")
        yield {name: port for name, (port, _, _) in started.items()}
    finally:
        for _, proc, _ in started.values():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def heard(port: int) -> str:
    """What a caller hears first on this machine: a signed /voice call over real HTTP."""
    status, body = signed_voice(port, timeout=5)
    assert status == 200, body
    return spoken_text(ET.fromstring(body))


def health(port: int) -> dict:
    with urlopen(f"http://{HOST}:{port}/healthz", timeout=5) as response:
        assert response.status == 200
        return json.load(response)


def seconds_until_heard(port: int, words: str, since: float) -> float:
    """Call until a caller hears `words`; seconds since `since`. Then a few more calls, so that every
    worker of the machine (each checks the database on its own) is seen to say them too."""
    while not heard(port).startswith(words):
        assert time.monotonic() - since < HEARD_WITHIN, f"{words!r} not heard on :{port} in time"
        time.sleep(0.05)
    took = time.monotonic() - since
    for _ in range(4):
        assert heard(port).startswith(words)
    return took


def publish_through_console(drafts: Drafts, data: bytes, base_id: int) -> int:
    """An editor's draft, a clinician's approval on its sha256, published: as the console does it."""
    draft = drafts.start(data, by="eddie", now=time.time(), base_id=base_id)
    drafts.approve(draft.id, sha256=draft.sha256, by="claire", now=time.time())
    drafts.publish(draft.id, sha256=draft.sha256, by="eddie", now=time.time())
    return draft.id


def test_a_publish_and_a_rollback_reach_every_machine(tmp_path, postgres_url, drafts, capsys):
    with machines(tmp_path, postgres_url) as ports:
        assert [(v.id, v.state) for v in drafts.versions.list()] == [(1, "published")]  # one file, once
        for port in ports.values():
            assert heard(port).startswith(GREETING)
            assert health(port)["menu"]["version"] == 1

        published = time.monotonic()
        second = publish_through_console(drafts, SECOND, base_id=1)
        delays = {name: seconds_until_heard(port, SECOND_GREETING, published)
                  for name, port in ports.items()}
        for port in ports.values():
            menu = health(port)["menu"]
            assert (menu["version"], menu["sha256"]) == (second, sha256_of(SECOND))

        rolled_back = time.monotonic()
        drafts.roll_back(1, by="eddie", now=time.time(), why="families asked for the old greeting")
        back = {name: seconds_until_heard(port, GREETING, rolled_back) for name, port in ports.items()}
        for port in ports.values():
            shown = health(port)
            assert (shown["menu"]["version"], shown["menu"]["sha256"]) == (1, sha256_of(FIRST))
            assert shown["last_reload_error"] is None
    with capsys.disabled():
        print("\npublished, heard on " + ", ".join(f"{n} after {s:.2f} s" for n, s in delays.items()) +
              "; rolled back, heard on " + ", ".join(f"{n} after {s:.2f} s" for n, s in back.items()))


def test_a_version_a_machine_cannot_load_leaves_it_serving_its_last_good_one(tmp_path, postgres_url,
                                                                           drafts, capsys):
    with machines(tmp_path, postgres_url) as ports:
        second = publish_through_console(drafts, SECOND, base_id=1)
        for port in ports.values():
            seconds_until_heard(port, SECOND_GREETING, time.monotonic())

        published = time.monotonic()
        newer = publish_through_console(drafts, NEWER, base_id=second)
        port = ports["b"]
        while (shown := health(port))["last_reload_error"] is None:
            assert time.monotonic() - published < HEARD_WITHIN, "machine b never noticed the new version"
            time.sleep(0.05)
        noticed = time.monotonic() - published
        # Calls are still answered, with the last good version's words, by every worker.
        for _ in range(6):
            assert heard(port).startswith(SECOND_GREETING)
        time.sleep(RELOAD_SECONDS + 0.1)  # every worker has looked and failed by now
        shown = health(port)
        assert (shown["menu"]["version"], shown["menu"]["sha256"]) == (second, sha256_of(SECOND))
        error = shown["last_reload_error"]
        assert error.startswith(f"menu version {newer} is published but cannot be loaded here; "
                                f"still serving menu version {second}")
        assert f"menu version {newer}:{NEWER_LINE}:1: error" in error and "recordings" in error
        assert shown["versions_check_error"] is None  # the database answers: it is the version

        # Brought back to the version the machine serves: nothing to load, and no error left.
        drafts.roll_back(second, by="eddie", now=time.time(), why="version 3 needs a newer line")
        time.sleep(RELOAD_SECONDS + 0.1)
        for _ in range(4):
            assert heard(port).startswith(SECOND_GREETING)
            shown = health(port)
            assert shown["menu"]["version"] == second and shown["last_reload_error"] is None

        # A loadable version published after it is served.
        again = time.monotonic()
        fourth = publish_through_console(drafts, FOURTH, base_id=second)
        took = seconds_until_heard(port, FOURTH_GREETING, again)
        shown = health(port)
        assert (shown["menu"]["version"], shown["last_reload_error"]) == (fourth, None)
    with capsys.disabled():
        print(f"\nmachine b said in /healthz it could not load version {newer} after {noticed:.2f} s; "
              f"heard version {fourth} after {took:.2f} s")
