"""Benchmark server models: throughput and p99 at 8 connections, and webhook latency with slow clients."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from procfile import command, cpu_ticks, procfile_model
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TOKEN = "bench0123456789abcdef0123456789ab"
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_SECONDS = 30
PROBE_TIMEOUT = 20.0  # longer than Twilio's 15 s, so a frozen line shows as frozen, not as an error

# Server models: how each starts an app on HOST:{port}. "procfile" is the Procfile's web: line as it
# stands; "sync" is the Procfile before issue 7 (gunicorn's synchronous workers); "gthread" is
# gunicorn's threaded workers; "granian1" is granian with one Python thread per worker.
GUNICORN_FLAGS = ("--preload --timeout 10 --graceful-timeout 10 --max-requests 5000 "
                  "--max-requests-jitter 500")
MODELS = {
    "sync": f"gunicorn --bind {HOST}:{{port}} --workers 3 {GUNICORN_FLAGS} {{gunicorn_app}}",
    "gthread": f"gunicorn --bind {HOST}:{{port}} --workers 3 --worker-class gthread --threads 8 "
               f"{GUNICORN_FLAGS} {{gunicorn_app}}",
    "granian1": f"granian --interface wsgi --host {HOST} --port {{port}} --workers 3 "
                "--blocking-threads 1 --http 1 --no-ws {granian_app}",
    "procfile": "",  # filled from the Procfile
}
# App name -> how gunicorn and granian name it; both are measured with a signed POST /voice.
APPS = {
    "floor": ("benchmarks.floor_app:signed_app()", "--factory benchmarks.floor_app:signed_app"),
    "app": ("app:app", "app:app"),
}
CALL = {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": "AC" + secrets.token_hex(16),
        "From": "+15025550123", "To": "+15025550100", "CallStatus": "ringing",
        "Direction": "inbound", "ApiVersion": "2010-04-01"}


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(data_dir: Path) -> dict[str, str]:
    """What a deployment sets, with a closed local port for Twilio's API (nothing is sent)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "GRANIAN_"))}
    env.update(TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32,
               TWILIO_API_BASE_URL="http://127.0.0.1:9", IVR_MENUS_FILE=str(REPO / "menus.yaml"),
               IVR_DATABASE=str(data_dir / "bench.sqlite3"), IVR_SECRET_KEY=secrets.token_hex(32),
               IVR_LOG_LEVEL="WARNING", PYTHONPATH=str(REPO))
    return env


@contextmanager
def server(model: str, app: str, work_dir: Path) -> Iterator[tuple[int, int]]:
    """Run one app under one server model until the block ends; yields (port, main pid)."""
    port = free_port()
    gunicorn_app, granian_app = APPS[app]
    words = command(MODELS[model], port, gunicorn_app, granian_app)
    log_path = work_dir / f"{model}-{app}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(words, cwd=REPO, env=server_env(work_dir), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{model} {app} did not start:\n{log_path.read_text()[-2000:]}")
            try:
                status, _ = post(port, timeout=1)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def signed(port: int) -> tuple[str, dict[str, str]]:
    """The form body and headers of a signed POST /voice, as Twilio sends it."""
    url = f"http://{HOST}:{port}/voice"
    return urlencode(CALL), {"Content-Type": "application/x-www-form-urlencoded",
                             "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, CALL)}


def post(port: int, timeout: float = PROBE_TIMEOUT) -> tuple[int, bytes]:
    """One signed POST /voice on a new connection: status and body."""
    body, headers = signed(port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST /voice HTTP/1.1\r\nHost: {HOST}:{port}\r\n{head}Content-Length: {len(body)}\r\n"
               f"Connection: close\r\n\r\n{body}").encode()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer.partition(b"\r\n\r\n")[2]


class SlowClients:
    """Connections that send a request's headers one short line a second, never finishing them
    (or, with body=True, all the headers and then the body a byte a second).

    Bounded: each stops after `hold` seconds at most, and all are closed when the block ends.
    """

    def __init__(self, port: int, count: int, hold: float, body: bool = False, interval: float = 1.0):
        self.port, self.count, self.hold, self.interval = port, count, hold, interval
        self.start = f"POST /voice HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        self.trickled = b"X-Slow: 1\r\n"
        if body:
            # A signature header (forged), so that the app reads the body to check it.
            self.start += ("X-Twilio-Signature: forged\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                           "Content-Length: 4000\r\n\r\nBody=")
            self.trickled = b"a"
        self.sockets: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            sock = socket.create_connection((HOST, self.port), timeout=5)
            sock.sendall(self.start.encode())
            self.sockets.append(sock)
        self.thread.start()
        return self

    def _trickle(self) -> None:
        deadline = time.monotonic() + self.hold
        while not self.stop.wait(self.interval) and time.monotonic() < deadline:
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # the server gave up on it: that is allowed
                    sock.sendall(self.trickled)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


@dataclass(frozen=True)
class Load:
    """What wrk saw."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


LUA = """wrk.method = "POST"
wrk.body = {body}
{headers}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body) if status ~= 200 then bad = bad + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("bad responses: %d\\n", total))
end
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(port: int, seconds: int, connections: int, work_dir: Path) -> Load:
    """Signed POST /voice from wrk over `connections` connections for `seconds`."""
    body, headers = signed(port)
    def lua(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    script = work_dir / "voice.lua"
    script.write_text(LUA.format(body=lua(body), headers="\n".join(
        f"wrk.headers[{lua(k)}] = {lua(v)}" for k, v in headers.items())))
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
                          str(script), f"http://{HOST}:{port}/voice"],
                         capture_output=True, text=True, check=True, timeout=seconds + 30).stdout

    def ms(pct: int) -> float:
        match = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        return float(match[1]) * UNITS[match[2]]
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                              out)
    return Load(float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]), ms(50), ms(99),
                int(re.search(r"(\d+) requests in", out)[1]),
                int(re.search(r"bad responses: (\d+)", out)[1])
                + (sum(map(int, socket_errors.groups())) if socket_errors else 0))


