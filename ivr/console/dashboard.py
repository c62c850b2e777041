"""The dashboard: how families use the line, from the usage events' daily totals, with charts and CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from flask import Response, render_template, request

from ..line import current_line
from ..storage import StoreError
from ..storage.callbacks import REASONS as CALLBACK_REASONS
from ..usage_report import callbacks_of, median_seconds, usage
from .auth import console, role_required
from .views import bp

PERIODS = {"7": 7, "30": 30}  # the period picker's fixed choices, in days ending today
MAX_DAYS = 366  # a custom range: at most a year (a leap year's), one row a day
TEXT_REPLIES = (("summary", "Answered with a topic's summary"), ("menu", "Answered with the menu"),
                ("help", "HELP"), ("not_understood", "Not understood"), ("opt_out", "Opt-outs (STOP)"),
                ("opt_in", "Opt-ins again (START)"))
UNREACHABLE = "The line's database cannot be reached right now, so there are no numbers to show."
ANSWERS = (("key", "A key"), ("speech", "Words (speech)"), ("silence", "Nothing (silence)"),
           ("invalid", "A key the menu does not have"))


class PeriodError(ValueError):
    """The period asked for cannot be shown; the message says why, in words for staff."""


@dataclass(frozen=True)
class Period:
    """The UTC days the dashboard shows, both included, and how they were asked for."""

    choice: str  # "7", "30" or "custom"
    since: date
    until: date

    @property
    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]

    def query(self) -> dict[str, str]:
        """The picker's query parameters for this period (the CSV link asks for the same)."""
        if self.choice == "custom":
            return {"period": "custom", "since": self.since.isoformat(), "until": self.until.isoformat()}
        return {"period": self.choice}


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PeriodError(f"The {name} day is not a date: write it as YYYY-MM-DD, for example "
                          f"2026-11-30.") from None


def read_period(args, today: date) -> Period:
    """The period of the picker's query `args` (last 7 days unless asked otherwise)."""
    since, until = (args.get("since") or "").strip(), (args.get("until") or "").strip()
    choice = args.get("period") or ("custom" if since or until else "7")
    if choice in PERIODS:
        return Period(choice, today - timedelta(days=PERIODS[choice] - 1), today)
    if choice != "custom":
        raise PeriodError("Choose the last 7 days, the last 30 days or a custom range.")
    if not since or not until:
        raise PeriodError("A custom range needs both a first and a last day.")
    first, last = _date(since, "first"), _date(until, "last")
    if first > last:
        raise PeriodError(f"The first day ({first}) is after the last day ({last}).")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"A custom range is at most {MAX_DAYS} days; that one is "
                          f"{(last - first).days + 1}.")
    return Period("custom", first, last)


@dataclass
class Table:
    """One table of the page (and of its CSV): a caption, column headings, and rows of a label and
    counts. `chart` says how dashboard.js draws it ("line", "bars" or None for no chart)."""

    id: str
    caption: str
    columns: list[str]
    rows: list[tuple[str, list[int]]] = field(default_factory=list)
    chart: str | None = None
    note: str = ""

    def chart_data(self) -> dict:
        return {"id": self.id, "kind": self.chart, "labels": [label for label, _ in self.rows],
                "series": self.columns[1:],
                "values": [[counts[i] for _, counts in self.rows] for i in range(len(self.columns) - 1)]}


def _title(menu, node: str) -> str:
    """A node's title in the live menu ("Oral baclofen"), or its id when the menu no longer has it."""
    found = menu.nodes.get(node)
    if found is None or not found.title:
        return node
    return found.title[0].upper() + found.title[1:]


def tables(report: dict, period: Period, menu) -> list[Table]:
    """What the dashboard shows for `report` (usage_report.usage of the period), table by table."""
    calls, texts = report["calls"], report["texts"]
    ended = report["ended_at"]
    summary = Table("summary", "The period in numbers", ["What", "Count"], [
        ("Calls", [calls["total"]]),
        ("Calls in closed hours", [calls["closed_hours"]]),
        ("Calls that ended without reaching a person", [sum(ended.values())]),
        ("Transfers to a person", [sum(report["transfers"].values())]),
        ("Speech understood", [report["speech"]["understood"]]),
        ("Speech not understood", [report["speech"]["not_understood"]]),
        ("Texts", [texts["total"]]),
        ("Texts not understood", [texts["not_understood"]]),
        ("Opt-outs (STOP)", [texts["opt_out"]]),
    ])
    languages = sorted({*calls["by_language"], *texts["by_language"]})
    columns = ["Day", *(f"Calls ({lang})" for lang in languages), *(f"Texts ({lang})" for lang in languages),
               "Texts (no language)"]
    per_day = Table("per-day", "Calls and texts per day, by language", columns, chart="line",
                    note="A text has no language when it opts out or in again (STOP, START), or is a "
                         "HELP that Twilio answered itself.")
    for day in period.days:
        part = report["days"].get(day.isoformat())
        if part is None:
            per_day.rows.append((day.isoformat(), [0] * (len(columns) - 1)))
            continue
        by_call, by_text = part["calls"]["by_language"], part["texts"]["by_language"]
        per_day.rows.append((day.isoformat(), [*(by_call.get(lang, 0) for lang in languages),
                                               *(by_text.get(lang, 0) for lang in languages),
                                               part["texts"]["total"] - sum(by_text.values())]))
    topics = Table("topics", "Listens and texts per topic",
                   ["Topic", "Listens (calls)", "Texts asking for it", "Sent by text during a call"],
                   chart="bars")
    for node, counts in sorted(report["topics"].items(),
                               key=lambda item: (-item[1]["listens"] - item[1]["texted"], item[0])):
        topics.rows.append((_title(menu, node),
                            [counts["listens"], counts["texted"], counts["text_me_sent"]]))
    transfers = Table("transfers", "Transfers to a person, by outcome", ["Outcome", "Transfers"],
                      [(outcome, [n]) for outcome, n in _most_first(report["transfers"])], chart="bars")
    drop_off = Table("drop-off", "Where calls ended without reaching a person",
                     ["Last menu or topic", "Calls"],
                     [(_title(menu, node), [n]) for node, n in _most_first(ended)], chart="bars",
                     note="Each call that was never transferred, counted at the last menu or topic "
                          "it reached.")
    answers = Table("answers", "How callers answered the menus", ["Answer", "Count"],
                    [(label, [report["answers"].get(key, 0)]) for key, label in ANSWERS])
    replies = Table("texts", "Texts by how the line answered", ["Answer", "Texts"],
                    [(label, [texts.get(key, 0)]) for key, label in TEXT_REPLIES])
    return [summary, *callback_tables(report, period), per_day, topics, transfers, drop_off, answers, replies]


