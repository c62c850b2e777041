"""Bad input to the menu editor: every kind of mistake the strict loader knows, an oversized draft and
an empty one are refused by check_draft and by the editor's check endpoint, each with its line, a
message and a fix, never a server error, and nothing is added to the versions table or published."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from conftest import MENUS
from console_helpers import add_account, console_app, sign_in, token_in

from ivr.review.draft import MAX_DRAFT_BYTES, check_draft

SHIPPED = MENUS.read_text()


def edited(old: str, new: str) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, 1)


def line_of(text: str, marker: str) -> int:
    """The line (from 1) on which `marker` first appears in `text`."""
    return text[:text.index(marker)].count("\n") + 1


GREETING = "  greeting: Thank you for calling the {name}."
TIMEOUT = "  key_timeout: 6"
# (name, draft, words in the first error's message, the line of the marker it must point at, or a line)
CASES = [
    ("a tab", edited("  name: Spasticity Clinic", "\tname: Spasticity Clinic"),
     "cannot start any token", "\tname"),
    ("a duplicate key", edited(TIMEOUT, TIMEOUT + "\n  key_timeout: 7"), "duplicate key 'key_timeout'",
     "key_timeout: 7"),
    ("an anchor", edited(GREETING, "  greeting: &hello Thank you"), "anchor", "&hello"),
    ("an alias", edited(TIMEOUT, TIMEOUT + "\n  start_again: *hello"), "reference", "*hello"),
    ("a merge key", edited("call:\n", "call:\n  <<: {start: main}\n"), "merge keys", "<<"),
    ("a tag", edited(GREETING, "  greeting: !!python/object:os.system x"), "tag", "!!python"),
    ("too deep an indentation", edited("  voice: Polly", "     voice: Polly"), "mapping values",
     "     voice"),
    ("too shallow an indentation", edited("  voice: Polly", " voice: Polly"), "did not find expected key",
     " voice: Polly"),
    ("a missing colon", edited("  voice: Polly.Joanna-Neural", "  voice Polly.Joanna-Neural\n  x: y"),
     "expected ':'", "  voice Polly"),
    ("an unclosed double quote", edited('scheduling: "(502) 635-6397"', 'scheduling: "(502) 635-6397'),
     "never closes", "scheduling:"),
    ("an unclosed single quote", edited(GREETING, "  greeting: 'Thank you for calling the {name}."),
     "never closes", "greeting:"),
    ("an unclosed bracket", edited("[drowning, poisoned, poisoning]", "[drowning, poisoned, poisoning"),
     "'[' opens here but never closes", "emergency_phrases"),
    ("an unclosed brace", edited("[drowning, poisoned, poisoning]", "{drowning"),
     "'{' opens here but never closes", "emergency_phrases"),
    ("brackets nested too deep", "line: " + "[" * 40 + "]" * 40 + "\n", "nest too deeply", 1),
    # How Python holds bytes that are not UTF-8 (surrogateescape): a byte 0xFF in the greeting.
    ("a byte that is not UTF-8",
     edited(GREETING, GREETING.replace("Thank", "Th" + b"\xff".decode("utf-8", "surrogateescape"))),
     "not UTF-8", "  greeting:"),
    ("a byte-order mark inside the text", edited(GREETING, GREETING.replace("Thank", "Th\ufeffank")),
     "U+FEFF", "  greeting:"),
    ("a NUL", edited(GREETING, GREETING.replace("Thank", "Th\x00ank")), "U+0000", "  greeting:"),
    ("a NUL written as \\0", edited(GREETING, '  greeting: "Thank you\\0 for calling"'), "U+0000",
     "  greeting:"),
    ("a replacement character", edited(GREETING, GREETING.replace("Thank", "Th\ufffdank")), "U+FFFD",
     "  greeting:"),
    ("a zero-width space", edited(GREETING, GREETING.replace("Thank", "Thank\u200b")), "U+200B",
     "  greeting:"),
    ("a list, not sections", "- line\n- call\n", "must be a set of sections", 1),
    ("a scalar, not sections", "Spasticity Clinic\n", "must be a set of sections", 1),
    ("two documents", SHIPPED + "---\nline: {}\n", "exactly one YAML document", "---\nline: {}"),
    ("an unknown section", edited("\nphones:\n", "\nrecordings:\n  greeting: welcome.mp3\n\nphones:\n"),
     "unknown section 'recordings'", "recordings:"),
    ("an unknown field", edited(TIMEOUT, TIMEOUT + "\n  ring_tone: loud"), "unknown key 'ring_tone'",
     "ring_tone"),
    ("a misspelt section", edited("nodes:", "nodez:"), "the section 'nodes:' is missing", "line:\n  name"),
    ("a list written over lines, one comma missing",
     edited("[drowning, poisoned, poisoning]", "[drowning,\n    \"poisoned\" poisoning]"),
     "expected ',' or ']'", '    "poisoned"'),
    ("a word for a number", edited(TIMEOUT, "  key_timeout: six"), "must be a whole number", "six"),
    ("a list for text", edited(GREETING, "  greeting: [Thank you]"), "must be some text, not a list",
     "[Thank you]"),
    ("an unquoted yes", edited(TIMEOUT, "  key_timeout: yes"), "true/false", "key_timeout: yes"),
    ("an empty key", edited(TIMEOUT, "  : 6"), "YAML cannot read this", "  : 6"),
    ("a huge number", edited(TIMEOUT, "  key_timeout: " + "9" * 40), "must be a whole number", "9999"),
    ("a huge float", edited(TIMEOUT, "  key_timeout: 1e400"), "must be a whole number", "1e400"),
    ("a huge negative number", edited(TIMEOUT, "  key_timeout: -99999999999999999"), "outside 3 to 10",
     "-9999"),
    ("an oversized draft", SHIPPED + "#" * MAX_DRAFT_BYTES, "KiB, more than a menu file can be", 1),
    ("an empty draft", "", "the file is empty", 1),
    ("a draft of blank lines", "\n  \n\n", "the file is empty", 1),
    ("a draft of comments only", "# menus.yaml\n# nothing yet\n", "the file is empty", 1),
]
IDS = [case[0] for case in CASES]


def expected_line(draft: str, where: str | int) -> int:
    return where if isinstance(where, int) else line_of(draft, where)


@pytest.mark.parametrize(("name", "draft", "words", "where"), CASES, ids=IDS)
def test_check_draft_refuses_it_at_its_line_with_a_fix(name, draft, words, where):
    result = check_draft(draft, "menus.yaml")
    assert not result.loads and result.replies == []
    errors = [p for p in result.problems if p.severity == "error"]
    first = errors[0]
    assert words in first.message, str(first)
    assert first.line == expected_line(draft, where) and first.col >= 1, str(first)
    assert first.file == "menus.yaml" and first.hint, str(first)


@pytest.fixture
def editor():
    """An editor signed in to a console whose line serves version 1; its database file, and the
    CSRF token of the editor page."""
    app = console_app()
    add_account(app, "eddie", "editor")
    client = app.test_client()
    sign_in(client, "eddie")
    token = token_in(client.get("/console/editor").get_data(as_text=True))
    database = app.extensions["ivr"].settings.database_url.removeprefix("sqlite:///")
    return client, token, database


def check(client, token: str, draft: bytes):
    """POST /console/editor/check as the editor's script does (FormData: multipart)."""
    body = b'--XyZ\r\nContent-Disposition: form-data; name="draft"\r\n\r\n' + draft + b"\r\n--XyZ--\r\n"
    return client.post("/console/editor/check", data=body, headers={"X-CSRFToken": token},
                       content_type="multipart/form-data; boundary=XyZ")


