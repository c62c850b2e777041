"""What a change to menus.yaml changes for callers and texters, in plain words for a reviewer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from types import MappingProxyType

from ..conversation import engine
from ..menufile import schema
from ..model.matching import normalise
from ..model.menu import Menu, Node
from ..model.phone import for_reading
from .script import display_name, menu_order, routes, script_sections

NO_CHANGE = "No change for callers or texters."
HEADINGS = ("Callers hear", "Texters get", "Settings")
_WORDING = ("say", "text", "title", "label")


@dataclass
class _Report:
    callers: list[list[str]] = field(default_factory=list)
    texters: list[list[str]] = field(default_factory=list)
    settings: list[list[str]] = field(default_factory=list)

    def render(self) -> str:
        groups = (self.callers, self.texters, self.settings)
        if not any(groups):
            return NO_CHANGE
        out: list[str] = []
        for heading, items in zip(HEADINGS, groups, strict=True):
            if not items:
                continue
            out += [heading, ""]
            for first, *rest in items:
                out.append(f"- {first}")
                out += [f"    {line}" for line in rest]
            out.append("")
        return "\n".join(out).rstrip("\n")


def describe_changes(old: Menu, new: Menu) -> str:
    """A reviewer's summary of what changes for callers and texters going from `old` to `new`.

    Wording is compared as the engine renders it, so an edit that sounds and reads the same (a
    reflowed line, a number written another way) is no change. Each change is reported once, where
    it was made: a reworded phrase under the phrase, not in every menu that says it.
    """
    # Old wording is rendered in the new menu's context (its name, numbers and phrases), so the
    # only differences left in a node's output are that node's own words.
    context = replace(new, phones=MappingProxyType({**old.phones, **new.phones}))
    report = _Report()
    _call_texts(old, context, report)
    _structure(old, new, report)
    _node_wording(old, context, report)
    _phrases(old, context, report)
    _keywords(old, context, report)
    _settings(old, new, report)
    return report.render()


# -- rendering helpers ----------------------------------------------------------------------------

def _quoted_lines(label: str, lines: tuple[str, ...]) -> list[str]:
    if not lines:
        return [] if label == "what changed:" else [f"{label} (nothing)"]
    return [f"{label} {lines[0]}", *(f"{' ' * len(label)} {line}" for line in lines[1:])]


def _was_now(was: tuple[str, ...], now: tuple[str, ...]) -> list[str]:
    lines = _quoted_lines("was:", was) + _quoted_lines("now:", now)
    if len(was) == len(now) == 1:
        lines += _quoted_lines("what changed:", _changed_words(was[0], now[0]))
    return lines


def _changed_words(was: str, now: str) -> tuple[str, ...]:
    """The words that differ, when a sentence was edited rather than rewritten.

    A reviewer cannot spot one changed word in two long paragraphs; a rewrite speaks for itself.
    """
    a, b = was.split(), now.split()
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.5 or len(was) < 60:
        return ()
    parts = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        gone, came = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        if tag == "replace":
            parts.append(f'"{gone}" became "{came}"')
        elif tag == "delete":
            parts.append(f'"{gone}" removed')
        elif tag == "insert":
            parts.append(f'"{came}" added')
    return ("; ".join(parts),) if 0 < len(parts) <= 3 else ()


def _where(menu: Menu, node_id: str) -> str:
    return "; ".join(routes(menu, node_id)) or "no route"


def _named(menu: Menu, node_id: str) -> str:
    return f"{display_name(menu.nodes[node_id])} ({node_id})"


def _filled(menu: Menu, text: str, placeholders: tuple[str, ...], for_text: bool) -> str:
    """A phrase as the engine fills it, with its per-use names ({title}, {key}...) left as markers."""
    markers = {name: f"[{name}]" for name in placeholders if name != "name"}
    fill = engine.written if for_text else engine.spoken
    return fill(menu, text, **markers)


def _output_changes(before: Menu, after: Menu) -> tuple[list, list]:
    """Distinct (was, now) line changes between two renderings, split into spoken and texted."""
    spoken: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    texted: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    sections_before = {s.key: s for s in script_sections(before)}
    for section in script_sections(after):
        other = sections_before.get(section.key)
        if other is None:
            continue
        # The two menus differ only in wording, so each place has the same entries in the same order.
        for was_entry, now_entry in zip(other.entries, section.entries, strict=True):
            if was_entry.kind == "note":  # the script's own explanations, not the line's words
                continue
            was = tuple(line for line in was_entry.lines if line not in now_entry.lines)
            now = tuple(line for line in now_entry.lines if line not in was_entry.lines)
            target = texted if now_entry.kind == "text" else spoken
            if (was or now) and (was, now) not in target:
                target.append((was, now))
    return spoken, texted


def _with_node(menu: Menu, node: Node) -> Menu:
    return replace(menu, nodes=MappingProxyType({**menu.nodes, node.id: node}))


# -- each kind of change --------------------------------------------------------------------------

def _call_texts(old: Menu, context: Menu, report: _Report) -> None:
    for key, what in (("greeting", "The greeting"), ("emergency", "The emergency notice")):
        placeholders = schema.CALL[key].placeholders
        was = _filled(context, getattr(old, key), placeholders, for_text=False)
        now = _filled(context, getattr(context, key), placeholders, for_text=False)
        if was != now:
            report.callers.append([f"{what} is reworded:", *_was_now((was,), (now,))])


def _structure(old: Menu, new: Menu, report: _Report) -> None:
    for node_id in menu_order(new):
        if node_id in old.nodes:
            continue
        node = new.nodes[node_id]
        said = engine.spoken(new, node.say) if node.say else ""
        report.callers.append([f"New {node.type} {_named(new, node_id)}, reached by {_where(new, node_id)}.",
                               *_quoted_lines("says:", (said,) if said else ())])
        reply = engine.node_reply(new, node_id, None).text or ""
        item = [f"New {node.type} {_named(new, node_id)}: texters get", *_quoted_lines("text:",
                                                                                      tuple(reply.split("\n")))]
        if node.keywords:
            item.append(f"by texting {', '.join(k.upper() for k in node.keywords)}")
        report.texters.append(item)
    for node_id in menu_order(old):
        if node_id in new.nodes:
            continue
        node = old.nodes[node_id]
        report.callers.append([f"Removed {node.type} {_named(old, node_id)}, which was reached by "
                               f"{_where(old, node_id)}."])
        if node.keywords:
            words = ", ".join(k.upper() for k in node.keywords)
            report.texters.append([f"The keywords of {_named(old, node_id)} ({words}) are removed with it."])
    moved = False
    for node_id in menu_order(new):
        if node_id in old.nodes and old.nodes[node_id].type != new.nodes[node_id].type:
            report.callers.append([f"{_named(new, node_id)} is now a {new.nodes[node_id].type} "
                                   f"(was a {old.nodes[node_id].type})."])
    old_keys = _option_keys(old)
    new_keys = _option_keys(new)
    for (menu_id, target), key in new_keys.items():
        if target not in old.nodes:
            continue  # a new node is reported with where it is reached
        name, where = display_name(new.nodes[target]), display_name(new.nodes[menu_id])
        was = old_keys.get((menu_id, target))
        if was is None:
            report.callers.append([f"{name} is now offered in {where} as key {key}."])
            moved = True
        elif was != key:
            report.callers.append([f"{name} moved from key {was} to key {key} in {where}."])
            moved = True
    for (menu_id, target), key in old_keys.items():
        if (menu_id, target) not in new_keys and menu_id in new.nodes and target in new.nodes:
            report.callers.append([f"{display_name(new.nodes[target])} is no longer offered in "
                                   f"{display_name(new.nodes[menu_id])} (was key {key})."])
            moved = True
    if moved:
        report.texters.append(["Texted menus use the same numbers as the phone: see the key changes above."])


def _option_keys(menu: Menu) -> dict[tuple[str, str], str]:
    """(menu id, target id) -> key, in menu order."""
    return {(menu_id, o.target): o.key for menu_id in menu_order(menu) for o in menu.nodes[menu_id].options}


def _node_wording(old: Menu, context: Menu, report: _Report) -> None:
    for node_id in menu_order(context):
        was_node, now_node = old.nodes.get(node_id), context.nodes[node_id]
        if was_node is None or all(getattr(was_node, f) == getattr(now_node, f) for f in _WORDING):
            continue
        probe = _with_node(context, replace(now_node, **{f: getattr(was_node, f) for f in _WORDING}))
        spoken, texted = _output_changes(probe, context)
        heading = f"{_named(context, node_id)}, at {_where(context, node_id)}, is reworded:"
        if spoken:
            report.callers.append([heading, *(line for pair in spoken for line in _was_now(*pair))])
        if texted:
            report.texters.append([heading, *(line for pair in texted for line in _was_now(*pair))])


def _phrases(old: Menu, context: Menu, report: _Report) -> None:
    for key, spec in schema.PHRASES.items():
        if key not in old.phrases or key not in context.phrases:
            continue
        for_text = key.startswith("sms_")  # the phrases texters get are the sms_ ones
        was = _filled(context, old.phrases[key], spec.placeholders, for_text)
        now = _filled(context, context.phrases[key], spec.placeholders, for_text)
        if was == now:
            continue
        use = spec.help[:1].lower() + spec.help[1:].rstrip(".")
        item = [f"The phrase {key} ({use}) is reworded:", *_was_now((was,), (now,))]
        (report.texters if for_text else report.callers).append(item)


def _keywords(old: Menu, context: Menu, report: _Report) -> None:
    for node_id in menu_order(context):
        was_node, now_node = old.nodes.get(node_id), context.nodes[node_id]
        if was_node is None:
            continue
        was = {normalise(k): k for k in was_node.keywords}
        now = {normalise(k): k for k in now_node.keywords}
        removed = [k.upper() for n, k in was.items() if n not in now]
        added = [k.upper() for n, k in now.items() if n not in was]
        if not removed and not added:
            continue
        parts = []
        if added:
            parts.append(f"keywords added: {', '.join(added)}")
        if removed:
            parts.append(f"keywords removed: {', '.join(removed)}")
        item = [f"{_named(context, node_id)}: {'; '.join(parts)}."]
        # The texted main menu lists each node's first keyword: show that line changing too.
        probe = _with_node(context, replace(now_node, keywords=was_node.keywords))
        item += [line for pair in _output_changes(probe, context)[1] for line in _was_now(*pair)]
        report.texters.append(item)


def _settings(old: Menu, new: Menu, report: _Report) -> None:
    operator = display_name(new.nodes[new.operator])
    if old.name != new.name:
        report.settings.append([f"The clinic's name is now \"{new.name}\" (was \"{old.name}\")."])
    for name in sorted(set(old.phones) | set(new.phones)):
        was, now = old.phones.get(name), new.phones.get(name)
        if was == now:
            continue
        if was is None:
            report.settings.append([f"New phone number {name}: {for_reading(now)}."])
        elif now is None:
            report.settings.append([f"Phone number {name} removed (was {for_reading(was)})."])
        else:
            report.settings.append([f"Phone number {name} is now {for_reading(now)} "
                                    f"(was {for_reading(was)})."])
    for node_id in menu_order(new):
        was_dial, now_dial = getattr(old.nodes.get(node_id), "dial", None), new.nodes[node_id].dial
        explained = any(old.phones.get(p) == was_dial and new.phones.get(p) == now_dial for p in new.phones)
        if node_id in old.nodes and was_dial != now_dial and not explained:
            report.settings.append([f"{_named(new, node_id)} now puts callers through to "
                                    f"{for_reading(now_dial or '')} (was {for_reading(was_dial or '')})."])
    if old.start != new.start:
        report.settings.append([f"Calls and first texts now start at {_named(new, new.start)} "
                                f"(was {old.start})."])
    if old.operator != new.operator:
        report.settings.append([f"Key 0 now reaches {_named(new, new.operator)} (was {old.operator})."])
    numbers = (
        ("no_input_retries", "Times a menu is said again when a caller presses nothing or a wrong key, "
                             f"before the call goes to {operator}"),
        ("key_timeout", "Seconds the line waits for a key"),
        ("dial_timeout", f"Seconds {operator} rings before the line gives up"),
    )
    for key, what in numbers:
        was, now = getattr(old, key), getattr(new, key)
        if was != now:
            report.settings.append([f"{what}: {now} (was {was})."])
    for key, what in (("voice", "The text-to-speech voice"), ("language", "The language")):
        was, now = getattr(old, key), getattr(new, key)
        if was != now:
            report.settings.append([f"{what} is now {now} (was {was})."])
