"""The review script: everything the line says and texts, in menu order, for clinicians to sign off."""

from __future__ import annotations

import html
import re
from collections import deque
from dataclasses import dataclass

from ..conversation import engine
from ..menufile import schema
from ..model import reserved
from ..model.menu import Menu, Node
from ..model.phone import for_reading

ARROW = " → "
SIGN_OFF = "Reviewed by: ______________________________   Date: ______________"
# A text that matches no keyword, number or command, so the line answers it as "not understood".
_NOT_UNDERSTOOD_PROBE = "?"


@dataclass(frozen=True)
class Entry:
    """One labelled thing the line says or texts at a place.

    kind is "spoken" (sentences heard in order), "text" (one text message, line breaks kept) or
    "note" (an explanation for the reviewer, not something the line says).
    """

    label: str
    lines: tuple[str, ...]
    kind: str = "spoken"
    note: str = ""


@dataclass(frozen=True)
class Section:
    """A place in the script: the start of a call, one node, or the line's own phrases."""

    key: str  # a node id, or "_start", "_voice", "_texts" (menus.yaml ids cannot start with "_")
    title: str
    facts: tuple[tuple[str, str], ...]
    entries: tuple[Entry, ...]


# -- order and routes -----------------------------------------------------------------------------

def display_name(node: Node) -> str:
    """A node's short name as a heading: its label, capitalised, without a leading "the"."""
    label = re.sub(r"(?i)^the\s+", "", node.label) or node.label
    return label[:1].upper() + label[1:]


def menu_order(menu: Menu) -> list[str]:
    """Node ids breadth-first from the start, options in key order, then any others (the transfer)."""
    seen = {menu.start: None}
    queue = deque([menu.start])
    while queue:
        for option in menu.nodes[queue.popleft()].options:
            if option.target not in seen:
                seen[option.target] = None
                queue.append(option.target)
    return list(seen) + [node_id for node_id in menu.nodes if node_id not in seen]


def shortest_keys(menu: Menu) -> dict[str, tuple[str, ...]]:
    """The fewest keys from the start to each node reachable through options."""
    keys: dict[str, tuple[str, ...]] = {menu.start: ()}
    for node_id in menu_order(menu):
        if node_id not in keys:
            continue
        for option in menu.nodes[node_id].options:
            keys.setdefault(option.target, keys[node_id] + (option.key,))
    return keys


def routes(menu: Menu, node_id: str) -> list[str]:
    """How a caller reaches `node_id`: "Main menu → 4 → 2", one route per option leading to it.

    One route per option (the shortest way to its menu, then its key) rather than every path,
    which could multiply when menus link to each other.
    """
    start = display_name(menu.nodes[menu.start])
    shortest = shortest_keys(menu)
    found = [f"{start} (the start of every call)"] if node_id == menu.start else []
    for menu_id in menu_order(menu):
        option = next((o for o in menu.nodes[menu_id].options if o.target == node_id), None)
        if option is not None and menu_id in shortest:
            found.append(ARROW.join((start, *shortest[menu_id], option.key)))
    if node_id == menu.operator:
        found.append(f"{reserved.OPERATOR_KEY} from any menu or summary")
    return found


# -- what the engine says, labelled ---------------------------------------------------------------

def _turn_lines(turn: engine.Turn) -> tuple[str, ...]:
    return (tuple(sentence for _, _, sentence in turn.notices) + turn.say
            + tuple(sentence for _, _, sentence in turn.offers) + turn.prompt)


def _turn_entries(turn: engine.Turn, label: str = "Callers hear") -> list[Entry]:
    entries = []

    def add(lines: tuple[str, ...], note: str) -> None:
        entries.append(Entry(label if not entries else "Then", lines, note=note))

    for language, voice, sentence in turn.notices:
        add((sentence,), f"said in full, in {language} ({voice})")
    if turn.say:
        add(turn.say, "said in full; keys pressed meanwhile are not heard")
    for language, voice, sentence in turn.offers:  # before the prompt, in that language's own voice
        add((sentence,), f"in {language} ({voice}), while listening: the offer of the other language")
    if turn.prompt:
        add(turn.prompt, "said while listening; a caller may press a key before it ends")
    if turn.dial:
        entries.append(Entry("Then", (f"The call is put through to {for_reading(turn.dial)}.",), "note"))
    if turn.hangup:
        entries.append(Entry("Then", ("The line hangs up.",), "note"))
    return entries


