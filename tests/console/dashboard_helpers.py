"""Shared by the dashboard's tests: a morning of real signed calls and texts (the usage tests' own),
and reading the page's tables."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import CALLER
from test_usage import SAID, SPANISH_TEXTER, use_the_line  # noqa: F401  (use_the_line: for the tests)

# use_the_line is the morning the usage report's tests count: the dashboard shows what `ivr usage` sums.
# What no page or CSV may show: the numbers, what a caller said, a text's own words.
SECRETS = (CALLER, CALLER[2:], SPANISH_TEXTER, SPANISH_TEXTER[2:], SAID[1], "xyzzy", "plugh", "ESPAÑOL")


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
