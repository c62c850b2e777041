"""Changing the line from the console: a draft saved in the editor (a stale save refused, nothing
lost), signed off by a clinician who wrote none of it on the exact sha256, published, heard by the
next call, brought back; forged approvals refused; every step in the audit log."""

from __future__ import annotations

import re

import pytest
from conftest import MENUS, Texter
from console_helpers import add_account, console_app, sign_in, token_in

from ivr.console.auth import EXTENSION
from ivr.storage.versions import Versions, sha256_of

CASTING = "Casting: if used, a cast would usually be in place for one week only"
NEW_TEXT = MENUS.read_text().replace("Casting: if used,", "Casting, as the clinic now says,")
BROKEN = MENUS.read_text().replace("nodes:", "nodez:", 1)


@pytest.fixture
def app():
    app = console_app(IVR_RELOAD_SECONDS="0")
    for name, role in (("eddie", "editor"), ("fran", "editor"), ("claire", "clinician"),
                       ("vera", "viewer"), ("root", "admin")):
        add_account(app, name, role)
    return app


def signed_in(app, name: str):
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def versions(app) -> Versions:
    return Versions.for_store(app.extensions["ivr"].store)


def save(client, text: str, **fields):
    query = f"?version={fields.pop('version')}" if "version" in fields else ""
    html = client.get("/console/editor" + query).get_data(as_text=True)
    hidden = dict(re.findall(r'type="hidden" name="(draft_id|expected_sha256|base_id)" value="([^"]*)"',
                             html))
    return client.post("/console/editor/save", data={"csrf_token": token_in(html), "draft": text,
                                                     **hidden, **fields})


def post(client, path: str, **fields):
    token = token_in(client.get("/console/versions").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **fields})


def audit_actions(app) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.subject) for e in app.extensions[EXTENSION].accounts.audit_log()]


def test_draft_sign_off_publish_and_the_next_text_hears_it(app):
    eddie, claire = signed_in(app, "eddie"), signed_in(app, "claire")
    texter = Texter(app.test_client())
    assert texter.send("casting").startswith(CASTING)
    saved = save(eddie, NEW_TEXT, note="new casting wording")
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/console/editor?version=2")
    draft = versions(app).get(2)
    assert (draft.state, draft.base_id, draft.note, draft.author_names) == ("draft", 1, "new casting wording",
                                                                             ("eddie",))
    page = claire.get("/console/versions/2").get_data(as_text=True)
    assert "Casting, as the clinic now says," in page and "es-US" in page  # the diff, every language
    assert "The walk of every path" in page and "Approve version 2" in page
    script = page[page.index("The clinician script of what changed"):page.index("The walk of every path")]
    assert "Casting, as the clinic now says," in script and "In es-US: nothing reads differently" in script
    # Eddie wrote it: he is no clinician, and a clinician who wrote it could not approve it either.
    assert post(eddie, "/console/versions/2/approve", sha256=draft.sha256).status_code == 403
    assert post(claire, "/console/versions/2/approve", sha256=draft.sha256).status_code == 303
    assert versions(app).get(2).state == "approved"
    assert texter.send("casting").startswith(CASTING)  # approved is not yet published
    assert post(eddie, "/console/versions/2/publish", sha256=draft.sha256).status_code == 303
    assert texter.send("casting").startswith("Casting, as the clinic now says,")
    assert app.test_client().get("/healthz").get_json()["menu"]["version"] == 2
    assert audit_actions(app)[:3] == [("eddie", "menu published", "version 2"),
                                      ("claire", "menu approved", "version 2"),
                                      ("eddie", "draft saved", "version 2")]


def test_a_broken_draft_is_saved_but_never_approved(app):
    eddie, claire = signed_in(app, "eddie"), signed_in(app, "claire")
    saved = save(eddie, BROKEN)
    assert saved.status_code == 303
    follow = eddie.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Draft version 2 is saved; it has" in follow and "error(s)" in follow
    page = claire.get("/console/versions/2").get_data(as_text=True)
    assert "You cannot approve this draft: it has errors" in page and "Approve version 2" not in page
    refused = post(claire, "/console/versions/2/approve", sha256=sha256_of(BROKEN.encode()))
    assert refused.status_code == 303 and versions(app).get(2).state == "draft"
    assert "cannot be approved" in claire.get("/console/versions/2").get_data(as_text=True)


