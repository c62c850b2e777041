"""Drafts, sign-off, publish and roll back in the versions table, on SQLite and PostgreSQL: an
approval binds the exact sha256, the author never approves, a stale save is refused, and every
change is in the audit log with who, when and the sha256."""

from __future__ import annotations

import pytest
from conftest import MENUS

from ivr.storage.accounts import open_accounts
from ivr.storage.sql import upgrade
from ivr.storage.versions import Drafts, StaleDraft, VersionError, open_versions, sha256_of

FIRST = MENUS.read_bytes()
SECOND = FIRST.replace(b"Casting: if used,", b"Casting, when used,")
THIRD = SECOND.replace(b"Casting, when used,", b"Casting (if used),")


@pytest.fixture
def stores(database_url):
    upgrade(database_url)
    versions, close = open_versions(database_url)
    accounts, close_accounts = open_accounts(database_url)
    versions.publish_new(FIRST, source="deployed file", by="(deployed file)", now=1.0)
    yield Drafts(versions), accounts
    close_accounts()
    close()


def test_a_draft_is_saved_approved_by_another_and_published(stores):
    drafts, accounts = stores
    draft = drafts.start(SECOND, by="eddie", now=10.0, base_id=1)
    assert (draft.id, draft.state, draft.base_id, draft.author_names) == (2, "draft", 1, ("eddie",))
    with pytest.raises(VersionError, match="did not write"):
        drafts.approve(2, sha256=draft.sha256, by="eddie", now=11.0)
    with pytest.raises(VersionError, match="only an approved version"):
        drafts.publish(2, sha256=draft.sha256, by="eddie", now=11.0)
    with pytest.raises(VersionError, match="changed after you reviewed it"):
        drafts.approve(2, sha256=sha256_of(FIRST), by="claire", now=12.0)
    approved = drafts.approve(2, sha256=draft.sha256, by="claire", now=13.0)
    assert (approved.state, approved.approved_by, approved.approved_at) == ("approved", "claire", 13.0)
    with pytest.raises(VersionError, match="not the one you were shown"):
        drafts.publish(2, sha256=sha256_of(FIRST), by="eddie", now=14.0)
    published = drafts.publish(2, sha256=draft.sha256, by="eddie", now=15.0)
    assert published.state == "published"
    assert drafts.versions.get(1).state == "retired" and drafts.versions.newest_published().id == 2
    log = [(e.actor, e.action, e.subject, e.detail) for e in accounts.audit_log()][:3]
    assert log == [("eddie", "menu published", "version 2", f"sha256 {draft.sha256}, from the console"),
                   ("claire", "menu approved", "version 2", f"sha256 {draft.sha256}"),
                   ("eddie", "draft saved", "version 2", f"sha256 {draft.sha256}, new, from version 1")]


def test_an_edit_after_approval_needs_a_new_one(stores):
    drafts, accounts = stores
    draft = drafts.start(SECOND, by="eddie", now=10.0, base_id=1)
    drafts.approve(2, sha256=draft.sha256, by="claire", now=11.0)
    edited = drafts.save(2, THIRD, by="eddie", now=12.0, expected_sha256=draft.sha256)
    assert (edited.state, edited.approved_by, edited.sha256) == ("draft", None, sha256_of(THIRD))
    assert "no longer holds" in accounts.audit_log()[0].detail
    with pytest.raises(VersionError, match="only an approved version"):
        drafts.publish(2, sha256=edited.sha256, by="eddie", now=13.0)


def test_a_save_on_a_stale_base_is_refused_with_what_is_saved_now(stores):
    drafts, _ = stores
    draft = drafts.start(SECOND, by="eddie", now=10.0, base_id=1)
    drafts.save(2, THIRD, by="fran", now=11.0, expected_sha256=draft.sha256)
    with pytest.raises(StaleDraft) as refused:
        drafts.save(2, FIRST, by="eddie", now=12.0, expected_sha256=draft.sha256)
    assert refused.value.saved.sha256 == sha256_of(THIRD) and "fran saved version 2" in str(refused.value)
    assert drafts.versions.get(2).author_names == ("eddie", "fran")
    # Everyone who saved it is an author: neither may approve.
    with pytest.raises(VersionError, match="did not write"):
        drafts.approve(2, sha256=sha256_of(THIRD), by="fran", now=13.0)


def test_a_one_person_clinic_may_approve_its_own_draft_when_allowed(stores):
    drafts, accounts = stores
    draft = drafts.start(SECOND, by="solo", now=10.0, base_id=1)
    approved = drafts.approve(2, sha256=draft.sha256, by="solo", now=11.0, own_allowed=True)
    assert approved.approved_by == "solo"
    assert "by one of its authors" in accounts.audit_log()[0].detail


def test_published_and_retired_versions_do_not_change_and_roll_back(stores):
    drafts, accounts = stores
    draft = drafts.start(SECOND, by="eddie", now=10.0, base_id=1)
    drafts.approve(2, sha256=draft.sha256, by="claire", now=11.0)
    drafts.publish(2, sha256=draft.sha256, by="eddie", now=12.0)
    with pytest.raises(VersionError, match="cannot change"):
        drafts.save(2, THIRD, by="eddie", now=13.0, expected_sha256=draft.sha256)
    with pytest.raises(VersionError, match="is the one being served"):
        drafts.roll_back(2, by="eddie", now=13.0, why="oops")
    third = drafts.start(THIRD, by="eddie", now=14.0, base_id=2)
    with pytest.raises(VersionError, match="never published"):
        drafts.roll_back(third.id, by="eddie", now=15.0, why="skip the review")
    back = drafts.roll_back(1, by="eddie", now=16.0, why="families were confused")
    assert back.state == "published" and drafts.versions.get(2).state == "retired"
    entry = accounts.audit_log()[0]
    assert (entry.action, entry.subject) == ("menu rolled back", "version 1")
    assert entry.detail == f"sha256 {sha256_of(FIRST)}, from the deployed file: families were confused"
    with pytest.raises(VersionError, match="no menu version 99"):
        drafts.roll_back(99, by="eddie", now=17.0, why="")
