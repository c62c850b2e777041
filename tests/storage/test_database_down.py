"""PostgreSQL stopped in the middle of a test, then started again: every call and text is still
answered, what needed the database is skipped with a kind sentence or dropped and counted, and the
line recovers by itself. The test runs a PostgreSQL server of its own, so it can stop it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import IN_CI, Call, Texter, environment

from ivr import create_app
from ivr.menufile.build import load_menus
from ivr.storage.sql import upgrade

SENT = "I have sent it to the phone you are calling from."
# The bound on one webhook answer while the database is gone: the store's timeouts are 2 s.
ANSWER_WITHIN_SECONDS = 3.5


def _binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class Server:
    """A throwaway PostgreSQL cluster on a unix socket in a temporary folder."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="ivr-pg-down-"))
        self.data = self.folder / "data"
        # initdb refuses to run as root: the cluster belongs to the postgres user, as in .ci/run.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.url = f"postgresql://postgres@/postgres?host={self.folder}"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-o",
                  f"-c listen_addresses= -c unix_socket_directories={self.folder} -c fsync=off", "start")

    def stop(self) -> None:
        """Kill it as a crash would: connections are cut, nothing is shut down politely."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def server():
    bin_dir = _binaries()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        message = "PostgreSQL's server binaries are not installed (Debian's postgresql package)"
        if IN_CI:
            pytest.fail(message + " (CI=true: .ci/run installs them)", pytrace=False)
        pytest.skip(message)
    server = Server(bin_dir)
    server.start()
    yield server
    server.remove()


def timed(step):
    started = time.monotonic()
    result = step()
    elapsed = time.monotonic() - started
    assert elapsed < ANSWER_WITHIN_SECONDS, f"a webhook took {elapsed:.1f} s with the database down"
    return result


def test_the_line_answers_while_postgresql_is_down_and_recovers_by_itself(server, twilio):
    upgrade(server.url)
    app = create_app(environment(DATABASE_URL=server.url, TWILIO_API_BASE_URL=twilio.base_url))
    recorder = app.extensions["ivr_usage"]
    menu = load_menus(app.extensions["ivr"].settings.menus_file)
    client = app.test_client()
    try:
        call = Call(client)
        call.start()
        call.press("2")
        call.press("1")
        assert call.heard.startswith(SENT) and len(twilio.requests) == 1
        recorder.flush()
        assert recorder.written > 0 and recorder.dropped == 0

        server.stop()
        # Every menu and summary is still there, and a transfer too.
        call = Call(client)
        timed(call.start)
        timed(lambda: call.press("2"))
        assert menu.nodes["baclofen_pump"].say[:40] in call.heard
        timed(lambda: call.press("1"))  # text me this: the store cannot say whether it may
        assert call.heard.startswith(menu.phrases["text_not_sent"].split(".")[0])
        assert len(twilio.requests) == 1  # nothing sent without the limits
        timed(lambda: call.press("0"))
        assert call.dial is not None
        texter = Texter(client, "+15025550188")
        reply = timed(lambda: texter.send("pump"))
        assert reply.startswith(menu.nodes["baclofen_pump"].text[:40])
        assert timed(lambda: texter.send("STOP")) is None  # its opt-out is lost, never the answer
        recorder.flush()
        assert recorder.dropped > 0  # the events of these requests are dropped, and counted

        server.start()
        # No restart of the app: the next press finds the database again.
        dropped = recorder.dropped
        call = Call(client, caller="+15025550177")
        call.start()
        call.press("2")
        call.press("1")
        assert call.heard.startswith(SENT) and len(twilio.requests) == 2
        recorder.flush()
        assert recorder.dropped == dropped  # events are written again
    finally:
        recorder.flush()  # while the server is still there: nothing left for the exit-time flush
        app.extensions["ivr"].store.close()


def test_menu_versions_wait_for_postgresql_and_the_loaded_menu_is_served_meanwhile(server, tmp_path):
    from conftest import MENUS

    from ivr.storage.versions import CLI_ACTOR, open_versions

    upgrade(server.url)
    server.stop()
    # Started while the database is down: the deployed file is served, and recorded later.
    app = create_app(environment(DATABASE_URL=server.url, IVR_RELOAD_SECONDS="0"))
    client = app.test_client()
    try:
        texter = Texter(client, "+15025550166")
        assert timed(lambda: texter.send("casting")).startswith("Casting: if used,")
        health = client.get("/healthz").get_json()
        assert health["menu"]["version"] is None and health["versions_check_error"] is not None
        assert "postgres" not in health["versions_check_error"]  # the address stays in the log
        server.start()
        assert client.get("/healthz").get_json()["menu"]["version"] == 1
        versions, close = open_versions(server.url)
        try:
            versions.publish_new(MENUS.read_bytes().replace(b"Casting: if used,", b"Casting, version two,"),
                                 source="cli", by=CLI_ACTOR, now=time.time())
        finally:
            close()
        server.stop()
        # The version loaded before the database went is kept, and every answer still comes quickly.
        assert timed(lambda: texter.send("casting")).startswith("Casting: if used,")
        assert timed(lambda: texter.send("casting")).startswith("Casting: if used,")
        assert client.get("/healthz").get_json()["versions_check_error"] is not None
        server.start()
        assert timed(lambda: texter.send("casting")).startswith("Casting, version two,")
        health = client.get("/healthz").get_json()
        assert health["menu"]["version"] == 2 and health["versions_check_error"] is None
    finally:
        app.extensions["ivr_usage"].flush()
        app.extensions["ivr"].store.close()
