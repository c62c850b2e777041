"""Shared by the dashboard's tests: a morning of real signed calls and texts, and reading its tables."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import CALLER, Call, Texter, signed_post

SPANISH_TEXTER = "+15025550177"
SAID = ("rhizotomy", "purple elephant")
BODIES = ("pump", "menu", "xyzzy plugh", "HELP", "STOP", "START", "ESPAÑOL")
# What no page or CSV may show: the numbers, what a caller said, a text's own words.
SECRETS = (CALLER, CALLER[2:], SPANISH_TEXTER, SPANISH_TEXTER[2:], SAID[1], "xyzzy", "plugh", "ESPAÑOL")


def status(client, call: Call, duration: str) -> None:
    params = {**call.params, "CallStatus": "completed", "CallDuration": duration}
    assert signed_post(client, "/voice/status", params).status_code == 204


def use_the_line(client) -> list[Call]:
    """Four calls and seven texts through the signed webhooks; see the counts each test expects."""
    a = Call(client)  # main -> pump summary -> text me -> scheduling, answered
    a.start()
    a.press("2")
    a.press("1")
    a.press("0")
    a.dial_ends("completed", "60")
    status(client, a, "120")
    b = Call(client)  # speech understood, then not; hangs up at the rhizotomy summary
    b.start()
    b._post(b.gather.get("action"), SpeechResult=SAID[0], Confidence="0.9")
    b._post(b.gather.get("action"), SpeechResult=SAID[1], Confidence="0.9")
    status(client, b, "30")
    c = Call(client)  # a wrong key and silence at the main menu, then hangs up there
    c.start()
    c.press("7")
    c.wait()
    status(client, c, "20")
    d = Call(client)  # straight to scheduling: busy
    d.start()
    d.press("0")
    d.dial_ends("busy")
    texter = Texter(client)
    for body in BODIES[:-1]:
        texter.send(body)
    Texter(client, number=SPANISH_TEXTER).send(BODIES[-1])
    return [a, b, c, d]


class _Tables(HTMLParser):
    """Every <table id=...> of a page: {id: {row heading: [cell texts]}}, and its column headings."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict[str, list[str]]] = {}
        self.columns: dict[str, list[str]] = {}
        self._table = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = {}
            self.columns[self._table] = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._in_head:
                self.columns[self._table] = self._row
            elif self._row:
                self.tables[self._table][self._row[0]] = self._row[1:]
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._table = None


def tables_in(page: str) -> tuple[dict[str, dict[str, list[str]]], dict[str, list[str]]]:
    """The page's tables by id ({row: cells}) and their column headings by id."""
    parser = _Tables()
    parser.feed(page)
    return parser.tables, parser.columns


def counts(page: str, table: str) -> dict[str, int]:
    """A one-count-a-row table of the page as {row: count}."""
    return {row: int(cells[0]) for row, cells in tables_in(page)[0][table].items()}
