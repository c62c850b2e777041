"""The line serves the newest published menu version in its database: the deployed file is published
once at start, every worker switches to a newly published version within IVR_RELOAD_SECONDS, and one
that cannot be loaded leaves the last good version served, said so in /healthz."""

from __future__ import annotations

import time

import pytest
from conftest import MENUS, Texter, close_app, environment

from ivr import create_app
from ivr.live_menu import LiveMenu
from ivr.storage.versions import CLI_ACTOR, Drafts, Versions, open_versions, sha256_of

CASTING = "Casting: if used, a cast would usually be in place for one week only"
SHORTER = MENUS.read_bytes().replace(b"Casting: if used,", b"Casting, version two,")


def versions_of(app) -> Versions:
    return Versions.for_store(app.extensions["ivr"].store)


def health(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200
    return response.get_json()


def test_the_deployed_file_is_published_once_however_many_apps_start():
    first = create_app(environment())
    second = create_app(environment())  # another worker, or a restart: the file is in the history
    listed = versions_of(second).list()
    assert [(v.id, v.state, v.source, v.created_by) for v in listed] == \
        [(1, "published", "deployed file", "(deployed file)")]
    assert listed[0].sha256 == sha256_of(MENUS.read_bytes())
    for app in (first, second):
        menu = health(app.test_client())["menu"]
        assert (menu["version"], menu["sha256"], menu["source"]) == (1, listed[0].sha256, "menu version 1")


def test_a_version_published_through_another_worker_is_heard_on_the_next_request():
    # Two app objects on one database are two workers: each checks the database on its own.
    env = environment(IVR_RELOAD_SECONDS="0")
    serving, publishing = create_app(env), create_app(env)
    texter = Texter(serving.test_client())
    assert texter.send("casting").startswith(CASTING)
    version, _ = versions_of(publishing).publish_new(SHORTER, source="cli", by=CLI_ACTOR, now=time.time())
    assert texter.send("casting").startswith("Casting, version two,")
    menu = health(serving.test_client())["menu"]
    assert (menu["version"], menu["sha256"]) == (2, sha256_of(SHORTER))
    assert health(serving.test_client())["file_on_disk_served"] is False  # menus.yaml is version 1
    assert version.id == 2


def test_a_worker_looks_at_most_every_interval(tmp_path):
    path = tmp_path / "menus.yaml"
    path.write_bytes(MENUS.read_bytes())
    app = create_app(environment(IVR_MENUS_FILE=str(path)))
    versions = versions_of(app)
    now = [100.0]
    live = LiveMenu(path, interval=2.0, clock=lambda: now[0], versions=versions)
    first = live.menu
    assert live.status().version == 1
    versions.publish_new(SHORTER, source="cli", by=CLI_ACTOR, now=time.time())
    now[0] += 1.9
    assert live.menu is first  # not looked yet
    now[0] += 0.1
    assert live.menu.nodes["casting"].text.startswith("Casting, version two,")
    second = live.menu
    now[0] += 5.0
    assert live.menu is second  # nothing newer: the same Menu, caches stay warm


def test_a_published_version_that_cannot_be_loaded_leaves_the_last_good_one_served():
    env = environment(IVR_RELOAD_SECONDS="0")
    app, other = create_app(env), create_app(env)
    client = app.test_client()
    texter = Texter(client)
    # As a newer line's schema would look to this one: a key it does not know.
    newer = MENUS.read_bytes().replace(b"\nnodes:\n", b"\nfuture_section: true\nnodes:\n", 1)
    line = newer.decode().splitlines().index("future_section: true") + 1
    versions_of(other).publish_new(newer, source="console", by="carol", now=time.time())
    assert texter.send("casting").startswith(CASTING)
    shown = health(client)
    assert shown["menu"]["version"] == 1
    assert shown["last_reload_error"].startswith("menu version 2 is published but cannot be loaded here")
    assert f"menu version 2:{line}:1: error" in shown["last_reload_error"]
    assert app.extensions["ivr"].live_menu.status().last_error == shown["last_reload_error"]
    # The next good version is served, and the error goes.
    versions_of(other).publish_new(SHORTER, source="console", by="carol", now=time.time())
    assert texter.send("casting").startswith("Casting, version two,")
    shown = health(client)
    assert shown["menu"]["version"] == 3 and shown["last_reload_error"] is None


def test_an_edited_file_is_published_as_a_deployed_file_version(tmp_path):
    path = tmp_path / "menus.yaml"
    path.write_bytes(MENUS.read_bytes())
    env = environment(IVR_MENUS_FILE=str(path), IVR_RELOAD_SECONDS="0")
    app, other = create_app(env), create_app(env)
    path.write_bytes(SHORTER)
    assert Texter(app.test_client()).send("casting").startswith("Casting, version two,")
    # The other worker noticed the same edit: it finds it recorded, and serves it.
    assert Texter(other.test_client()).send("casting").startswith("Casting, version two,")
    assert [(v.id, v.state, v.source) for v in versions_of(app).list()] == \
        [(2, "published", "deployed file"), (1, "retired", "deployed file")]
    # Content published before is not published again by a file: a restart with an old file, or
    # an old machine, never undoes a newer publish.
    path.write_bytes(MENUS.read_bytes())
    assert Texter(app.test_client()).send("casting").startswith("Casting, version two,")
    assert health(app.test_client())["file_on_disk_served"] is False
    assert len(versions_of(app).list()) == 2


def test_a_restart_serves_the_published_version_not_the_file():
    first = create_app(environment())
    versions_of(first).publish_new(SHORTER, source="console", by="carol", now=time.time())
    restarted = create_app(environment())
    assert Texter(restarted.test_client()).send("casting").startswith("Casting, version two,")
    assert health(restarted.test_client())["menu"]["version"] == 2


def test_a_new_deployed_file_is_published_at_start(tmp_path):
    create_app(environment())
    path = tmp_path / "menus.yaml"
    path.write_bytes(SHORTER)
    deployed = create_app(environment(IVR_MENUS_FILE=str(path)))
    assert Texter(deployed.test_client()).send("casting").startswith("Casting, version two,")
    assert [v.state for v in versions_of(deployed).list()] == ["published", "retired"]


@pytest.fixture
def postgres_url():
    from conftest import fresh_postgres_database

    yield from fresh_postgres_database()


def _serve_texts(url, requests, replies):
    # A worker of its own: a separate process, with its own app and connections.
    from conftest import Texter, environment

    from ivr import create_app

    app = create_app(environment(DATABASE_URL=url, IVR_RELOAD_SECONDS="1"))
    texter = Texter(app.test_client())
    replies.put("ready")
    while (body := requests.get(timeout=60)) is not None:
        replies.put(texter.send(body))


def test_two_processes_on_postgresql_serve_a_version_published_by_either(postgres_url, monkeypatch):
    import multiprocessing

    from ivr.storage.sql import upgrade

    upgrade(postgres_url)
    context = multiprocessing.get_context("spawn")
    requests, replies = context.Queue(), context.Queue()
    worker = context.Process(target=_serve_texts, args=(postgres_url, requests, replies))
    worker.start()
    try:
        assert replies.get(timeout=60) == "ready"
        here = create_app(environment(DATABASE_URL=postgres_url, IVR_RELOAD_SECONDS="1"))
        versions, close = open_versions(postgres_url)
        try:
            assert [v.id for v in versions.list()] == [1]  # both started with the same file
            published = time.monotonic()
            versions.publish_new(SHORTER, source="cli", by=CLI_ACTOR, now=time.time())
        finally:
            close()
        heard = None
        while time.monotonic() - published < 10:
            requests.put("casting")
            heard = replies.get(timeout=30)
            if heard.startswith("Casting, version two,"):
                break
            time.sleep(0.1)
        took = time.monotonic() - published
        # IVR_RELOAD_SECONDS is 1: the next request after it, with room for a busy test machine.
        assert heard.startswith("Casting, version two,") and took < 4, took
        print(f"served by the other process {took:.2f} s after publishing")
        time.sleep(1.1)  # this process's own interval has passed too
        assert Texter(here.test_client()).send("casting").startswith("Casting, version two,")
        here.extensions["ivr_usage"].flush()  # while the database is still there
        close_app(here)
    finally:
        requests.put(None)
        worker.join(timeout=30)
    assert worker.exitcode == 0


def test_a_worker_forked_later_serves_the_newest_version_on_its_first_request(tmp_path):
    """granian forks a replaced worker from the master, which loaded the menu at start-up."""
    import copy

    app = create_app(environment())
    versions = versions_of(app)
    master = LiveMenu(MENUS, interval=0, versions=versions)
    versions.publish_new(SHORTER, source="console", by="carol", now=time.time())
    recycled = copy.copy(master)  # still holds the start-up version
    assert recycled.menu.nodes["casting"].text.startswith("Casting, version two,")
    assert recycled.status().version == 2


def test_a_worker_behind_falls_back_to_the_version_published_before_the_one_it_cannot_load():
    # A worker with no request while version 2 was published, asked only after version 3 (which it
    # cannot load): it serves version 2, as the other workers do, not the retired version 1.
    app = create_app(environment())
    versions = versions_of(app)
    now = [100.0]
    behind = LiveMenu(MENUS, interval=1.0, clock=lambda: now[0], versions=versions)
    versions.publish_new(SHORTER, source="console", by="carol", now=time.time())
    newer = MENUS.read_bytes().replace(b"\nnodes:\n", b"\nfuture_section: true\nnodes:\n", 1)
    versions.publish_new(newer, source="console", by="carol", now=time.time())
    now[0] += 1.0
    assert behind.menu.nodes["casting"].text.startswith("Casting, version two,")
    status = behind.status()
    assert status.version == 2
    assert status.last_error.startswith("menu version 3 is published but cannot be loaded here; "
                                        "still serving menu version 2")
    # Rolled back to the version it serves: nothing to load, and the error goes.
    Drafts(versions).roll_back(2, by="carol", now=time.time(), why="version 3 needs a newer line")
    now[0] += 1.0
    assert behind.menu.nodes["casting"].text.startswith("Casting, version two,")
    assert (behind.status().version, behind.status().last_error) == (2, None)
