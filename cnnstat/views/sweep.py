"""What ``cnnstat sweep`` and ``cnnstat merge`` show: one row per configuration, whether it is
within the budgets, and whether it is on the Pareto front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnstat.analysis.pareto import Budget, Objective, front, within
from cnnstat.analysis.sweep import Row
from cnnstat.core import conventions
from cnnstat.render.jsonfmt import header as doc_header
from cnnstat.render.table import Column, Table

CONVENTIONS = {
    **conventions.ALL,
    "per_image": "params, MACs, FLOPs, activations and peak are per image (batch 1)",
    "peak": "peak: the most activation elements alive at once during inference, per image",
    "memory": "memory: inference bytes at the sweep's batch and dtype: "
              "(peak x batch + params + buffers) x bytes per element",
    "rf": "rf: receptive field (pixels) of the last spatial layer; [h, w] when not square",
    "pareto": "pareto: within every budget and not dominated in the objectives by another such row",
}


def marked(rows: Sequence[Row], budgets: Sequence[Budget], objectives: Sequence[Objective],
           dtype_bytes: int) -> list[Row]:
    """The rows with ``within`` (every budget holds) and ``pareto`` (on the front) added."""
    ok = [r for r in rows if within(r, budgets, dtype_bytes)]
    on_front = front(ok, objectives, dtype_bytes) if objectives else set()
    kept = {int(r["index"]) for r in ok}
    return [{**r, "within": int(r["index"]) in kept, "pareto": int(r["index"]) in on_front}
            for r in rows]


def _input(row: Row) -> str:
    return "x".join(map(str, row["input"])) if row.get("input") else ""


def _rf(row: Row) -> Any:
    rf = row.get("rf")
    return "x".join(map(str, rf)) if isinstance(rf, list) else rf


def table(head: dict[str, Any], rows: Sequence[Row], budgets: Sequence[Budget],
          objectives: Sequence[Objective]) -> Table:
    names = [n for n, _ in head.get("vary", [])]
    extra = [k for k in ("accuracy", "latency_ms") if any(k in r for r in rows)]
    cols = [Column("index", "#", "count"), *(Column(n, n) for n in names),
            Column("input", "input"), Column("params", "params", "count"),
            Column("macs", "MACs", "count"), Column("peak", "peak act.", "count"),
            Column("memory", f"memory @{head.get('batch', 1)}", "bytes"),
            Column("rf", "RF"), *(Column(k, k, "real") for k in extra),
            Column("within", "budget"), Column("pareto", "front"), Column("error", "error")]
    body = []
    for r in rows:
        cells = {**r, **r.get("set", {}), "input": _input(r), "rf": _rf(r),
                 "within": "ok" if r.get("within") else "over" if not r.get("error") else "",
                 "pareto": "*" if r.get("pareto") else ""}
        body.append(cells)
    notes = [f"budgets: {', '.join(b.text for b in budgets)}" if budgets else "no budgets",
             f"Pareto front over {', '.join(map(str, objectives))}: "
             f"{sum(1 for r in rows if r.get('pareto'))} of "
             f"{sum(1 for r in rows if r.get('within'))} within the budgets"
             if objectives else "no objectives: no front",
             CONVENTIONS["per_image"], CONVENTIONS["memory"]]
    shown = [c for c in cols if c.key != "error" or any(r.get("error") for r in rows)]
    return Table(f"sweep of {head.get('spec')}: {len(rows)} configurations", shown, body,
                 notes=notes)


def document(head: dict[str, Any], rows: Sequence[Row], budgets: Sequence[Budget],
             objectives: Sequence[Objective]) -> dict[str, Any]:
    return {**doc_header("sweep"), "sweep": {k: v for k, v in head.items() if k != "format"},
            "conventions": CONVENTIONS,
            "budgets": [{"metric": b.metric, "limit": b.limit, "batch": b.batch}
                        for b in budgets],
            "objectives": [str(o) for o in objectives],
            "front": sorted(int(r["index"]) for r in rows if r.get("pareto")),
            "rows": [{k: v for k, v in r.items() if k != "key"} for r in rows]}
