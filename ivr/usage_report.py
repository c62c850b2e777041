"""`ivr usage`: the usage events summed by the database (GROUP BY), for a period and per day; the daily
totals they are rolled up into, and the retention of the raw events (`ivr usage rollup`)."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, bindparam, text

TEXT_OUTCOMES = ("summary", "menu", "help", "not_understood", "opt_out", "opt_in")
ANSWERS = ("key", "speech", "silence", "invalid")


def _empty() -> dict:
    return {"calls": {"total": 0, "by_language": {}, "closed_hours": 0, "closed_messages": 0,
                      "ended": 0, "seconds": 0},
            "texts": {"total": 0, "by_language": {}, "segments": 0, **dict.fromkeys(TEXT_OUTCOMES, 0)},
            "topics": {}, "transfers": {}, "ended_at": {}, "answers": dict.fromkeys(ANSWERS, 0),
            "speech": {"understood": 0, "not_understood": 0},
            "text_me": {"sent": 0, "refused": {}},
            # Callback requests, counted without any number: made (by reason) and closed, with how
            # many were closed after each number of seconds (so the median is exact, and adds up).
            "callbacks": _no_callbacks()}


def _no_callbacks() -> dict:
    return {"requested": 0, "by_reason": {}, "closed": 0, "close_seconds": {}}


def callbacks_of(part: dict) -> dict:
    """A report's (or a day's) callback counts; a day rolled up before they were counted has none."""
    return part.get("callbacks") or _no_callbacks()


def median_seconds(close_seconds: dict[str, int]) -> float | None:
    """The median time to close from a {seconds: count} histogram, or None when nothing was closed."""
    values = sorted((int(seconds), count) for seconds, count in close_seconds.items() if count)
    total = sum(count for _, count in values)
    if not total:
        return None

    def nth(n: int) -> int:  # the n-th smallest value, from 0
        for seconds, count in values:
            if n < count:
                return seconds
            n -= count
        raise IndexError(n)

    middle = total // 2
    return float(nth(middle)) if total % 2 else (nth(middle - 1) + nth(middle)) / 2


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
    elif kind == "callback_requested":
        found = part["callbacks"]
        found["requested"] += count
        found["by_reason"][outcome or "?"] = found["by_reason"].get(outcome or "?", 0) + count
    elif kind == "callback_closed":
        part["callbacks"]["closed"] += count  # the times to close: _raw's own query
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


def _raw(connection: Connection, where: str, params: dict, scoped: bool = True) -> dict[str, dict]:
    """The per-day parts of the raw events whose day matches `where` (SQL, {day} for the column).

    scoped=False when `where` holds every event: the drop-off then needs no list of calls."""
    days: dict[str, dict] = {}
    # One pass in the order of the events_for_report index; what speech was understood is a sum, so
    # it is not one more thing to group by.
    counts = text(f"SELECT day, kind, node, language, outcome, COUNT(*), SUM(value), "
                  f"SUM(CASE WHEN kind = 'answered' THEN value END) FROM events "
                  f"WHERE {where.format(day='day')} "
                  f"GROUP BY day, kind, node, language, outcome")
    for day, kind, node, language, outcome, count, total, understood in _execute(connection, counts, params):
        _add(days.setdefault(day, _empty()), kind, node, language, outcome, int(understood or 0), count,
             total)
    # Each close's seconds, for an exact median: a few rows a day, through the same covering index.
    closes = text(f"SELECT day, value, COUNT(*) FROM events WHERE kind = 'callback_closed' AND "
                  f"{where.format(day='day')} GROUP BY day, value")
    for day, seconds, count in _execute(connection, closes, params):
        histogram = days.setdefault(day, _empty())["callbacks"]["close_seconds"]
        histogram[str(int(seconds or 0))] = histogram.get(str(int(seconds or 0)), 0) + count
    # The drop-off: the last node entered in each call that was not transferred (the newest
    # node_entered row of each call, through the events_by_call index), counted on that row's day,
    # whatever the period asked: a call that crosses midnight counts once, on the day it last moved.
    # Only SQLite reads this list (PostgreSQL's scoped query below has its own). "+kind" keeps its
    # planner off the kind prefix of events_by_call, a scan of every node entered in the whole table
    # (a database never ANALYZEd has no statistics to say so), and on the day index instead: the
    # events of the period's days alone. Two raw days of a busy line: 150 ms down to 15 ms.
    calls = (f" AND subject IN (SELECT subject FROM events WHERE +kind = 'node_entered' AND "
             f"{where.format(day='day')})"
             if scoped else "")
    if connection.dialect.name == "postgresql" and scoped:
        # LATERAL: one backward seek per call in events_by_call, never a hash join over every call
        # (which the planner picks when its statistics say many events are not rolled up).
        last = (f"SELECT s.subject, l.node, l.day FROM (SELECT DISTINCT subject FROM events WHERE "
                f"kind = 'node_entered' AND {where.format(day='day')}) s CROSS JOIN LATERAL (SELECT node, "
                f"day FROM events e WHERE e.kind = 'node_entered' AND e.subject = s.subject "
                f"ORDER BY e.at DESC LIMIT 1) l")
    elif connection.dialect.name == "postgresql":
        last = (f"SELECT DISTINCT ON (subject) subject, node, day FROM events "
                f"WHERE kind = 'node_entered'{calls} ORDER BY subject DESC, at DESC")
    else:  # SQLite: the bare columns of a MAX() row come from that row
        last = (f"SELECT subject, node, day, MAX(at) FROM events WHERE kind = 'node_entered'{calls} "
                f"GROUP BY subject")
    # NOT EXISTS, not a join on the distinct transferred calls: both planners seek each call's transfer
    # in events_by_call (SQLite stops building its automatic index for the join once it has the
    # statistics of the partial index events_unrolled), or turn it into an anti-join.
    ends = text(f"SELECT l.day, l.node, COUNT(*) FROM ({last}) l WHERE NOT EXISTS (SELECT 1 FROM events t "
                f"WHERE t.kind = 'transfer' AND t.subject = l.subject) AND {where.format(day='l.day')} "
                f"GROUP BY l.day, l.node")
    for day, node, count in _execute(connection, ends, params):
        ended = days.setdefault(day, _empty())["ended_at"]
        ended[node] = ended.get(node, 0) + count
    return days


def _execute(connection: Connection, statement, params: dict):
    if "days" in params:
        statement = statement.bindparams(bindparam("days", expanding=True))
    return connection.execute(statement, params)


def _period(since: str | None, until: str | None) -> str:
    # A template: {day} is the day column of the query it goes into.
    return " AND ".join(["1 = 1", *(["{day} >= :since"] if since else []),
                         *(["{day} <= :until"] if until else [])])


def _merge(into: dict, part: dict) -> dict:
    """Add every count of `part` to `into` (the same shape), in place; returns `into`."""
    for key, value in part.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value
    return into


def _assemble(since: str | None, until: str | None, days: dict[str, dict]) -> dict:
    report = {"since": since, "until": until, **_empty(), "days": dict(sorted(days.items()))}
    for part in report["days"].values():
        _merge(report, part)
    return report


def raw_usage(connection: Connection, since: str | None = None, until: str | None = None) -> dict:
    """The report from the raw events alone, ignoring the daily totals (what usage() must equal)."""
    where = _period(since, until)
    return _assemble(since, until, _raw(connection, where, {"since": since, "until": until},
                                        scoped=bool(since or until)))


def raw_days(connection: Connection) -> set[str]:
    """The days whose totals cannot be read from usage_days now: those with events not rolled up yet,
    and those holding a node entered by a call with such an event (its drop-off may move)."""
    # Every call with an event not rolled up, whatever its kind: then only the partial index
    # events_unrolled (a day or so of events) answers, and each call is one seek in events_by_call.
    moved = "SELECT DISTINCT subject FROM events WHERE rolled IS NULL"
    if connection.dialect.name == "postgresql":  # LATERAL: as in _raw, a seek per call
        linked = (f"SELECT DISTINCT e.day FROM ({moved}) m CROSS JOIN LATERAL (SELECT day FROM events e "
                  f"WHERE e.kind = 'node_entered' AND e.subject = m.subject) e")
    else:
        linked = f"SELECT DISTINCT day FROM events WHERE kind = 'node_entered' AND subject IN ({moved})"
    statement = text(f"SELECT DISTINCT day FROM events WHERE rolled IS NULL UNION {linked}")
    return {day for (day,) in connection.execute(statement)}


def usage(connection: Connection, since: str | None = None, until: str | None = None) -> dict:
    """The report for the days since..until (YYYY-MM-DD, UTC, both included; None: no bound).

    Days rolled up (usage_days) are read from their totals; the others from their raw events. The
    numbers are those of raw_usage() whichever way a day is read. On PostgreSQL, a REPEATABLE READ
    transaction reads one snapshot; under READ COMMITTED the days to read raw are decided first, so a
    roll-up that commits meanwhile cannot make a day go missing."""
    bounds = {"since": since, "until": until}
    period = _period(since, until).format(day="day")
    if connection.execute(text(f"SELECT 1 FROM usage_days WHERE {period} LIMIT 1"), bounds).first() is None:
        return raw_usage(connection, since, until)  # nothing rolled up in the period: one pass over raw
    fresh = raw_days(connection)
    stored = connection.execute(text(f"SELECT day, part, raw_kept FROM usage_days WHERE {period}"),
                                bounds).all()
    days: dict[str, dict] = {}
    for day, part, raw_kept in stored:
        # A day in `fresh` is read raw; one whose raw events are gone (retention) keeps its totals and
        # adds what arrived since.
        if day not in fresh or not raw_kept:
            days[day] = json.loads(part)
    wanted = sorted(day for day in fresh
                    if (since is None or day >= since) and (until is None or day <= until))
    if wanted:
        for day, part in _raw(connection, "{day} IN :days", {"days": wanted}).items():
            days[day] = _merge(days[day], part) if day in days else part
    return _assemble(since, until, days)


# A day's totals are worked out once the day is over and its late events are in: the buffers flush
# within seconds, so two hours also covers a machine whose clock is a little off. Events that still
# arrive for a closed day are not lost: the day is read raw again until the next roll-up adds them.
GRACE_SECONDS = 2 * 3600
# PostgreSQL session advisory lock: one roll-up at a time across every worker and machine.
ROLLUP_LOCK = 0x1C0_5A6E
# Days rolled up in one run from which the partial index of events not rolled up is rebuilt.
REINDEX_AFTER_DAYS = 7


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d")


def closed_before(now: float) -> str:
    """The first day not closed yet at `now`: every day before it can be rolled up."""
    return _day(now - GRACE_SECONDS)


def expired_before(now: float, retention_days: int) -> str:
    """The first day whose raw events are still kept with IVR_EVENTS_RETENTION_DAYS = retention_days."""
    return _day(now - retention_days * 86400)


def maintain(engine: Engine, retention_days: int, now: float | None = None, wait: bool = True) -> dict:
    """Roll up every closed day into usage_days, then delete the raw events of days rolled up and
    older than `retention_days`; returns what it did: {"rolled": [days], "deleted": events,
    "expired": [days], "busy": True when another worker was doing it (wait=False)}.

    Each day is one short transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: REPEATABLE READ, so the
    events summed are exactly those marked), and recomputing a day from its raw events gives the same
    totals however often it runs; on PostgreSQL a session advisory lock also keeps a second run out.
    """
    now = time.time() if now is None else now
    done = {"rolled": [], "deleted": 0, "expired": [], "busy": False}
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgres:
            with connection.begin():
                # Off the request path: a first roll-up of a long backlog may take longer than a
                # webhook's statement (RESET below restores the connection's own timeout).
                connection.execute(text("SET statement_timeout = 0"))
            while True:
                # Polled, not waited for in a statement: a transaction left open while waiting would
                # hold up the REINDEX CONCURRENTLY of the run it waits for, which waits for it.
                with connection.begin():
                    locked = text("SELECT pg_try_advisory_lock(:k)")
                    if connection.execute(locked, {"k": ROLLUP_LOCK}).scalar():
                        break
                    if not wait:
                        connection.execute(text("RESET statement_timeout"))
                        done["busy"] = True
                        return done
                time.sleep(0.2)
            connection.execution_options(isolation_level="REPEATABLE READ")
        try:
            closed = closed_before(now)
            with _begin(connection, write=False):
                due = sorted(day for day in raw_days(connection) if day < closed)
            for day in due:
                with _begin(connection, write=True):
                    _roll_day(connection, day, now)
                done["rolled"].append(day)
            if postgres and len(due) >= REINDEX_AFTER_DAYS:
                # A backlog (a database upgraded with its events) leaves events_unrolled with many
                # empty pages, and the planner then scans the whole table instead: rebuild it small.
                connection.execution_options(isolation_level="AUTOCOMMIT")
                connection.execute(text("REINDEX INDEX CONCURRENTLY events_unrolled"))
                connection.commit()  # ends SQLAlchemy's own autobegun "transaction"
                connection.execution_options(isolation_level="REPEATABLE READ")
            expired = expired_before(now, retention_days)
            with _begin(connection, write=False):
                fresh = raw_days(connection)
                old = [day for (day,) in connection.execute(text(
                    "SELECT day FROM usage_days WHERE raw_kept = 1 AND day < :d ORDER BY day"),
                    {"d": expired}) if day not in fresh]
            for day in old:  # a day at a time: neither database is held long
                with _begin(connection, write=True):
                    gone = connection.execute(text(
                        "DELETE FROM events WHERE day = :d AND rolled IS NOT NULL"), {"d": day}).rowcount
                    connection.execute(text("UPDATE usage_days SET raw_kept = 0 WHERE day = :d"), {"d": day})
                done["deleted"] += gone
                done["expired"].append(day)
        finally:
            if postgres:
                with connection.begin():
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ROLLUP_LOCK})
                    connection.execute(text("RESET statement_timeout"))
    return done


def _begin(connection: Connection, write: bool):
    # SQLite: a writing transaction takes the write lock first (BEGIN IMMEDIATE), so what it read
    # cannot change before it writes; reading ones do not hold up the webhooks' writes.
    if connection.dialect.name == "sqlite":
        connection.execution_options(ivr_immediate=write)
    return connection.begin()


def _roll_day(connection: Connection, day: str, now: float) -> None:
    """Write `day`'s totals from its raw events and mark those events as rolled up."""
    stored = connection.execute(text("SELECT part, raw_kept FROM usage_days WHERE day = :d"),
                                {"d": day}).first()
    part = _raw(connection, "{day} = :d", {"d": day}).get(day, _empty())
    if stored is not None and not stored.raw_kept:
        # Its raw events were deleted (retention): the events here are all late ones, not in the
        # totals yet. Add them, and delete them as the day's others were.
        part = _merge(json.loads(stored.part), part)
        connection.execute(text("DELETE FROM events WHERE day = :d"), {"d": day})
        kept = 0
    else:  # every event of the day is here: the totals are worked out anew
        connection.execute(text("UPDATE events SET rolled = 1 WHERE day = :d AND rolled IS NULL"), {"d": day})
        kept = 1
    values = {"d": day, "p": json.dumps(part, sort_keys=True), "t": now, "k": kept}
    # The day is the primary key: a second writer can never add a second row for it.
    connection.execute(text("INSERT INTO usage_days (day, part, rolled_at, raw_kept) VALUES (:d, :p, :t, :k) "
                            "ON CONFLICT (day) DO UPDATE SET part = excluded.part, "
                            "rolled_at = excluded.rolled_at, raw_kept = excluded.raw_kept"), values)


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
    found = callbacks_of(part)
    yield "callbacks", "requested", found["requested"]
    for reason, n in sorted(found["by_reason"].items()):
        yield "callbacks", f"requested:{reason}", n
    yield "callbacks", "closed", found["closed"]
    median = median_seconds(found["close_seconds"])
    if median is not None:
        yield "callbacks", "median_seconds_to_close", round(median)
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
