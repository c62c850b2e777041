"""The menu versions table on SQLite and PostgreSQL: add, read, list, publish one at a time, and record
a new file once however many workers try at the same moment."""

from __future__ import annotations

import pytest
from conftest import MENUS, race
from sqlalchemy import create_engine, text

from ivr.storage.accounts import open_accounts
from ivr.storage.sql import upgrade
from ivr.storage.versions import CLI_ACTOR, VersionError, open_versions, sha256_of

FIRST = MENUS.read_bytes()
SECOND = FIRST.replace(b"Casting: if used,", b"Casting, when used,")


@pytest.fixture
def versions(database_url):
    upgrade(database_url)
    versions, close = open_versions(database_url)
    yield versions
    close()


def test_a_new_database_has_no_published_version(versions):
    assert versions.newest_published() is None and versions.list() == []
    assert versions.get(1) is None


def test_publishing_retires_the_version_served_before(versions, database_url):
    one, added = versions.publish_new(FIRST, source="deployed file", by="(deployed file)", now=10.0)
    assert added and one.id == 1 and one.state == "published" and one.published_at == 10.0
    assert one.sha256 == sha256_of(FIRST) and one.data == FIRST
    assert versions.newest_published() == (1, sha256_of(FIRST))
    draft = versions.add(SECOND, source="cli", by="alice", now=20.0, note="shorter casting", base_id=1)
    assert (draft.id, draft.state, draft.published_at, draft.base_id) == (2, "draft", None, 1)
    assert versions.newest_published().id == 1  # a draft is not served
    two = versions.publish(2, by=CLI_ACTOR, now=30.0)
    assert (two.state, two.published_by, two.published_at) == ("published", CLI_ACTOR, 30.0)
    assert versions.newest_published() == (2, sha256_of(SECOND))
    listed = versions.list()
    assert [(v.id, v.state) for v in listed] == [(2, "published"), (1, "retired")]
    assert not hasattr(listed[0], "yaml")  # the list never carries every version's text
    assert versions.get(1).yaml == FIRST.decode()
    # Rolling back is publishing an older version again.
    versions.publish(1, by="bob", now=40.0)
    assert versions.newest_published().id == 1 and versions.get(2).state == "retired"
    accounts, close = open_accounts(database_url)
    try:
        log = [(e.actor, e.action, e.subject) for e in accounts.audit_log()]
    finally:
        close()
    assert log == [("bob", "menu published", "version 1"), (CLI_ACTOR, "menu published", "version 2"),
                   ("(deployed file)", "menu published", "version 1")]


def test_only_if_new_keeps_content_published_before(versions):
    versions.publish_new(FIRST, source="deployed file", by="(deployed file)", now=1.0)
    versions.publish_new(SECOND, source="cli", by=CLI_ACTOR, now=2.0)
    again, added = versions.publish_new(FIRST, source="deployed file", by="(deployed file)", now=3.0,
                                        only_if_new=True)
    assert not added and again.id == 1 and again.state == "retired"
    assert versions.newest_published().id == 2
    # A draft with the same text was never published: it does not count.
    versions.add(FIRST.replace(b"Casting", b"Casts"), source="console", by="carol", now=4.0)
    third, added = versions.publish_new(FIRST.replace(b"Casting", b"Casts"), source="deployed file",
                                        by="(deployed file)", now=5.0, only_if_new=True)
    assert added and third.id == 4 and versions.ever_published(third.sha256).id == 4


def test_the_exact_bytes_come_back(versions):
    data = "\ufeffline:\r\n  name: Clínica\r\n".encode()
    version = versions.add(data, source="cli", by=CLI_ACTOR, now=1.0)
    assert versions.get(version.id).data == data and version.sha256 == sha256_of(data)


def test_what_cannot_be_kept_is_refused(versions):
    with pytest.raises(VersionError, match="not UTF-8"):
        versions.add(b"line: \xff\n", source="cli", by=CLI_ACTOR, now=1.0)
    with pytest.raises(VersionError, match="NUL"):
        versions.add(b"line: \x00\n", source="cli", by=CLI_ACTOR, now=1.0)
    with pytest.raises(VersionError, match="no menu version 9"):
        versions.publish(9, by=CLI_ACTOR, now=1.0)
    with pytest.raises(VersionError):
        versions.add(FIRST, source="email", by=CLI_ACTOR, now=1.0)


def test_the_database_refuses_a_second_published_version(versions, database_url):
    versions.publish_new(FIRST, source="cli", by=CLI_ACTOR, now=1.0)
    versions.add(SECOND, source="cli", by=CLI_ACTOR, now=2.0)
    engine = create_engine(database_url)
    try:
        with pytest.raises(Exception, match="(?i)unique"), engine.begin() as connection:
            connection.execute(text("UPDATE menu_versions SET state = 'published' WHERE id = 2"))
    finally:
        engine.dispose()


def _publish_in_process(url, start, results):
    # Each process opens the database itself, like a worker starting, all at the same moment.
    start.wait(timeout=30)
    versions, close = open_versions(url)
    try:
        version, added = versions.publish_new(FIRST, source="deployed file", by="(deployed file)",
                                              now=1.0, only_if_new=True)
        results.put((version.id, added))
    finally:
        close()


def test_workers_starting_together_record_a_new_file_once(database_url):
    upgrade(database_url)
    outcomes = race(_publish_in_process, lambda index: (database_url,), 4)
    assert outcomes == [(1, False)] * 3 + [(1, True)]
    versions, close = open_versions(database_url)
    try:
        assert [v.id for v in versions.list()] == [1]
    finally:
        close()
