"""Benchmark loading a large menus.yaml: validate and build, warnings, the walk, and a live reload."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ivr.live_menu import LiveMenu, last_good_path  # noqa: E402
from ivr.menufile.build import parse_menus  # noqa: E402
from ivr.review.lint import lint  # noqa: E402
from ivr.review.walk import walk  # noqa: E402

SUMMARY = ("This is summary number {n}. It says, in plain words, what one treatment does and who may "
           "recommend it, so that a family can decide whether to ask about it at their next visit.")


def generated_menu(nodes: int) -> str:
    """A valid menus.yaml of `nodes` nodes: a tree of menus with four choices, summaries at the leaves,
    built on the shipped file's line, phones, call and phrases sections."""
    shipped = (REPO / "menus.yaml").read_text()
    head = shipped[: shipped.index("\nnodes:")]
    lines, made = [], 1  # the transfer node counts as one
    queue = ["main"]
    children: dict[str, list[str]] = {}
    while made < nodes - 1 and queue:
        parent = queue.pop(0)
        for _ in range(4):
            if made >= nodes - 1:
                break
            child = f"n{made}"
            children.setdefault(parent, []).append(child)
            queue.append(child)
            made += 1
    for node_id in ["main", *[c for kids in children.values() for c in kids]]:
        kids = children.get(node_id)
        lines.append(f"  {node_id}:")
        if kids:
            lines += ["    type: menu", f"    title: topic {node_id}", f"    say: Topic {node_id}.",
                      "    options:", *[f"      {k}: {kid}" for k, kid in enumerate(kids, 1)]]
        else:
            n = node_id[1:]
            lines += ["    type: summary", f"    title: topic {node_id}", f"    keywords: [word{n}]",
                      f"    say: {SUMMARY.format(n=n)}", f"    text: Summary {n} in a few words."]
    lines += ["  scheduling:", "    type: transfer", "    title: our scheduling team",
              "    dial: scheduling", "    say: Please hold.", "    text: Call {scheduling}."]
    return head + "\nnodes:\n" + "\n".join(lines) + "\n"


def timed(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median seconds of `repeat` runs of `work`, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def reload_latency(text: str, interval: float) -> float:
    """Seconds from writing a changed file to a LiveMenu (polled as requests would) serving it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "menus.yaml"
        path.write_text(text)
        # As the line runs it: each good version also kept in the private folder beside the database.
        live = LiveMenu(path, interval=interval, last_good=last_good_path(path, Path(folder)))
        old = live.menu
        changed = text.replace("    say: Please hold.", "    say: Please hold the line.")
        assert changed != text
        path.write_text(changed)
        start = time.perf_counter()
        while live.menu is old:
            if time.perf_counter() - start > interval + 30:
                raise RuntimeError("the change was never noticed")
            time.sleep(0.005)  # a request every 5 ms
        return time.perf_counter() - start


def main() -> None:
    """Print the figures for a menu of --nodes nodes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = generated_menu(args.nodes)
    load_s, menu = timed(lambda: parse_menus(text), args.repeat)
    lint_s, warnings = timed(lambda: lint(menu), args.repeat)
    walk_s, report = timed(lambda: walk(menu), 1)
    print(f"menu: {len(menu.nodes)} nodes, {len(text.splitlines())} lines, {len(text) // 1024} KiB")
    print(f"validate and load (parse_menus): {load_s * 1000:8.1f} ms  (goal < 1000 ms: "
          f"{'PASS' if load_s < 1 else 'FAIL'})")
    print(f"warnings (lint):                 {lint_s * 1000:8.1f} ms  ({len(warnings)} warnings)")
    print(f"walk every path:                 {walk_s * 1000:8.1f} ms  ({report.states} states, "
          f"{report.steps} steps, {len(report.problems)} problems)")
    for interval in (0.0, 2.0):
        latency = reload_latency(text, interval)
        print(f"reload noticed and swapped in, IVR_RELOAD_SECONDS={interval:g}: {latency * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
