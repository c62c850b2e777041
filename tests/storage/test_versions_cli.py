"""`ivr versions`, `ivr export` and `ivr publish`, and the menu commands on version:N, through cli.main()
on the line's database; a call in progress hears what `ivr publish` published."""

from __future__ import annotations

import hashlib
import re

import pytest
from conftest import MENUS, Call, environment

from ivr import cli, create_app
from ivr.storage.accounts import open_accounts

SHORTER = MENUS.read_text().replace("Casting: if used,", "Casting, version two,")
PUMP = "Rather than high doses of oral baclofen"


@pytest.fixture
def env(monkeypatch, own_database):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("IVR_DATABASE", str(own_database))
    return own_database


def ivr(capsysbinary, *args: str) -> tuple[int, bytes, str]:
    status = cli.main(list(args))
    out, err = capsysbinary.readouterr()
    return status, out, err.decode()


def test_publish_list_and_export(env, tmp_path, capsysbinary):
    status, out, _ = ivr(capsysbinary, "versions")
    assert status == 0 and out.startswith(b"no menu versions yet")
    status, _, err = ivr(capsysbinary, "export")
    assert status == 1 and "no menu version is published yet" in err
    status, out, _ = ivr(capsysbinary, "publish", str(MENUS), "--note", "as deployed")
    assert status == 0 and b"published as menu version 1" in out
    status, out, _ = ivr(capsysbinary, "publish", str(MENUS))
    assert status == 0 and b"already the published menu version 1" in out
    edited = tmp_path / "menus.yaml"
    edited.write_text(SHORTER)
    assert ivr(capsysbinary, "publish", str(edited), "--note", "shorter casting")[0] == 0

    status, out, _ = ivr(capsysbinary, "versions")
    header, *rows = (re.split(r"  +", line.strip()) for line in out.decode().splitlines())
    assert header == ["number", "state", "sha256", "when (UTC)", "who", "source", "note"]
    sha = hashlib.sha256(SHORTER.encode()).hexdigest()
    assert [row[:3] + row[4:] for row in rows] == [
        ["2", "published", sha[:12], "(cli)", "cli", "shorter casting"],
        ["1", "retired", hashlib.sha256(MENUS.read_bytes()).hexdigest()[:12], "(cli)", "cli", "as deployed"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[0][3])

    status, out, _ = ivr(capsysbinary, "export")  # the published one
    assert status == 0 and out == SHORTER.encode()
    assert ivr(capsysbinary, "export", "1")[1] == MENUS.read_bytes()
    status, out, err = ivr(capsysbinary, "export", "9")
    assert (status, out) == (1, b"") and "there is no menu version 9 (see `ivr versions`)" in err

    accounts, close = open_accounts(f"sqlite:///{env}")
    try:
        log = [(e.actor, e.action, e.subject, e.detail) for e in accounts.audit_log()]
    finally:
        close()
    first = hashlib.sha256(MENUS.read_bytes()).hexdigest()
    exported = [entry for entry in log if entry[1] == "menu exported"]
    assert exported == [("(cli)", "menu exported", "version 1", f"sha256 {first}"),
                        ("(cli)", "menu exported", "version 2", f"sha256 {sha}")]
    log = [entry for entry in log if entry[1] != "menu exported"]
    assert log == [("(cli)", "menu published", "version 2",
                    f"sha256 {sha}, from the command line: shorter casting"),
                   ("(cli)", "menu published", "version 1",
                    f"sha256 {hashlib.sha256(MENUS.read_bytes()).hexdigest()}, from the command "
                    "line: as deployed")]


def test_a_broken_file_is_refused_with_its_lines(env, tmp_path, capsysbinary):
    broken = tmp_path / "menus.yaml"
    text = MENUS.read_text().replace("      3: rhizotomy", "      3: rhizotomi")
    broken.write_text(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "rhizotomi" in t)
    status, out, err = ivr(capsysbinary, "publish", str(broken))
    assert status == 1
    assert f"{broken}:{line}:10: error: option 3 of 'main' leads to 'rhizotomi'" in out.decode()
    assert "is not published" in err
    assert ivr(capsysbinary, "versions")[1].startswith(b"no menu versions yet")


def test_the_menu_commands_read_a_stored_version(env, tmp_path, capsysbinary):
    ivr(capsysbinary, "publish", str(MENUS))
    edited = tmp_path / "menus.yaml"
    edited.write_text(SHORTER)
    ivr(capsysbinary, "publish", str(edited))
    status, out, _ = ivr(capsysbinary, "diff", "version:1", "version:2")
    assert status == 0 and b'"Casting: if used," became "Casting, version two,"' in out
    status, out, _ = ivr(capsysbinary, "script", "version:2")
    assert status == 0 and b"Casting, version two," in out
    assert ivr(capsysbinary, "check", "version:2")[0] == 0
    status, _, err = ivr(capsysbinary, "check", "version:7")
    assert status == 1 and "there is no menu version 7" in err
    status, _, err = ivr(capsysbinary, "check", "version:seven")
    assert status == 1 and "is not a version number" in err


def test_a_stored_version_with_problems_is_checked_with_its_lines(env, capsysbinary):
    import time

    from ivr.storage.versions import open_versions

    versions, close = open_versions(f"sqlite:///{env}")
    text = MENUS.read_text().replace("      3: rhizotomy", "      3: rhizotomi")
    try:
        versions.add(text.encode(), source="console", by="carol", now=time.time())
    finally:
        close()
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "rhizotomi" in t)
    status, out, _ = ivr(capsysbinary, "check", "version:1")
    assert status == 1 and f"menu version 1:{line}:10: error: option 3" in out.decode()


def test_a_call_hears_what_ivr_publish_published(env, tmp_path):
    # No capsys here: the app's log handler keeps the stderr it first finds, for the whole run.
    app = create_app(environment(IVR_RELOAD_SECONDS="0"))
    call = Call(app.test_client())
    call.start()
    assert "To hear about the intrathecal baclofen pump, press 2." in call.heard
    edited = tmp_path / "menus.yaml"
    edited.write_text(MENUS.read_text().replace("title: the intrathecal baclofen pump",
                                                "title: the pump for baclofen"))
    assert cli.main(["publish", str(edited)]) == 0
    call.press("9")  # repeat the menu: the next request is answered from version 2
    assert "To hear about the pump for baclofen, press 2." in call.heard
    call.press("2")
    assert PUMP in call.heard
