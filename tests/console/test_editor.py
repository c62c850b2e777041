"""The menu editor's pages and its check as staff type: the loader's errors and `ivr check`'s
warnings at their line, text replies with their message counts, roles and CSRF."""

from __future__ import annotations

from conftest import MENUS
from console_helpers import add_account, console_app, sign_in, token_in

from ivr.review.draft import MAX_DRAFT_BYTES, check_draft

SHIPPED = MENUS.read_text()


def signed_in(role: str = "editor"):
    app = console_app()
    add_account(app, role, role)
    client = app.test_client()
    sign_in(client, role)
    return app, client


def check(client, draft: str, token: str | None = None):
    if token is None:
        token = token_in(client.get("/console/editor").get_data(as_text=True))
    return client.post("/console/editor/check", data={"draft": draft},
                       headers={"X-CSRFToken": token})


def test_the_served_menu_has_no_errors_and_its_replies_are_counted():
    result = check_draft(SHIPPED)
    assert result.loads and result.errors == 0
    languages = {r.language for r in result.replies}
    assert languages == {"en-US", "es-US"}
    help_reply = next(r for r in result.replies if r.source == "phrases.sms_help" and r.language == "en-US")
    assert help_reply.encoding == "GSM-7" and help_reply.segments >= 1
    assert SHIPPED.splitlines()[help_reply.line - 1].lstrip().startswith("sms_help")


def test_a_mistake_is_reported_at_its_line_with_the_fix():
    lines = SHIPPED.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("nodes:"))
    lines[at] = "nodez:"
    result = check_draft("\n".join(lines) + "\n")
    assert not result.loads and result.replies == []
    missing = next(p for p in result.problems if "nodes" in p.message)
    assert missing.severity == "error" and missing.hint


def test_broken_yaml_gets_its_line_and_column():
    result = check_draft("call:\n  start: [unclosed\n")
    assert result.errors >= 1
    assert result.problems[0].line in (2, 3) and result.problems[0].file == "draft"


def test_an_oversized_draft_is_refused_with_a_clear_message():
    result = check_draft("#" * (MAX_DRAFT_BYTES + 1))
    assert result.errors == 1 and "KiB" in result.problems[0].message


def test_the_check_endpoint_returns_problems_as_json():
    _, client = signed_in()
    good = check(client, SHIPPED).get_json()
    assert good["loads"] and good["errors"] == 0 and len(good["replies"]) > 10
    bad = check(client, SHIPPED.replace("nodes:", "nodez:", 1)).get_json()
    assert not bad["loads"] and bad["problems"][0]["line"] >= 1 and bad["problems"][0]["hint"]
    assert {"file", "line", "col", "message", "hint", "severity"} == set(bad["problems"][0])


def test_the_check_needs_the_csrf_token_and_a_draft():
    _, client = signed_in()
    assert check(client, SHIPPED, token="forged").status_code == 400
    token = token_in(client.get("/console/editor").get_data(as_text=True))
    missing = client.post("/console/editor/check", data={}, headers={"X-CSRFToken": token})
    assert missing.status_code == 400 and "draft" in missing.get_json()["error"]


def test_the_editor_opens_on_the_served_file_and_checks_without_javascript():
    _, client = signed_in()
    page = client.get("/console/editor").get_data(as_text=True)
    assert "No problems: the line could serve this draft." in page
    assert "sms_help:" in page  # the file's own text, in the textarea
    token = token_in(page)
    posted = client.post("/console/editor", data={"csrf_token": token,
                                                  "draft": SHIPPED.replace("nodes:", "nodez:", 1)})
    assert posted.status_code == 200
    assert "error(s)" in posted.get_data(as_text=True) and "nodez:" in posted.get_data(as_text=True)


def test_only_editors_and_up_may_edit():
    app = console_app()
    for role, expected in (("viewer", 403), ("editor", 200), ("clinician", 200), ("admin", 200)):
        add_account(app, role, role)
        client = app.test_client()
        sign_in(client, role)
        assert client.get("/console/editor").status_code == expected, role
    viewer = app.test_client()
    sign_in(viewer, "viewer")
    token = token_in(viewer.get("/console/").get_data(as_text=True))
    assert viewer.post("/console/editor/check", data={"draft": SHIPPED},
                       headers={"X-CSRFToken": token}).status_code == 403
    signed_out = console_app().test_client()
    assert signed_out.get("/console/editor").status_code == 302
