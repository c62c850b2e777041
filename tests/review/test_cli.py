"""The `ivr` command: check, simulate, script, diff, diagram and schema, on good and broken files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import MENUS, ROOT

from ivr.cli import main
from ivr.conversation import engine
from ivr.conversation.engine import Gather, Turn
from ivr.menufile.json_schema import schema_text

FIXTURE = MENUS.read_text()
GOLDEN = ROOT / "tests" / "golden"


def menus_file(tmp_path, old: str = "", new: str = "", name: str = "menus.yaml"):
    """A copy of the fixture menu file with `old` replaced by `new`."""
    assert old in FIXTURE
    path = tmp_path / name
    path.write_text(FIXTURE.replace(old, new, 1) if old else FIXTURE)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_check_passes_a_good_file(tmp_path, capsys):
    status, out, err = run(capsys, "check", str(menus_file(tmp_path)))
    assert (status, out) == (0, "")
    assert "0 error(s), 0 warning(s)" in err


def test_check_reports_errors_as_file_line_col_and_exits_1(tmp_path, capsys):
    path = menus_file(tmp_path, "      3: rhizotomy", "      3: rhizotomi")
    status, out, _ = run(capsys, "check", str(path))
    assert status == 1
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "rhizotomi" in text)
    node = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text == "  rhizotomy:")
    assert out.splitlines() == [
        f"{path}:{line}:10: error: option 3 of 'main' leads to 'rhizotomi', which is not a node "
        f"(fix: the closest node is 'rhizotomy' (line {node}); if that is the one, make the two "
        "spellings the same)"]


def test_check_json_for_editors_and_ci(tmp_path, capsys):
    path = menus_file(tmp_path, "keywords: [casting, cast]", "keywords: [casting, stop]")
    status, out, _ = run(capsys, "check", "--format", "json", str(path))
    assert status == 1
    [problem] = json.loads(out)
    assert problem["severity"] == "error" and problem["file"] == str(path)
    assert problem["col"] > 1 and "opt-out" in problem["message"] and problem["hint"]


@pytest.mark.parametrize("old,new,expected", [
    ("They won't improve", "They won\u2019t improve",
     "'\u2019' in '...t all. They won\u2019t improve moti...' is not a plain text character; it is "
     "sent as \"'\""),
    ("They won't improve", "They won\u00edt improve", "forces the whole text into UCS-2"),
    ("    text: >-\n      Casting: if used", "    text: >-\n      " + "Casting is a long story. " * 8
     + "Casting: if used", "takes 4 messages"),
    ("      Dorsal rhizotomy is a surgery", "      " + "Dorsal rhizotomy is a surgery. " * 10
     + "Dorsal rhizotomy is a surgery", "callers hear about 5"),
    ("      3: medication_change\n", "      3: medication_change\n      4: oral_baclofen\n"
     "      5: casting\n", "has 5 choices"),
    ("      3: medication_change\n", "      5: medication_change\n", "not 1, 2, 3"),
    ("  greeting: Thank you for calling the {name}.", "  greeting: Thank you for calling Dr. Brey.",
     "a voice may read 'Dr.' wrongly"),
    ("say: Other treatments.", "say: Injections & casting.", "write 'and' instead"),
    ("say: Other treatments.", "say: Other treatments, code 12345.", "reads 12345 as one large number"),
    ('  scheduling: "(502) 635-6397"', '  scheduling: "(502) 635-6397"\n  after_hours: "(502) 555-0100"',
     ""),  # a phone name with "_" used in spoken text is not a symbol to read
])
def test_check_warns_about_what_families_would_get_badly(tmp_path, capsys, old, new, expected):
    path = menus_file(tmp_path, old, new)
    if not expected:
        path.write_text(path.read_text().replace("say: Other treatments.", "say: Or call {after_hours}."))
    status, out, _ = run(capsys, "check", str(path))
    assert status == 0, out
    assert expected in out if expected else out == "", out
    assert all(": warning: " in line for line in out.splitlines())


def test_check_walk_finds_nothing_wrong_in_a_good_file(tmp_path, capsys):
    status, out, err = run(capsys, "check", "--walk", str(menus_file(tmp_path)))
    assert (status, out) == (0, "")
    assert "walked 72 states" in err  # the transfer ringing and the callback flow are among them


@pytest.mark.parametrize("fault,message", [
    ("silence", "a caller is left in silence"),
    ("error", "the engine failed"),
    ("loop", "a loop with no way out"),
])
def test_check_walk_reports_silence_errors_and_traps(tmp_path, capsys, monkeypatch, fault, message):
    real_press = engine.press

    def faulty(menu, node, digits, tries=0, *rest):
        if node != "casting":
            return real_press(menu, node, digits, tries, *rest)
        if fault == "silence":
            return Turn()
        if fault == "error":
            raise RuntimeError("broken")
        return Turn(prompt=("round and round",), gather=Gather("casting"))

    monkeypatch.setattr(engine, "press", faulty)
    if fault == "loop":
        monkeypatch.setattr(engine, "silence", lambda menu, node, tries=0, *rest: faulty(menu, node, ""))
    status, out, _ = run(capsys, "check", "--walk", str(menus_file(tmp_path)))
    assert status == 1
    assert message in out and "at 'casting'" in out


def test_simulate_a_scripted_call_prints_the_transcript(tmp_path, capsys):
    status, out, _ = run(capsys, "simulate", str(menus_file(tmp_path)),
                         "--keys", "4,2,9,*,wait,7,0,busy,1,q")
    assert status == 0
    assert out == (GOLDEN / "simulate_call.txt").read_text()


def test_simulate_a_scripted_text_conversation(tmp_path, capsys):
    status, out, _ = run(capsys, "simulate", "--sms", str(menus_file(tmp_path)),
                         "--texts", "hi", "4", "2", "Back", "baclofin", "STOP", "help")
    assert status == 0
    assert out == (GOLDEN / "simulate_sms.txt").read_text()


def test_simulate_interactively_reads_keys_until_end_of_input(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ivr", "simulate", str(menus_file(tmp_path))],
                            input="2\n\n0\nanswer\n", capture_output=True, text=True, check=True)
    assert "CALLER presses 2" in result.stdout
    assert "CALLER presses nothing for 6 seconds" in result.stdout
    assert "SCHEDULING LINE: completed" in result.stdout
    assert result.stdout.rstrip().endswith("[the line hangs up]")


def test_script_prints_markdown_and_html(tmp_path, capsys):
    path = str(menus_file(tmp_path))
    status, markdown, _ = run(capsys, "script", path)
    assert status == 0 and "oral_baclofen" in markdown and "Reviewed by" in markdown
    status, html, _ = run(capsys, "script", "--format", "html", path)
    assert status == 0 and html.lstrip().lower().startswith("<!doctype html>")


def test_diff_describes_a_change_in_plain_words(tmp_path, capsys):
    old = menus_file(tmp_path, name="old.yaml")
    new = menus_file(tmp_path, "      1: injections\n      2: casting\n",
                     "      1: injections\n      3: casting\n      2: medication_change\n",
                     name="new.yaml")
    new.write_text(new.read_text().replace("      3: medication_change\n", "", 1))
    status, out, _ = run(capsys, "diff", str(old), str(new))
    assert status == 0
    assert "moved from key 2 to key 3" in out


def test_diff_of_a_broken_new_file_shows_its_errors(tmp_path, capsys):
    old = menus_file(tmp_path, name="old.yaml")
    new = menus_file(tmp_path, "      3: rhizotomy", "      3: rhizotomi", name="new.yaml")
    status, out, _ = run(capsys, "diff", str(old), str(new))
    assert status == 1 and "new.yaml" in out and "rhizotomi" in out


@pytest.mark.parametrize("fmt,start", [("mermaid", "flowchart TD"), ("dot", "digraph")])
def test_diagram(tmp_path, capsys, fmt, start):
    status, out, _ = run(capsys, "diagram", "--format", fmt, str(menus_file(tmp_path)))
    assert status == 0 and out.startswith(start)


def test_schema_is_the_committed_file(capsys):
    status, out, _ = run(capsys, "schema")
    assert status == 0 and out == schema_text() == (ROOT / "menus.schema.json").read_text()


def test_python_dash_m_ivr_runs_the_same_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ivr", "check", str(menus_file(tmp_path))],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "0 error(s)" in result.stderr


def test_check_defaults_to_ivr_menus_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IVR_MENUS_FILE", str(menus_file(tmp_path, "      3: rhizotomy", "      3: rhizo")))
    status, out, _ = run(capsys, "check")
    assert status == 1 and "rhizo'" in out


def test_quit_in_a_scripted_conversation_is_an_opt_out_word_not_the_end(tmp_path, capsys):
    status, out, _ = run(capsys, "simulate", "--sms", str(menus_file(tmp_path)), "--texts", "quit", "pump")
    assert status == 0
    assert "FAMILY: quit\nLINE: (no reply" in out and "FAMILY: pump" in out


def test_the_script_in_spanish(tmp_path, capsys):
    status, out, _ = run(capsys, "script", "--language", "es-US", str(menus_file(tmp_path)))
    assert status == 0 and "Para escuchar sobre el baclofeno oral, oprima 1." in out
    status, _, err = run(capsys, "script", "--language", "fr-FR", str(menus_file(tmp_path)))
    assert status == 1 and "es-US" in err


def test_diff_describes_spanish_changes_too(tmp_path, capsys):
    old = menus_file(tmp_path, name="old.yaml")
    new = menus_file(tmp_path, '"Yeso: se suele dejar', '"Yeso: si se usa, se suele dejar', name="new.yaml")
    status, out, _ = run(capsys, "diff", str(old), str(new))
    assert status == 0 and "In es-US:" in out and "si se usa" in out