def test_forged_approvals_are_refused_and_nothing_is_published(app):
    eddie, claire, vera = signed_in(app, "eddie"), signed_in(app, "claire"), signed_in(app, "vera")
    save(eddie, NEW_TEXT)
    sha = versions(app).get(2).sha256
    assert post(vera, "/console/versions/2/approve", sha256=sha).status_code == 403  # a viewer
    assert claire.post("/console/versions/2/approve", data={"sha256": sha}).status_code == 400  # no CSRF
    assert post(claire, "/console/versions/2/approve", sha256="0" * 64).status_code == 303  # another text
    assert post(claire, "/console/versions/2/approve", sha256="not a hash").status_code == 400
    assert versions(app).get(2).state == "draft"
    assert post(eddie, "/console/versions/2/publish", sha256=sha).status_code == 303  # not approved
    assert post(claire, "/console/versions/99/approve", sha256=sha).status_code == 404
    assert versions(app).newest_published().id == 1
    # Everyone who saves a draft becomes one of its authors.
    save(signed_in(app, "fran"), NEW_TEXT + "\n", version=2)
    assert versions(app).get(2).author_names == ("eddie", "fran")
    assert "Approve version 2" in claire.get("/console/versions/2").get_data(as_text=True)


def test_an_edit_after_approval_needs_a_new_approval(app):
    eddie, claire = signed_in(app, "eddie"), signed_in(app, "claire")
    save(eddie, NEW_TEXT)
    post(claire, "/console/versions/2/approve", sha256=versions(app).get(2).sha256)
    save(eddie, NEW_TEXT.replace("as the clinic now says", "as the clinic says today"), version=2)
    edited = versions(app).get(2)
    assert (edited.state, edited.approved_by) == ("draft", None)
    assert post(eddie, "/console/versions/2/publish", sha256=edited.sha256).status_code == 303
    assert versions(app).newest_published().id == 1


def test_a_save_on_a_stale_base_is_refused_and_the_text_kept(app):
    eddie, fran = signed_in(app, "eddie"), signed_in(app, "fran")
    save(eddie, NEW_TEXT)
    # Both open draft 2; Fran saves first.
    eddie_page = eddie.get("/console/editor?version=2").get_data(as_text=True)
    assert save(fran, NEW_TEXT.replace("now says", "says, Fran's words"), version=2).status_code == 303
    mine = NEW_TEXT.replace("now says", "says, Eddie's words")
    refused = eddie.post("/console/editor/save", data={
        "csrf_token": token_in(eddie_page), "draft": mine, "draft_id": "2",
        "expected_sha256": sha256_of(NEW_TEXT.encode())})  # what Eddie opened
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "fran saved version 2 after you opened it" in html and "Your text is still here" in html
    assert "Eddie&#39;s words" in html or "Eddie's words" in html  # nothing lost
    assert "Fran&#39;s words" in versions(app).get(2).yaml or "Fran's words" in versions(app).get(2).yaml
    # The way forward: the Save button now saves Eddie's text as a new draft from Fran's.
    assert 'name="base_id" value="2"' in html and 'name="draft_id"' not in html


def test_an_earlier_version_is_brought_back_with_a_note(app):
    eddie, claire = signed_in(app, "eddie"), signed_in(app, "claire")
    texter = Texter(app.test_client())
    save(eddie, NEW_TEXT)
    sha = versions(app).get(2).sha256
    post(claire, "/console/versions/2/approve", sha256=sha)
    post(eddie, "/console/versions/2/publish", sha256=sha)
    assert texter.send("casting").startswith("Casting, as the clinic now says,")
    assert "Bring back version 1" in eddie.get("/console/versions/1").get_data(as_text=True)
    assert post(eddie, "/console/versions/1/roll-back", note="  ").status_code == 303  # no note: refused
    assert versions(app).newest_published().id == 2
    assert post(eddie, "/console/versions/1/roll-back", note="families asked about the old words") \
        .status_code == 303
    assert texter.send("casting").startswith(CASTING)
    entry = app.extensions[EXTENSION].accounts.audit_log()[0]
    assert (entry.actor, entry.action, entry.subject) == ("eddie", "menu rolled back", "version 1")
    assert entry.detail.endswith("families asked about the old words") and sha256_of(MENUS.read_bytes()) \
        in entry.detail


