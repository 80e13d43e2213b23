"""What ``cnnstat verify`` shows: analytic and live figures side by side with a mark per cell,
the first divergent layer, totals; and the JSON document.  Works on the plain results of
:mod:`cnnstat.torch_backend.verify.results` (no torch import here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnstat.core.counters import ALL_PRESETS
from cnnstat.render import escape, numbers
from cnnstat.render.jsonfmt import header
from cnnstat.render.table import Column, Table
from cnnstat.torch_backend.isolation import Captured
from cnnstat.torch_backend.verify import (
    FIGURES,
    Check,
    ConformanceResult,
    Operations,
    Pair,
    Side,
    VerifyResult,
)

if TYPE_CHECKING:  # rf_check imports torch; this module must not
    from cnnstat.torch_backend.live import FieldCheck

OK, BAD = "✓", "✗"
HEADERS = {"shape": "output", "params": "params", "buffers": "buffers",
           **{name: p.label for name, p in ALL_PRESETS.items()}}


def _fmt(value: Any) -> str:
    if value is None:
        return "(did not run)"
    if isinstance(value, tuple):
        return numbers.shape(value)
    return numbers.exact(value) if isinstance(value, int) else str(value)


def live_cell(check: Check) -> tuple[Any, bool]:
    """The live value and whether it matched (a 'check' cell: '1,728 ✓' or '1,700 ✗')."""
    return check.live, check.ok


def _figures(result: VerifyResult) -> list[str]:
    """Figures to show: buffers only where the network has any."""
    figs = list(result.figures)
    if all(lc.checks["buffers"].analytic == 0 == lc.checks["buffers"].live
           for lc in result.layers):
        figs.remove("buffers")
    return figs


def _priority(figure: str, first_counter: str | None) -> int:
    """How much a figure's column matters on a narrow terminal (see ``Column.priority``): params
    and the first counter stay longest, then the output shape, the other counters, buffers."""
    if figure in ("params", first_counter):
        return 1
    return {"shape": 2, "buffers": 4}.get(figure, 3)


def layer_table(result: VerifyResult) -> Table:
    figs = _figures(result)
    first = next((f for f in figs if f not in ("shape", "params", "buffers")), None)
    cols = [Column("name", "name"), Column("kind", "kind", priority=6)]
    for f in figs:  # a live value is left out before any analytic one; 'ok' keeps the verdict
        cols += [Column(f, HEADERS[f], "shape" if f == "shape" else "count",
                        _priority(f, first)),
                 Column(f"{f}_live", "live", "check", _priority(f, first) + 4)]
    cols.append(Column("ok", "ok"))
    rows = [{**_cells(lc.name, lc.kind, lc.checks, figs), "ok": _verdict(lc.checks)}
            for lc in result.layers]
    total = {**_cells("total", f"{len(result.layers)} operations", result.totals, figs),
             "ok": _verdict(result.totals)}
    title = (f"{result.spec}: analytic vs live PyTorch (input "
             f"{numbers.shape(result.input_shape)}, batch {result.batch}, {result.device})")
    return Table(title, cols, rows, total, _notes(result))


def _cells(name: str, kind: str, checks: dict[str, Check], figs: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "kind": kind}
    for f in (f for f in figs if f in checks):  # a tool without per-layer figures: totals only
        row[f] = checks[f].analytic
        row[f"{f}_live"] = live_cell(checks[f])
    return row


def _verdict(checks: dict[str, Check]) -> str:
    """'✓' when every figure agrees with the live one, else '✗' and the figures that do not."""
    bad = [HEADERS[f] for f, c in checks.items() if not c.ok]
    return OK if not bad else f"{BAD} " + ", ".join(bad)


def _notes(result: VerifyResult) -> list[str]:
    first = result.first_divergence
    if first is not None:
        parts = [f"{HEADERS[f]} {_fmt(first.checks[f].analytic)} vs live "
                 f"{_fmt(first.checks[f].live)}" for f in first.diverging()]
        verdict = f"{BAD} first divergent layer: {first.name} ({first.kind}): " + "; ".join(parts)
    elif not result.ok:
        bad = [f for f, c in result.totals.items() if not c.ok]
        verdict = f"{BAD} every layer agrees but the totals differ: " + ", ".join(bad)
    else:
        verdict = (f"{OK} all {len(result.layers)} operations agree: "
                   + ", ".join(HEADERS[f] for f in result.figures))
    env = ", ".join(f"{k} {v}" for k, v in result.environment.items())
    where = f"built on {result.device}" + ("; fvcore traced on cpu" if "fvcore" in
                                           result.counters and result.device != "cpu" else "")
    trained = ([f"training-only rows: measured in training mode at batch {result.training_batch} "
                "(batch norm in training needs more than one value per channel)"]
               if result.training_batch not in (0, result.batch) else [])
    return [verdict, *(ALL_PRESETS[c].convention for c in result.counters), *trained,
            f"live: {env}; {where}"]


def overview_table(results: list[VerifyResult]) -> Table:
    figs = [f for f in FIGURES if any(f in r.totals for r in results)]
    cols = [Column("spec", "spec"), Column("layers", "layers", "count", 2),
            *(Column(f, HEADERS[f], priority=1) for f in figs),
            Column("first", "first divergence")]
    rows = []
    for r in results:
        row: dict[str, Any] = {"spec": r.spec, "layers": len(r.layers)}
        for f in figs:
            bad = sum(1 for lc in r.layers if f in lc.checks and not lc.checks[f].ok)
            total_ok = f not in r.totals or r.totals[f].ok
            row[f] = OK if not bad and total_ok else f"{BAD} {bad} layers" if bad else \
                f"{BAD} total"
        first = r.first_divergence
        row["first"] = first.name if first else ("" if r.ok else "(totals)")
        rows.append(row)
    agree = sum(r.ok for r in results)
    notes = [f"{agree} of {len(results)} specs agree with live PyTorch on every figure",
             *(ALL_PRESETS[c].convention for c in results[0].counters)] if results else []
    return Table("cnnstat verify: analytic vs live PyTorch", cols, rows, None, notes)


def verify_json(results: list[VerifyResult]) -> dict[str, Any]:
    counters = results[0].counters if results else ()
    return {**header("verify"), "ok": all(r.ok for r in results),
            "conventions": {c: ALL_PRESETS[c].convention for c in counters},
            "results": [result_json(r) for r in results]}


def result_json(r: VerifyResult) -> dict[str, Any]:
    first = r.first_divergence
    return {"spec": r.spec, "title": r.title, "input_shape": list(r.input_shape),
            "batch": r.batch, "device": r.device, "counters": list(r.counters), "ok": r.ok,
            "first_divergence": first.name if first else None,
            "layers": [{"name": lc.name, "kind": lc.kind, "description": lc.description,
                        "ok": lc.ok, "checks": {k: c.to_json() for k, c in lc.checks.items()}}
                       for lc in r.layers],
            "totals": {k: c.to_json() for k, c in r.totals.items()},
            "environment": r.environment,
            **({"training_batch": r.training_batch}
               if r.training_batch not in (0, r.batch) else {})}


# -- conformance (--module) ---------------------------------------------------------------------

def conformance_table(result: ConformanceResult) -> Table:
    cols = [Column("index", "#", "count", 5), Column("spec", "spec layer"),
            Column("kind", "kind", priority=4), Column("spec_shape", "output", "shape", 2),
            Column("spec_params", "params", "count", 1), Column("impl", "module", priority=1),
            Column("type", "type", priority=4), Column("impl_shape", "output", "shape", 3),
            Column("impl_params", "params", "count", 2), Column("mark", "ok")]
    rows = [_pair_cells(i + 1, p) for i, p in enumerate(result.pairs)]
    t = result.totals
    total = {"spec": "total", "spec_shape": t["shape"].analytic,
             "spec_params": t["params"].analytic, "impl_shape": t["shape"].live,
             "impl_params": t["params"].live,
             "mark": OK if all(c.ok for c in t.values()) else BAD}
    title = (f"{result.spec} vs {result.module}: leaf layers in execution order (input "
             f"{numbers.shape(result.input_shape)})")
    return Table(title, cols, rows, total, conformance_notes(result))


def _pair_cells(index: int, pair: Pair) -> dict[str, Any]:
    row: dict[str, Any] = {"index": index, "mark": OK if pair.ok else
                           f"{BAD} " + ", ".join(pair.problems)}
    if pair.spec:
        row.update(spec=pair.spec.name, kind=pair.spec.kind, spec_shape=pair.spec.shape,
                   spec_params=pair.spec.params)
    if pair.impl:
        row.update(impl=pair.impl.name, type=pair.impl.kind, impl_shape=pair.impl.shape,
                   impl_params=pair.impl.params)
    return row


def _side(side: Side | None) -> str:
    if side is None:
        return "nothing"
    shape = numbers.shape(side.shape) if side.shape is not None else "?"
    return (f"'{side.name}' ({side.kind}, output {shape}, {numbers.exact(side.params)} params, "
            f"{numbers.exact(side.flops)} FLOPs)")


def conformance_notes(result: ConformanceResult) -> list[str]:
    d, ops = result.divergence, result.operations
    totals_ok = all(c.ok for c in result.totals.values())
    if d is not None:
        verdict = (f"{BAD} first divergence ({', '.join(d.problems)}): spec {_side(d.spec)} vs "
                   f"module {_side(d.impl)}")
    elif not totals_ok:
        bad = ", ".join(f"{k} {_fmt(c.analytic)} vs {_fmt(c.live)}"
                        for k, c in result.totals.items() if not c.ok)
        verdict = f"{BAD} every matched layer agrees but the totals differ: {bad}"
    elif not ops.ok:
        verdict = f"{BAD} the operations differ: {ops.difference()}"
    else:
        verdict = (f"{OK} {len(result.pairs)} layers match the spec in order, and every "
                   f"operation: {_census(ops)}")
    notes = [verdict]
    if not ops.ok and (d is not None or not totals_ok):
        notes.append(f"the operations differ too: {ops.difference()}")
    if result.skipped_spec:
        notes.append(f"spec layers with no module of their own (done functionally): "
                     f"{len(result.skipped_spec)} ({', '.join(result.skipped_spec[:6])}"
                     f"{', ...' if len(result.skipped_spec) > 6 else ''})")
    if result.skipped_impl:
        notes.append(f"parameter-free modules paired with no spec layer: "
                     f"{len(result.skipped_impl)} ({', '.join(result.skipped_impl[:6])}"
                     f"{', ...' if len(result.skipped_impl) > 6 else ''}); the census counts "
                     "their operations")
    return notes


def _census(ops: Operations) -> str:
    """'conv 2, batch_norm 1, relu 1': the module's operations per category."""
    return ", ".join(f"{cat} {numbers.exact(n)}" for cat, _, n in ops.counts) or "none"