def _text_entry(reply: engine.Reply, label: str = "Texters get", note: str = "") -> Entry:
    if reply.text is None:
        return Entry(label, ("No reply from the line.",), "note", note)
    size = ""
    if reply.encoding is not None:
        plural = "s" if reply.encoding.segments != 1 else ""
        size = f"{reply.encoding.segments} message{plural}, {reply.encoding.units} characters"
        if reply.encoding.name != "GSM-7":
            size += f", {reply.encoding.name}"
    return Entry(label, tuple(reply.text.split("\n")), "text", "; ".join(p for p in (note, size) if p))


def _only_new(turn: engine.Turn, *known: engine.Turn) -> tuple[str, ...]:
    """The lines of `turn` that none of `known` says: a phrase the engine puts before other prompts."""
    seen = {line for other in known for line in _turn_lines(other)}
    return tuple(line for line in _turn_lines(turn) if line not in seen)


def _tries_before(menu: Menu, step) -> int:
    """How many times the line asks again before `step(tries)` gives up (dials or hangs up)."""
    tries = 0
    # Bounded by the largest retry count the file allows, so a change in the engine cannot hang this.
    while tries <= schema.CALL["no_input_retries"].high + 1:
        turn = step(tries)
        if turn.dial or turn.hangup:
            return tries
        tries += 1
    return tries


def _node_section(menu: Menu, node_id: str) -> Section:
    node = menu.nodes[node_id]
    facts = (("Id", node.id), ("Type", node.type), ("Reached by", "; ".join(routes(menu, node_id))),
             ("Keywords", ", ".join(node.keywords) if node.keywords else "none"))
    entries = _turn_entries(engine.enter(menu, node_id))
    entries.append(_text_entry(engine.node_reply(menu, node_id, None)))
    return Section(node_id, display_name(node), facts, tuple(entries))


def _start_section(menu: Menu) -> Section:
    facts = (("Reached by", "every call"),)
    entries = _turn_entries(engine.start_call(menu))
    if menu.offer:  # a translation: what its callers heard in it before choosing it
        key = reserved.LANGUAGE_KEY
        entries.insert(0, Entry("Before this, on every call", (menu.offer,),
                                note=f"said in {menu.language} ({menu.voice}) in the first menu of the "
                                     f"line's first language, after its greeting and emergency notice; "
                                     f"then the caller presses {key} and hears what follows"))
    return Section("_start", "Start of every call", facts, tuple(entries))


def _voice_section(menu: Menu) -> Section:
    start, operator = menu.start, display_name(menu.nodes[menu.operator])
    home = engine.enter(menu, start)
    transfer = engine.transfer(menu)
    invalid = next((k for k in "12345678" if menu.nodes[start].option(k) is None), "#")
    retries = _tries_before(menu, lambda tries: engine.silence(menu, start, tries))
    again = (f"then the menu again; after {retries} repeat{'s' if retries != 1 else ''}, "
             f"the caller is put through to {operator}")
    busy = engine.dial_ended(menu, "busy")
    waits = _tries_before(menu, lambda tries: engine.silence(menu, engine.UNAVAILABLE, tries))
    goodbye = engine.silence(menu, engine.UNAVAILABLE, waits)
    entries = (
        Entry("No key pressed", _only_new(engine.silence(menu, start, 0), home, transfer), note=again),
        Entry("A key that is not an option", _only_new(engine.press(menu, start, invalid), home, transfer),
              note=again),
        Entry("Words that match no choice, or unclear speech",
              _only_new(engine.heard(menu, start, "", 0.0), home, transfer),
              note="callers may say a keyword instead of pressing a key; " + again),
        Entry(f"{operator} cannot be reached", _turn_lines(busy),
              note="when the line is busy, does not answer or the call fails"),
        Entry("Goodbye", _only_new(goodbye, busy),
              note=f"when no key is pressed after the number has been read {waits + 1} times; "
                   "then the line hangs up"),
        Entry("Something went wrong inside the line", _only_new(engine.failed(menu), transfer),
              note=f"then the caller is put through to {operator}"),
        Entry("Words that sound like an emergency", _emergency_lines(menu),
              note="said in full first, whatever the caller said them at; then what the line would "
                   "otherwise do. " + _emergency_note(menu)),
        Entry("After the first summary of a call", (engine.spoken(menu, menu.phrases["general_info"]),),
              note="said once per call, after the summary and before its keys"),
    )
    return Section("_voice", "The line's own phrases on the phone", (), entries)


