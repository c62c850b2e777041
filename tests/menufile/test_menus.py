"""menus.yaml: the shipped file is valid, and every kind of mistake is reported at its file:line."""

from __future__ import annotations

import pytest
from conftest import MENUS, environment

from ivr import create_app
from ivr.menufile.build import load_menus, parse_menus
from ivr.menufile.yaml_strict import MenuFileError
from ivr.review.lint import lint
from ivr.settings import StartupError

SHIPPED = MENUS.read_text()


def problems_after(old: str, new: str, text: str = SHIPPED) -> list[str]:
    """Replace `old` with `new` in the shipped file and return every problem reported."""
    assert old in text, old
    with pytest.raises(MenuFileError) as caught:
        parse_menus(text.replace(old, new, 1))
    return [str(p) for p in caught.value.problems]


def line_of(needle: str, text: str, occurrence: int = 1) -> int:
    """1-based line number of the `occurrence`-th line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def assert_reported(problems: list[str], line: int, *words: str) -> None:
    matching = [p for p in problems if p.startswith(f"menus.yaml:{line}:")]
    assert matching, f"nothing reported on line {line}: {problems}"
    for word in words:
        assert any(word in p for p in matching), f"{word!r} not in {matching}"
    assert all("(fix: " in p for p in matching), "every problem says how to fix it"


def assert_change_reported(old: str, new: str, at: str, *words: str, occurrence: int = 1) -> None:
    """Changing `old` to `new` is reported on the line holding `at`, in a message with `words`."""
    text = SHIPPED.replace(old, new, 1)
    assert_reported(problems_after(old, new), line_of(at, text, occurrence), *words)


def test_the_shipped_file_is_valid_with_no_warnings():
    menu = load_menus(MENUS)
    assert menu.warnings == ()
    assert menu.operator_number == "+15026356397"
    assert {"oral_baclofen", "baclofen_pump", "rhizotomy", "injections", "casting",
            "medication_change", "scheduling"} <= set(menu.nodes)


def test_an_unknown_key_is_named_with_a_suggestion():
    assert_change_reported("    title: oral baclofen", "    titel: oral baclofen", "titel:",
                           "unknown key 'titel'", "did you mean 'title'")


def test_missing_text_is_reported():
    old, new = "    say: >-\n      If casting is used", "    sy: >-\n      If casting is used"
    assert_change_reported(old, new, "    sy:", "unknown key 'sy'")
    assert_change_reported(old, new, "  casting:", "summary node 'casting' is missing 'say'")


def test_empty_text_is_reported():
    assert_change_reported("  goodbye: Thank you for calling the {name}. Goodbye.", "  goodbye: ''",
                           "goodbye:", "phrases.goodbye must be some text")


def test_a_key_pressed_for_two_things_in_one_menu():
    assert_change_reported("      2: baclofen_pump", "      '1': baclofen_pump", "'1': baclofen_pump",
                           "key 1 is pressed for two things")


def test_an_option_pointing_at_a_missing_node():
    assert_change_reported("      3: rhizotomy", "      3: rhizotomi", "3: rhizotomi",
                           "'rhizotomi', which is not a node",
                           f"the closest node is 'rhizotomy' (line {line_of('  rhizotomy:', SHIPPED)})")


def test_a_node_no_caller_can_reach():
    assert_change_reported("      3: medication_change\n", "", "  medication_change:",
                           "no caller can reach node 'medication_change'")


@pytest.mark.parametrize("number", ["(502) 635-639", "(102) 635-6397", "phone me", "+1 502 635 63977"])
def test_an_invalid_phone_number(number):
    assert_change_reported('"(502) 635-6397"', f'"{number}"', 'scheduling: "',
                           "is not a valid phone number")


@pytest.mark.parametrize("written", ["502-635-6397", "1 (502) 635 6397", "+15026356397",
                                     "5026356397"])
def test_any_way_of_writing_the_number_is_normalised_to_e164(written):
    menu = parse_menus(SHIPPED.replace('"(502) 635-6397"', f'"{written}"'))
    assert menu.phones["scheduling"] == "+15026356397"


def test_a_phone_number_written_into_text_must_use_the_named_number():
    assert_change_reported("call {scheduling}.\n\nnodes:", "call 502-635-6397.\n\nnodes:",
                           "sms_error:", "phone number written out", "{scheduling}")


def test_a_keyword_claimed_by_two_nodes():
    assert_change_reported("[casting, cast]", "[casting, cast, casts, Botox]", "Botox",
                           "'Botox' is claimed by both 'injections' and 'casting'")


def test_a_duplicate_key_is_refused_not_silently_dropped():
    assert_change_reported("    title: dorsal rhizotomy\n",
                           "    title: dorsal rhizotomy\n    title: rhizotomy surgery\n",
                           "title: rhizotomy surgery", "duplicate key 'title'", "only the last one")


def test_a_duplicate_node_id_is_refused():
    extra = "  casting:\n    type: summary\n    title: twice\n    say: a\n    text: b\n"
    assert_change_reported("  scheduling:\n    type: transfer", extra + "  scheduling:\n    type: transfer",
                           "  casting:", "duplicate key 'casting'", occurrence=2)


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "NO"])
def test_an_unquoted_yaml11_boolean_is_refused(word):
    assert_change_reported("  goodbye: Thank you for calling the {name}. Goodbye.", f"  goodbye: {word}",
                           "goodbye:", "read by YAML as true/false", f'"{word}"')


def test_a_quoted_yes_is_a_word():
    menu = parse_menus(SHIPPED.replace("say: Other treatments.", 'say: "yes"'))
    assert menu.nodes["other_treatments"].say == "yes"


@pytest.mark.parametrize("word", ["stop", "STOP", "unsubscribe", "cancel", "end", "quit", "start",
                                  "help", "info", "stopall", "optout", "revoke", "unstop"])
def test_a_keyword_that_twilio_opt_out_handling_owns(word):
    assert_change_reported("[casting, cast]", f"[casting, cast, casts, {word}]", "[casting,",
                           "opt-out")


def test_dropping_the_emergency_notice_is_refused():
    assert_change_reported("  emergency: If this is a medical emergency, please hang up and dial 9 1 1.\n",
                           "", "call:", "missing 'emergency'")


def test_an_emergency_notice_without_911_is_refused():
    assert_change_reported("please hang up and dial 9 1 1.", "please hang up.", "emergency:", "9 1 1")


def test_a_reserved_key_cannot_be_a_menu_option():
    assert_change_reported("      4: other_treatments", "      0: other_treatments", "0: other_treatments",
                           "kept for the whole line")


def test_a_placeholder_that_cannot_be_filled():
    assert_change_reported("the {name}, call {scheduling}.", "the {name}, call {schedulng}.",
                           "{schedulng}", "{schedulng}", "did you mean")


def test_a_transfer_to_an_unknown_phone_name():
    assert_change_reported("    dial: scheduling", "    dial: schedule_line", "dial: schedule_line",
                           "not a number under 'phones:'")


def test_a_number_setting_out_of_range():
    assert_change_reported("key_timeout: 6 ", "key_timeout: 30 ", "key_timeout", "outside 3 to 10")


def test_bad_indentation_gives_the_line():
    old = "    title: oral baclofen\n"
    new = "     title: oral baclofen\n"
    problems = problems_after(old, new)
    assert len(problems) == 1 and problems[0].startswith("menus.yaml:")
    assert "YAML cannot read this" in problems[0]


def test_a_tab_gets_a_tab_hint():
    problems = problems_after("    title: oral baclofen\n", "\ttitle: oral baclofen\n")
    assert "tab" in problems[0]


def test_a_python_tag_is_refused():
    old = "  goodbye: Thank you for calling the {name}. Goodbye."
    problems = problems_after(old, "  goodbye: !!python/name:os.system ''")
    assert any("tag" in p for p in problems)


def test_every_problem_is_reported_not_only_the_first():
    text = (SHIPPED.replace("      3: rhizotomy", "      3: rhizotomi")
            .replace("    title: oral baclofen", "    titel: oral baclofen")
            .replace('"(502) 635-6397"', '"12345"')
            .replace("keywords: [casting, cast]", "keywords: [casting, stop]"))
    with pytest.raises(MenuFileError) as caught:
        parse_menus(text)
    messages = str(caught.value)
    for expected in ("rhizotomi", "titel", "12345", "'stop'"):
        assert expected in messages


def test_the_app_refuses_to_start_on_a_broken_file_and_prints_every_problem(tmp_path):
    broken = tmp_path / "menus.yaml"
    broken.write_text(SHIPPED.replace("      3: rhizotomy", "      3: rhizotomi")
                      .replace("keywords: [casting, cast]", "keywords: [casting, on]"))
    with pytest.raises(StartupError) as caught:
        create_app(environment(IVR_MENUS_FILE=str(broken)))
    message = str(caught.value)
    assert "2 problem(s)" in message
    assert f"menus.yaml:{line_of('3: rhizotomi', broken.read_text())}:" in message
    assert f"menus.yaml:{line_of('[casting, on]', broken.read_text())}:" in message


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(StartupError, match="does not exist"):
        create_app(environment(IVR_MENUS_FILE=str(tmp_path / "nope.yaml")))


def test_an_empty_file_is_reported():
    with pytest.raises(MenuFileError, match="empty"):
        parse_menus("")


def test_a_long_sms_reply_is_a_warning_not_an_error():
    old = "Valium would\n      be best provided by a neurologist."
    new = old + " " + "More words here. " * 12
    menu = parse_menus(SHIPPED.replace(old, new))
    assert any("takes 3 messages" in str(w) for w in lint(menu))


def test_problems_are_listed_in_file_order():
    text = (SHIPPED.replace('"(502) 635-6397"', '"12345"')
            .replace("keywords: [casting, cast]", "keywords: [casting, stop]")
            .replace("      3: rhizotomy", "      3: rhizotomi"))
    with pytest.raises(MenuFileError) as caught:
        parse_menus(text)
    lines = [int(line.split(":")[1]) for line in str(caught.value).splitlines()]
    assert lines == sorted(lines) and len(lines) == 3


def test_more_than_four_choices_is_a_warning():
    text = SHIPPED.replace("      3: medication_change\n",
                           "      3: medication_change\n      4: oral_baclofen\n      5: rhizotomy\n")
    menu = parse_menus(text)
    assert any("has 5 choices" in str(w) for w in menu.warnings)


@pytest.mark.parametrize("old,new,at,words", [
    # Invisible characters would make the TwiML invalid: refused wherever they come from.
    ("  greeting: Thank you for calling the {name}.", '  greeting: "Thank you for calling.\\a"',
     "greeting:", ("invisible character (U+0007)",)),
    ("  goodbye: Thank you for calling the {name}. Goodbye.", "  goodbye: Bye\x0b now",
     "goodbye:", ("invisible character (U+000B)",)),
    ("  language: en-US", '  language: "en\\aUS"', "language:", ("invisible",)),
    ("  voice: Polly.Joanna-Neural", "  voice: Polly Joanna", "voice:", ("single word",)),
    # Format codes would crash at call time.
    ("  greeting: Thank you for calling the {name}.", "  greeting: Thank you, {name:d}.",
     "greeting:", ("':' or '!'",)),
    ("  option: To hear about {title}, press {key}.", "  option: To hear about {title!r}, press {key}.",
     "option:", ("':' or '!'",)),
    # YAML surprises.
    ("  name: Spasticity Clinic", "  name: true", "name:", ("yes/no value",)),
    ("  name: Spasticity Clinic", "  name: &Spasticity Clinic", "name:", ("anchor", "double quotes")),
    ("  sms_back: Reply * to go back.", "  sms_back: *back", "sms_back:", ("reference",)),
    ("  name: Spasticity Clinic", "  name: !!python/name:os.system x", "name:", ("tag",)),
    ("keywords: [casting, cast]", "keywords: [casting, true]", "keywords: [casting, true]",
     ("keyword that is true",)),
    # Readable messages, not Python's.
    ("      1: oral_baclofen", "      1:", "      1:", ("leads to nothing",)),
    ('  scheduling: "(502) 635-6397"', "  scheduling:", "  scheduling:", ("nothing is not a valid",)),
    ("    type: summary\n    title: oral baclofen", "    type: [summary]\n    title: oral baclofen",
     "type: [summary]", ("is a list, which is not one of",)),
    ("    title: dorsal rhizotomy", "    title: dorsal rhizotomy\n    dial: scheduling",
     "    dial: scheduling", ("summary node 'rhizotomy' cannot have 'dial'",)),
    # Where the mistake is, not where YAML noticed it.
    ("  start: main", "  start main", "  start main", ("colon and a space",)),
    ("  name: Spasticity Clinic", '  name: "Spasticity Clinic', "  name:", ("closing quote",)),
    ("  sms_back: Reply * to go back.", "  sms_back: '@ to go back", "sms_back:", ("closing quote",)),
    ("  sms_back: Reply * to go back.", "  sms_back: @ to go back.", "sms_back:", ("starts with a symbol",)),
])
def test_mistakes_staff_make_are_reported_where_they_are(old, new, at, words):
    assert_change_reported(old, new, at, *words)


def test_a_comment_cutting_text_short_is_a_warning():
    menu = parse_menus(SHIPPED.replace("  sms_back: Reply * to go back.", "  sms_back: Reply * #1"))
    assert any("stops before '#1'" in str(w) for w in menu.warnings)


@pytest.mark.parametrize("text,expected", [
    ("a: &x [*x]\n", "reference"),
    ("a: " + "[" * 2000 + "]" * 2000 + "\n", "nest"),
    ("a: 1\n---\nb: 2\n", "exactly one YAML document"),
    ("call:\n  timeout: " + "9" * 5000 + "\n", "unknown key 'timeout'"),
    ("lol: &a [x, x]\nlol2: &b [*a, *a]\n", "reference"),
    ("x: 1\n\u2028y: 2\n", "a line separator (U+2028)"),
])
def test_hostile_yaml_is_refused_quickly_with_a_problem_not_a_crash(text, expected):
    with pytest.raises(MenuFileError) as caught:
        parse_menus(text)
    assert expected in str(caught.value)


def test_a_directory_instead_of_a_file_is_reported(tmp_path):
    with pytest.raises(MenuFileError, match="cannot be read"):
        load_menus(tmp_path)


def test_a_missing_section_is_reported_once():
    text = SHIPPED.replace("phrases:\n", "phrasez:\n")
    with pytest.raises(MenuFileError) as caught:
        parse_menus(text)
    messages = [p.message for p in caught.value.problems]
    assert "the section 'phrases:' is missing" in messages
    assert not any("phrases is missing" in m for m in messages)


def test_a_date_in_text_is_not_mistaken_for_a_phone_number():
    menu = parse_menus(SHIPPED.replace("say: Other treatments.", "say: Other treatments, 2024-01-01."))
    assert menu.nodes["other_treatments"].say.endswith("2024-01-01.")


def test_an_unquoted_international_number_keeps_its_plus():
    menu = parse_menus(SHIPPED.replace('scheduling: "(502) 635-6397"', "scheduling: +442071234567"))
    assert menu.phones["scheduling"] == "+442071234567"


@pytest.mark.parametrize("char,name", [("\u200b", "a zero-width space"), ("\xad", "a soft hyphen"),
                                       ("\u2060", "an invisible character (U+2060)")])
def test_invisible_characters_pasted_from_a_word_processor_are_found(char, name):
    old = "      2: casting\n"
    text = SHIPPED.replace(old, f"      2: casting{char}\n")
    with pytest.raises(MenuFileError) as caught:
        parse_menus(text)
    [problem] = caught.value.problems
    assert problem.line == line_of("2: casting", text) and problem.col == len("      2: casting") + 1
    assert problem.message.startswith(name) and "after '2: casting'" in problem.message


def test_a_byte_order_mark_is_not_content():
    from ivr.menufile.build import parse_menu_bytes

    menu = parse_menu_bytes(b"\xef\xbb\xbf" + SHIPPED.encode(), "menus.yaml")
    assert menu.name == "Spasticity Clinic"


def test_a_node_id_that_is_a_webhook_address_is_refused():
    from conftest import MENUS

    text = MENUS.read_text().replace("  casting:\n", "  status:\n", 1).replace(": casting", ": status")
    with pytest.raises(MenuFileError, match="'status' cannot be a node id: /voice/status"):
        parse_menus(text)