def module_output(target: str, stream: str, output: Captured, command: str = "verify") -> str:
    """What the user's module printed to ``stream`` (shown on stderr), each line marked, control
    characters escaped, the middle of a long output left out."""
    text = escape.captured(output.head, output.tail, output.left_out).rstrip("\n")
    lines = "\n".join(f"  | {line}" for line in text.split("\n"))
    return (f"cnnstat: {command}: {escape.escape_controls(target)} wrote to its "
            f"{stream}:\n{lines}")


def conformance_json(result: ConformanceResult) -> dict[str, Any]:
    d = result.divergence
    return {**header("verify"), "ok": result.ok, "spec": result.spec, "module": result.module,
            "input_shape": list(result.input_shape),
            "divergence": _pair_json(d) if d else None,
            "pairs": [_pair_json(p) for p in result.pairs],
            "skipped_spec_layers": list(result.skipped_spec),
            "skipped_modules": list(result.skipped_impl),
            "operations": result.operations.to_json(),
            "totals": {k: c.to_json() for k, c in result.totals.items()}}


def _pair_json(p: Pair) -> dict[str, Any]:
    return {"spec": p.spec.to_json() if p.spec else None,
            "module": p.impl.to_json() if p.impl else None, "ok": p.ok,
            "problems": list(p.problems)}


