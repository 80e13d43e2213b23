"""``cnnstat diff A B``: per-layer differences between two specs, or a spec and a JSON snapshot.

A side is a spec (built-in name, path or '-') or a JSON file: a baseline written by
``check --write-baseline`` (``FILE.json#name`` picks one of its specs; without ``#name`` the spec
named like the other side, or the only one) or a ``summary --format json`` document.  Layers are
matched by name (:func:`cnnstat.check.baseline.match`); figures are per image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnstat.analysis import analyze
from cnnstat.check.baseline import Change, layer_snapshot, match, read_json, record_problem
from cnnstat.core import conventions
from cnnstat.core.report import Report
from cnnstat.errors import UsageError
from cnnstat.render import numbers
from cnnstat.render.jsonfmt import header
from cnnstat.render.table import Column, Table
from cnnstat.spec import loader


@dataclass(frozen=True)
class Side:
    label: str
    layers: list[dict[str, Any]]

    def total(self, key: str) -> int:
        return sum(int(layer.get(key) or 0) for layer in self.layers)


def is_json_side(arg: str) -> bool:
    return arg.partition("#")[0].endswith(".json")


def spec_side(arg: str) -> Side:
    report = analyze(loader.load(arg))
    return Side(report.name, layer_snapshot(report))


def json_side(arg: str, other: str | None) -> Side:
    """A spec from a baseline (or a summary JSON document) on disk."""
    path, _, wanted = arg.partition("#")
    doc = read_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("layers"), list):  # summary --format json
        return Side(str((doc.get("spec") or {}).get("name", path)), _layers(doc["layers"], path))
    specs = doc.get("specs") if isinstance(doc, dict) else None
    if not isinstance(specs, dict):
        raise UsageError(f"{path}: neither a cnnstat baseline nor a summary JSON document")
    name = wanted or (other if other is not None and other in specs else
                      next(iter(specs)) if len(specs) == 1 else "")
    if name not in specs:
        raise UsageError(f"{arg}: " + (f"no spec '{name}' in the baseline" if name else
                                       "the baseline holds several specs; pick one"),
                         "write FILE.json#NAME; it holds: " + ", ".join(sorted(specs)[:20]))
    entry = specs[name]
    return Side(name, _layers(entry.get("layers") if isinstance(entry, dict) else None, path))


def _layers(raw: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(x, dict) and "name" in x for x in raw):
        raise UsageError(f"{path}: its layers are not a list of {{name, ...}} records")
    for i, layer in enumerate(raw):
        problem = record_problem(layer)
        if problem:
            raise UsageError(f"{path}: layer record {i}: {problem}")
    return [{"name": x["name"], "kind": x.get("kind"), "output_shape": x.get("output_shape"),
             "params": x.get("params"), "macs": x.get("macs")} for x in raw]


def load_sides(a: str, b: str) -> tuple[Side, Side]:
    """Specs first, so that a baseline side can pick the spec named like the other side."""
    sa = None if is_json_side(a) else spec_side(a)
    sb = None if is_json_side(b) else spec_side(b)
    if sa is None:
        sa = json_side(a, sb.label if sb else None)
    if sb is None:
        sb = json_side(b, sa.label)
    return sa, sb


def _ratio(a: int, b: int) -> float | None:
    return b / a if a else None


def _show_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.3f}x"


def diff_json(a: Side, b: Side, changes: list[Change]) -> dict[str, Any]:
    totals = {key: {"a": a.total(key), "b": b.total(key), "difference": b.total(key) -
                    a.total(key), "ratio": _ratio(a.total(key), b.total(key))}
              for key in ("params", "macs")}
    return {**header("diff"), "a": a.label, "b": b.label,
            "conventions": {"macs": conventions.MACS, "params": conventions.PARAMS},
            "layers": [{"name": c.name, "change": c.kind, "a": c.old, "b": c.new}
                       for c in changes],
            "counts": {k: sum(c.kind == k for c in changes)
                       for k in ("same", "changed", "added", "removed")},
            "totals": totals}


def diff_table(a: Side, b: Side, changes: list[Change], show_all: bool) -> Table:
    cols = [Column("name", "layer"), Column("change", "change"),
            Column("shape_a", "output A", "shape"), Column("shape_b", "output B", "shape"),
            Column("params_a", "params A", "count"), Column("params_b", "params B", "count"),
            Column("params_d", "Δ params", "count"), Column("macs_a", "MACs A", "count"),
            Column("macs_b", "MACs B", "count"), Column("macs_d", "Δ MACs", "count")]
    rows = [_row(c) for c in changes if show_all or c.kind != "same"]
    pa, pb, ma, mb = a.total("params"), b.total("params"), a.total("macs"), b.total("macs")
    total = {"name": "total", "change": f"{len(rows)} shown", "params_a": pa, "params_b": pb,
             "params_d": pb - pa, "macs_a": ma, "macs_b": mb, "macs_d": mb - ma}
    counts = {k: sum(c.kind == k for c in changes) for k in ("changed", "added", "removed",
                                                              "same")}
    ratios = (f"params B/A = {_show_ratio(_ratio(pa, pb))} ({numbers.human(pa)} -> "
              f"{numbers.human(pb)}); MACs B/A = {_show_ratio(_ratio(ma, mb))} "
              f"({numbers.human(ma)} -> {numbers.human(mb)})")
    notes = [f"A = {a.label}, B = {b.label}: " + ", ".join(f"{n} {k}" for k, n in counts.items()),
             ratios, conventions.MACS]
    if not show_all and counts["same"]:
        notes.append(f"{counts['same']} unchanged layers not shown (--all shows them)")
    return Table(f"diff: {a.label} -> {b.label} (per image)", cols, rows, total, notes)


def _row(c: Change) -> dict[str, Any]:
    old, new = c.old or {}, c.new or {}
    row: dict[str, Any] = {"name": c.name, "change": c.kind,
                           "shape_a": _tuple(old.get("output_shape")),
                           "shape_b": _tuple(new.get("output_shape"))}
    for key in ("params", "macs"):
        va, vb = old.get(key), new.get(key)
        row[f"{key}_a"], row[f"{key}_b"] = va, vb
        row[f"{key}_d"] = (vb or 0) - (va or 0) if isinstance(va, int) or isinstance(vb, int) \
            else None
    return row


def _tuple(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def report_side(report: Report) -> Side:
    """A side already analysed (a module imported in memory: ``diff A --module T``)."""
    return Side(report.name, layer_snapshot(report))


def diff(a: str, b: str | Report) -> tuple[Side, Side, list[Change]]:
    if isinstance(b, str):
        sa, sb = load_sides(a, b)
    else:
        sb = report_side(b)
        sa = json_side(a, sb.label) if is_json_side(a) else spec_side(a)
    return sa, sb, match(sa.layers, sb.layers)