def probe(port: int, count: int, gap: float) -> tuple[list[float], int]:
    """Seconds each of `count` signed webhooks took, one at a time, and how many got no TwiML."""
    took, failed = [], 0
    for _ in range(count):
        start = time.perf_counter()
        try:
            status, body = post(port)
        except OSError:
            status, body = 0, b""
        took.append(time.perf_counter() - start)
        failed += status != 200 or b"<Response" not in body
        time.sleep(gap)
    return took, failed


def run(model: str, app: str, args: argparse.Namespace, work_dir: Path) -> dict[str, float]:
    """One model and app: load alone, then probes and load with slow clients open."""
    with server(model, app, work_dir) as (port, pid):
        wrk(port, 1, args.connections, work_dir)  # warm-up: lazy imports, caches
        before = cpu_ticks(pid)
        alone = wrk(port, args.seconds, args.connections, work_dir)
        cpu_ms = (cpu_ticks(pid) - before) * 1000 / CLK_TCK / max(alone.requests, 1)
        hold = args.probes * (PROBE_TIMEOUT + args.gap) + args.seconds + 5
        with SlowClients(port, args.slow, hold, body=args.slow_body):
            time.sleep(1)  # let the server accept them and start reading
            took, failed = probe(port, args.probes, args.gap)
            crowded = wrk(port, args.seconds, args.connections, work_dir)
        return {"rps": alone.rps, "p50": alone.p50_ms, "p99": alone.p99_ms, "cpu": cpu_ms,
                "errors": alone.errors + crowded.errors, "slow_median": statistics.median(took),
                "slow_max": max(took), "slow_failed": failed, "slow_rps": crowded.rps,
                "slow_p99": crowded.p99_ms}


def main(argv: list[str] | None = None) -> int:
    """Measure each model with each app and print one table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="sync,procfile",
                        help=f"comma-separated, from {', '.join(MODELS)} (sync,procfile)")
    parser.add_argument("--apps", default="floor,app", help="floor, app or both (floor,app)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=COMMAND",
                        help="another model to measure, a command with {port} and {gunicorn_app} "
                             "or {granian_app} (repeatable)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over every model (1)")
    parser.add_argument("--seconds", type=int, default=3, help="seconds of wrk load per run (3)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--slow", type=int, default=6, help="slow-header connections (6)")
    parser.add_argument("--slow-body", action="store_true",
                        help="the slow connections send their headers at once, then the body slowly")
    parser.add_argument("--probes", type=int, default=5, help="webhooks timed with them open (5)")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between probes (0.2)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: apt-get install wrk")
    MODELS["procfile"] = procfile_model()
    for extra in args.model:
        name, _, command = extra.partition("=")
        MODELS[name] = command
    models, apps = args.models.split(","), args.apps.split(",")
    if not set(models) <= MODELS.keys() or not set(apps) <= APPS.keys():
        parser.error("unknown model or app")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"wrk -c{args.connections} for {args.seconds}s; then {args.slow} slow "
          f"{'body' if args.slow_body else 'header'} clients "
          f"and {args.probes} timed webhooks; {os.cpu_count()} CPUs shared with the client")
    for model in models:
        print(f"{model}: {MODELS[model]}")
    print(f"\n{'model':<10}{'app':<7}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms/req':>11}"
          f"{'slow: median s':>16}{'max s':>8}{'failed':>7}{'req/s':>8}{'p99 ms':>8}{'errors':>8}")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-slow-") as tmp:
        for round_no in range(args.rounds):
            # Rotated each round, so drift in the machine's load spreads over every model.
            runs = [(app, model) for app in apps for model in models]
            shift = round_no % len(runs)
            for app, model in runs[shift:] + runs[:shift]:
                results.setdefault((app, model), []).append(run(model, app, args, Path(tmp)))
            print(f"  round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    for (app, model), rounds in sorted(results.items(), key=lambda kv: (apps.index(kv[0][0]),
                                                                        models.index(kv[0][1]))):
        r = {key: statistics.median(x[key] for x in rounds) for key in rounds[0]}
        r["slow_max"] = max(x["slow_max"] for x in rounds)
        r["slow_failed"] = sum(x["slow_failed"] for x in rounds)
        r["errors"] = sum(x["errors"] for x in rounds)
        print(f"{model:<10}{app:<7}{r['rps']:>8.0f}{r['p50']:>8.2f}{r['p99']:>8.2f}"
              f"{r['cpu']:>11.2f}{r['slow_median']:>16.3f}{r['slow_max']:>8.3f}"
              f"{r['slow_failed']:>7.0f}{r['slow_rps']:>8.0f}{r['slow_p99']:>8.2f}{r['errors']:>8.0f}")
    kind = "a body" if args.slow_body else "headers"
    print(f"\nMedians over {args.rounds} round(s); max s, failed and errors over all rounds. slow: "
          f"{args.slow} connections sending {kind} slowly are open; median and max s are the timed "
          f"webhooks (each gives up after {PROBE_TIMEOUT:g}s), failed those that got no TwiML, "
          "then wrk's req/s and p99 with them still open; errors are wrk's non-200 answers and "
          "socket errors. Figures are indicative on a shared machine.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