def test_a_version_is_downloaded_exactly_and_the_download_audited(app):
    eddie, vera = signed_in(app, "eddie"), signed_in(app, "vera")
    response = eddie.get("/console/versions/1/menus.yaml")
    assert response.status_code == 200 and response.data == MENUS.read_bytes()
    assert "attachment" in response.headers["Content-Disposition"]
    assert audit_actions(app)[0] == ("eddie", "menu exported", "version 1")
    assert vera.get("/console/versions/1/menus.yaml").status_code == 403
    assert vera.get("/console/versions/1").status_code == 200  # viewers read the history
    assert "Version 1" in vera.get("/console/versions").get_data(as_text=True)


def test_one_person_sign_off_is_off_by_default_and_said_on_every_page_when_on():
    app = console_app(IVR_SELF_APPROVAL="1", IVR_RELOAD_SECONDS="0")
    add_account(app, "solo", "clinician")
    solo = signed_in(app, "solo")
    for path in ("/console/", "/console/versions", "/console/editor"):
        assert "One-person sign-off is on" in solo.get(path).get_data(as_text=True), path
    save(solo, NEW_TEXT)
    assert "You wrote some of this draft" in solo.get("/console/versions/2").get_data(as_text=True)
    assert post(solo, "/console/versions/2/approve", sha256=versions(app).get(2).sha256).status_code == 303
    assert versions(app).get(2).approved_by == "solo"


def test_without_the_setting_a_clinician_cannot_approve_their_own_draft(app):
    claire = signed_in(app, "claire")
    assert "One-person sign-off" not in claire.get("/console/").get_data(as_text=True)
    save(claire, NEW_TEXT)
    page = claire.get("/console/versions/2").get_data(as_text=True)
    assert "you wrote some of it: another clinician must approve it" in page
    post(claire, "/console/versions/2/approve", sha256=versions(app).get(2).sha256)
    assert versions(app).get(2).state == "draft"


def test_an_oversized_draft_is_not_saved(app):
    eddie = signed_in(app, "eddie")
    refused = save(eddie, "# " + "x" * (256 * 1024))
    assert refused.status_code == 413 and "at most 256 KiB" in refused.get_data(as_text=True)
    assert [v.id for v in versions(app).list()] == [1]


def test_numbers_that_name_no_row_are_404_not_500(app):
    vera, eddie = signed_in(app, "vera"), signed_in(app, "eddie")
    huge = "99999999999999999999"
    for path in (f"/console/versions/{huge}", "/console/versions/3000000000",
                 f"/console/versions/{huge}/menus.yaml", f"/console/editor?version={huge}",
                 "/console/editor?version=%C2%B2", "/console/editor?version=-1"):
        assert eddie.get(path).status_code == 404, path
    assert vera.get(f"/console/versions/{huge}").status_code == 404
    assert post(eddie, f"/console/versions/{huge}/publish", sha256="0" * 64).status_code == 404
    refused = save(eddie, NEW_TEXT, base_id="424242")
    assert refused.status_code == 409 and "there is no version 424242" in refused.get_data(as_text=True)
    assert [v.id for v in versions(app).list()] == [1]
    assert save(eddie, NEW_TEXT, draft_id=huge).status_code == 303  # no such draft: saved as a new one
    assert versions(app).get(2).base_id == 1


def test_viewers_read_what_changes_but_not_the_whole_unpublished_file(app):
    eddie, vera = signed_in(app, "eddie"), signed_in(app, "vera")
    save(eddie, NEW_TEXT)
    page = vera.get("/console/versions/2").get_data(as_text=True)
    assert "Casting, as the clinic now says," in page and "Show the YAML of version 2" not in page
    assert "Show the YAML of version 2" in eddie.get("/console/versions/2").get_data(as_text=True)
