"""The named outputs (heads) of a network, each with the part of the network it depends on."""

from __future__ import annotations

from dataclasses import dataclass

from cnnstat.core.memory import dataflow
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
    flow = dataflow(report)
    rows = {row.name: row for row in report.rows}
    out = []
    for name, shape in report.outputs:
        seen: set[str] = set()
        todo = [flow.writers.get(name, name)]
        while todo:
            op = todo.pop()
            if op in seen or op not in rows:
                continue
            seen.add(op)
            todo.extend(flow.reads[op])
        out.append(Head(name, shape, len(seen), sum(rows[o].params for o in seen),
                        sum(rows[o].macs for o in seen)))
    return out