def _texts_section(menu: Menu) -> Section:
    help_words = " or ".join(w.upper() for w in reserved.HELP_WORDS)
    carrier = ", ".join(w.upper() for w in reserved.OPT_OUT_WORDS + reserved.OPT_IN_WORDS)
    entries = (
        _text_entry(engine.text_in(menu, reserved.HELP_WORDS[0], None), "Help", f"the reply to {help_words}"),
        _text_entry(engine.text_failed(menu), "Something went wrong inside the line"),
        _text_entry(engine.text_in(menu, _NOT_UNDERSTOOD_PROBE, None), "Not understood",
                    "the reply to a text the line does not understand; after a number that is not a "
                    "choice, the same first line comes before that menu"),
        _text_entry(engine.emergency_first(menu, _emergency_probe(menu), engine.text_in(menu, "?", None)),
                    "A text that sounds like an emergency",
                    "the notice comes first, then what the line would otherwise reply (here: a text it "
                    "does not understand); the same phrases as on the phone, and those of every other "
                    "language, answered in that language"),
        _text_entry(engine.text_in(menu, reserved.OPT_OUT_WORDS[0], None), "Opt-out and opt-in words",
                    f"{carrier}: Twilio's opt-out handling answers these"),
    )
    return Section("_texts", "The line's own texts", (), entries)


def _emergency_probe(menu: Menu) -> str:
    """A phrase of the line's language that sounds like an emergency ("" when it has none)."""
    return " ".join(menu.emergency_phrases.phrases[0]) if menu.emergency_phrases else ""


def _emergency_lines(menu: Menu) -> tuple[str, ...]:
    turn = engine.emergency_turn(menu, _emergency_probe(menu)) if menu.emergency_phrases else None
    return _turn_lines(turn) if turn else ("(none: this language has no emergency phrases)",)


def _emergency_note(menu: Menu) -> str:
    phrases = [" ".join(words) for words in menu.emergency_phrases.phrases]
    return f"The {len(phrases)} phrases in {menu.language}: " + ", ".join(phrases) + "."


# A made-up caller for the callback examples (555-01XX numbers are reserved for fiction).
EXAMPLE_CALLER, EXAMPLE_KEYED = "+15025550123", "5025550199"


def _callback_section(menu: Menu) -> Section:
    """Asking for a callback: said and texted only on a line that takes callback requests."""
    from ..conversation import callback_flow

    busy = engine.dial_ended(menu, "busy")
    offered = engine.dial_ended(menu, "busy", callbacks=True)
    keyed = callback_flow.start(menu, "busy", None)
    read_back = callback_flow.press(menu, callback_flow.ENTER_NUMBER, EXAMPLE_KEYED, 0, "busy", "", None)
    wrong = callback_flow.press(menu, callback_flow.ENTER_NUMBER, "12", 0, "busy", "", None)
    now = callback_flow.REVIEW_MOMENT  # a Saturday
    opening = menu.hours.next_opening(now) if menu.hours is not None else None
    entries = [
        Entry("Where scheduling cannot answer", _only_new(offered, busy),
              note="added to the closed message, the unavailable message, and said as the last offer "
                   "before goodbye"),
        Entry("The caller's own number", _turn_lines(callback_flow.start(menu, "busy", EXAMPLE_CALLER)),
              note="only for a US or Canadian number the carrier attested (here one ending in 0123)"),
        Entry("Another number", _turn_lines(keyed), note="or when the caller's own cannot be used"),
        Entry("The number read back", _turn_lines(read_back), note=f"after keying {EXAMPLE_KEYED}"),
        Entry("A number that is not right", _only_new(wrong, keyed),
              note="then the request again; after the retries, the apology below and goodbye"),
        Entry("The message", _turn_lines(callback_flow.record(menu, engine.Record(1, False, 60))),
              note="then a tone, and the family speaks until # (at most IVR_CALLBACK_RECORD_SECONDS)"),
        Entry("What happens next", _turn_lines(callback_flow.done(menu, None, now, True)),
              note="the sentence about a text only when one was sent"),
    ]
    if opening is not None:
        entries.append(Entry("What happens next, while scheduling is closed",
                             callback_flow.what_next(menu, opening, now)[:1],
                             note="instead of the first sentence above (here: asked on a Saturday)"))
    entries += [
        Entry("Too many requests", _turn_lines(callback_flow.full(menu)),
              note="beyond IVR_CALLBACKS_PER_HOUR or IVR_CALLBACKS_PER_DAY"),
        Entry("A request that could not be taken", _turn_lines(callback_flow.failed(menu))),
        _text_entry(callback_flow.text_reply(menu, None, now), "Texters get",
                    "the reply to CALL ME (and the confirmation texted to a caller)"),
    ]
    return Section("_callbacks", "Asking for a callback (with IVR_CALLBACK_KEYS)", (), tuple(entries))


