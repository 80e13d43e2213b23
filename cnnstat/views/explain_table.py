"""How an :class:`~cnnstat.views.explain.Explanation` reads: worked lines for people, a table for
markdown and CSV, a JSON document for programs."""

from __future__ import annotations

from typing import Any

from cnnstat.core import conventions
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


def text(explanations: list[Explanation]) -> str:
    """The worked explanations, one block each, as plain text."""
    blocks = []
    for ex in explanations:
        width = max(len(s.label) for s in ex.steps) + 2
        lines = [ex.title, f"input {_volume(ex.input_shape, ex.input_as_held)}, output "
                 f"{_volume(ex.row.output_shape, ex.output_as_held)}", ""]
        lines += [f"  {s.label:<{width}}{line(s)}" for s in ex.steps]
        lines += ["", *(f"note: {n}" for n in ex.notes)] if ex.notes else []
        blocks.append("\n".join(lines))
    footer = [conventions.MACS, conventions.FLOPS,
              "shapes are H x W x C, as the lecture writes them (32x32x3)"]
    return "\n\n".join(blocks) + "\n\n" + "\n".join(footer) + "\n"


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


def document(explanations: list[Explanation]) -> dict[str, Any]:
    """JSON: shapes as C x H x W lists (as in every cnnstat document), steps as shown."""
    return {**header("explain"), "conventions": {"macs": conventions.MACS,
                                                 "flops": conventions.FLOPS},
            "layers": [_layer(ex) for ex in explanations]}


def _layer(ex: Explanation) -> dict[str, Any]:
    r = ex.row
    return {"name": r.name, "kind": r.kind, "description": r.description,
            "input_shape": list(r.input_shape), "output_shape": list(r.output_shape),
            "params": r.params, "weights": r.weights, "bias": r.bias, "macs": r.macs,
            "flops": r.flops, "activations": r.activations,
            "steps": [{"label": s.label, "formula": s.formula, "arithmetic": s.arithmetic,
                       "value": s.value, "note": s.note} for s in ex.steps],
            "notes": list(ex.notes)}
