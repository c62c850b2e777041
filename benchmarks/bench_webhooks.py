"""Benchmark the line's webhooks under the Procfile's server and flags against two Flask floors;
with --slow-twilio, the webhooks' latency while callers press "text me this" against a slow Twilio."""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from procfile import command, cpu_ticks, procfile_model
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench0123456789abcdef0123456789ab"  # any value works: both ends of the run share it
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
RPS_GOAL = 0.9  # app throughput as a fraction of the signed floor's
P99_GOAL_MS = 5.0
OTHER_CPU_WARN_PCT = 5.0  # above this, something besides the benchmark shared the CPUs
SERVER_START_SECONDS = 30

# Server name -> its app as gunicorn and as granian name it; every server runs the Procfile's web
# command with its flags unchanged (procfile.py), whichever of the two servers that is.
SERVERS = {
    "app": ("app:app", "app:app"),
    "bare": ("benchmarks.floor_app:bare_app()", "--factory benchmarks.floor_app:bare_app"),
    "signed": ("benchmarks.floor_app:signed_app()", "--factory benchmarks.floor_app:signed_app"),
}


def _twilio_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


CALL = {
    "CallSid": _twilio_sid("CA"),
    "AccountSid": _twilio_sid("AC"),
    "From": "+15025550123",
    "To": "+15025550100",
    "CallStatus": "in-progress",
    "Direction": "inbound",
    "ApiVersion": "2010-04-01",
    "StirVerstat": "TN-Validation-Passed-A",
}
TEXT = {
    "MessageSid": _twilio_sid("SM"),
    "AccountSid": CALL["AccountSid"],
    "From": CALL["From"],
    "To": CALL["To"],
    "Body": "pump",
    "NumMedia": "0",
    "NumSegments": "1",
    "ApiVersion": "2010-04-01",
}


@dataclass(frozen=True)
class Target:
    """One measured endpoint: which server, which path (with query) and which form parameters."""

    name: str
    server: str
    path: str
    params: dict[str, str]

    @property
    def is_floor(self) -> bool:
        """True for the floors the app targets are compared with."""
        return self.server != "app"


TARGETS = (
    Target("POST /voice", "app", "/voice", CALL),
    Target("POST /voice/main (2)", "app", "/voice/main?tries=0", {**CALL, "Digits": "2"}),
    Target("POST /sms", "app", "/sms", TEXT),
    Target("floor: bare", "bare", "/voice", CALL),
    Target("floor: signed", "signed", "/voice", CALL),
)


@dataclass(frozen=True)
class Request:
    """A signed Twilio webhook request, exactly as it goes on the wire."""

    url: str
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Load:
    """What one load-generator run saw."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-200 or non-XML answers, plus socket errors and timeouts


@dataclass(frozen=True)
class Sample:
    """One target's measurement in one round."""

    load: Load
    cpu_ms_per_request: float
    other_cpu_pct: float  # share of the machine used by neither the servers nor the client


def signed_request(port: int, target: Target, signature: str | None = None) -> Request:
    """The request Twilio would send for `target`, signed over the full URL as requested."""
    url = f"http://{HOST}:{port}{target.path}"
    if signature is None:
        signature = RequestValidator(TOKEN).compute_signature(url, target.params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return Request(url, urlencode(target.params), headers)


# -- servers ---------------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment every server gets: the bench token, account and menu file, a database in
    `data_dir`, the API on a closed local port (nothing is sent), and no stray IVR_ settings;
    `extra` overrides them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "GRANIAN_"))}
    env.update(TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32,
               TWILIO_API_BASE_URL="http://127.0.0.1:9", IVR_MENUS_FILE=str(REPO / "menus.yaml"),
               IVR_DATABASE=str(data_dir / "bench.sqlite3"), IVR_SECRET_KEY=secrets.token_hex(32),
               PYTHONPATH=str(REPO))
    env.update(extra)
    return env


def server_command(name: str, port: int) -> list[str]:
    """The Procfile's web command, flags unchanged, on HOST:port serving SERVERS[name]."""
    return command(procfile_model().replace("127.0.0.1", HOST), port, *SERVERS[name])


def shown(words: list[str]) -> str:
    """A server command as the Procfile has it (the venv's executable shown by its name)."""
    return shlex.join([Path(words[0]).name, *words[1:]])


