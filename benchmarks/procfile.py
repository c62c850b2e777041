"""The Procfile's web: command for the benchmarks, and the CPU its process tree uses.

Shared by bench_webhooks.py and bench_slow_clients.py (run as scripts, so this imports as `procfile`).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROCFILE = REPO / "Procfile"


def procfile_words(procfile: Path = PROCFILE, **env: str) -> list[str]:
    """The web: line split into words, its variables expanded as the shell would: from `env`, then
    the environment (WEB_CONCURRENCY, say), else the Procfile's ${NAME:-default}."""
    line = next((raw for raw in procfile.read_text().splitlines() if raw.startswith("web:")), None)
    if line is None:
        raise RuntimeError(f"no web: line in {procfile}")
    values = {**os.environ, **env}
    return shlex.split(re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)",
                              lambda m: values.get(m[1] or m[3]) or m[2] or "",
                              line.removeprefix("web:")))


def procfile_model(procfile: Path = PROCFILE) -> str:
    """The Procfile's web: command as a template: bound to 127.0.0.1:{port}, the app left to fill in
    as {gunicorn_app} or {granian_app} (granian takes `--factory module:function` for a factory).

    It runs gunicorn, granian, or granian through `python -m ivr.server` (which loads the app first).
    """
    words = procfile_words(procfile, PORT="{port}")
    if words[-1].startswith("-"):
        raise RuntimeError(f"no app argument at the end of the Procfile's web command: {words!r}")
    if words[0] == "gunicorn" and "--bind" in words:
        words[words.index("--bind") + 1] = "127.0.0.1:{port}"
        words[-1] = "{gunicorn_app}"
    elif (words[0] == "granian" or words[:3] == ["python", "-m", "ivr.server"]) and {
            "--host", "--port"} <= set(words):
        words[words.index("--host") + 1] = "127.0.0.1"
        words[words.index("--port") + 1] = "{port}"
        words[-1] = "{granian_app}"
    else:
        raise RuntimeError(f"cannot read the Procfile's server command: {shlex.join(words)!r}")
    return " ".join(words)


def command(model: str, port: int, gunicorn_app: str, granian_app: str) -> list[str]:
    """A model's words for one server, run with this venv's Python and server scripts."""
    words = shlex.split(model.format(port=port, gunicorn_app=shlex.quote(gunicorn_app),
                                     granian_app=granian_app))
    bin_dir = Path(sys.executable).parent
    if words[0] == "python":
        words[0] = sys.executable
    elif (bin_dir / words[0]).exists():
        words[0] = str(bin_dir / words[0])
    return words


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    # The command name may hold spaces and parentheses; the fields start after its last ')'.
    return text[text.rindex(")") + 2:].split()


def cpu_ticks(pid: int) -> int:
    """Clock ticks of CPU used by a server's main process, its reaped children and all its live
    descendants (gunicorn's or granian's workers, found through /proc's parent ids).

    A worker's time moves to its parent's cutime and cstime when it is reaped (gunicorn's
    --max-requests, granian's respawns), so counting those keeps the total continuous.
    """
    # Fields counted from state (stat field 3): ppid, then utime, stime, cutime, cstime at 11..14.
    children: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            children.setdefault(int(_stat_fields(int(entry))[1]), []).append(int(entry))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            f = _stat_fields(p)
        except (FileNotFoundError, ProcessLookupError):
            continue
        # Each live process's own time and its reaped children's: nothing is counted twice.
        total += sum(int(x) for x in f[11:15])
        todo += children.get(p, [])
    return total
