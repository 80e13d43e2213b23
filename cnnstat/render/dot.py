"""A :class:`~cnnstat.render.diagram.Diagram` as Graphviz DOT text.

Quoting: every id and label is a double-quoted DOT string.  Inside one, ``\\`` and ``"`` are
escaped with a backslash (so a spec's ``\\N``, ``\\G`` or ``\\l`` is shown, not expanded by
Graphviz), ``&`` is written ``&amp;`` (Graphviz decodes entities such as ``&#99;``), control
characters are first written as visible escapes (:func:`~cnnstat.render.escape.escape_controls`),
and line breaks are the builder's own ``\\n`` between lines.  The legend is an HTML-like label
whose text is fixed here, with ``&``, ``<``, ``>`` and ``"`` written as entities all the same.
"""

from __future__ import annotations

from collections.abc import Iterable

from cnnstat.render.diagram import Box, Cluster, Diagram, Edge
from cnnstat.render.escape import escape_controls

FONT = "Helvetica"
LEGEND = "legend"


def quote(text: str) -> str:
    """``text`` as a double-quoted DOT string that Graphviz shows exactly as written (it
    decodes HTML entities in every string, so ``&`` is written ``&amp;``: a layer named
    ``&#99;onv1`` is drawn so, not as ``conv1``)."""
    safe = escape_controls(text).replace("\\", "\\\\").replace('"', '\\"')
    safe = safe.replace("&", "&amp;")
    return f'"{safe}"'


def label(lines: Iterable[str]) -> str:
    """Lines as one centred DOT label (``\\n`` between the lines)."""
    return '"' + "\\n".join(quote(line)[1:-1] for line in lines) + '"'


def html(text: str) -> str:
    """Text for an HTML-like label: ``& < > "`` as entities, controls escaped."""
    return (escape_controls(text).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


def to_dot(diagram: Diagram) -> str:
    """The DOT text of ``diagram``: same diagram, same text."""
    out = ["digraph cnnstat {",
           f'  graph [rankdir=TB, fontname="{FONT}", fontsize=12, labelloc=t, '
           f"label={label(diagram.title)}, newrank=true];",
           f'  node [shape=box, style=filled, fontname="{FONT}", fontsize=10, penwidth=1];',
           f'  edge [fontname="{FONT}", fontsize=9, color="#555555"];']
    boxes = {box.id: box for box in diagram.boxes}
    ids = node_ids(diagram.boxes)
    out.extend(_members(diagram.top, boxes, ids, "  "))
    out.extend(f"  {_edge(edge, ids)}" for edge in diagram.edges)
    if diagram.legend:
        out.append(f"  {quote(LEGEND)} [shape=plaintext, style=solid, label={_legend(diagram)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def node_ids(boxes: Iterable[Box]) -> dict[str, str]:
    """Each box's DOT node id: its name (the first line), which Graphviz writes as the node's
    ``<title>`` in SVG, so a viewer shows it on hover; a name taken already (or the legend's)
    gets the box's own id added, so ids stay unique."""
    taken = {LEGEND}
    out: dict[str, str] = {}
    for box in boxes:
        node = box.lines[0]
        while node in taken:
            node = f"{node} ({box.id})"
        taken.add(node)
        out[box.id] = node
    return out


def _members(members: Iterable[str | Cluster], boxes: dict[str, Box], ids: dict[str, str],
             pad: str) -> list[str]:
    out: list[str] = []
    for member in members:
        if isinstance(member, Cluster):
            out.append(f"{pad}subgraph {quote('cluster_' + member.id)} {{")
            out.append(f'{pad}  graph [label={quote(member.label)}, style="rounded,dashed", '
                       'color="#888888", labeljust=l];')
            out.extend(_members(member.members, boxes, ids, pad + "  "))
            out.append(f"{pad}}}")
        else:
            out.append(pad + _box(boxes[member], ids[member]))
    return out


def _box(box: Box, node: str) -> str:
    style = ["filled"]
    if box.dashed:
        style.append("dashed")
    if box.block:
        style.append("rounded")
    attrs = [f"label={label(box.lines)}", f'fillcolor="{box.swatch.fill}"',
             f'fontcolor="{box.swatch.ink}"', f'style="{",".join(style)}"']
    if box.output:
        attrs.append("peripheries=2")
    return f"{quote(node)} [{', '.join(attrs)}];"


def _edge(edge: Edge, ids: dict[str, str]) -> str:
    attrs = [f"label={quote(edge.label)}"]
    if edge.size_only:
        attrs.append("style=dotted")
    return f"{quote(ids[edge.src])} -> {quote(ids[edge.dst])} [{', '.join(attrs)}];"


def _legend(diagram: Diagram) -> str:
    rows = [f'<tr><td colspan="2"><b>{html(diagram.legend_title)}</b></td></tr>']
    rows.extend(f'<tr><td bgcolor="{s.fill}" width="24"> </td><td align="left">{html(s.meaning)}'
                "</td></tr>" for s in diagram.legend)
    table = '<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
    return f"<{table}{''.join(rows)}</table>>"