@contextmanager
def server(name: str, log_dir: Path, **extra_env: str) -> Iterator[tuple[int, int]]:
    """Run the Procfile's web command serving SERVERS[name] until the block ends; yields (port,
    main pid)."""
    port = free_port()
    log_path = log_dir / f"{name}-{port}.log"
    with open(log_path, "wb") as log:
        # Own session: Ctrl-C reaches only this script, which then stops the server in order.
        proc = subprocess.Popen(server_command(name, port), cwd=REPO,
                                env=server_env(log_dir, **extra_env),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_listening(proc, port, log_path)
        yield port, proc.pid
    finally:
        _stop(proc)


def _wait_listening(proc: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log_path)}")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server not listening after {SERVER_START_SECONDS}s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()  # gunicorn and granian stop and reap their workers before they exit
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        # Stuck: kill the session we made for it while the unreaped main process keeps its id ours.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# -- load generators -------------------------------------------------------------------------------

LUA = """\
wrk.method = "POST"
wrk.body = {body}
{headers}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  -- granian sends its header names in lower case
  local kind = headers["Content-Type"] or headers["content-type"] or ""
  if status ~= 200 or not kind:find("text/xml", 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("bad responses: %d\\n", total))
end
"""
WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}  # to milliseconds


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_load(req: Request, seconds: float, connections: int, work_dir: Path) -> Load:
    """Drive req with wrk for `seconds` over `connections` connections."""
    script = work_dir / "request.lua"
    headers = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}"
                        for k, v in req.headers.items())
    script.write_text(LUA.format(body=_lua_string(req.body), headers=headers))
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:g}s",
               "--latency", "-s", str(script), req.url]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def parse_wrk(out: str) -> Load:
    """Read requests, rps, p50/p99 (from --latency) and errors from wrk's report."""
    def number(pattern: str) -> re.Match:
        match = re.search(pattern, out, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"unexpected wrk output (no {pattern!r}):\n{out}")
        return match

    def percentile_ms(pct: int) -> float:
        match = number(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m|h)\s*$")
        return float(match[1]) * WRK_UNITS[match[2]]

    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out)
    return Load(
        requests=int(number(r"(\d+) requests in")[1]),
        rps=float(number(r"^Requests/sec:\s+([\d.]+)")[1]),
        p50_ms=percentile_ms(50),
        p99_ms=percentile_ms(99),
        errors=int(number(r"^bad responses: (\d+)")[1])
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
    )


def python_load(req: Request, seconds: float, connections: int, work_dir: Path) -> Load:
    """Drive req from `connections` threads, the fallback when wrk is missing (slower client).

    Each thread opens a new connection whenever the server closes one (gunicorn's sync worker
    closes every one), and the connect is not timed (as in wrk).
    """
    del work_dir  # same signature as wrk_load
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        mine: list[float] = []
        bad = 0
        conn: http.client.HTTPConnection | None = None
        while time.perf_counter() < deadline:
            if conn is None:
                conn, path = _connection(req.url)
                conn.connect()
            start = time.perf_counter()
            try:
                conn.request("POST", path, req.body, req.headers)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = None
                continue
            mine.append(time.perf_counter() - start)
            if resp.status != 200 or "text/xml" not in resp.getheader("Content-Type", ""):
                bad += 1
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"no answers from {req.url}")

    def percentile_ms(pct: int) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * pct / 100))] * 1e3

    return Load(len(latencies), len(latencies) / elapsed, percentile_ms(50), percentile_ms(99),
                errors[0])


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    """An unopened connection to url's host, and the path with query to request there."""
    parts = urlsplit(url)
    path = f"{parts.path}?{parts.query}" if parts.query else parts.path
    return http.client.HTTPConnection(parts.netloc, timeout=10), path


LoadGenerator = Callable[[Request, float, int, Path], Load]


# -- the run ---------------------------------------------------------------------------------------

