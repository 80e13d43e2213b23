"""Budgets and the Pareto front over a sweep's rows.

A budget is ``METRIC <= LIMIT`` (``macs<=2G``, ``params<=10M``, ``memory<=4GiB@batch32``); a
memory budget is checked at its own batch (default: the sweep's), the rows' other numbers are per
image.  The front is the rows within every budget that no other such row dominates: at least as
good in every objective and better in one (objectives are minimised unless marked ``max:``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnstat.analysis.sweep import Row, memory_bytes


@dataclass(frozen=True)
class Budget:
    metric: str
    limit: int
    batch: int | None = None  # memory only: the batch it is checked at
    text: str = ""


@dataclass(frozen=True)
class Objective:
    metric: str
    maximize: bool = False

    def __str__(self) -> str:
        return f"max:{self.metric}" if self.maximize else self.metric


def metric(row: Row, name: str, dtype_bytes: int, batch: int | None = None) -> Any:
    """A row's figure; ``memory`` at ``batch`` when given; ``rf`` as the larger side."""
    if name == "memory" and batch is not None:
        return memory_bytes(row, batch, dtype_bytes)
    value = row.get(name)
    if isinstance(value, list):
        return max(value)
    return value


def within(row: Row, budgets: Sequence[Budget], dtype_bytes: int) -> bool:
    if row.get("error"):
        return False
    return all((v := metric(row, b.metric, dtype_bytes, b.batch)) is not None and v <= b.limit
               for b in budgets)


def _key(row: Row, objectives: Sequence[Objective], dtype_bytes: int) -> tuple[Any, ...] | None:
    values = []
    for o in objectives:
        v = metric(row, o.metric, dtype_bytes)
        if v is None:
            return None
        values.append(-v if o.maximize else v)
    return tuple(values)


def front(rows: Sequence[Row], objectives: Sequence[Objective], dtype_bytes: int) -> set[int]:
    """Indices of the rows on the Pareto front (rows with an error or a missing objective are
    never on it).  Sorted by the objectives, a row is on the front when no row before it
    dominates it: O(n * front)."""
    keyed = [(k, int(r["index"])) for r in rows
             if not r.get("error") and (k := _key(r, objectives, dtype_bytes)) is not None]
    keyed.sort()
    kept: list[tuple[Any, ...]] = []
    out: set[int] = set()
    for k, index in keyed:
        if any(all(a <= b for a, b in zip(f, k)) and f != k for f in kept):
            continue
        if k not in kept:
            kept.append(k)
        out.add(index)
    return out
