"""A :class:`~cnnstat.render.diagram.Diagram` as Mermaid flowchart text.

Quoting: every label is a double-quoted Mermaid string.  Mermaid has no backslash escapes;
characters with a meaning are written as its entity codes instead: ``#`` first (``#35;``, so
no entity can be forged), then ``"`` (``#quot;``), ``&`` (``#amp;``), ``<`` (``#lt;``), ``>``
(``#gt;``) and the backtick (``#96;``, which would start a markdown string).  Control
characters are written as visible escapes first; ``<br>`` between lines is the only markup the
builder adds.  Ids are the builder's own (``n0``, ``c0``), never a spec's text.  The title
sits in the YAML front matter, where Mermaid reads no entity codes: it is a JSON string there
(a valid YAML double-quoted scalar), control characters escaped first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from cnnstat.render.diagram import Box, Cluster, Diagram, Edge, Swatch
from cnnstat.render.escape import escape_controls

_ENTITIES = (("#", "#35;"), ('"', "#quot;"), ("&", "#amp;"), ("<", "#lt;"), (">", "#gt;"),
             ("`", "#96;"))


def text(value: str) -> str:
    """``value`` made inert inside a quoted Mermaid label."""
    out = escape_controls(value)
    for char, entity in _ENTITIES:
        out = out.replace(char, entity)
    return out


def quote(lines: Iterable[str]) -> str:
    return '"' + "<br>".join(text(line) for line in lines) + '"'


def to_mermaid(diagram: Diagram) -> str:
    """The Mermaid text of ``diagram``: same diagram, same text."""
    out = ["---", f"title: {json.dumps(escape_controls(diagram.title[0]))}", "---",
           "flowchart TB"]
    out.extend(f"  %% {text(line)}" for line in diagram.title[1:])
    boxes = {box.id: box for box in diagram.boxes}
    out.extend(_members(diagram.top, boxes, "  "))
    out.extend(f"  {_edge(edge)}" for edge in diagram.edges)
    swatches = _swatches(diagram)
    if diagram.legend:
        out.append(f"  subgraph legend[{quote([diagram.legend_title])}]")
        out.extend(f"    legend{i}[{quote([s.meaning])}]" for i, s in enumerate(diagram.legend))
        out.append("  end")
    for i, swatch in enumerate(swatches):
        out.append(f"  classDef s{i} fill:{swatch.fill},color:{swatch.ink},stroke:#555555")
        members = [b.id for b in diagram.boxes if b.swatch == swatch]
        members += [f"legend{j}" for j, s in enumerate(diagram.legend) if s == swatch]
        if members:
            out.append(f"  class {','.join(members)} s{i}")
    dashed = [b.id for b in diagram.boxes if b.dashed]
    if dashed:
        out.append("  classDef training stroke-dasharray:4 3")
        out.append(f"  class {','.join(dashed)} training")
    return "\n".join(out) + "\n"


def _swatches(diagram: Diagram) -> list[Swatch]:
    seen: list[Swatch] = []
    for swatch in (*diagram.legend, *(b.swatch for b in diagram.boxes)):
        if swatch not in seen:
            seen.append(swatch)
    return seen


def _members(members: Iterable[str | Cluster], boxes: dict[str, Box], pad: str) -> list[str]:
    out: list[str] = []
    for member in members:
        if isinstance(member, Cluster):
            out.append(f"{pad}subgraph {member.id}[{quote([member.label])}]")
            out.extend(_members(member.members, boxes, pad + "  "))
            out.append(f"{pad}end")
        else:
            out.append(pad + _box(boxes[member]))
    return out


def _box(box: Box) -> str:
    label = quote(box.lines)
    if box.output:
        return f"{box.id}[[{label}]]"
    if box.block:
        return f"{box.id}({label})"
    return f"{box.id}[{label}]"


def _edge(edge: Edge) -> str:
    arrow = "-.->" if edge.size_only else "-->"
    return f"{edge.src} {arrow}|{quote([edge.label])}| {edge.dst}"
