"""What ``cnnstat compare`` shows: totals with ratios, aligned layers and blocks, and the
published figures next to the computed ones (always labelled which is which)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnstat.check.figures import FigureCheck
from cnnstat.core import conventions, rollup
from cnnstat.core.ir import Layer, iter_layers
from cnnstat.core.report import Report, Row
from cnnstat.render import numbers
from cnnstat.render.jsonfmt import header
from cnnstat.render.table import Column, Table
from cnnstat.views import compare_align as compare
from cnnstat.views.common import spec_info


@dataclass(frozen=True)
class Compared:
    """One spec in a comparison: its report and its published figures checked."""

    report: Report
    checks: tuple[FigureCheck, ...]

    @property
    def name(self) -> str:
        return self.report.name

    def layers(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in iter_layers(self.report.graph)}


def ratio(value: int, base: int) -> float | None:
    return value / base if base else None


def fmt_ratio(r: float | None) -> str:
    """'0.318x'; below 0.01 as a fraction, '1/157,896x', so tiny ratios stay readable."""
    if r is None:
        return "-"
    return f"{r:.3g}x" if r >= 0.01 or r == 0 else f"1/{1 / r:,.0f}x"


def _batch_note(items: Sequence[Compared]) -> str:
    b = items[0].report.batch
    return "per image" if b == 1 else f"per batch of {b}"


def totals_table(items: Sequence[Compared]) -> Table:
    base = items[0]
    cols = [Column("spec", "spec"), Column("input", "input", "shape", 4),
            Column("output", "output", "shape", 2), Column("weights", "weights", "count", 6),
            Column("bias", "biases", "count", 6), Column("params", "params", "count", 1),
            Column("macs", "MACs", "count", 1),
            Column("activations", "activations", "count", 5),
            Column("rf", "receptive field", priority=3),
            Column("params_ratio", f"params vs {base.name}", priority=2),
            Column("macs_ratio", f"MACs vs {base.name}", priority=1)]
    rows = [_totals_row(c, base) for c in items]
    names = " vs ".join(c.name for c in items)
    notes = [f"{c.name}: {c.report.title}" for c in items]
    notes += ["computed: " + "; ".join(
        f"{c.name} {numbers.human(c.report.totals.macs)} MACs, "
        f"{numbers.human(c.report.totals.params)} params" for c in items)]
    notes += [conventions.MACS, "FLOPs = 2 x MACs; params = weights + biases; receptive field "
              "of the output for chains ('-': branching, see cnnstat receptive-field)"]
    return Table(f"compare {names} ({_batch_note(items)})", cols, rows, None, notes)


def _totals_row(c: Compared, base: Compared) -> dict[str, Any]:
    t, b = c.report.totals, base.report.totals
    return {"spec": c.name, "input": c.report.input_shape,
            "output": c.report.output_shape, "weights": t.weights,
            "bias": t.bias, "params": t.params, "macs": t.macs, "activations": t.activations,
            "rf": compare.receptive_field(c.report),
            "params_ratio": fmt_ratio(ratio(t.params, b.params)),
            "macs_ratio": fmt_ratio(ratio(t.macs, b.macs))}


def _side_by_side(items: Sequence[Compared], slots: list[compare.Slot], title: str,
                  ops: bool, label: str | None = None) -> Table:
    """One row per aligned slot: each spec's operation (layers) or params (blocks) and MACs,
    then the MACs ratio of each spec to the first."""
    base = items[0].name
    cols = [Column("name", label or ("layer" if ops else "block"))]
    for c in items:  # a narrow terminal keeps each spec's MACs and ratio, then params, then ops
        cols.append(Column(f"{c.name}:op", c.name, priority=3) if ops else
                    Column(f"{c.name}:params", f"{c.name} params", "count", 2))
        cols.append(Column(f"{c.name}:macs", f"{c.name} MACs", "count", 1))
    cols += [Column(f"{c.name}:ratio", f"{c.name} / {base}", priority=1) for c in items[1:]]
    layer_maps = [c.layers() for c in items]
    rows = [_slot_row(items, slot, layer_maps, ops) for slot in slots]
    return Table(title, cols, rows, _total_row(items))


def _slot_row(items: Sequence[Compared], slot: compare.Slot, layer_maps: list[dict[str, Layer]],
              ops: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": slot.label}
    batch = items[0].report.batch
    for c, row, layers in zip(items, slot.rows, layer_maps):
        if ops:
            out[f"{c.name}:op"] = "-" if row is None else compare.operation(
                row, layers.get(row.name))
        out[f"{c.name}:params"] = "-" if row is None else row.params
        out[f"{c.name}:macs"] = "-" if row is None else row.macs * batch
    base = slot.rows[0]
    for c, row in zip(items[1:], slot.rows[1:]):
        out[f"{c.name}:ratio"] = "-" if row is None or base is None else fmt_ratio(
            ratio(row.macs, base.macs))
    return out


def _total_row(items: Sequence[Compared]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": "total"}
    base = items[0].report.totals
    for c in items:
        t = c.report.totals
        out[f"{c.name}:params"], out[f"{c.name}:macs"] = t.params, t.macs
        out[f"{c.name}:ratio"] = fmt_ratio(ratio(t.macs, base.macs))
    return out


def layer_slots(items: Sequence[Compared], depth: int | None = None) -> list[compare.Slot]:
    """The layers aligned, or with ``depth`` the blocks at that depth of the names."""
    if depth is not None:
        return compare.align([compare.rolled(c.report, depth) for c in items])
    return compare.align([c.report.rows for c in items])


def block_slots(items: Sequence[Compared]) -> list[compare.Slot]:
    return compare.align([compare.blocks(c.report) for c in items])


def figure_line(c: Compared, check: FigureCheck) -> str:
    """'inception-bottleneck macs: computed 271,351,808; published 358M (source): ...'."""
    fig = check.figure
    head = (f"{c.name} {check.metric}: computed {check.computed:,}; published "
            f"{_published(check)} ({fig.source})")
    status = {"agrees": "agrees within the published rounding",
              "known": f"known difference: {fig.known_difference}",
              "disagrees": "DISAGREES, no explanation recorded",
              "stale-note": f"agrees, although a difference is noted: {fig.known_difference}"}
    return f"{head}: {status[check.status]}"


def _published(check: FigureCheck) -> str:
    tol = check.tolerance_value
    text = numbers.human(check.figure.value)
    return text + (f" (+/- {numbers.human(tol)})" if tol else "")


def figures_table(items: Sequence[Compared]) -> Table | None:
    rows = [{"spec": c.name, "metric": ch.metric, "computed": ch.computed,
             "published": _published(ch), "source": ch.figure.source, "status": ch.status}
            for c in items for ch in c.checks]
    if not rows:
        return None
    cols = [Column("spec", "spec"), Column("metric", "metric"),
            Column("computed", "computed (cnnstat)", "count", 1),
            Column("published", "published figure", priority=1),
            Column("source", "source", priority=3), Column("status", "status", priority=2)]
    notes = [figure_line(c, ch) for c in items for ch in c.checks]
    return Table("published figures (quoted, not computed) against the computed totals", cols,
                 rows, None, notes)


def tables(items: Sequence[Compared], layers: list[compare.Slot],
           blocks: list[compare.Slot], depth: int | None = None) -> list[Table]:
    what = "layer" if depth is None else f"block at depth {depth}"
    out = [totals_table(items),
           _side_by_side(items, layers, f"MACs per {what} (aligned by name, then position); "
                         "ratios of MACs", True, what.split()[0])]
    if depth is None and any(compare.nested(c.report) for c in items):
        out.append(_side_by_side(items, blocks, "params and MACs per block (runs of layers "
                                 "sharing a name prefix); ratios of MACs", False))
    figures = figures_table(items)
    return out + ([figures] if figures else [])


def document(items: Sequence[Compared], layers: list[compare.Slot],
             blocks: list[compare.Slot], depth: int | None = None) -> dict[str, Any]:
    """``layers``: the aligned layers, or with ``depth`` the aligned blocks at that depth (each
    with its members' names); ``blocks``: runs of layers sharing a name prefix."""
    base = items[0].report.totals
    specs = []
    for c in items:
        t = c.report.totals
        specs.append({**spec_info(c.report), "totals": {
            "params": t.params, "weights": t.weights, "bias": t.bias, "macs": t.macs,
            "flops": t.flops, "activations": t.activations},
            "receptive_field": compare.receptive_field(c.report),
            "ratios": {"params": ratio(t.params, base.params), "macs": ratio(t.macs, base.macs)},
            "published": [_figure_json(ch) for ch in c.checks]})
    return {**header("compare"), "conventions": {"macs": conventions.MACS,
                                                 "flops": conventions.FLOPS},
            "baseline": items[0].name, "specs": specs, **({"depth": depth} if depth else {}),
            "layers": _slots_json(items, layers, depth), "blocks": _slots_json(items, blocks)}


def _figure_json(ch: FigureCheck) -> dict[str, Any]:
    return {"metric": ch.metric, "computed": ch.computed, "published": ch.figure.value,
            "tolerance": ch.tolerance_value, "source": ch.figure.source, "status": ch.status,
            "known_difference": ch.figure.known_difference}


def _slots_json(items: Sequence[Compared], slots: list[compare.Slot],
               depth: int | None = None) -> list[dict[str, Any]]:
    batch = items[0].report.batch
    maps = [c.layers() for c in items]
    members = [{b.name: list(b.names) for b in rollup.blocks(c.report.rows, depth)}
               if depth is not None else {} for c in items]
    out = []
    for slot in slots:
        specs = []
        for row, layers, names in zip(slot.rows, maps, members):
            entry = None if row is None else _row_json(row, layers.get(row.name), batch)
            if row is not None and entry is not None and depth is not None:
                entry["members"] = names.get(row.name, [row.name])
            specs.append(entry)
        out.append({"label": slot.label, "specs": specs})
    return out


def _row_json(row: Row, layer: Layer | None, batch: int) -> dict[str, Any]:
    return {"name": row.name, "kind": row.kind, "operation": compare.operation(row, layer),
            "output_shape": list(row.output_shape), "params": row.params,
            "macs": row.macs * batch}
