"""A diagram of the line's menus and keys, as a Mermaid flowchart (GitHub renders it) or Graphviz DOT."""

from __future__ import annotations

from ..model import reserved
from ..model.menu import Menu, Node
from .script import display_name, menu_order

# The one node key 0 is drawn from. Ids in menus.yaml cannot start with "_", so it cannot clash.
ANY_NODE = "_any"
ANY_LABEL = "any menu or summary"


def render_diagram(menu: Menu, fmt: str = "mermaid") -> str:
    """The menus of `menu` as a diagram: fmt "mermaid" (a flowchart TD) or "dot" (a Graphviz digraph).

    Menus are rectangles, summaries rounded, transfers a distinct shape; each option is an edge
    labelled with its key. Key 0 is drawn once, from an "any menu" node, not from every node.
    """
    if fmt == "mermaid":
        return _mermaid(menu)
    if fmt == "dot":
        return _dot(menu)
    raise ValueError(f"unknown diagram format {fmt!r}: use 'mermaid' or 'dot'")


def _label_parts(node: Node) -> tuple[str, str]:
    return display_name(node), node.id


def _edges(menu: Menu) -> list[tuple[str, str, str]]:
    """(from, to, key) for every option, in menu order, then key 0 once from the "any menu" node."""
    edges = [(node_id, o.target, o.key) for node_id in menu_order(menu) for o in menu.nodes[node_id].options]
    edges.append((ANY_NODE, menu.operator, reserved.OPERATOR_KEY))
    return edges


# -- Mermaid --------------------------------------------------------------------------------------

# Shapes by node type: menu rectangle, summary rounded, transfer hexagon (unknown types: rectangle).
_MERMAID_SHAPES = {"menu": ("[", "]"), "summary": ("(", ")"), "transfer": ("{{", "}}")}


def mermaid_text(text: str) -> str:
    """`text` safe inside a quoted Mermaid label: quotes, #, &, <, > and ` become entity codes."""
    # "#" first: Mermaid's entity codes start with it, so a literal one must itself be a code.
    out = text.replace("#", "#35;")
    for char in "\"&<>`":
        out = out.replace(char, f"#{ord(char)};")
    return " ".join(out.split())


def _mermaid_id(node_id: str) -> str:
    # Prefixed so that an id such as "end" (a Mermaid keyword) or one starting "o"/"x" (edge ends)
    # cannot be read as syntax.
    return "any" if node_id == ANY_NODE else f"n_{node_id}"


def _mermaid(menu: Menu) -> str:
    out = ["flowchart TD"]
    for node_id in menu_order(menu):
        node = menu.nodes[node_id]
        name, ident = _label_parts(node)
        opening, closing = _MERMAID_SHAPES.get(node.type, ("[", "]"))
        label = f"{mermaid_text(name)}<br/>{mermaid_text(ident)}"
        out.append(f'    {_mermaid_id(node_id)}{opening}"{label}"{closing}')
    out.append(f'    {_mermaid_id(ANY_NODE)}(("{mermaid_text(ANY_LABEL)}"))')
    for source, target, key in _edges(menu):
        arrow = "-.->" if source == ANY_NODE else "-->"
        # Keys are single keypad digits (checked when the file loads), so the label needs no quotes.
        out.append(f"    {_mermaid_id(source)} {arrow}|{mermaid_text(key)}| {_mermaid_id(target)}")
    out.append("    classDef transfer stroke-width:3px")
    out.append("    classDef anymenu stroke-dasharray:4 3")
    transfers = [_mermaid_id(i) for i in menu_order(menu) if menu.nodes[i].type == "transfer"]
    if transfers:
        out.append(f"    class {','.join(transfers)} transfer")
    out.append(f"    class {_mermaid_id(ANY_NODE)} anymenu")
    return "\n".join(out) + "\n"


# -- Graphviz DOT ---------------------------------------------------------------------------------

_DOT_SHAPES = {
    "menu": 'shape=box',
    "summary": 'shape=box, style=rounded',
    "transfer": 'shape=hexagon, penwidth=2',
}


def dot_text(text: str) -> str:
    """`text` safe inside a quoted DOT string: backslashes and quotes escaped, one line."""
    return " ".join(text.replace("\\", "\\\\").replace('"', '\\"').split())


def _dot(menu: Menu) -> str:
    out = [f'digraph "{dot_text(menu.name)}" {{', "    rankdir=TB;",
           '    node [fontname="Helvetica"];', '    edge [fontname="Helvetica"];']
    for node_id in menu_order(menu):
        node = menu.nodes[node_id]
        name, ident = _label_parts(node)
        shape = _DOT_SHAPES.get(node.type, "shape=box")
        # "\n" here is DOT's own line break inside a label, written as backslash-n on purpose.
        out.append(f'    "{dot_text(node_id)}" [label="{dot_text(name)}\\n{dot_text(ident)}", {shape}];')
    out.append(f'    "{ANY_NODE}" [label="{dot_text(ANY_LABEL)}", shape=note, style=dashed];')
    for source, target, key in _edges(menu):
        style = ", style=dashed" if source == ANY_NODE else ""
        out.append(f'    "{dot_text(source)}" -> "{dot_text(target)}" [label="{dot_text(key)}"{style}];')
    out.append("}")
    return "\n".join(out) + "\n"