def _span(span: Any) -> str:
    return "-" if span is None else f"{span[0]}..{span[1]}"


def field_check_table(checks: list[FieldCheck]) -> Table:
    """Per probed unit: the rows/columns the analysis says it reads, and the live support."""
    cols = [Column("spec", "spec"), Column("layer", "layer"), Column("unit", "unit"),
            Column("analytic", "analytic rows, cols"), Column("live", "live rows, cols"),
            Column("field", "analytic field (unclipped)", priority=2), Column("mark", "ok")]
    rows = [{"spec": c.spec, "layer": c.layer, "unit": f"{u.unit[0]},{u.unit[1]}",
             "analytic": f"{_span(u.analytic[0])}, {_span(u.analytic[1])}",
             "live": f"{_span(u.live[0])}, {_span(u.live[1])}",
             "field": f"{_span(u.field[0])}, {_span(u.field[1])}", "mark": OK if u.ok else BAD}
            for c in checks for u in c.units]
    notes = ["live: bounding rows and columns of the input pixels with a non-zero gradient for "
             "the unit (summed over channels), in a float64 copy with positive weights, identity "
             "activations and average pooling, so no gradient cancels; it must equal the "
             "analytic rows and lie inside the unclipped field"]
    return Table("receptive field, live", cols, rows, None, notes)


def field_check_json(check: FieldCheck) -> dict[str, Any]:
    return {"spec": check.spec, "layer": check.layer, "ok": check.ok,
            "units": [{"unit": list(u.unit), "ok": u.ok,
                       "analytic": [list(s) if s else None for s in u.analytic],
                       "live": [list(s) if s else None for s in u.live],
                       "field": [list(s) for s in u.field]} for u in check.units]}
