"""The review script, the change description and the menu diagram, on the frozen fixture menu."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import MENUS, english_only

from ivr.conversation import engine
from ivr.menufile.build import load_menus, parse_menus
from ivr.model.menu import Menu
from ivr.review.diagram import render_diagram
from ivr.review.diff import NO_CHANGE, describe_changes
from ivr.review.script import SIGN_OFF, menu_order, render_script, script_sections

FIXTURE = english_only(MENUS.read_text())  # these tests reshape the menu; Spanish would need the same
MENU = load_menus(MENUS)
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ORDER = ["main", "oral_baclofen", "baclofen_pump", "rhizotomy", "other_treatments", "injections",
         "casting", "medication_change", "scheduling"]

# A summary under Other treatments, key 4, with the id "end" (a Mermaid keyword).
NEW_NODE = """  end:
    type: summary
    title: a clinic visit
    keywords: [visit]
    say: At a clinic visit, the team checks how your child moves.
    text: At a clinic visit, the team checks how your child moves.

  scheduling:
    type: transfer"""
ADD_NODE = [("      3: medication_change\n", "      3: medication_change\n      4: end\n"),
            ("  scheduling:\n    type: transfer", NEW_NODE)]


def menu_with(*replacements: tuple[str, str]) -> Menu:
    """The fixture menu with each (old, new) replaced once; every `old` must be there."""
    text = FIXTURE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return parse_menus(text)


def md_plain(markdown: str) -> str:
    """Markdown with its backslash escapes undone: the text a reader sees."""
    return re.sub(r"\\([^\n])", r"\1", markdown)


class _Text(HTMLParser):
    """Collects an HTML page's text and checks that every opened element is closed in order."""

    VOID = {"meta", "br", "hr", "link", "img", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.chunks.append(data)


def html_plain(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed elements: {parser.stack}"
    return "".join(parser.chunks)


def assert_in_order(texts: list[str], document: str) -> None:
    position = -1
    for text in texts:
        found = document.find(text, position + 1)
        assert found > position, f"{text!r} missing or out of order"
        position = found


def spoken_and_texted(menu: Menu) -> list[str]:
    """For each node in menu order: what callers hear of it and each line texters get."""
    texts = []
    for node_id in ORDER:
        node = menu.nodes[node_id]
        if node.say:
            texts.append(engine.spoken(menu, node.say))
        texts += (engine.node_reply(menu, node_id, None).text or "").split("\n")
    return texts


# -- the script -----------------------------------------------------------------------------------

def test_menu_order_is_breadth_first_then_the_transfer():
    assert menu_order(MENU) == ORDER


def test_the_markdown_script_lists_every_node_with_its_route_in_menu_order():
    script = render_script(MENU)
    assert_in_order([f"`{node_id}`" for node_id in ORDER], script)
    assert_in_order(["`casting`", "Main menu → 4 → 2", "`medication_change`", "Main menu → 4 → 3"], script)
    assert "0 from any menu or summary" in script
    assert "baclofen, oral baclofen, baclofen pill, baclofen pills, lioresal" in script


@pytest.mark.parametrize("fmt, plain", [("markdown", md_plain), ("html", html_plain)])
def test_every_summary_is_in_the_script_as_callers_hear_it_and_texters_get_it(fmt, plain):
    document = plain(render_script(MENU, fmt))
    assert_in_order(spoken_and_texted(MENU), document)


@pytest.mark.parametrize("fmt, plain", [("markdown", md_plain), ("html", html_plain)])
def test_the_script_has_the_start_of_the_call_and_the_lines_own_phrases(fmt, plain):
    document = plain(render_script(MENU, fmt))
    start = engine.start_call(MENU)
    busy = engine.dial_ended(MENU, "busy")
    texts = [*start.say, *start.prompt, "Sorry, I did not hear a choice.", "Sorry, that is not an option.",
             *busy.prompt, "Thank you for calling the Spasticity Clinic. Goodbye.",
             "Sorry, something went wrong on our end.",
             engine.text_in(MENU, "help", None).text, *engine.text_failed(MENU).text.split("\n"),
             "Sorry, I did not understand that."]
    for text in texts:
        assert text in document, text
    assert_in_order([start.say[0], "`main`" if fmt == "markdown" else "main", "Goodbye", "HELP"], document)
    assert document.rstrip().endswith(SIGN_OFF)


def test_markdown_and_html_show_the_same_texts_in_the_same_order():
    lines = [line for section in script_sections(MENU) for entry in section.entries for line in entry.lines]
    titles = [section.title for section in script_sections(MENU)]
    for fmt, plain in (("markdown", md_plain), ("html", html_plain)):
        document = plain(render_script(MENU, fmt))
        assert_in_order(lines, document)
        assert_in_order(titles, document)


def test_html_is_a_complete_printable_page_with_text_escaped():
    menu = menu_with(("relax certain muscles in the body.", "relax <b>certain</b> muscles & more."),
                     ("title: oral baclofen", 'title: "oral <b>baclofen</b> & more"'))
    page = render_script(menu, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Spasticity Clinic: what the line says and texts</title>" in page
    assert "@media print" in page and '<meta charset="utf-8">' in page
    assert page.rstrip().endswith("</html>")
    assert "<b>" not in page
    assert "relax &lt;b&gt;certain&lt;/b&gt; muscles &amp; more." in page
    assert "To hear about oral &lt;b&gt;baclofen&lt;/b&gt; &amp; more, press 1." in page
    assert "relax <b>certain</b> muscles & more." in html_plain(page)


def test_markdown_escapes_text_so_it_cannot_become_markup():
    menu = menu_with(("relax certain muscles in the body.", "relax <b>certain</b> muscles & *more*."))
    script = render_script(menu)
    assert r"relax \<b\>certain\</b\> muscles \& \*more\*." in script
    assert "relax <b>certain</b> muscles & *more*." in md_plain(script)


def test_the_script_follows_a_changed_menu():
    menu = menu_with(*ADD_NODE)
    script = render_script(menu)
    assert_in_order(["`medication_change`", "`end`", "Main menu → 4 → 4", "At a clinic visit",
                     "`scheduling`"], script)


def test_an_unknown_script_format_is_refused():
    with pytest.raises(ValueError, match="markdown"):
        render_script(MENU, "pdf")


# -- the change description -----------------------------------------------------------------------

def sections_of(report: str) -> dict[str, str]:
    """The report's text under each heading."""
    parts = re.split(r"^(Callers hear|Texters get|Settings)$", report, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_identical_menus_are_no_change():
    assert describe_changes(MENU, load_menus(MENUS)) == NO_CHANGE == "No change for callers or texters."


def test_edits_that_sound_and_read_the_same_are_no_change():
    reflowed = menu_with(("Valium would\n      be best provided", "Valium would be\n      best provided"),
                         ('scheduling: "(502) 635-6397"', 'scheduling: "502.635.6397"'))
    assert describe_changes(MENU, reflowed) == NO_CHANGE


def test_a_reworded_summary_shows_what_callers_hear_before_and_after():
    new = menu_with(("cramps and tightness in the muscles.", "cramps and stiffness in the muscles."))
    report = sections_of(describe_changes(MENU, new))
    assert set(report) == {"Callers hear"}
    said = report["Callers hear"]
    assert "Oral baclofen (oral_baclofen), at Main menu → 1, is reworded:" in said
    assert "was: Oral baclofen is a medication" in said and "tightness in the muscles." in said
    assert "now: Oral baclofen is a medication" in said and "stiffness in the muscles." in said
    assert 'what changed: "tightness" became "stiffness"' in said


def test_a_reworded_text_is_under_texters_only():
    new = menu_with(("providers need to give very high doses to get",
                     "providers give very high doses to get"))
    report = sections_of(describe_changes(MENU, new))
    assert set(report) == {"Texters get"}
    assert "Oral baclofen (oral_baclofen), at Main menu → 1, is reworded:" in report["Texters get"]
    assert '"need to" removed' in report["Texters get"]


def test_a_moved_key_is_described_in_words():
    new = menu_with(("      2: casting\n      3: medication_change",
                     "      2: medication_change\n      3: casting"))
    report = describe_changes(MENU, new)
    assert "- Casting moved from key 2 to key 3 in Other treatments." in report
    assert "- Change in medication moved from key 3 to key 2 in Other treatments." in report
    assert "reworded" not in report  # the menu's new order is the move, not a rewording


def test_an_added_node_says_where_it_is_reached_and_what_it_says():
    report = sections_of(describe_changes(MENU, menu_with(*ADD_NODE)))
    assert ("- New summary A clinic visit (end), reached by Main menu → 4 → 4."
            in report["Callers hear"])
    assert "says: At a clinic visit, the team checks how your child moves." in report["Callers hear"]
    assert "New summary A clinic visit (end): texters get" in report["Texters get"]
    assert "by texting VISIT" in report["Texters get"]


def test_a_removed_node_says_where_it_was_reached():
    # An unreachable node is refused, so the option goes and the node's whole entry with it.
    text = FIXTURE.replace("      2: casting\n      3: medication_change", "      2: medication_change", 1)
    start, end = text.index("  casting:\n"), text.index("  medication_change:\n")
    new = parse_menus(text[:start] + text[end:])
    report = sections_of(describe_changes(MENU, new))
    removed = "- Removed summary Casting (casting), which was reached by Main menu → 4 → 2."
    assert removed in report["Callers hear"]
    assert "- Change in medication moved from key 3 to key 2 in Other treatments." in report["Callers hear"]
    assert "The keywords of Casting (casting) (CASTING, CAST) are removed with it." in report["Texters get"]


def test_a_removed_keyword_is_listed_for_texters():
    new = menu_with(("baclofen pills, lioresal]", "baclofen pills]"))
    report = sections_of(describe_changes(MENU, new))
    assert set(report) == {"Texters get"}
    assert "- Oral baclofen (oral_baclofen): keywords removed: LIORESAL." in report["Texters get"]


def test_a_changed_first_keyword_shows_the_texted_word_list_changing():
    new = menu_with(("[baclofen, oral baclofen,", "[oral baclofen,"))
    texters = sections_of(describe_changes(MENU, new))["Texters get"]
    assert "keywords removed: BACLOFEN" in texters
    assert "was: Words: BACLOFEN, PUMP" in texters and "now: Words: ORAL BACLOFEN, PUMP" in texters


def test_a_changed_phrase_is_described_once_under_the_phrase():
    new = menu_with(("operator_key: To talk with our scheduling team, press 0.",
                     "operator_key: To talk with a person, press 0."))
    report = describe_changes(MENU, new)
    assert report.count("was: To talk with our scheduling team, press 0.") == 1
    assert report.count("now: To talk with a person, press 0.") == 1
    assert "The phrase operator_key (said at the end of every menu and summary" in report
    assert "oral_baclofen" not in report  # not repeated for every node that says it


def test_a_phrase_with_a_placeholder_shows_the_placeholder():
    new = menu_with(("option: To hear about {title}, press {key}.", "option: For {title}, press {key}."))
    report = describe_changes(MENU, new)
    assert "was: To hear about [title], press [key]." in report
    assert "now: For [title], press [key]." in report
    assert report.count("was:") == 1


def test_a_changed_title_is_shown_where_it_is_said():
    new = menu_with(("    title: dorsal rhizotomy\n", "    title: selective dorsal rhizotomy\n"))
    report = sections_of(describe_changes(MENU, new))
    assert "was: To hear about dorsal rhizotomy, press 3." in report["Callers hear"]
    assert "now: To hear about selective dorsal rhizotomy, press 3." in report["Callers hear"]
    assert report["Callers hear"].count("was:") == 1  # once, though the start of a call says it too
    assert "now: 3 Selective dorsal rhizotomy" in report["Texters get"]


def test_a_changed_retry_count_and_timeouts_are_settings():
    new = menu_with(("no_input_retries: 2", "no_input_retries: 3"), ("key_timeout: 6", "key_timeout: 8"),
                    ("dial_timeout: 25", "dial_timeout: 30"))
    report = sections_of(describe_changes(MENU, new))
    assert set(report) == {"Settings"}
    assert ("Times a menu is said again when a caller presses nothing or a wrong key, before the call "
            "goes to Scheduling: 3 (was 2).") in report["Settings"]
    assert "Seconds the line waits for a key: 8 (was 6)." in report["Settings"]
    assert "Seconds Scheduling rings before the line gives up: 30 (was 25)." in report["Settings"]


def test_a_changed_phone_number_is_one_setting_not_every_text():
    new = menu_with(('scheduling: "(502) 635-6397"', 'scheduling: "(502) 635-6000"'))
    report = describe_changes(MENU, new)
    assert sections_of(report).keys() == {"Settings"}
    assert "- Phone number scheduling is now (502) 635-6000 (was (502) 635-6397)." in report


def test_a_combined_change_matches_the_golden_description():
    new = menu_with(*ADD_NODE,
                    ("      2: casting\n      3: medication_change\n      4: end",
                     "      2: medication_change\n      3: casting\n      4: end"),
                    ("cramps and tightness in the muscles.", "cramps and stiffness in the muscles."),
                    ("baclofen pills, lioresal]", "baclofen pills]"),
                    ("invalid_key: Sorry, that is not an option.",
                     "invalid_key: Sorry, that key does nothing."),
                    ("no_input_retries: 2", "no_input_retries: 3"))
    report = describe_changes(MENU, new) + "\n"
    golden = GOLDEN / "diff_combined.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(report, encoding="utf-8")
    assert report == golden.read_text(encoding="utf-8"), "run with UPDATE_GOLDEN=1 and review the diff"


# -- the diagram ----------------------------------------------------------------------------------

def option_edges(menu: Menu) -> list[tuple[str, str, str]]:
    return [(node_id, o.target, o.key) for node_id, node in menu.nodes.items() for o in node.options]


def test_the_mermaid_diagram_has_every_node_and_every_option_edge():
    diagram = render_diagram(MENU)
    assert diagram.startswith("flowchart TD\n")
    for node_id in ORDER:
        assert re.search(rf"^    n_{node_id}[\[({{]", diagram, re.M), node_id
    for source, target, key in option_edges(MENU):
        assert f"    n_{source} -->|{key}| n_{target}\n" in diagram
    assert '    n_main["Main menu<br/>main"]' in diagram
    assert '    n_casting("Casting<br/>casting")' in diagram
    assert '    n_scheduling{{"Scheduling<br/>scheduling"}}' in diagram


def test_key_0_is_drawn_once_from_any_menu():
    for fmt, zero in (("mermaid", "|0|"), ("dot", 'label="0"')):
        diagram = render_diagram(MENU, fmt)
        assert diagram.count(zero) == 1, fmt
    assert "    any -.->|0| n_scheduling\n" in render_diagram(MENU)
    assert '"_any" -> "scheduling" [label="0", style=dashed];' in render_diagram(MENU, "dot")


DOT_STATEMENT = re.compile(
    r'\s*(?:rankdir=TB|(?:node|edge) \[[^\]]*\]'
    r'|"(?:[^"\\]|\\.)*"(?: -> "(?:[^"\\]|\\.)*")? \[(?:[a-z]+=(?:"(?:[^"\\]|\\.)*"|[a-z0-9]+)(?:, )?)+\]);')


def test_the_dot_diagram_is_a_digraph_with_the_same_content():
    diagram = render_diagram(MENU, "dot")
    lines = diagram.splitlines()
    assert re.fullmatch(r'digraph "Spasticity Clinic" \{', lines[0])
    assert lines[-1] == "}"
    for line in lines[1:-1]:
        assert DOT_STATEMENT.fullmatch(line), line
    for node_id in ORDER:
        assert f'    "{node_id}" [label="' in diagram
    for source, target, key in option_edges(MENU):
        assert f'    "{source}" -> "{target}" [label="{key}"];' in diagram
    assert '"scheduling" [label="Scheduling\\nscheduling", shape=hexagon' in diagram


def test_diagram_labels_with_quotes_and_brackets_are_escaped():
    title = r'"casting \"fast\" [x] (y) <w> #1 & a\\b"'  # YAML double-quoted: \" and \\
    menu = menu_with(("    title: casting\n", f"    title: {title}\n"))
    mermaid = render_diagram(menu)
    line = next(row for row in mermaid.splitlines() if row.startswith("    n_casting("))
    label = line[len('    n_casting("'):-len('")')]
    assert '"' not in label and "<w>" not in label and "&" not in label.replace("#", "")
    assert "#34;fast#34;" in label and "#60;w#62;" in label and "#35;1" in label
    assert "[x] (y)" in label  # safe inside quotes
    dot = render_diagram(menu, "dot")
    assert '"casting" [label="Casting \\"fast\\" [x] (y) <w> #1 & a\\\\b\\ncasting"' in dot
    for row in dot.splitlines()[1:-1]:
        assert DOT_STATEMENT.fullmatch(row), row


def test_node_ids_that_are_mermaid_words_are_prefixed():
    diagram = render_diagram(menu_with(*ADD_NODE))
    assert "    n_other_treatments -->|4| n_end\n" in diagram
    assert not re.search(r"^\s*end\b", diagram, re.M)


def test_an_unknown_diagram_format_is_refused():
    with pytest.raises(ValueError, match="mermaid"):
        render_diagram(MENU, "svg")