def preflight(ports: dict[str, int]) -> None:
    """One request per target: 200 text/xml when signed, 403 when the signature is wrong.

    The 403 check proves the app and the signed floor really validate, so neither is measured
    with the check silently skipped (or failing on a URL mismatch).
    """
    for target in TARGETS:
        good = signed_request(ports[target.server], target)
        status, kind = _post_once(good)
        if status != 200 or "text/xml" not in kind:
            raise RuntimeError(f"{target.name}: answered {status} {kind!r} to a signed request")
        if target.server != "bare":
            status, _ = _post_once(signed_request(ports[target.server], target, "forged"))
            if status != 403:
                raise RuntimeError(f"{target.name}: answered {status} to a forged signature")


def _post_once(req: Request) -> tuple[int, str]:
    conn, path = _connection(req.url)
    try:
        conn.request("POST", path, req.body, req.headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Content-Type", "")
    finally:
        conn.close()


def run_rounds(args: argparse.Namespace, load: LoadGenerator, ports: dict[str, int],
               pids: dict[str, int], work_dir: Path) -> dict[str, list[Sample]]:
    """Measure every target once per round, rotating the order so drift spreads evenly."""
    samples: dict[str, list[Sample]] = {t.name: [] for t in TARGETS}
    requests = {t.name: signed_request(ports[t.server], t) for t in TARGETS}
    # Warm-up, not recorded: first requests in each worker pay for lazy imports and caches.
    for target in TARGETS:
        load(requests[target.name], min(1.0, args.seconds), args.connections, work_dir)
    for round_no in range(args.rounds):
        shift = round_no % len(TARGETS)
        order = TARGETS[shift:] + TARGETS[:shift]
        for target in order:
            samples[target.name].append(measure(
                lambda t=target: load(requests[t.name], args.seconds, args.connections, work_dir),
                pids[target.server]))
        print(f"  round {round_no + 1}/{args.rounds} done", flush=True)
    return samples


def measure(run_load: Callable[[], Load], server_pid: int) -> Sample:
    """Run one load and account for the CPU it took: the server's, and anyone else's."""
    server, client, machine = cpu_ticks(server_pid), _client_ticks(), _machine_ticks()
    result = run_load()
    server = cpu_ticks(server_pid) - server
    client = _client_ticks() - client
    busy, total = (after - before for after, before in zip(_machine_ticks(), machine, strict=True))
    return Sample(result, server * 1000 / CLK_TCK / max(result.requests, 1),
                  max(0.0, 100 * (busy - server - client) / max(total, 1)))


def _client_ticks() -> float:
    # This process (the Python client) plus its reaped children (wrk).
    times = os.times()
    return (times.user + times.system + times.children_user + times.children_system) * CLK_TCK


def _machine_ticks() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    # irq and softirq are left out of "busy": loopback TCP is charged there, not to any process,
    # so counting them would show the run's own networking as someone else's load.
    return user + nice + system + steal, user + nice + system + idle + iowait + irq + softirq + steal


@dataclass(frozen=True)
class Summary:
    """A target's medians across rounds, and its error total."""

    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    other_cpu_pct: float
    errors: int


def summarise(samples: list[Sample]) -> Summary:
    """Medians across rounds (so one disturbed round cannot move the result) and total errors."""
    return Summary(
        rps=statistics.median(s.load.rps for s in samples),
        p50_ms=statistics.median(s.load.p50_ms for s in samples),
        p99_ms=statistics.median(s.load.p99_ms for s in samples),
        cpu_ms=statistics.median(s.cpu_ms_per_request for s in samples),
        other_cpu_pct=statistics.median(s.other_cpu_pct for s in samples),
        errors=sum(s.load.errors for s in samples),
    )


def report(results: dict[str, Summary], connections: int) -> None:
    """Print the table, each app target's ratios to both floors, and the goal check."""
    print(f"\n{'target':<22}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}"
          f"{'other CPU':>11}{'errors':>8}")
    for name, s in results.items():
        print(f"{name:<22}{s.rps:>10.0f}{s.p50_ms:>9.2f}{s.p99_ms:>9.2f}{s.cpu_ms:>12.3f}"
              f"{s.other_cpu_pct:>10.0f}%{s.errors:>8}")
    busiest = max(s.other_cpu_pct for s in results.values())
    if busiest > OTHER_CPU_WARN_PCT:
        print(f"warning: other processes took up to {busiest:.0f}% of the machine (median per "
              "target): req/s and latency are understated; CPU ms/req is still comparable.")

    bare, signed = results["floor: bare"], results["floor: signed"]
    print(f"\n{'app target':<22}{'rps/bare':>10}{'rps/signed':>12}{'p99/bare':>10}"
          f"{'p99/signed':>12}{'CPU/signed':>12}")
    apps = [t.name for t in TARGETS if not t.is_floor]
    for name in apps:
        s = results[name]
        print(f"{name:<22}{s.rps / bare.rps:>10.2f}{s.rps / signed.rps:>12.2f}"
              f"{s.p99_ms / bare.p99_ms:>10.2f}{s.p99_ms / signed.p99_ms:>12.2f}"
              f"{s.cpu_ms / signed.cpu_ms:>12.2f}")

    print(f"\ngoal: throughput >= {RPS_GOAL} x signed floor, p99 < {P99_GOAL_MS:g} ms "
          f"at {connections} connections")
    for name in apps:
        s = results[name]
        ratio = s.rps / signed.rps
        print(f"  {name:<22} throughput {ratio:.2f} x {_verdict(ratio >= RPS_GOAL)}   "
              f"p99 {s.p99_ms:.2f} ms {_verdict(s.p99_ms < P99_GOAL_MS)}")


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- a slow Twilio ----------------------------------------------------------------------------------

SLOW_TWILIO_SECONDS = 3.0
# The pressers' summary: the pump (key 2 of the main menu), then key 1, "text me this".
PRESS_PATH = "/voice/baclofen_pump?tries=0"


def _fake_twilio(answer_after: float):
    """The tests' fake Messages API (tests/fake_twilio.py), answering every request after a wait."""
    sys.path.insert(0, str(REPO / "tests"))
    from fake_twilio import FakeTwilio

    return FakeTwilio("AC" + "0" * 32, TOKEN, answer_after=answer_after)


def _press_text_me(port: int, stop: threading.Event, latencies: list[float], lock: threading.Lock,
                   numbers: Iterator[int]) -> None:
    """One caller after another pressing "text me this": each a new call from a new number, so
    neither the once-a-call rule nor the per-number limits keep a press from reaching Twilio."""
    while not stop.is_set():
        with lock:
            number = next(numbers)
        params = {**CALL, "CallSid": _twilio_sid("CA"), "From": f"+1502637{number % 10000:04d}",
                  "Digits": "1"}
        req = signed_request(port, Target("press", "app", PRESS_PATH, params))
        started = time.perf_counter()
        try:
            status, _ = _post_once(req)
        except OSError:
            status = 0
        with lock:
            latencies.append(time.perf_counter() - started if status == 200 else float("inf"))


def slow_twilio_run(args: argparse.Namespace, load: LoadGenerator) -> int:
    """The app's webhooks, alone and while `args.pressers` callers keep pressing "text me this"
    against a Messages API that answers in 3 s; prints p50/p99 of each. 1 if the run broke."""
    app_targets = [t for t in TARGETS if not t.is_floor]
    with tempfile.TemporaryDirectory(prefix="bench-slow-twilio-") as tmp, ExitStack() as stack:
        work_dir = Path(tmp)
        fake = stack.enter_context(_fake_twilio(SLOW_TWILIO_SECONDS))
        # The line's limits raised so every press reaches the slow API: the worst case. With the
        # defaults only 20 an hour would, and every other press is answered at once.
        port, _ = stack.enter_context(server(
            "app", work_dir, TWILIO_API_BASE_URL=fake.base_url,
            IVR_LINE_TEXTS_PER_HOUR="100000", IVR_LINE_TEXTS_PER_DAY="1000000"))
        print("app server: " + shown(server_command("app", port)))
        print(f"client: {args.client}, {args.connections} connections, {args.seconds:g}s per target; "
              f"{args.pressers} caller(s) pressing 'text me this' against a Messages API that answers "
              f"in {SLOW_TWILIO_SECONDS:g} s")
        requests = {t.name: signed_request(port, t) for t in app_targets}
        for target in app_targets:  # warm-up, not recorded
            load(requests[target.name], 1, args.connections, work_dir)
        results: dict[str, tuple[Load, Load]] = {}
        press_latencies: list[float] = []
        numbers = itertools.count(1)  # one sequence for every presser: no number is used twice
        for target in app_targets:
            alone = load(requests[target.name], args.seconds, args.connections, work_dir)
            stop, lock = threading.Event(), threading.Lock()
            pressers = [threading.Thread(target=_press_text_me,
                                         args=(port, stop, press_latencies, lock, numbers))
                        for _ in range(args.pressers)]
            for thread in pressers:
                thread.start()
            time.sleep(0.5)  # let the pressers reach the slow API first
            try:
                slowed = load(requests[target.name], args.seconds, args.connections, work_dir)
            finally:
                stop.set()
                for thread in pressers:
                    thread.join()
            results[target.name] = (alone, slowed)
        api_requests = len(fake.requests)

    print(f"\n{'target':<22}{'alone p50':>11}{'p99 ms':>9}{'  with pressers p50':>20}{'p99 ms':>9}"
          f"{'req/s':>8}{'errors':>8}")
    for name, (alone, slowed) in results.items():
        print(f"{name:<22}{alone.p50_ms:>11.2f}{alone.p99_ms:>9.2f}{slowed.p50_ms:>20.2f}"
              f"{slowed.p99_ms:>9.2f}{slowed.rps:>8.0f}{slowed.errors:>8}")
    answered = sorted(t for t in press_latencies if t != float("inf"))
    if answered:
        print(f"\n'text me this' presses: {len(press_latencies)}, reaching the API {api_requests}, "
              f"answered in {statistics.median(answered) * 1e3:.0f} ms median, "
              f"{answered[-1] * 1e3:.0f} ms at most; failed {len(press_latencies) - len(answered)}")
    errors = sum(a.errors + b.errors for a, b in results.values()) + len(press_latencies) - len(answered)
    if errors:
        print(f"\nRUN INVALID: {errors} request(s) failed (non-200, non-XML or socket errors).")
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the defaults take about two and a half minutes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all targets (5)")
    parser.add_argument("--seconds", type=float, default=5,
                        help="seconds per target per round (5)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (8)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk if installed (auto), or the Python fallback")
    parser.add_argument("--slow-twilio", action="store_true",
                        help="instead: each app target alone, then while callers press 'text me this' "
                             f"against a Messages API answering in {SLOW_TWILIO_SECONDS:g} s")
    parser.add_argument("--pressers", type=int, default=2,
                        help="with --slow-twilio: callers pressing 'text me this' at once (2)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0 or args.connections < 1 or args.pressers < 0:
        parser.error("--rounds, --seconds and --connections must be positive")
    has_wrk = shutil.which("wrk") is not None
    if args.client == "wrk" and not has_wrk:
        parser.error("wrk is not installed: apt-get install wrk (or use --client python)")
    if args.client == "auto":
        args.client = "wrk" if has_wrk else "python"
    if args.client == "wrk":
        args.seconds = max(1, round(args.seconds))  # wrk takes whole seconds
    return args


def main(argv: list[str] | None = None) -> int:
    """Start the three servers, run the rounds, print the report; 1 if the run itself broke."""
    args = parse_args(argv)
    load: LoadGenerator = wrk_load if args.client == "wrk" else python_load
    if args.client == "python":
        print("wrk not found (apt-get install wrk); using the slower Python client, whose own CPU "
              "competes with the servers.", file=sys.stderr)
    # Turn `kill` into the same clean exit as Ctrl-C, so the servers are stopped either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.slow_twilio:
        return slow_twilio_run(args, load)

    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp, ExitStack() as stack:
        work_dir = Path(tmp)
        ports: dict[str, int] = {}
        pids: dict[str, int] = {}
        for name in SERVERS:
            ports[name], pids[name] = stack.enter_context(server(name, work_dir))
        print("app server: " + shown(server_command("app", ports["app"])))
        print(f"client: {args.client}, {args.connections} connections, {args.rounds} rounds x "
              f"{args.seconds:g}s per target, {os.cpu_count()} CPUs shared by client and servers")
        preflight(ports)
        samples = run_rounds(args, load, ports, pids, work_dir)

    results = {name: summarise(s) for name, s in samples.items()}
    report(results, args.connections)
    errors = sum(s.errors for s in results.values())
    if errors:
        print(f"\nRUN INVALID: {errors} request(s) failed (non-200, non-XML or socket errors).")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped.", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
