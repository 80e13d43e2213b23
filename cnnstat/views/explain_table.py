"""How an :class:`~cnnstat.views.explain.Explanation` reads: worked lines for people, a table for
markdown and CSV, a JSON document for programs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cnnstat.core import conventions
from cnnstat.core.rollup import Block
from cnnstat.render import numbers
from cnnstat.render.jsonfmt import header
from cnnstat.render.table import Column, Table
from cnnstat.views.explain import Explanation, Step, hwc


def _value(step: Step) -> str:
    return f"{step.value:,}" if isinstance(step.value, int) else step.value


def _volume(shape: tuple[int, ...], as_held: bool = False) -> str:
    if as_held:  # a channels-last tensor: the axes in the tensor's own order
        return "x".join(map(str, shape)) + " (the tensor's axes in order)"
    return hwc(shape) + (" (H x W x C)" if len(shape) == 3 else " features")


def line(step: Step) -> str:
    """'formula = arithmetic = value' (the parts that exist) and the note in parentheses."""
    parts = [p for p in (step.formula, step.arithmetic, _value(step)) if p != ""]
    text = " = ".join(parts)
    return text + (f"   ({step.note})" if step.note else "")


@dataclass(frozen=True)
class Section:
    """A block of a spec and the explanations of its layers (none when ``same_as`` names an
    earlier block with the same layers, arguments and shapes, whose explanations apply);
    ``block`` None: explanations without a heading (one layer, or a layer kind)."""

    block: Block | None
    explanations: list[Explanation] = field(default_factory=list)
    same_as: str | None = None


def _worked(ex: Explanation) -> str:
    width = max(len(s.label) for s in ex.steps) + 2
    lines = [ex.title, f"input {_volume(ex.input_shape, ex.input_as_held)}, output "
             f"{_volume(ex.row.output_shape, ex.output_as_held)}", ""]
    lines += [f"  {s.label:<{width}}{line(s)}" for s in ex.steps]
    lines += ["", *(f"note: {n}" for n in ex.notes)] if ex.notes else []
    return "\n".join(lines)


def heading(block: Block) -> str:
    """'== layer1.bottleneck1: 12 operations ==' and its figures on the next line."""
    head = f"== {block.name}: {block.description} =="
    return (f"{head}\n   output {numbers.shape(block.output_shape)} (C x H x W); params "
            f"{block.params:,}; MACs {block.macs:,}")


def text(explanations: list[Explanation] | Sequence[Section]) -> str:
    """The worked explanations as plain text, under a heading per block when given sections."""
    sections = [s if isinstance(s, Section) else Section(None, [s]) for s in explanations]
    parts = []
    for sec in sections:
        if sec.block is not None and not sec.block.single:
            parts.append(heading(sec.block) + (
                f"\n   the same layers, arguments and shapes as {sec.same_as}: its worked lines "
                "apply (--all shows every layer)" if sec.same_as else ""))
        parts += [_worked(ex) for ex in sec.explanations]
    footer = [conventions.MACS, conventions.FLOPS,
              "shapes in the worked lines are H x W x C, as the lecture writes them (32x32x3); "
              "--input takes C x H x W, as every cnnstat command does"]
    return "\n\n".join(parts) + "\n\n" + "\n".join(footer) + "\n"


COLUMNS = [Column("label", "quantity"), Column("formula", "formula"),
           Column("arithmetic", "worked"), Column("value", "value", "count"),
           Column("note", "note")]


def tables(explanations: list[Explanation]) -> list[Table]:
    out = []
    for ex in explanations:
        rows = [{"label": s.label, "formula": s.formula, "arithmetic": s.arithmetic,
                 "value": s.value, "note": s.note} for s in ex.steps]
        title = f"{ex.title}; input {_volume(ex.input_shape, ex.input_as_held)}"
        out.append(Table(title, COLUMNS, rows, None, list(ex.notes)))
    return out


def document(explanations: list[Explanation],
             sections: Sequence[Section] = (), depth: int | None = None) -> dict[str, Any]:
    """JSON: shapes as C x H x W lists (as in every cnnstat document), steps as shown; with
    ``sections``, the blocks at ``depth``: each one's members, and the earlier block whose
    explanations apply to it (``same_as``) or null."""
    doc = {**header("explain"), "conventions": {"macs": conventions.MACS,
                                                "flops": conventions.FLOPS},
           "layers": [_layer(ex) for ex in explanations]}
    if sections:
        doc["depth"] = depth
        doc["blocks"] = [{"name": s.block.name, "description": s.block.description,
                          "members": list(s.block.names), "params": s.block.params,
                          "macs": s.block.macs, "same_as": s.same_as}
                         for s in sections if s.block is not None]
    return doc


def _layer(ex: Explanation) -> dict[str, Any]:
    r = ex.row
    return {"name": r.name, "kind": r.kind, "description": r.description,
            "input_shape": list(r.input_shape), "output_shape": list(r.output_shape),
            "params": r.params, "weights": r.weights, "bias": r.bias, "macs": r.macs,
            "flops": r.flops, "activations": r.activations,
            "steps": [{"label": s.label, "formula": s.formula, "arithmetic": s.arithmetic,
                       "value": s.value, "note": s.note} for s in ex.steps],
            "notes": list(ex.notes)}
