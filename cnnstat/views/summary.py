"""What each command shows: tables for people and JSON documents for programs, from reports.

JSON documents carry ``schema_version``, the conventions by name and exact integers; MACs,
FLOPs, element-wise ops and activations are for the whole batch (``batch`` says how many)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnstat.core import conventions, presets
from cnnstat.core.presets import Preset
from cnnstat.core.outputs import heads
from cnnstat.core.receptive import FieldSize, field_sizes
from cnnstat.core.report import Brief, Report, Row
from cnnstat.core.rollup import Block, blocks
from cnnstat.render import numbers
from cnnstat.render.jsonfmt import header
from cnnstat.render.table import Column, Table
from cnnstat.views.common import exact, rf_text, spec_info


PRODUCT_NAMES = {"qk": "Q.K^T", "av": "A.V"}


def macs_share(row: Row | Block, report: Report) -> float | None:
    """The row's share of the inference MACs total (0.0 to 1.0); None for a training-only row,
    whose MACs are not in that total."""
    if row.training:
        return None
    total = report.totals.macs  # for the batch, as row.macs * batch
    return row.macs * report.batch / total if total else 0.0


def _figures(item: Row | Block, batch: int, share: float | None) -> dict[str, Any]:
    """A layer's or a block's shapes and figures, compute and activations for the batch."""
    return {"input_shape": list(item.input_shape), "output_shape": list(item.output_shape),
            "params": item.params, "weights": item.weights, "bias": item.bias,
            "buffers": item.buffers, "macs": item.macs * batch, "macs_share": share,
            "flops": item.flops * batch,
            "elementwise": {k: v * batch for k, v in item.ops.items()},
            "activations": item.activations * batch}


def layer_json(row: Row, batch: int, share: float | None = None) -> dict[str, Any]:
    out = {"name": row.name, "kind": row.kind, "description": row.description,
           **_figures(row, batch, share)}
    if row.products:  # attention's activation-by-activation products: MACs, not in "macs"
        out["products"] = {k: v * batch for k, v in row.products.items()}
    if row.training:
        out["training_only"] = True
    return out


def totals_json(report: Report) -> dict[str, Any]:
    t = report.totals
    out = {"params": t.params, "weights": t.weights, "bias": t.bias, "buffers": t.buffers,
           "macs": t.macs, "flops": t.flops, "elementwise": t.elementwise,
           "elementwise_by_kind": report.ops_by_kind(), "activations": t.activations}
    if any(r.training for r in report.rows):
        out["training_only"] = {"params": t.training_params, "macs": t.training_macs}
    products = report.products_by_kind()
    if products:
        out["products"] = products
    return out


def block_json(block: Block, batch: int, share: float | None = None) -> dict[str, Any]:
    """A block of ``--depth N``: what it sums, its members' names, and its first input and
    last output."""
    out = {"name": block.name, "description": block.description, "members": list(block.names),
           **_figures(block, batch, share)}
    if block.training:
        out["training_only"] = True
    return out


def summary_json(report: Report, fields: Sequence[FieldSize | None] | None = None,
                 preset: Preset | None = None, depth: int | None = None) -> dict[str, Any]:
    """``fields``: the rows' receptive-field sizes when the caller already has them (the
    analysed spec caches them); ``preset``: a ``--count`` convention other than plain MACs adds
    a ``count`` per layer; ``depth``: ``blocks`` (:func:`block_json`) instead of ``layers``."""
    fields = field_sizes(report) if fields is None else fields
    rfs = [[exact(f.h), exact(f.w)] if f else None for f in fields]
    items: Sequence[Row | Block] = report.rows if depth is None else blocks(report.rows, depth)
    rows = [{**(layer_json(r, report.batch, macs_share(r, report)) if isinstance(r, Row) else
                block_json(r, report.batch, macs_share(r, report))), "rf": rfs[_last(r, i)]}
            for i, r in enumerate(items)]
    doc = {**header("summary"), "spec": spec_info(report), "conventions": conventions.ALL,
           **({"layers": rows} if depth is None else {"depth": depth, "blocks": rows}),
           "totals": totals_json(report),
           "diagnostics": [d.to_json() for d in report.diagnostics]}
    if "products" in doc["totals"]:
        doc["conventions"] = {**conventions.ALL, "products": conventions.PRODUCTS}
    if report.outputs:
        doc["outputs"] = [{"name": h.name, "shape": list(h.shape), "operations": h.operations,
                           "params": h.params, "macs": h.macs * report.batch}
                          for h in heads(report)]
    if preset is not None and preset is not presets.MACS:
        for layer, item in zip(rows, items):
            layer["count"] = _preset_count(preset, item, report.batch)
        doc["count"] = {"preset": preset.name, "convention": preset.convention,
                        "total": preset.total(report)}
    return doc


def _batch_note(report: Report) -> str:
    return f"per batch of {report.batch}" if report.batch != 1 else "per image"


def summary_table(report: Report, fields: Sequence[FieldSize | None] | None = None,
                  preset: Preset | None = None, depth: int | None = None) -> Table:
    """The per-layer table, or with ``depth`` one row per block at that depth of the names
    (:mod:`cnnstat.core.rollup`)."""
    # narrow terminals lose the description first, then element-wise ops, activations, the MACs
    # share, the receptive field and the output shape; name, params and MACs stay
    cols = [Column("name", "name"), Column("layer", "layer", priority=7),
            Column("output", "output", "shape", 2), Column("params", "params", "count", 1),
            Column("macs", "MACs", "count", 1), Column("macs_share", "MACs %", "percent", 4),
            Column("elementwise", "elem. ops", "count", 6),
            Column("activations", "activations", "count", 5), Column("rf", "RF", priority=3)]
    b = report.batch
    t = report.totals
    sizes = field_sizes(report) if fields is None else fields
    items: Sequence[Row | Block] = report.rows if depth is None else blocks(report.rows, depth)
    rows = [{"name": r.name, "layer": r.description + (" (training only)" if r.training else ""),
             "output": r.output_shape, "params": r.params, "macs": r.macs * b,
             "macs_share": "-" if r.training else numbers.percent(r.macs * b, t.macs),
             "elementwise": r.elementwise * b, "activations": r.activations * b,
             "rf": rf_text(fr) if (fr := sizes[_last(r, i)]) else None}
            for i, r in enumerate(items)]
    total = {"name": "total", "layer": f"{len(report.rows)} operations",
             "output": report.output_shape, "params": t.params, "macs": t.macs,
             "macs_share": "100.00%" if t.macs else "-",
             "elementwise": t.elementwise, "activations": t.activations}
    title = (f"{report.name}: {report.title}" if report.title else report.name) + \
        f" (input {numbers.shape(report.input_shape)}, {_batch_note(report)})"
    if depth is not None:
        title += f", blocks at depth {depth}"
    notes = [f"params {numbers.human(t.params)} | MACs {numbers.human(t.macs)} | "
             f"FLOPs {numbers.human(t.flops)} (= 2 x MACs) | activations "
             f"{numbers.human(t.activations)}", conventions.MACS, conventions.ELEMENTWISE,
             RF_NOTE, *([BLOCKS_NOTE] if depth is not None else [])]
    if t.training_params or t.training_macs:
        notes.append(f"training only (side outputs with training: true): "
                     f"{numbers.exact(t.training_params)} params, included in params; "
                     f"{numbers.exact(t.training_macs)} MACs, not in the MACs total (inference)")
    products = report.products_by_kind()
    if products:
        notes.append(f"{conventions.PRODUCTS}: " + ", ".join(
            f"{PRODUCT_NAMES.get(k, k)} {numbers.exact(v)}" for k, v in products.items()))
    for h in heads(report):
        notes.append(f"output '{h.name}' {numbers.shape(h.shape)}: depends on {h.operations} "
                     f"operations, {numbers.exact(h.params)} params, "
                     f"{numbers.exact(h.macs * b)} MACs (shared operations count in each output)")
    table = Table(title, cols, rows, total, notes,
                  note_columns={conventions.ELEMENTWISE: "elementwise", RF_NOTE: "rf"})
    if preset is not None and preset is not presets.MACS:
        _add_count(table, report, preset, items)
    return table


RF_NOTE = ("RF: receptive field size in input pixels, 'HxW' where the axes differ; * every unit "
           "sees the same region (cnnstat receptive-field shows jump and start)")
BLOCKS_NOTE = ("blocks: the operations that share the first name parts, summed (params, MACs, "
               "element-wise ops, activations); output and RF at the block's last operation; "
               "--depth N sets how many name parts, --format json lists each block's members")


def _last(item: Row | Block, index: int) -> int:
    """The index in the report's rows of the row whose output is ``item``'s."""
    return item.last if isinstance(item, Block) else index


def _preset_count(preset: Preset, item: Row | Block, batch: int) -> int:
    if isinstance(item, Row):
        return preset.batch_count(item, batch)
    rows = [r for r in item.members if not r.training] or list(item.members)
    return sum(preset.batch_count(r, batch) for r in rows)


def _add_count(table: Table, report: Report, preset: Preset,
               items: Sequence[Row | Block]) -> None:
    """A column after MACs with ``preset``'s count, its total, and its convention as a note."""
    cols = list(table.columns)
    cols.insert([c.key for c in cols].index("macs") + 1,
                Column("count", preset.label, "count", 1))
    table.columns = cols
    for cells, item in zip(table.rows, items):
        cells["count"] = _preset_count(preset, item, report.batch)
    if table.total is not None:
        table.total["count"] = preset.total(report)
    table.notes.insert(1, f"{preset.label} {numbers.human(preset.total(report))}: "
                       f"{preset.convention}")


