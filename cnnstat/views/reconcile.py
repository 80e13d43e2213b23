"""``cnnstat reconcile``: every counter's figure for one spec, and its difference from our MACs
split by cause, the causes adding up exactly to the difference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnstat.core import conventions
from cnnstat.core.counters import ALL_PRESETS
from cnnstat.core.presets import CAUSES, Parts, Preset
from cnnstat.core.report import Report
from cnnstat.errors import UsageError
from cnnstat.render import numbers
from cnnstat.render.jsonfmt import header
from cnnstat.render.table import Column, Table
from cnnstat.views.common import spec_info

#: What each preset's figure is called by its tool: MACs-like or FLOPs-like.
UNITS = {"macs": "MACs", "torch": "FLOPs", "fvcore": "flops (1 per MAC)",
         "torchinfo": "mult-adds", "thop": "MACs", "thop-classic": "MACs", "ptflops": "MACs",
         "ptflops-aten": "MACs",
         "torchscan": "FLOPs", "calflops": "FLOPs",
         "deepspeed": "FLOPs"}


@dataclass(frozen=True)
class Line:
    """One tool's figure: its total and the difference from the MACs by cause; or why the
    preset cannot reproduce it for this spec (``refused``)."""

    preset: Preset
    total: int | None
    causes: Parts = field(default_factory=dict)
    refused: str = ""


def reconcile(report: Report) -> list[Line]:
    lines = []
    for preset in ALL_PRESETS.values():
        try:
            lines.append(Line(preset, preset.total(report), preset.total_parts(report)))
        except UsageError as err:
            lines.append(Line(preset, None, refused=str(err)))
    return lines


def reconcile_json(report: Report) -> dict[str, Any]:
    tools = []
    for line in reconcile(report):
        entry: dict[str, Any] = {"preset": line.preset.name, "tool": line.preset.tool or "cnnstat",
                                 "unit": UNITS[line.preset.name],
                                 "convention": line.preset.convention, "total": line.total}
        if line.total is None:
            entry["refused"] = line.refused
        else:
            entry["difference"] = line.total - report.totals.macs
            entry["causes"] = line.causes
        tools.append(entry)
    return {**header("reconcile"), "spec": spec_info(report),
            "conventions": {"macs": conventions.MACS, "causes": list(CAUSES)},
            "macs": report.totals.macs, "tools": tools}


def reconcile_table(report: Report) -> Table:
    lines = reconcile(report)
    used = [c for c in CAUSES if any(line.causes.get(c) for line in lines)]
    cols = [Column("preset", "--count"), Column("tool", "tool"), Column("unit", "unit"),
            Column("total", "total", "count"), Column("difference", "- MACs", "count"),
            *(Column(c, c, "count") for c in used)]
    rows = []
    for line in lines:
        row: dict[str, Any] = {"preset": line.preset.name, "tool": line.preset.tool or "cnnstat",
                               "unit": UNITS[line.preset.name], "total": line.total}
        if line.total is not None:
            row["difference"] = line.total - report.totals.macs
            row.update({c: line.causes.get(c, 0) for c in used})
        rows.append(row)
    notes = [f"MACs {numbers.exact(report.totals.macs)}: {conventions.MACS}",
             "- MACs = total - MACs, split by cause; the causes add up to it exactly: factor "
             "(2 FLOPs per MAC), bias, normalisation, activations, pooling, elementwise (adds, "
             "scaling), resampling, products (attention's Q.K^T and A.V, not in MACs), double "
             "counting (one operation counted twice), skipped "
             "(MACs not counted), other (see the preset's convention)",
             *(f"{line.preset.name}: {line.refused}" for line in lines if line.total is None)]
    title = f"{report.name}: every counter's figure (input {numbers.shape(report.input_shape)}, " \
        f"batch {report.batch})"
    return Table(title, cols, rows, None, notes)