def script_sections(menu: Menu) -> tuple[Section, ...]:
    """Everything the line says and texts, as labelled sections in menu order (what both formats show)."""
    nodes = tuple(_node_section(menu, node_id) for node_id in menu_order(menu))
    callbacks = (_callback_section(menu),) if engine.offers_callbacks(menu) else ()
    return (_start_section(menu), *nodes, _voice_section(menu), *callbacks, _texts_section(menu))


# -- rendering ------------------------------------------------------------------------------------

INTRO = ("Everything callers hear and texters get, in menu order. \"Said in full\" cannot be "
         "skipped; while the line is listening, a caller may press a key before it ends. Please "
         "check every sentence, then sign at the end.")


def script_title(menu: Menu) -> str:
    """The script's title: the line's name, and what the script is."""
    return f"{menu.name}: what the line says and texts"


def render_script(menu: Menu, fmt: str = "markdown") -> str:
    """The review script for `menu` as "markdown" or "html" (a complete, printable page)."""
    sections = script_sections(menu)
    if fmt == "markdown":
        return _markdown(menu, sections)
    if fmt == "html":
        return _html(menu, sections)
    raise ValueError(f"unknown script format {fmt!r}: use 'markdown' or 'html'")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")
# Text that would start a heading, list, quote or rule if it began a Markdown line.
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")


def md_escape(text: str) -> str:
    """`text` shown literally in Markdown: callers' words must never turn into markup."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def _markdown(menu: Menu, sections: tuple[Section, ...]) -> str:
    out = [f"# {md_escape(script_title(menu))}", "", md_escape(INTRO), ""]
    for number, section in enumerate(sections, 1):
        out += [f"## {number}. {md_escape(section.title)}", ""]
        for name, value in section.facts:
            shown = f"`{value}`" if name == "Id" else md_escape(value)
            out.append(f"- **{md_escape(name)}:** {shown}")
        if section.facts:
            out.append("")
        for entry in section.entries:
            note = f" _({md_escape(entry.note)})_" if entry.note else ""
            out += [f"**{md_escape(entry.label)}**{note}", ""]
            if entry.kind == "spoken":
                out += [f"- {md_escape(line)}" for line in entry.lines]
            elif entry.kind == "text":
                # A trailing backslash is a hard line break: the message keeps its own lines.
                quoted = [f"> {md_escape(line)}" for line in entry.lines]
                out += [line + "\\" for line in quoted[:-1]] + quoted[-1:]
            else:
                out += [f"_{md_escape(line)}_" for line in entry.lines]
            out.append("")
    # Left unescaped: runs of "_" between spaces are literal in Markdown and stay blanks to write on.
    out += ["---", "", SIGN_OFF, ""]
    return "\n".join(out)


_CSS = """
body { font-family: Georgia, "Times New Roman", serif; max-width: 48em; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; color: #000; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-top: 1px solid #888; padding-top: .6em; }
section { break-inside: avoid-page; page-break-inside: avoid; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1em 1em; font-size: .9em; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
p.label { margin: .8em 0 .2em; font-weight: bold; } p.label em { font-weight: normal; }
blockquote.text { font-family: "Courier New", monospace; white-space: pre-wrap; border: 1px solid #888;
                  margin: .2em 0; padding: .4em .6em; }
p.signoff { margin-top: 3em; font-size: 1.1em; }
@page { margin: 2cm; }
@media print { body { margin: 0; max-width: none; } }
""".strip()


def _html(menu: Menu, sections: tuple[Section, ...]) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", f'<html lang="{e(menu.language)}">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(script_title(menu))}</title>", f"<style>\n{_CSS}\n</style>", "</head>", "<body>",
           f"<h1>{e(script_title(menu))}</h1>", f"<p>{e(INTRO)}</p>"]
    for number, section in enumerate(sections, 1):
        out += [f'<section id="{e(section.key)}">', f"<h2>{number}. {e(section.title)}</h2>"]
        if section.facts:
            out.append('<dl class="facts">')
            out += [f"<dt>{e(name)}</dt><dd>{e(value)}</dd>" for name, value in section.facts]
            out.append("</dl>")
        for entry in section.entries:
            note = f" <em>({e(entry.note)})</em>" if entry.note else ""
            out.append(f'<p class="label">{e(entry.label)}{note}</p>')
            if entry.kind == "spoken":
                out += ["<ul>", *(f"<li>{e(line)}</li>" for line in entry.lines), "</ul>"]
            elif entry.kind == "text":
                out.append(f'<blockquote class="text">{e(chr(10).join(entry.lines))}</blockquote>')
            else:
                out += [f"<p><em>{e(line)}</em></p>" for line in entry.lines]
        out.append("</section>")
    out += [f'<p class="signoff">{e(SIGN_OFF)}</p>', "</body>", "</html>", ""]
    return "\n".join(out)
