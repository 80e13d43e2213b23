"""What ``cnnstat receptive-field`` shows: per-layer fields, one unit's region, the zoo overview.

Tables show one value where H and W agree and 'HxW' otherwise; starts read as exact decimals
('7.5').  JSON gives every figure per axis (``h``, ``w``) and each start as the string of its
:class:`~fractions.Fraction` ('15/2', '7'), which ``Fraction(text)`` reads back exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnstat.core import conventions
from cnnstat.core.receptive import (
    LAST_SPATIAL,
    AxisField,
    FieldReport,
    FieldRow,
    Span,
    UnitRegion,
    fmt_start,
)
from cnnstat.core.report import Report
from cnnstat.errors import Diagnostic, Severity, UsageError, meaning
from cnnstat.render import numbers
from cnnstat.render.diagnostics import format_diagnostic, locate
from cnnstat.render.jsonfmt import header
from cnnstat.render.table import Column, Table
from cnnstat.spec.positions import SourceMap
from cnnstat.spec.validate import suggest
from cnnstat.views.common import exact, pair, rf_text, spec_info

LEGEND = {"rf": "r: field size", "jump": "j: jump (effective stride)",
          "start": "start: centre of unit 0's field",
          "pad": "pad: effective padding (how far unit 0's field reaches before row/column 0)",
          "whole": "whole: every unit sees the whole input"}
SHARED = ("r: field size, * a shared field (after a global pooling or gate, as "
          "squeeze-and-excitation's, every unit also sees the whole input through it; r is the "
          "region all units share, j the map's spatial stride)")


def legend(shared: bool) -> dict[str, str]:
    """What the field columns mean, the '*' included where a field is shared."""
    return {**LEGEND, "rf": SHARED} if shared else dict(LEGEND)


def axis_json(f: AxisField) -> dict[str, Any]:
    return {"r": exact(f.size), "j": exact(f.jump), "start": str(f.start),
            "padding": f.padding, "shared": f.shared}


def _whole(covers: tuple[bool, bool]) -> str:
    return {(True, True): "yes", (False, False): "no", (True, False): "H only",
            (False, True): "W only"}[covers]


def field_cells(fr: FieldRow, size: tuple[int, int]) -> dict[str, Any]:
    h, w = fr.fields
    return {"rf": rf_text(fr.size), "jump": pair(h.jump, w.jump),
            "start": pair(fmt_start(h.start), fmt_start(w.start)),
            "pad": pair(h.padding, w.padding), "whole": _whole(fr.covers(size))}


FIELD_COLUMNS = [Column("rf", "r", priority=1), Column("jump", "j", priority=1),
                 Column("start", "start", priority=3), Column("pad", "pad", priority=4),
                 Column("whole", "whole", priority=2)]


def _last_note(fields: FieldReport) -> str:
    last = fields.last_spatial
    if last is None:
        return "no spatial layer: every unit sees the whole input"
    cells = field_cells(last, fields.input_size)
    return (f"last spatial layer '{last.row.name}': field {cells['rf']}, jump {cells['jump']}, "
            f"effective padding {cells['pad']}; every unit sees the whole "
            f"{fields.input_size[0]}x{fields.input_size[1]} input: {cells['whole']}")


def _title(report: Report, what: str) -> str:
    name = f"{report.name}: {what}"
    return f"{name} (input {numbers.shape(report.input_shape)})"


def fields_table(report: Report, fields: FieldReport) -> Table:
    cols = [Column("name", "name"), Column("layer", "layer", priority=5),
            Column("output", "output", "shape", 2), *FIELD_COLUMNS]
    rows = [{"name": fr.row.name, "layer": fr.row.description, "output": fr.row.output_shape,
             **field_cells(fr, fields.input_size)} for fr in fields.rows]
    shared = any(f.shared for fr in fields.rows for f in fr.fields)
    return Table(_title(report, "receptive fields"), cols, rows, None, [_last_note(fields)],
                 legend(shared))


def _last_json(fields: FieldReport) -> dict[str, Any] | None:
    last = fields.last_spatial
    if last is None:
        return None
    return {"name": last.row.name, "h": axis_json(last.fields[0]),
            "w": axis_json(last.fields[1]), "covers": list(last.covers(fields.input_size))}


def fields_json(report: Report, fields: FieldReport) -> dict[str, Any]:
    layers = [{"name": fr.row.name, "kind": fr.row.kind,
               "output_shape": list(fr.row.output_shape), "h": axis_json(fr.fields[0]),
               "w": axis_json(fr.fields[1]), "covers": list(fr.covers(fields.input_size))}
              for fr in fields.rows]
    return {**header("receptive-field"), "spec": spec_info(report),
            "conventions": {"receptive_field": conventions.RECEPTIVE_FIELD},
            "input_size": list(fields.input_size), "layers": layers,
            "last_spatial": _last_json(fields),
            "diagnostics": [d.to_json() for d in (*report.diagnostics, *fields.diagnostics)]}


def _span(span: Span | None) -> str:
    return "-" if span is None else f"{span[0]}..{span[1]}"


def unit_table(report: Report, region: UnitRegion) -> Table:
    cols = [Column("axis", "axis"), Column("unit", "unit", "count"), Column("centre", "centre"),
            Column("field", "field"), Column("seen", "in input"),
            Column("before", "pad before", "count"), Column("after", "pad after", "count")]
    rows = []
    for axis, label in enumerate(("rows (H)", "cols (W)")):
        before, after = region.padding(axis)
        rows.append({"axis": label, "unit": region.unit[axis],
                     "centre": fmt_start(region.centre[axis]),
                     "field": _span(region.field[axis]), "seen": _span(region.seen[axis]),
                     "before": before, "after": after})
    (r0, r1), (c0, c1) = region.field
    notes = [f"unit ({region.unit[0]}, {region.unit[1]}) of '{region.layer}' reads input rows "
             f"{_span(region.seen[0])}, cols {_span(region.seen[1])}; unclipped its field is rows "
             f"{r0}..{r1}, cols {c0}..{c1} (outside 0..{region.input_size[0] - 1} x "
             f"0..{region.input_size[1] - 1} is padding)",
             "field: the analytic field, unclipped; in input: the rows/columns the unit really "
             "depends on (padding and rows the floor drops excluded)"]
    return Table(_title(report, f"unit ({region.unit[0]}, {region.unit[1]}) of "
                                f"'{region.layer}'"), cols, rows, None, notes)


def unit_json(report: Report, region: UnitRegion, fields: FieldReport) -> dict[str, Any]:
    (top, bottom), (left, right) = region.padding(0), region.padding(1)

    def box(pair_: tuple[Span | None, Span | None]) -> dict[str, Any]:
        return {"rows": list(pair_[0]) if pair_[0] else None,
                "cols": list(pair_[1]) if pair_[1] else None}

    return {**header("receptive-field"), "spec": spec_info(report),
            "conventions": {"receptive_field": conventions.RECEPTIVE_FIELD},
            "input_size": list(region.input_size), "layer": region.layer,
            "unit": list(region.unit), "centre": [str(c) for c in region.centre],
            "field": box(region.field), "seen": box(region.seen),
            "padding": {"top": top, "bottom": bottom, "left": left, "right": right},
            "diagnostics": [d.to_json() for d in (*report.diagnostics, *fields.diagnostics)]}


def zoo_entry(report: Report, fields: FieldReport | None, diagnostics: Sequence[Diagnostic],
              source: SourceMap | None) -> dict[str, Any]:
    """One network's field at its last spatial layer (``fields`` None: a flat input) and its
    diagnostics with where each is in the spec's file, as plain data (the cache keeps it)."""
    last = fields.last_spatial if fields is not None else None
    where = []
    for d in diagnostics:
        at = locate(d, source)
        where.append(f"{Path(at[0]).name}:{at[1]}:{at[2]}" if at else "")
    entry: dict[str, Any] = {"name": report.name, "input": report.input_shape,
                             "layer": last.row.name if last else None,
                             "output": last.row.output_shape if last else None,
                             "diagnostics": tuple(diagnostics), "where": tuple(where)}
    if last is not None and fields is not None:
        entry.update(field_cells(last, fields.input_size))
        entry["h"], entry["w"] = axis_json(last.fields[0]), axis_json(last.fields[1])
        entry["covers"] = last.covers(fields.input_size)
    return entry


