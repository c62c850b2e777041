"""Live reload: an edited menus.yaml is served without a restart (published as a new version), and a
broken one never is."""

from __future__ import annotations

import io
import logging
import os

import pytest
from conftest import MENUS, Call, Texter, english_only, environment

from ivr import create_app
from ivr.live_menu import LiveMenu

FIXTURE = english_only(MENUS.read_text())  # the tests reshape the menu; Spanish would need the same
CASTING = "Casting: if used, a cast would usually be in place for one week only"


class Clinic:
    """A running line over a menus.yaml that the test edits as staff would."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "menus.yaml"
        self.path.write_text(FIXTURE)
        self.edits = 0
        self.client = create_app(environment(IVR_MENUS_FILE=str(self.path),
                                             IVR_RELOAD_SECONDS="0")).test_client()

    def edit(self, old: str, new: str) -> None:
        text = self.path.read_text()
        assert old in text
        self.path.write_text(text.replace(old, new, 1))
        # File systems with coarse timestamps: make every edit visibly newer.
        self.edits += 1
        stamp = self.path.stat().st_mtime_ns + self.edits * 1_000_000_000
        os.utime(self.path, ns=(stamp, stamp))

    def health(self) -> dict:
        response = self.client.get("/healthz")
        assert response.status_code == 200
        return response.get_json()


@pytest.fixture
def clinic(tmp_path):
    return Clinic(tmp_path)


@pytest.fixture
def log_output():
    handler = next(h for h in logging.getLogger("ivr").handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


def test_a_valid_change_is_served_without_a_restart(clinic):
    texter = Texter(clinic.client)
    assert texter.send("casting").startswith(CASTING)
    before = clinic.health()["menu"]
    clinic.edit("Casting: if used,", "Casting, when it is used:")
    assert texter.send("casting").startswith("Casting, when it is used:")
    after = clinic.health()["menu"]
    assert after["sha256"] != before["sha256"] and len(after["sha256"]) == 64
    # Published as a new version "from the deployed file", so every worker and machine serves it.
    assert (before["version"], after["version"]) == (1, 2)
    assert clinic.health()["last_reload_error"] is None


def test_a_broken_change_is_not_served_and_is_reported_with_its_line(clinic, log_output):
    texter = Texter(clinic.client)
    good = clinic.health()["menu"]["sha256"]
    clinic.edit("      3: rhizotomy", "      3: rhizotomi")
    assert texter.send("casting").startswith(CASTING)  # still the last good version
    health = clinic.health()
    line = next(n for n, t in enumerate(clinic.path.read_text().splitlines(), 1) if "rhizotomi" in t)
    assert health["menu"]["sha256"] == good
    assert f"menus.yaml:{line}:10: error: option 3 of 'main' leads to 'rhizotomi'" in \
        health["last_reload_error"]
    assert f"menus.yaml:{line}:10: error" in log_output.getvalue()
    clinic.edit("      3: rhizotomi", "      3: rhizotomy")  # fixed: served again, error cleared
    clinic.edit("Casting: if used,", "Casting, when used,")
    assert texter.send("casting").startswith("Casting, when used,")
    assert clinic.health()["last_reload_error"] is None


def test_a_call_whose_node_disappeared_is_taken_to_the_main_menu(clinic):
    call = Call(clinic.client)
    call.start()
    call.press("4")
    call.press("2")  # listening at casting
    clinic.edit("      2: casting\n      3: medication_change\n", "      2: medication_change\n")
    text = clinic.path.read_text()
    clinic.edit(text[text.index("  casting:\n"):text.index("  medication_change:\n")], "")
    assert clinic.health()["last_reload_error"] is None
    call.press("9")
    assert "To hear about oral baclofen, press 1." in call.heard
    assert call.gather.get("action").startswith("/voice/main?")


def test_a_texter_whose_menu_disappeared_gets_the_main_menu_options(clinic):
    texter = Texter(clinic.client)
    texter.send("4")  # now in other_treatments, where 1 means injections
    clinic.edit("      4: other_treatments\n", "      4: more_treatments\n")
    clinic.edit("  other_treatments:\n", "  more_treatments:\n")
    assert texter.send("2").startswith("Intrathecal baclofen pump")  # not casting: main menu's 2


def test_healthz_holds_no_phone_number(clinic):
    clinic.edit('"(502) 635-6397"', '"(502) 635-639"')
    error = clinic.health()["last_reload_error"]
    assert "not a valid phone number" in error and "635-639" not in error and "[number]" in error
    assert "6397" not in str(clinic.health())


def test_healthz_needs_no_signature_but_only_answers_get(clinic):
    assert clinic.client.get("/healthz").status_code == 200
    assert clinic.client.post("/healthz").status_code == 405


def test_a_change_is_noticed_once_the_interval_has_passed(tmp_path):
    path = tmp_path / "menus.yaml"
    path.write_text(FIXTURE)
    now = [100.0]
    live = LiveMenu(path, interval=2.0, clock=lambda: now[0])
    first = live.menu
    path.write_text(FIXTURE.replace("Casting: if used,", "Casting, if used,"))
    now[0] += 1.0
    assert live.menu is first  # not yet looked
    now[0] += 1.0
    assert live.menu is not first and live.menu.nodes["casting"].text.startswith("Casting, if used,")
    second = live.menu
    now[0] += 5.0
    assert live.menu is second  # nothing changed: the same Menu, caches stay warm


def test_putting_the_served_content_back_clears_the_error(clinic):
    clinic.edit("      3: rhizotomy", "      3: rhizotomi")
    assert clinic.health()["last_reload_error"] is not None
    assert clinic.health()["file_on_disk_served"] is False
    clinic.edit("      3: rhizotomi", "      3: rhizotomy")
    health = clinic.health()
    assert health["last_reload_error"] is None and health["file_on_disk_served"] is True


def test_healthz_names_the_file_not_where_it_is_installed(clinic, tmp_path):
    clinic.edit("      3: rhizotomy", "      3: rhizotomi")
    error = clinic.health()["last_reload_error"]
    assert error.startswith("menus.yaml:") and str(tmp_path) not in error


def test_a_worker_started_later_serves_the_newest_good_version_not_the_first(tmp_path):
    """gunicorn forks recycled workers from a master that loaded the file at start-up."""
    import copy

    path = tmp_path / "menus.yaml"
    path.write_text(FIXTURE)
    master = LiveMenu(path, interval=0, last_good=tmp_path / "last-good.yaml")
    first_worker = copy.copy(master)
    path.write_text(FIXTURE.replace("Casting: if used,", "Casting, version two,"))
    assert first_worker.menu.nodes["casting"].text.startswith("Casting, version two,")
    path.write_text(FIXTURE.replace("      3: rhizotomy", "      3: rhizotomi"))  # broken
    recycled_worker = copy.copy(master)  # still holds the start-up version
    assert recycled_worker.menu.nodes["casting"].text.startswith("Casting, version two,")
    assert first_worker.menu.nodes["casting"].text.startswith("Casting, version two,")
    assert recycled_worker.status().last_error is not None


def test_a_caller_at_the_closed_message_when_hours_are_removed_is_put_through(clinic):
    call = Call(clinic.client)
    call._post("/voice/_closed/silence?tries=0")
    assert call.dial is not None and call.dial.find("Number").text == "+15026356397"