def params_json(report: Report, depth: int | None = None) -> dict[str, Any]:
    t = report.totals
    if depth is None:
        rows: dict[str, Any] = {"layers": [
            {"name": r.name, "kind": r.kind, "weights": r.weights, "bias": r.bias,
             "params": r.params, "share": r.params / t.params if t.params else 0.0}
            for r in report.rows if r.params]}
    else:
        rows = {"depth": depth, "blocks": [
            {"name": b.name, "description": b.description, "members": list(b.names),
             "weights": b.weights, "bias": b.bias, "params": b.params,
             "share": b.params / t.params if t.params else 0.0}
            for b in blocks(report.rows, depth) if b.params]}
    return {**header("params"), "spec": spec_info(report),
            "conventions": {"params": conventions.PARAMS}, **rows,
            "by_kind": by_kind(report), "totals": {"params": t.params, "weights": t.weights,
                                                   "bias": t.bias, "buffers": t.buffers}}


def by_kind(report: Report) -> list[dict[str, Any]]:
    kinds: dict[str, dict[str, int]] = {}
    for r in report.rows:
        k = kinds.setdefault(r.kind, {"layers": 0, "weights": 0, "bias": 0, "params": 0})
        k["layers"] += 1
        k["weights"] += r.weights
        k["bias"] += r.bias
        k["params"] += r.params
    return [{"kind": kind, **v} for kind, v in kinds.items() if v["params"]]


