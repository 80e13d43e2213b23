"""The plain model of a network diagram, drawn by :mod:`cnnstat.render.dot` and
:mod:`cnnstat.render.mermaid`: boxes with lines of text, edges with a label, nested clusters
and a colour legend.  Ids are made by the builder (``n0``, ``n1``, ...), never from a spec's
text, so no name can reach a renderer's syntax except through its quoting rules."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Swatch:
    """One colour of the legend: its fill, the colour of text on it, and what it means."""

    fill: str
    ink: str
    meaning: str


@dataclass(frozen=True)
class Box:
    """One node: an operation, an input, or a collapsed block."""

    id: str
    lines: tuple[str, ...]  # the first line is the name
    swatch: Swatch
    dashed: bool = False  # training-only
    output: bool = False  # a network output (drawn with a double border)
    block: bool = False  # a collapsed block (drawn with rounded corners)


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str
    size_only: bool = False  # ``like:``: only the tensor's size is read (drawn dotted)


@dataclass(frozen=True)
class Cluster:
    """A block that is drawn open: its boxes and the blocks inside it, in execution order."""

    id: str
    label: str
    members: tuple[str | Cluster, ...]  # box ids and nested clusters


@dataclass(frozen=True)
class Diagram:
    title: tuple[str, ...]
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]
    top: tuple[str | Cluster, ...]  # box ids and clusters at the top level, in order
    legend_title: str
    legend: tuple[Swatch, ...] = field(default=())