def zoo_table(rows: list[dict[str, Any]]) -> Table:
    cols = [Column("name", "name"), Column("input", "input", "shape", 3),
            Column("layer", "last spatial layer", priority=5),
            Column("output", "output", "shape", 2), Column("rf", "r", priority=1),
            Column("jump", "j", priority=1), Column("pad", "pad", priority=4),
            Column("whole", "whole", priority=2)]
    shared = any("*" in r.get("rf", "") for r in rows)
    return Table(f"built-in specs: receptive field at the last spatial layer, {LAST_SPATIAL}",
                 cols, rows, None, [conventions.RECEPTIVE_FIELD], legend(shared))


def zoo_json(rows: list[dict[str, Any]]) -> dict[str, Any]:
    specs = []
    for r in rows:
        spatial = "h" in r
        specs.append({"name": r["name"], "input_shape": list(r["input"]), "layer": r["layer"],
                      "output_shape": list(r["output"]) if r["output"] else None,
                      "h": r["h"] if spatial else None, "w": r["w"] if spatial else None,
                      "covers": list(r["covers"]) if spatial else None,
                      "diagnostics": [d.to_json() for d in r["diagnostics"]]})
    return {**header("receptive-field"),
            "conventions": {"receptive_field": conventions.RECEPTIVE_FIELD},
            "last_spatial": LAST_SPATIAL, "specs": specs}


