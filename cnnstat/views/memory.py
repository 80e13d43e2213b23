"""What ``cnnstat memory`` shows: the inference schedule with live memory per operation, the
inference and training breakdowns in bytes, and the largest batch that fits a budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnstat.core import memory
from cnnstat.core.report import Report
from cnnstat.core.rollup import Block, blocks
from cnnstat.render.jsonfmt import header
from cnnstat.render import numbers
from cnnstat.render.numbers import binary
from cnnstat.render.table import Column, Table
from cnnstat.views.common import spec_info


@dataclass(frozen=True)
class BlockStep:
    """The steps of one block of ``--depth N``: the most elements alive while any of them runs,
    and the block's output (its last operation's)."""

    block: Block
    alive: int
    peak: bool  # the schedule's peak is in this block


class MemoryView:
    """The figures of one ``cnnstat memory`` run (``budget`` in bytes, or None; ``depth``: the
    schedule by blocks)."""

    def __init__(self, report: Report, dtype: str, optimizer: str, budget: int | None,
                 depth: int | None = None) -> None:
        self.report, self.dtype, self.optimizer, self.budget = report, dtype, optimizer, budget
        self.depth = depth
        self.size = memory.DTYPE_BYTES[dtype]
        self.schedule = memory.schedule(report)
        self.inference = memory.inference(report, self.schedule, report.batch)
        self.training = memory.training(report, self.schedule, report.batch, optimizer)

    def fits(self, budget: int) -> dict[str, int | None]:
        """The largest batch for inference and for training within ``budget`` bytes."""
        s = self.schedule
        return {"inference": memory.largest_batch(s.peak.alive, self.inference.fixed, self.size,
                                                  budget),
                "training": memory.largest_batch(s.saved, self.training.fixed, self.size,
                                                 budget)}

    def per_image(self, mode: str) -> int:
        return self.schedule.peak.alive if mode == "inference" else self.schedule.saved

    def block_steps(self, depth: int) -> list[BlockStep]:
        steps = self.schedule.steps
        peak = self.schedule.peak
        alive = {id(s.row): s for s in steps}
        out = []
        for block in blocks([s.row for s in steps], depth):
            members = [alive[id(r)] for r in block.members]
            out.append(BlockStep(block, max(s.alive for s in members),
                                 any(s is peak for s in members)))
        return out


def schedule_table(view: MemoryView) -> Table:
    if view.depth is not None:
        return _block_schedule_table(view, view.depth)
    b, size = view.report.batch, view.size
    peak = view.schedule.peak
    cols = [Column("name", "name"), Column("layer", "layer", priority=5),
            Column("output", "output", "shape", 2),
            Column("activations", "output elements", "count", 3),
            Column("alive", "live elements", "count", 1), Column("bytes", "live bytes", "count", 1),
            Column("peak", "peak", priority=1)]
    rows = [{"name": s.row.name, "layer": s.row.description, "output": s.row.output_shape,
             "activations": s.row.activations * b, "alive": s.alive * b,
             "bytes": s.alive * b * size, "peak": "<- peak" if s is peak else ""}
            for s in view.schedule.steps]
    return Table(f"{view.report.name}: live activations per operation (inference, "
                 f"{_batch(view)}, {view.dtype})", cols, rows, None,
                 [memory.INFERENCE, *_scratch_note(view)])


def _block_schedule_table(view: MemoryView, depth: int) -> Table:
    b, size = view.report.batch, view.size
    cols = [Column("name", "name"), Column("layer", "block", priority=5),
            Column("output", "output", "shape", 2),
            Column("activations", "output elements", "count", 3),
            Column("alive", "most live elements", "count", 1),
            Column("bytes", "most live bytes", "count", 1), Column("peak", "peak", priority=1)]
    rows = [{"name": s.block.name, "layer": s.block.description, "output": s.block.output_shape,
             "activations": s.block.members[-1].activations * b, "alive": s.alive * b,
             "bytes": s.alive * b * size, "peak": "<- peak" if s.peak else ""}
            for s in view.block_steps(depth)]
    note = (f"blocks at depth {depth}: the most elements alive while any of a block's "
            "operations runs; output elements: the block's output (its last operation's)")
    return Table(f"{view.report.name}: live activations per block (inference, "
                 f"{_batch(view)}, {view.dtype})", cols, rows, None,
                 [memory.INFERENCE, note, *_scratch_note(view)])


def _scratch_note(view: MemoryView) -> list[str]:
    """A note naming the operations whose intermediate tensors count (attention)."""
    held = [s.row for s in view.schedule.steps if s.row.scratch]
    if not held:
        return []
    return [memory.SCRATCH + ": " + ", ".join(
        f"{r.name} {numbers.exact(r.scratch * view.report.batch)}" for r in held)]


def _batch(view: MemoryView) -> str:
    b = view.report.batch
    return "batch 1" if b == 1 else f"batch {b}"


def breakdown_table(view: MemoryView) -> Table:
    rows = []
    parts = (("inference", view.inference), (f"training ({view.optimizer})", view.training))
    for mode, bd in parts:
        for part, n in bd.parts:
            label = part + (f" (during {view.schedule.peak.row.name})"
                            if part == "activations at peak" else "")
            rows.append(_bytes_row(view, mode, label, n))
        rows.append(_bytes_row(view, mode, "total", bd.total))
    cols = [Column("mode", "mode"), Column("part", "part"),
            Column("elements", "elements", "count", 2), Column("bytes", "bytes", "count", 1),
            Column("readable", "size", priority=1)]
    return Table(f"{view.report.name}: memory at {view.dtype} ({view.size} byte"
                 f"{'s' if view.size > 1 else ''} per element), {_batch(view)}", cols, rows,
                 None, [memory.TRAINING, *_scratch_note(view)])


def _bytes_row(view: MemoryView, mode: str, part: str, n: int) -> dict[str, Any]:
    return {"mode": mode, "part": part, "elements": n, "bytes": n * view.size,
            "readable": binary(n * view.size)}


def fit_table(view: MemoryView, budget: int) -> Table:
    rows = []
    for mode, n in view.fits(budget).items():
        bd = view.inference if mode == "inference" else view.training
        per = view.per_image(mode) * view.size
        used = None if n is None else (bd.fixed + n * view.per_image(mode)) * view.size
        rows.append({"mode": mode, "fixed": bd.fixed * view.size, "per_image": per,
                     "batch": "any" if n is None else n, "used": "-" if used is None else used,
                     "readable": "-" if used is None else binary(used)})
    cols = [Column("mode", "mode"), Column("fixed", "fixed bytes", "count", 2),
            Column("per_image", "bytes per image", "count", 2),
            Column("batch", "largest batch", "count", 1), Column("used", "bytes used", "count", 3),
            Column("readable", "size used", priority=1)]
    note = (f"largest N with fixed + N x per image <= {budget:,} bytes "
            f"({binary(budget)}); 0: not even one image fits")
    return Table(f"{view.report.name}: largest batch in {binary(budget)} at {view.dtype}",
                 cols, rows, None, [note])


def tables(view: MemoryView) -> list[Table]:
    out = [schedule_table(view), breakdown_table(view)]
    return out + ([fit_table(view, view.budget)] if view.budget is not None else [])


def document(view: MemoryView) -> dict[str, Any]:
    b, size, peak = view.report.batch, view.size, view.schedule.peak
    doc: dict[str, Any] = {
        **header("memory"), "spec": spec_info(view.report), "dtype": view.dtype,
        "bytes_per_element": size, "optimizer": view.optimizer,
        "conventions": {"inference": memory.INFERENCE, "training": memory.TRAINING},
        **_steps_json(view),
        "peak": {"name": peak.row.name, "elements": peak.alive * b, "bytes": peak.alive * b * size},
        "inference": _breakdown_json(view.inference, size),
        "training": _breakdown_json(view.training, size)}
    if view.budget is not None:
        doc["fit"] = {"budget_bytes": view.budget, **{f"{k}_batch": v
                                                      for k, v in view.fits(view.budget).items()}}
    return doc


def _steps_json(view: MemoryView) -> dict[str, Any]:
    b, size = view.report.batch, view.size
    if view.depth is None:
        return {"layers": [{"name": s.row.name, "kind": s.row.kind,
                            "output_shape": list(s.row.output_shape),
                            "activations": s.row.activations * b, "alive": s.alive * b,
                            "alive_bytes": s.alive * b * size} for s in view.schedule.steps]}
    return {"depth": view.depth, "blocks": [
        {"name": s.block.name, "description": s.block.description,
         "members": list(s.block.names), "output_shape": list(s.block.output_shape),
         "activations": s.block.members[-1].activations * b, "alive": s.alive * b,
         "alive_bytes": s.alive * b * size, "peak": s.peak}
        for s in view.block_steps(view.depth)]}


def _breakdown_json(bd: memory.Breakdown, size: int) -> dict[str, Any]:
    return {"elements": dict(bd.parts), "total_elements": bd.total, "total_bytes": bd.total * size}
