"""The Procfile's web server, started as Heroku starts it: slow clients cannot freeze it, a broken
menus.yaml stops it before it listens, and a worker replaced later never reads a broken file."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import ACCOUNT, CALLER, CLINIC, MENUS, NO_API, ROOT, TOKEN, sid
from twilio.request_validator import RequestValidator

HOST = "127.0.0.1"
START_SECONDS = 30


def web_command() -> str:
    """The Procfile's web: command, bound to loopback instead of every interface."""
    line = next(raw for raw in (ROOT / "Procfile").read_text().splitlines() if raw.startswith("web:"))
    command = line.removeprefix("web:").strip()
    assert "--host 0.0.0.0" in command
    return command.replace("--host 0.0.0.0", f"--host {HOST}")


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(tmp_path: Path, port: int, menus: Path = MENUS) -> dict[str, str]:
    """A deployment's environment: the Procfile reads PORT and WEB_CONCURRENCY."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "GRANIAN_"))}
    env.update(PORT=str(port), WEB_CONCURRENCY="2", TWILIO_AUTH_TOKEN=TOKEN,
               TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_API_BASE_URL=NO_API, IVR_MENUS_FILE=str(menus),
               IVR_DATABASE=str(tmp_path / "ivr.sqlite3"), IVR_SECRET_KEY=secrets.token_hex(32),
               # The venv's python and granian, as on the dyno where they are first on PATH.
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


@contextmanager
def web_server(tmp_path: Path, menus: Path = MENUS):
    """Run the Procfile's web command on a free loopback port; yields (port, process), and always
    kills it at the end."""
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", "-c", web_command()], cwd=ROOT,
                                env=server_env(tmp_path, port, menus), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_answer(port, proc, lambda: f"the server exited:\n{log.read_text()}",
                        lambda: f"not answering after {START_SECONDS}s:\n{log.read_text()}")
        yield port, proc
    finally:
        # Its own session: the whole group (the server and its workers) goes.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def signed_voice(port: int, timeout: float) -> tuple[int, bytes]:
    """POST /voice as Twilio sends it, on a new connection; the status and the body."""
    params = {"CallSid": sid("CA"), "AccountSid": ACCOUNT, "From": CALLER, "To": CLINIC,
              "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
    url = f"http://{HOST}:{port}/voice"
    body = urlencode(params)
    request = (f"POST /voice HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
               f"X-Twilio-Signature: {RequestValidator(TOKEN).compute_signature(url, params)}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}").encode()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body_bytes = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body_bytes


def test_six_slow_clients_do_not_hold_up_a_webhook(tmp_path):
    with web_server(tmp_path) as (port, _):
        slow = []
        try:
            for _ in range(6):
                sock = socket.create_connection((HOST, port), timeout=2)
                sock.sendall(f"POST /voice HTTP/1.1\r\nHost: {HOST}:{port}\r\n".encode())
                slow.append(sock)
            # Each sends one more header line every half second and never finishes; the server
            # has had time to take them all in before the webhook is sent.
            for _ in range(3):
                time.sleep(0.5)
                for sock in slow:
                    sock.sendall(b"X-Slow: 1\r\n")
            started = time.monotonic()
            status, body = signed_voice(port, timeout=5)
            took = time.monotonic() - started
        finally:
            for sock in slow:
                sock.close()
    assert status == 200
    assert ET.fromstring(body).tag == "Response"
    assert took < 1.0, f"the webhook took {took:.2f}s with 6 slow clients open"


def _children(pid: int) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(entry))
    return found


def test_workers_replaced_while_the_menu_is_broken_serve_the_loaded_menu(tmp_path):
    menus = tmp_path / "menus.yaml"
    menus.write_text(MENUS.read_text())
    with web_server(tmp_path, menus) as (port, proc):
        menus.write_text(MENUS.read_text().replace("nodes:", "nodes: [", 1))
        workers = _children(proc.pid)
        assert len(workers) == 2
        for worker in workers:
            os.kill(worker, signal.SIGKILL)
        # granian forks new workers from the process that loaded the app: they answer with the
        # menu loaded at start, and the running workers keep it while the file on disk is broken.
        body = wait_for_answer(port, proc, lambda: "the server stopped when its workers were replaced",
                               lambda: "no worker answered after the workers were replaced")
        assert ET.fromstring(body).tag == "Response"
        assert not set(workers) & set(_children(proc.pid))


def wait_for_answer(port: int, proc: subprocess.Popen, exited: Callable[[], str],
                    silent: Callable[[], str]) -> bytes:
    """Post a signed webhook until the server answers 200 (its body), within START_SECONDS;
    `exited` and `silent` say what went wrong otherwise (worked out only then, as the log grows)."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        assert proc.poll() is None, exited()
        assert time.monotonic() < deadline, silent()
        try:
            status, body = signed_voice(port, timeout=2)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.2)


def test_a_broken_menu_stops_the_server_before_it_listens(tmp_path):
    broken = tmp_path / "menus.yaml"
    broken.write_text(MENUS.read_text().replace("nodes:", "nodes: [", 1))
    proc = subprocess.Popen(["bash", "-c", web_command()], cwd=ROOT,
                            env=server_env(tmp_path, free_port(), broken), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=START_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail("the server started with a broken menus.yaml")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == 1
    assert f"{broken}:" in out and "error:" in out
    assert "granian" not in out.lower()  # the server was never started