# -- the zoo's diagnostics on stderr ---------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One diagnostic as it reads in the zoo overview, and the built-in specs that gave it."""

    diagnostic: Diagnostic
    where: str  # 'resnet34.yaml:48:11', the line in the built-in spec's file
    specs: tuple[str, ...]


def zoo_findings(entries: Sequence[dict[str, Any]]) -> list[Finding]:
    """Each distinct diagnostic of the zoo once, with every spec (variants share a file, so
    they share its notes) that gave it; ``entries``: :func:`zoo_entry`'s."""
    by_key: dict[tuple[str, Diagnostic], list[str]] = {}
    for entry in entries:
        for d, where in zip(entry["diagnostics"], entry["where"]):
            specs = by_key.setdefault((where, d), [])
            if entry["name"] not in specs:
                specs.append(entry["name"])
    return [Finding(d, where, tuple(specs)) for (where, d), specs in by_key.items()]


def zoo_summary(findings: Sequence[Finding]) -> list[str]:
    """A line per severity: how many specs gave each code, the code spelt out (stderr, before
    the table)."""
    lines = []
    for severity in (Severity.WARNING, Severity.NOTE):
        specs: dict[str, set[str]] = {}
        for f in findings:
            if f.diagnostic.severity is severity:
                specs.setdefault(f.diagnostic.code, set()).update(f.specs)
        if specs:
            counts = "; ".join(f"{meaning(code)} in {len(names)} "
                               f"spec{'s' if len(names) > 1 else ''}"
                               for code, names in sorted(specs.items()))
            lines.append(f"{severity.value}s from the built-in specs: {counts} "
                         "(--verbose lists them)")
    return lines


def zoo_details(findings: Sequence[Finding]) -> list[str]:
    """Every distinct diagnostic once, led by the specs that gave it and where (--verbose)."""
    return [f"{', '.join(f.specs)}" + (f" ({f.where})" if f.where else "") + ": "
            + format_diagnostic(f.diagnostic, None) for f in findings]


def chosen_layer(fields: FieldReport, name: str | None) -> FieldRow:
    """The layer ``name`` (a spatial one), or the last spatial layer when None."""
    if name is None:
        last = fields.last_spatial
        if last is None:
            raise UsageError("this network has no spatial layer to map a unit of")
        return last
    found = fields.find(name)
    if found is None:
        raise UsageError(f"no layer named '{name}'",
                         suggest(name, [fr.row.name for fr in fields.rows]))
    if len(found.row.output_shape) != 3:
        raise UsageError(f"layer '{name}' has no spatial output "
                         f"({numbers.shape(found.row.output_shape)})",
                         "choose a layer before the global pooling or flatten")
    return found
