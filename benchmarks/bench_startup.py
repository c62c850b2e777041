"""Start-up time and memory of the line under the Procfile's web command, on SQLite and PostgreSQL.

    python benchmarks/bench_startup.py [--postgres URL] [--rounds 3]

For each database: the time from spawning the server to its first answer (GET /healthz), then, once
it answers, each process's RSS and its unique memory (USS: what killing that process frees; the
rest is shared with the process its workers were forked from). Best (least) of the rounds.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from procfile import REPO, command, procfile_model


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """Every live descendant of `pid`."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in map(int, kids):
            found += [kid, *children(kid)]
    return found


def memory(pid: int) -> tuple[float, float]:
    """(RSS, USS) of `pid` in MiB, from /proc/PID/smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return fields["Rss"] / 1024, uss / 1024


def one_start(env: dict[str, str]) -> tuple[float, list[tuple[float, float]]]:
    port = free_port()
    words = command(procfile_model(), port, "app:app", "app:app")
    started = time.perf_counter()
    proc = subprocess.Popen(words, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
        first_answer = time.perf_counter() - started
        time.sleep(1.0)  # every worker up
        sizes = [memory(pid) for pid in [proc.pid, *children(proc.pid)]]
        return first_answer, sizes
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("IVR_TEST_POSTGRES_URL", ""),
                        help="a PostgreSQL URL to measure too (migrated first)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ivr-bench-startup-"))
    base = {**os.environ, "IVR_SECRET_KEY": secrets.token_urlsafe(48), "TWILIO_AUTH_TOKEN": "t" * 32,
            "TWILIO_ACCOUNT_SID": "AC" + "5" * 32, "IVR_MENUS_FILE": str(REPO / "menus.yaml"),
            "IVR_DATABASE": str(folder / "line.sqlite3"), "DATABASE_URL": ""}
    databases = {"SQLite": base}
    if args.postgres:
        env = {**base, "DATABASE_URL": args.postgres}
        subprocess.run([sys.executable, "-m", "ivr", "db", "upgrade"], cwd=REPO, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        databases["PostgreSQL"] = env
    print(f"server: {procfile_model()}")
    print(f"{'database':<12}{'first answer s':>16}{'master RSS':>12}{'master USS':>12}"
          f"{'worker RSS':>12}{'worker USS':>12}  (MiB, best of {args.rounds})")
    for name, env in databases.items():
        runs = [one_start(env) for _ in range(args.rounds)]
        first = min(r[0] for r in runs)
        master = min((r[1][0] for r in runs), key=lambda m: m[0])
        workers = [size for r in runs for size in r[1][1:]]
        worker_rss = min(w[0] for w in workers) if workers else float("nan")
        worker_uss = min(w[1] for w in workers) if workers else float("nan")
        print(f"{name:<12}{first:>16.2f}{master[0]:>12.1f}{master[1]:>12.1f}{worker_rss:>12.1f}"
              f"{worker_uss:>12.1f}")


if __name__ == "__main__":
    main()
