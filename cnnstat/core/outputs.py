"""The named outputs (heads) of a network, each with the part of the network it depends on."""

from __future__ import annotations

from dataclasses import dataclass

from cnnstat.core.ir import Join, Layer, Node, Parallel, Seq
from cnnstat.core.memory import producers
from cnnstat.core.report import Report, Shape


@dataclass(frozen=True)
class Head:
    """A named output and the operations it depends on (itself included), per image."""

    name: str
    shape: Shape
    operations: int
    params: int
    macs: int


def heads(report: Report) -> list[Head]:
    """Each of ``report.outputs`` with the parameters and MACs of every operation it depends
    on; an operation two heads share counts in both (the network's totals count it once)."""
    reads = producers(report)
    rows = {row.name: row for row in report.rows}
    tensor_row = _tensor_rows(report)
    out = []
    for name, shape in report.outputs:
        seen: set[str] = set()
        todo = [tensor_row.get(name, name)]
        while todo:
            op = todo.pop()
            if op in seen or op not in rows:
                continue
            seen.add(op)
            todo.extend(reads[op])
        out.append(Head(name, shape, len(seen), sum(rows[o].params for o in seen),
                        sum(rows[o].macs for o in seen)))
    return out


def _tensor_rows(report: Report) -> dict[str, str]:
    """A named block, composite or merge scope -> the operation that writes its output."""
    names: dict[str, str] = {}

    def last(node: Node) -> str | None:
        if isinstance(node, (Layer, Join)):
            return node.name
        if isinstance(node, Seq):
            found = None
            for item in node.items:
                found = last(item) or found
            if node.name and found:
                names[node.name] = found
            return found
        if isinstance(node, Parallel):
            for br in node.branches:
                last(br.body)
            if node.merge == "side":
                return last(node.branches[0].body)
            op = f"{node.name}.{node.merge}" if node.name else node.merge
            if node.name:
                names[node.name] = op
            return op
        return None

    last(report.graph)
    return names
