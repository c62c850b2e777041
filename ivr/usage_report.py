"""`ivr usage`: the usage events summed by the database (GROUP BY), for a period and per day."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import Connection, text

TEXT_OUTCOMES = ("summary", "menu", "help", "not_understood", "opt_out", "opt_in")
ANSWERS = ("key", "speech", "silence", "invalid")


def _empty() -> dict:
    return {"calls": {"total": 0, "by_language": {}, "closed_hours": 0, "closed_messages": 0,
                      "ended": 0, "seconds": 0},
            "texts": {"total": 0, "by_language": {}, "segments": 0, **dict.fromkeys(TEXT_OUTCOMES, 0)},
            "topics": {}, "transfers": {}, "ended_at": {}, "answers": dict.fromkeys(ANSWERS, 0),
            "speech": {"understood": 0, "not_understood": 0},
            "text_me": {"sent": 0, "refused": {}}}


def _topic(part: dict, node: str) -> dict:
    return part["topics"].setdefault(node, {"listens": 0, "texted": 0, "text_me_sent": 0})


def _add(part: dict, kind: str, node, language, outcome, understood, count: int, total) -> None:
    if kind == "call_started":
        part["calls"]["total"] += count
        by = part["calls"]["by_language"]
        by[language or "?"] = by.get(language or "?", 0) + count
        if outcome == "closed":
            part["calls"]["closed_hours"] += count
    elif kind == "closed_message":
        part["calls"]["closed_messages"] += count
    elif kind == "call_ended":
        part["calls"]["ended"] += count
        part["calls"]["seconds"] += int(total or 0)
    elif kind == "node_entered" and node:
        _topic(part, node)["listens"] += count
    elif kind == "answered" and outcome in ANSWERS:
        part["answers"][outcome] += count
        if outcome == "speech":  # understood: how many of them were (their value is 1)
            part["speech"]["understood"] += understood
            part["speech"]["not_understood"] += count - understood
    elif kind == "transfer":
        part["transfers"][outcome or "?"] = part["transfers"].get(outcome or "?", 0) + count
    elif kind == "text_me":
        if outcome == "sent":
            part["text_me"]["sent"] += count
            if node:
                _topic(part, node)["text_me_sent"] += count
        else:
            refused = part["text_me"]["refused"]
            refused[outcome or "?"] = refused.get(outcome or "?", 0) + count
    elif kind == "text_received":
        texts = part["texts"]
        texts["total"] += count
        texts["segments"] += int(total or 0)
        if language:
            texts["by_language"][language] = texts["by_language"].get(language, 0) + count
        if outcome in TEXT_OUTCOMES:
            texts[outcome] += count
        if outcome == "summary" and node:
            _topic(part, node)["texted"] += count


def usage(connection: Connection, since: str | None = None, until: str | None = None) -> dict:
    """The report for the days since..until (YYYY-MM-DD, UTC, both included; None: no bound)."""
    period = " AND ".join(["1 = 1", *(["day >= :since"] if since else []),
                           *(["day <= :until"] if until else [])])
    bounds = {"since": since, "until": until}
    # One pass in the order of the events_for_report index; what speech was understood is a sum, so
    # it is not one more thing to group by.
    counts = text(f"SELECT day, kind, node, language, outcome, COUNT(*), SUM(value), "
                  f"SUM(CASE WHEN kind = 'answered' THEN value END) FROM events WHERE {period} "
                  f"GROUP BY day, kind, node, language, outcome")
    report = {"since": since, "until": until, **_empty(), "days": {}}
    for day, kind, node, language, outcome, count, total, understood in connection.execute(counts, bounds):
        for part in (report, report["days"].setdefault(day, _empty())):
            _add(part, kind, node, language, outcome, int(understood or 0), count, total)
    # The drop-off: the last node entered in each call that was not transferred (the newest
    # node_entered row of each call, through the events_by_call index).
    if connection.dialect.name == "postgresql":
        last = (f"SELECT DISTINCT ON (subject) subject, node, day FROM events "
                f"WHERE kind = 'node_entered' AND {period} ORDER BY subject DESC, at DESC")
    else:  # SQLite: the bare columns of a MAX() row come from that row
        last = (f"SELECT subject, node, day, MAX(at) FROM events WHERE kind = 'node_entered' AND {period} "
                f"GROUP BY subject")
    ends = text(f"SELECT l.day, l.node, COUNT(*) FROM ({last}) l LEFT JOIN "
                f"(SELECT DISTINCT subject FROM events WHERE kind = 'transfer') t ON t.subject = l.subject "
                f"WHERE t.subject IS NULL GROUP BY l.day, l.node")
    for day, node, count in connection.execute(ends, bounds):
        for part in (report, report["days"].setdefault(day, _empty())):
            part["ended_at"][node] = part["ended_at"].get(node, 0) + count
    report["days"] = dict(sorted(report["days"].items()))
    return report


def as_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True)


def _flat(part: dict):
    """(section, key, count) for every figure of one period."""
    for section in ("calls", "texts", "answers", "speech", "transfers", "ended_at"):
        for key, value in part[section].items():
            if isinstance(value, dict):
                for sub, n in value.items():
                    yield section, f"{key}:{sub}", n
            else:
                yield section, key, value
    yield "text_me", "sent", part["text_me"]["sent"]
    for reason, n in part["text_me"]["refused"].items():
        yield "text_me", f"refused:{reason}", n
    for node, counts in part["topics"].items():
        for what, n in counts.items():
            yield "topics", f"{node}:{what}", n


def as_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("day", "section", "key", "count"))
    for day, part in (("all", report), *report["days"].items()):
        for row in _flat(part):
            writer.writerow((day, *row))
    return out.getvalue()


def as_table(report: dict) -> str:
    lines = [f"Usage {report['since'] or 'from the first event'} to {report['until'] or 'today'} (UTC days)"]
    section = None
    for name, key, n in _flat(report):
        if name != section:
            lines.append(f"\n{name}")
            section = name
        lines.append(f"  {key:<40} {n:>8}")
    lines.append("\nday          calls  closed  texts  transfers  opt-outs  not understood")
    for day, part in report["days"].items():
        lines.append(f"{day}  {part['calls']['total']:>5}  {part['calls']['closed_hours']:>6}  "
                     f"{part['texts']['total']:>5}  {sum(part['transfers'].values()):>9}  "
                     f"{part['texts']['opt_out']:>8}  {part['texts']['not_understood']:>14}")
    return "\n".join(lines) + "\n"