def versions_table(database: str) -> list[tuple]:
    with closing(sqlite3.connect(database)) as connection:  # sqlite3's own `with` does not close
        return connection.execute("SELECT id, state, sha256 FROM menu_versions ORDER BY id").fetchall()


def test_the_check_endpoint_refuses_every_kind_and_nothing_is_kept(editor):
    client, token, database = editor
    before = versions_table(database)
    assert [(number, state) for number, state, _ in before] == [(1, "published")]
    for name, draft, words, where in CASES:
        if name == "a byte that is not UTF-8":
            continue  # a form cannot carry it as text: see the test below
        response = check(client, token, draft.encode())
        assert response.status_code == 200, (name, response.status_code)
        shown = response.get_json()
        assert not shown["loads"] and shown["errors"] >= 1 and shown["replies"] == [], name
        first = next(p for p in shown["problems"] if p["severity"] == "error")
        assert words in first["message"], (name, first)
        assert first["line"] == expected_line(draft, where) and first["hint"], (name, first)
    assert versions_table(database) == before  # nothing added, and version 1 still the published one
    menu = client.get("/healthz").get_json()["menu"]
    assert (menu["version"], menu["sha256"]) == (1, before[0][2])


def test_a_byte_that_is_not_utf8_in_the_form_is_refused_at_its_line(editor):
    client, token, database = editor
    before = versions_table(database)
    data = MENUS.read_bytes().replace(b"greeting: Thank you", b"greeting: Th\xffank you", 1)
    # werkzeug reads a form's text with errors="replace": the byte arrives as U+FFFD, which the
    # loader refuses (a letter was lost there), whichever way the form is sent.
    response = check(client, token, data)
    assert response.status_code == 200
    shown = response.get_json()
    assert not shown["loads"] and shown["errors"] == 1
    (first,) = [p for p in shown["problems"] if p["severity"] == "error"]
    assert (first["line"], first["col"]) == (line_of(SHIPPED, GREETING), len("  greeting: Th") + 1)
    assert "U+FFFD" in first["message"] and "not UTF-8" in first["message"] and first["hint"]
    # Not percent-encoded, as no browser sends it: werkzeug drops the field, and the answer says so.
    response = client.post("/console/editor/check", data=b"draft=" + data, headers={"X-CSRFToken": token},
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "draft" in response.get_json()["error"]
    assert versions_table(database) == before


def test_a_draft_far_over_the_limit_is_refused_before_it_is_read(editor):
    client, token, database = editor
    before = versions_table(database)
    response = check(client, token, b"#" * (4 * MAX_DRAFT_BYTES))
    assert response.status_code == 413 and response.get_data(as_text=True) == "Request too large\n"
    assert versions_table(database) == before


def test_a_byte_order_mark_at_the_start_is_not_content():
    # Some editors write one; the loader reads past it, so the editor's check does too.
    assert check_draft("\ufeff" + SHIPPED).loads