# How the console names a callback request's reason, here and in the queue.
CALLBACK_REASON_LABELS = {"closed": "Closed hours", "busy": "Scheduling was busy",
                          "no_answer": "No one answered", "failed": "The transfer failed",
                          "retries": "Waited through the retries", "text": "By text"}


def callback_tables(report: dict, period: Period) -> list[Table]:
    """The callback requests of the period, as counts only (so viewers may see them): made, by
    reason, closed and the median time to close; and per day. None when there were none."""
    found = callbacks_of(report)
    if not found["requested"] and not found["closed"]:
        return []
    reasons = [*CALLBACK_REASONS, *sorted(set(found["by_reason"]) - set(CALLBACK_REASONS))]
    median = median_seconds(found["close_seconds"])
    summary = Table("callbacks", "Callback requests in numbers", ["What", "Count"], [
        ("Callback requests", [found["requested"]]),
        *((f"Requests, {CALLBACK_REASON_LABELS.get(reason, reason).lower()}",
           [found["by_reason"].get(reason, 0)]) for reason in reasons),
        ("Closed by staff", [found["closed"]]),
        *([("Median time to close, in minutes", [round(median / 60)])] if median is not None else []),
    ], note="From the requests' and the closes' usage events: no number or message is counted. The time "
            "to close is from the family's request to staff closing it, of the requests closed in the "
            "period.")
    per_day = Table("callbacks-per-day", "Callback requests per day, by reason",
                    ["Day", *(CALLBACK_REASON_LABELS.get(r, r) for r in reasons), "Closed by staff"],
                    chart="line")
    for day in period.days:
        part = callbacks_of(report["days"].get(day.isoformat(), {}))
        per_day.rows.append((day.isoformat(), [*(part["by_reason"].get(r, 0) for r in reasons),
                                               part["closed"]]))
    return [summary, per_day]


def _most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def is_empty(report: dict) -> bool:
    found = callbacks_of(report)
    return (report["calls"]["total"] == 0 and report["texts"]["total"] == 0 and not found["requested"]
            and not found["closed"])


def _report(period: Period) -> dict:
    """The usage report of the period, from the line's database (its daily totals, and raw events for
    the days not rolled up yet)."""
    store = current_line().store
    since, until = period.since.isoformat(), period.until.isoformat()
    # The store's own transaction and schema check, as the console's accounts use.
    return store._run("read the usage events in", lambda connection: usage(connection, since, until))


def _today() -> date:
    return datetime.fromtimestamp(console().clock(), timezone.utc).date()


@bp.get("/dashboard")
@role_required("viewer")
def dashboard():
    today = _today()
    try:
        period = read_period(request.args, today)
    except PeriodError as error:
        return render_template("console/dashboard.html", error=str(error), period=None,
                               form=_form_values(request.args, today), today=today), 400
    try:
        report = _report(period)
    except StoreError:
        return render_template("console/dashboard.html", period=period,
                               form=_form_values(period.query(), today), today=today,
                               error=UNREACHABLE + " Try again in a minute."), 503
    shown = [] if is_empty(report) else tables(report, period, current_line().menu)
    return render_template("console/dashboard.html", period=period, form=_form_values(period.query(), today),
                           today=today, tables=shown, error=None,
                           charts=[t.chart_data() for t in shown if t.chart])


def _form_values(args, today: date) -> dict[str, str]:
    """What the picker shows: the choice made, and the custom days (the last 7 days' by default)."""
    choice = args.get("period") or ("custom" if args.get("since") or args.get("until") else "7")
    return {"period": choice if choice in ("7", "30", "custom") else "7",
            "since": args.get("since") or (today - timedelta(days=6)).isoformat(),
            "until": args.get("until") or today.isoformat()}


def as_csv(shown: list[Table]) -> str:
    """The tables as one CSV: a row per count, named by its table, row and column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("table", "row", "column", "count"))
    for table in shown:
        for label, counts in table.rows:
            for column, count in zip(table.columns[1:], counts, strict=True):
                writer.writerow((table.caption, label, column, count))
    return out.getvalue()


@bp.get("/dashboard.csv")
@role_required("viewer")
def dashboard_csv():
    try:
        period = read_period(request.args, _today())
    except PeriodError as error:
        return Response(str(error) + "\n", 400, mimetype="text/plain")
    try:
        report = _report(period)
    except StoreError:
        return Response(UNREACHABLE + "\n", 503, mimetype="text/plain")
    shown = [] if is_empty(report) else tables(report, period, current_line().menu)
    name = f"line-usage-{period.since.isoformat()}-to-{period.until.isoformat()}.csv"
    return Response(as_csv(shown), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
