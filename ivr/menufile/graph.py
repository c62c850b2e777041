"""The nodes of menus.yaml and how they connect: every node reachable, every option leading somewhere,
no keyword claimed twice."""

from __future__ import annotations

import difflib

from ..model import reserved
from ..model.matching import claimed_twice
from ..model.menu import (
    MAX_CHOICES,
    OPTION_KEY,
    RESERVED_NODE_IDS,
    Node,
    Option,
)
from . import schema
from .reporting import closest, located, shown
from .values import Values
from .yaml_strict import Map, Null, Str


class Graph(Values):
    """Builds the nodes and checks the menu graph."""

    def nodes(self, raw, doc, phones) -> dict:
        nodes = {}
        for node_id, body in self.named(raw, doc, "nodes", "main: (then its type, title and options)"):
            if node_id in RESERVED_NODE_IDS:
                self.error(node_id, f"'{node_id}' cannot be a node id: /voice/{node_id} is one of the line's "
                                    "own webhook addresses, so callers could never reach the node",
                           "choose another id, such as 'call_status'")
            self.positions[f"nodes.{node_id}"] = located(node_id)
            values = self.section(body, schema.NODE, f"node {node_id}", node_id, f"nodes.{node_id}")
            values["_where"] = node_id
            kind = values["type"]
            if kind in schema.NODE_TYPE_KEYS and isinstance(body, Map):
                rules = schema.NODE_TYPE_KEYS[kind]
                for key in rules["required"]:
                    if key not in body or isinstance(body[key], Null):
                        self.error(node_id, f"{kind} node '{node_id}' is missing '{key}'",
                                   f"add '{key}:' ({schema.NODE[key].help})")
                for key in rules["forbidden"]:
                    written_key = next((k for k in body if k == key), None)
                    if written_key is not None:
                        self.error(written_key, f"{kind} node '{node_id}' cannot have '{key}'",
                                   f"remove '{key}:' ({schema.NODE[key].help})")
            dial = values.get("dial")
            if dial is not None and dial not in self.phone_names:
                self.error(dial, f"'{dial}' is not a number under 'phones:'",
                           f"{closest(dial, self.phone_names)}add it to 'phones:' or use one of: "
                           f"{', '.join(self.phone_names) or 'none yet'}")
            values["dial_e164"] = phones.get(dial)
            nodes[str(node_id)] = values
        return nodes

    def nearest_node(self, name, nodes) -> str:
        """A hint for a name that is not a node: the node it most likely means, and where it is."""
        match = difflib.get_close_matches(str(name), nodes, n=1, cutoff=0.6)
        if not match:
            return "use the id of a node under 'nodes:'"
        line = self.positions.get(f"nodes.{match[0]}", (0, 0))[0]
        return (f"the closest node is '{match[0]}' (line {line}); if that is the one, make the two "
                "spellings the same")

    def check_graph(self, nodes, call) -> None:
        misspelt: set[str] = set()
        for node_id, values in nodes.items():
            options = values.get("options")
            if options is None:
                values["options"] = ()
                continue
            if not isinstance(options, Map) or not options:
                self.error(options, f"options of '{node_id}' must be lines such as '1: oral_baclofen'",
                           "list each key and the node it leads to", fallback=values["_where"])
                values["options"] = ()
                continue
            seen: dict[str, object] = {}
            parsed = []
            for key, target in options.items():
                key_text = str(key)
                if key_text in reserved.RESERVED_KEYS:
                    self.error(key, f"key {key_text} is kept for the whole line (0 scheduling, "
                                    "* back, 9 repeat, # unused)", "use keys 1 to 8 for menu options")
                    continue
                if not OPTION_KEY.match(key_text):
                    self.error(key, f"'{key_text}' is not a key on a phone keypad menu",
                               "use a single digit from 1 to 8")
                    continue
                if key_text in seen:
                    self.error(key, f"key {key_text} is pressed for two things in '{node_id}' "
                                    f"(also on line {seen[key_text].line})",
                               "give each option its own key")
                    continue
                seen[key_text] = key
                if not isinstance(target, Str) or target not in nodes:
                    self.error(target, f"option {key_text} of '{node_id}' leads to {shown(target)}, "
                                       "which is not a node",
                               self.nearest_node(target, nodes), fallback=key)
                    # The node it was meant to be is then unreachable: that is the same mistake.
                    misspelt.update(difflib.get_close_matches(str(target), nodes, n=1, cutoff=0.6))
                    continue
                if target == node_id:
                    self.error(target, f"option {key_text} of '{node_id}' leads back to itself",
                               "key 9 already repeats a menu; point the option elsewhere")
                    continue
                parsed.append(Option(key_text, str(target)))
            keys = sorted(int(o.key) for o in parsed)
            if len(keys) > MAX_CHOICES:
                self.warn(options, f"'{node_id}' has {len(keys)} choices; callers remember at most "
                                   f"{MAX_CHOICES} (ISO/IEC 13714)",
                          "move some choices into a menu of their own")
            if keys and keys != list(range(1, len(keys) + 1)):
                self.warn(options, f"the keys of '{node_id}' are {keys}, not 1, 2, 3... in order",
                          "number the options from 1 without gaps")
            values["options"] = tuple(sorted(parsed, key=lambda o: o.key))

        # Reachability, and each node's parent (the menu that first leads to it) for the star key.
        start, operator = call.get("start"), call.get("operator")
        if start not in nodes:
            return
        parents: dict[str, str | None] = {start: None}
        queue = [start]
        while queue:
            current = queue.pop(0)
            for option in nodes[current]["options"]:
                if option.target not in parents:
                    parents[option.target] = current
                    queue.append(option.target)
        if operator in nodes:
            parents.setdefault(operator, start)
        for node_id, values in nodes.items():
            values["parent"] = parents.get(node_id, start)
            if node_id not in parents and node_id not in misspelt:
                self.error(values["_where"], f"no caller can reach node '{node_id}'",
                           "add it to the options of a menu, or delete it")

    def check_keywords(self, nodes) -> None:
        pairs = [(kw, node_id) for node_id, v in nodes.items() for kw in (v.get("keywords") or ())]
        for keyword, first, second in claimed_twice(pairs):
            self.error(keyword, f"keyword '{keyword}' is claimed by both '{first}' and '{second}'",
                       "keep it on only one node")

    def freeze(self, nodes) -> dict[str, Node]:
        built = {}
        for node_id, v in nodes.items():
            title = v["title"] or node_id
            built[node_id] = Node(
                id=node_id, type=v["type"], title=title,
                label=v["label"] or title,
                say=v["say"] or "", text=v["text"] or "",
                options=v["options"], keywords=tuple(str(k) for k in v["keywords"] or ()),
                dial=v.get("dial_e164"), parent=v["parent"],
            )
        return built
