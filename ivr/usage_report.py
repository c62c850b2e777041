"""`ivr usage`: the usage events summed by the database (GROUP BY), for a period and per day."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import Connection, and_, case, func, select, true

from .storage.tables import events

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
        if outcome == "speech":
            part["speech"]["understood" if understood else "not_understood"] += count
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
    period = []
    if since:
        period.append(events.c.day >= since)
    if until:
        period.append(events.c.day <= until)
    where = and_(true(), *period)
    understood = case((events.c.kind == "answered", events.c.value), else_=None)
    counts = (select(events.c.day, events.c.kind, events.c.node, events.c.language, events.c.outcome,
                     understood.label("understood"), func.count().label("n"), func.sum(events.c.value))
              .where(where)
              .group_by(events.c.day, events.c.kind, events.c.node, events.c.language, events.c.outcome,
                        understood))
    report = {"since": since, "until": until, **_empty(), "days": {}}
    for day, kind, node, language, outcome, understood_value, count, total in connection.execute(counts):
        for part in (report, report["days"].setdefault(day, _empty())):
            _add(part, kind, node, language, outcome, understood_value, count, total)
    # The drop-off: the last node entered in each call that was not transferred.
    entered = events.alias("entered")
    last = (select(entered.c.subject, func.max(entered.c.at).label("at"))
            .where(entered.c.kind == "node_entered", *[c for c in _on(entered, since, until)])
            .group_by(entered.c.subject).subquery("last"))
    transferred = events.alias("transferred")
    ends = (select(events.c.day, events.c.node, func.count(func.distinct(events.c.subject)))
            .join(last, and_(events.c.subject == last.c.subject, events.c.at == last.c.at))
            .where(events.c.kind == "node_entered",
                   ~select(1).where(transferred.c.subject == events.c.subject,
                                    transferred.c.kind == "transfer").exists())
            .group_by(events.c.day, events.c.node))
    for day, node, count in connection.execute(ends):
        for part in (report, report["days"].setdefault(day, _empty())):
            part["ended_at"][node] = part["ended_at"].get(node, 0) + count
    report["days"] = dict(sorted(report["days"].items()))
    return report


def _on(table, since: str | None, until: str | None) -> list:
    where = []
    if since:
        where.append(table.c.day >= since)
    if until:
        where.append(table.c.day <= until)
    return where


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