def params_tables(report: Report, depth: int | None = None) -> list[Table]:
    """Parameters by layer (by block at ``depth``) and by kind of layer."""
    t = report.totals
    cols = [Column("name", "name"), Column("kind", "kind" if depth is None else "block",
                                           priority=5),
            Column("weights", "weights", "count", 2), Column("bias", "bias", "count", 3),
            Column("params", "params", "count", 1), Column("share", "share", "percent", 4)]
    items: Sequence[Row | Block] = report.rows if depth is None else blocks(report.rows, depth)
    rows = [{"name": r.name, "kind": r.kind if isinstance(r, Row) else r.description,
             "weights": r.weights, "bias": r.bias,
             "params": r.params, "share": numbers.percent(r.params, t.params)}
            for r in items if r.params]
    total = {"name": "total", "weights": t.weights, "bias": t.bias, "params": t.params,
             "share": "100.00%" if t.params else "-"}
    kind_cols = [Column("kind", "kind"), Column("layers", "layers", "count", 2),
                 Column("weights", "weights", "count", 2), Column("bias", "bias", "count", 3),
                 Column("params", "params", "count", 1), Column("share", "share", "percent", 4)]
    kind_rows = [{**k, "share": numbers.percent(k["params"], t.params)} for k in by_kind(report)]
    notes = [f"{numbers.human(t.params)} trainable parameters; {numbers.exact(t.buffers)} buffer "
             "elements (e.g. BN running statistics) not included", conventions.PARAMS]
    by = "layer" if depth is None else f"block (depth {depth})"
    return [Table(f"{report.name}: parameters by {by}", cols, rows, total),
            Table(f"{report.name}: parameters by kind", kind_cols, kind_rows, None, notes)]


def list_row(report: Brief) -> dict[str, Any]:
    t = report.totals
    return {"name": report.name, "title": report.title, "input": report.input_shape,
            "params": t.params, "macs": t.macs}


def list_table(rows: list[dict[str, Any]]) -> Table:
    cols = [Column("name", "name"), Column("title", "title", priority=3),
            Column("input", "input", "shape", 2), Column("params", "params", "count", 1),
            Column("macs", "MACs", "count", 1)]
    return Table("built-in specs", cols, rows, None, [conventions.MACS])


def list_json(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {**header("list"), "conventions": {"macs": conventions.MACS},
            "specs": [{**r, "input": list(r["input"])} for r in rows]}
