"""receptive-field: per-layer receptive fields, one unit mapped back, or the zoo overview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from cnnstat import analysis, zoo
from cnnstat.analysis import cache
from cnnstat.analysis.pipeline import SpecArg
from cnnstat.cli.options import data_options, module_options, parse_unit
from cnnstat.cli.output import echo_err, emit, imported, report_diagnostics
from cnnstat.core.receptive import FieldReport, receptive_fields
from cnnstat.core.report import Report, Shape
from cnnstat.errors import Diagnostic, SpecError, UsageError
from cnnstat.render import numbers
from cnnstat.spec.positions import SourceMap
from cnnstat.views import receptive as rv


@dataclass(frozen=True)
class _Analysed:
    report: Report
    fields: FieldReport | None  # None for a flat input
    diagnostics: list[Diagnostic]
    source: SourceMap | None


def _analyse(spec: SpecArg, input_shape: Shape | None, overrides: dict[str, object]) -> _Analysed:
    """Analyse ``spec`` and its fields; the diagnostics are returned, not printed."""
    loaded = analysis.load(spec, input=input_shape, set=overrides)
    report = analysis.analyze_loaded(loaded)
    fields, diagnostics = _fields(report, loaded.source)
    return _Analysed(report, fields, diagnostics, loaded.source)


def _fields(report: Report, source: SourceMap | None) -> tuple[FieldReport | None,
                                                               list[Diagnostic]]:
    """The report's receptive fields (None for a flat input) and every diagnostic, the
    report's and the fields'; a SpecError from the fields is located in ``source``."""
    try:
        fields = receptive_fields(report) if len(report.input_shape) == 3 else None
    except SpecError as exc:
        exc.source = source
        raise
    extra = fields.diagnostics if fields is not None else ()
    return fields, [*report.diagnostics, *extra]


def analysed_fields(spec: SpecArg, input_shape: Shape | None,
            overrides: dict[str, object]) -> tuple[Report, FieldReport | None]:
    """Analyse ``spec`` and its fields (None for a flat input); diagnostics go to stderr."""
    done = _analyse(spec, input_shape, overrides)
    report_diagnostics(done.diagnostics, done.source)
    return done.report, done.fields


ZOO_PART = "rf-zoo"  # the cache part beside a built-in spec's entry: its zoo overview row


def _zoo_entry(name: str, input_shape: Shape | None,
               overrides: dict[str, object]) -> dict[str, Any]:
    """A built-in spec's row of the overview (:func:`rv.zoo_entry`), from the cache when this
    spec, code and arguments were seen before (the exact per-unit fields of 111 networks take
    seconds; the row is a few values)."""
    result = analysis.run(name, input=input_shape, set=overrides)
    if result.key is not None:
        hit = cache.get_part(result.key, ZOO_PART)
        if isinstance(hit, dict) and _is_entry(hit, result.brief.name):
            return hit
    report = result.report
    fields, diagnostics = _fields(report, result.source)
    entry = rv.zoo_entry(report, fields, diagnostics, result.source)
    if result.key is not None:
        cache.put_part(result.key, ZOO_PART, entry)
    return entry


def _is_entry(hit: dict[str, Any], name: str) -> bool:
    """Whether a cached value is a zoo entry of ``name`` (the cache's caller checks what it
    gets: a value of another shape is computed afresh)."""
    shapes = (hit.get("input"), *([hit["output"]] if hit.get("output") is not None else []))
    basic = (hit.get("name") == name and isinstance(hit.get("layer"), (str, type(None)))
             and all(isinstance(s, tuple) and all(isinstance(d, int) for d in s)
                     for s in shapes)
             and isinstance(hit.get("diagnostics"), tuple)
             and all(isinstance(d, Diagnostic) for d in hit["diagnostics"])
             and isinstance(hit.get("where"), tuple)
             and len(hit["where"]) == len(hit["diagnostics"]))
    if not basic or "rf" not in hit:
        return basic and "h" not in hit
    return (all(isinstance(hit.get(k), str) for k in ("rf", "jump", "start", "pad", "whole"))
            and all(isinstance(hit.get(k), dict) for k in ("h", "w"))
            and isinstance(hit.get("covers"), tuple) and len(hit["covers"]) == 2)


def _zoo(input_shape: Shape | None, overrides: dict[str, object], verbose: bool, fmt: str,
         color: str) -> None:
    """Every built-in spec's field at its last spatial layer; their diagnostics summarised on
    stderr (a line per severity, by code, spelt out), or with ``verbose`` each distinct one
    once."""
    rows = [_zoo_entry(name, input_shape, overrides) for name in zoo.names()]
    findings = rv.zoo_findings(rows)
    for line in (rv.zoo_details if verbose else rv.zoo_summary)(findings):
        echo_err(line)
    emit(fmt, color, lambda: rv.zoo_json(rows), lambda: [rv.zoo_table(rows)])


@click.command(name="receptive-field")
@click.argument("spec", required=False)
@module_options
@click.option("--layer", metavar="NAME",
              help="The layer whose unit --unit maps (default: the last spatial layer).")
@click.option("--unit", metavar="ROW,COL",
              help="Map this output unit back to the input region it sees.")
@click.option("--verbose", "-v", is_flag=True,
              help="Without SPEC: list every note and warning of the built-in specs (each "
              "once) instead of a count by code.")
@data_options
def receptive_field(spec: str | None, module: str | None, factory_kwargs: str,
                    timeout: float | None, layer: str | None, unit: str | None, verbose: bool,
                    fmt: str, input_shape: Shape | None, batch: int,
                    overrides: dict[str, object], color: str) -> None:
    """Receptive field size r, jump j and start per layer and axis (exact).

    With --unit ROW,COL: the input rows and columns one output unit sees.  Without SPEC: the
    field at the last spatial layer of every built-in network, its notes counted by code
    (--verbose lists them).  With --module MODULE:FACTORY and --input: that module, imported in
    memory.  (--batch has no effect here.)
    """
    if module is not None:
        if spec is not None:
            raise UsageError(f"give a SPEC or --module, not both (got {spec!r} and --module)")
    source: SpecArg | None = spec if module is None else \
        imported(str(module), factory_kwargs, timeout, input_shape, 1, overrides).loaded
    if source is None:
        if layer or unit:
            raise UsageError("--layer and --unit need a SPEC")
        _zoo(input_shape, overrides, verbose, fmt, color)
        return
    if layer is not None and unit is None:
        raise UsageError("--layer picks the layer for --unit; give --unit ROW,COL too")
    report, fields = analysed_fields(source, input_shape, overrides)
    if fields is None:
        raise UsageError(f"{report.name}: receptive fields need a C x H x W input, got "
                         f"{numbers.shape(report.input_shape)}")
    if unit is None:
        emit(fmt, color, lambda: rv.fields_json(report, fields),
             lambda: [rv.fields_table(report, fields)])
        return
    target = rv.chosen_layer(fields, layer)
    try:
        region = target.region(parse_unit(unit), fields.input_size)
    except IndexError as exc:
        raise UsageError(f"--unit {unit}: {exc} of '{target.row.name}' "
                         f"({numbers.shape(target.row.output_shape)})") from None
    emit(fmt, color, lambda: rv.unit_json(report, region, fields),
         lambda: [rv.unit_table(report, region)])
