"""cnnstat explain: one layer's numbers with the formulas worked out.

``cnnstat explain conv --input 32x32x3 --filters 10 --kernel 5 --stride 1 --pad 2`` writes a
one-layer spec, analyses it with the core and prints the arithmetic; ``cnnstat explain SPEC
--layer NAME`` does the same for a layer of a spec.  ``--input`` is H x W x C here, as the
lecture writes volumes (32x32x3), or N features for a linear layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
import yaml

from cnnstat import analysis
from cnnstat.cli.options import (color_option, format_option, parse_hwc, parse_value,
                                 set_option)
from cnnstat.cli.output import analysed, emit, report_diagnostics, write_text
from cnnstat.core.ir import Layer, iter_layers
from cnnstat.core.report import Report, Row, Shape
from cnnstat.core.rules import RULES
from cnnstat.errors import UsageError
from cnnstat.spec import loader
from cnnstat.spec.models import LAYER_ARGS
from cnnstat.spec.validate import suggest

if TYPE_CHECKING:  # the explanation code loads only when explain runs
    from cnnstat.views.explain import Explanation

# option -> spec argument; the last group goes inside maxout's wrapped layer
OPTIONS = {"filters": "out", "kernel": "kernel", "stride": "stride", "pad": "padding",
           "dilation": "dilation", "groups": "groups", "bias": "bias", "ceil_mode": "ceil_mode",
           "shared": "shared", "pieces": "pieces"}
FLAGS = {"filters": "--filters/--out", "kernel": "--kernel", "stride": "--stride",
         "pad": "--pad", "dilation": "--dilation", "groups": "--groups", "bias": "--no-bias",
         "ceil_mode": "--ceil-mode", "shared": "--shared", "pieces": "--pieces"}
WRAPPED = {"out", "kernel", "stride", "padding", "dilation", "groups", "bias"}


def _size(text: str) -> Any:
    """'5' -> 5, '3x1' -> [3, 1], 'same' / 'valid' kept."""
    if text in ("same", "valid"):
        return text
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise UsageError(f"expected a size such as 3 or 3x1, got {text!r}") from None
    return parts[0] if len(parts) == 1 else parts


def _given(opts: dict[str, Any]) -> dict[str, Any]:
    """Spec arguments from the options the user gave (flags only when set)."""
    out: dict[str, Any] = {}
    for opt, arg in OPTIONS.items():
        v = opts.get(opt)
        if v is None or (opt in ("ceil_mode", "shared") and not v):
            continue
        out[arg] = _size(v) if opt in ("kernel", "stride", "pad", "dilation") else v
    for item in opts.get("extra") or ():
        key, sep, val = item.partition("=")
        if not sep:
            raise UsageError(f"--arg {item!r}: expected KEY=VALUE", "e.g. --arg slope=0.1")
        out[key.strip()] = parse_value("--arg", item, val)
    return out


def _check_args(kind: str, args: dict[str, Any]) -> None:
    fields = {k: f for k, f in LAYER_ARGS[kind].model_fields.items() if k not in ("name", "if_")}
    names = {arg: FLAGS[opt] for opt, arg in OPTIONS.items()}
    for arg in args:
        if arg not in fields:
            takes = ", ".join(names.get(a, f"--arg {a}=...") for a in fields) or "no options"
            flag = names.get(arg, f"--arg {arg}")
            raise UsageError(f"{flag} does not apply to {kind}", f"{kind} takes: {takes}")
    missing = [names.get(a, a) for a, f in fields.items() if f.is_required() and a not in args]
    if missing:
        raise UsageError(f"explain {kind} needs " + ", ".join(missing))


def one_layer_spec(kind: str, shape: Shape, opts: dict[str, Any]) -> tuple[str, Shape | None]:
    """The YAML text of a one-layer spec (a flatten first when a linear layer gets a volume)."""
    args = _given(opts)
    item: Any = {kind: args} if args else kind
    flat_first = False
    if kind == "maxout":
        inner_kind = opts.get("wrapped") or ("conv" if len(shape) == 3 else "linear")
        inner = {k: args.pop(k) for k in list(args) if k in WRAPPED}
        _check_args(inner_kind, inner)
        _check_args(kind, {**args, "layer": None})
        item = {kind: {**args, "layer": {inner_kind: inner}}}
        flat_first = inner_kind == "linear" and len(shape) == 3
    else:
        _check_args(kind, args)
        flat_first = kind == "linear" and len(shape) == 3
    spec = {"name": "explain", "title": f"one {kind} layer", "input": list(shape),
            "layers": (["flatten"] if flat_first else []) + [item]}
    return yaml.safe_dump(spec, sort_keys=False), (shape if flat_first else None)


def _flat_source(report: Report, index: int) -> Shape | None:
    """The volume a linear layer's features were flattened from (through dropout and the like)."""
    row = report.rows[index]
    if row.kind not in ("linear", "maxout") or len(row.input_shape) != 1:
        return None
    for prev in reversed(report.rows[:index]):
        if prev.output_shape != row.input_shape:
            return None
        if prev.kind == "flatten":
            return prev.input_shape
    return None


def explain_spec(report: Report, layer_name: str | None) -> list[Explanation]:
    from cnnstat.views.explain import explain

    layers = {layer.name: layer for layer in iter_layers(report.graph)}
    names = [r.name for r in report.rows]
    if layer_name is not None and layer_name not in names:
        raise UsageError(f"{report.name} has no layer '{layer_name}'",
                         suggest(layer_name, names, n=3) or "cnnstat summary lists the layers")
    return [explain(layers.get(r.name), r, _flat_source(report, i))
            for i, r in enumerate(report.rows) if layer_name in (None, r.name)]


def _explain_kind(kind: str, opts: dict[str, Any]) -> list[Explanation]:
    from cnnstat.views.explain import explain

    if opts.get("input_hwc") is None:
        raise UsageError(f"explain {kind} needs --input HxWxC", "e.g. --input 32x32x3")
    text, flat = one_layer_spec(kind, parse_hwc(opts["input_hwc"]), opts)
    loaded = loader.load_text(text, f"<explain {kind}>")
    report = analysis.analyze_loaded(loaded)
    report_diagnostics(list(report.diagnostics), loaded.source)
    layer: Layer = iter_layers(report.graph)[-1]
    row: Row = report.rows[-1]
    return [explain(layer, row, flat)]


@click.command(name="explain")
@click.argument("target")
@click.option("--layer", "layer_name", metavar="NAME", help="Explain this layer of the spec.")
@click.option("--input", "input_hwc", metavar="HxWxC",
              help="Input volume H x W x C as the lecture writes it (32x32x3), or N features.")
@click.option("--filters", "--out", "filters", type=int, help="K: filters (conv) or neurons.")
@click.option("--kernel", metavar="F", help="Filter size F, or FhxFw (3x1).")
@click.option("--stride", metavar="S", help="Stride S (or ShxSw).")
@click.option("--pad", metavar="P", help="Zero padding P (or PhxPw, same, valid).")
@click.option("--dilation", metavar="D", help="Dilation (conv, max pool).")
@click.option("--groups", type=int, help="Groups (conv); the input depth for depthwise.")
@click.option("--bias/--no-bias", default=None, help="Whether the layer has biases.")
@click.option("--ceil-mode", is_flag=True, help="Pooling: round the output size up.")
@click.option("--shared", is_flag=True, help="PReLU: one shared slope instead of one per channel.")
@click.option("--pieces", type=int, metavar="K", help="Maxout: number of pieces k.")
@click.option("--of", "wrapped", type=click.Choice(["conv", "linear"]),
              help="Maxout: the wrapped layer (default conv on a volume, linear on features).")
@click.option("--arg", "extra", multiple=True, metavar="KEY=VALUE",
              help="Any other layer argument (slope=0.1, size=5, ...).")
@set_option
@format_option(help="table prints the worked lines; json/csv/markdown for programs and docs.")
@color_option
def explain_command(target: str, **opts: Any) -> None:
    """One layer's numbers with the formulas worked out (TARGET: a layer kind or a SPEC).

    \b
    cnnstat explain conv --input 32x32x3 --filters 10 --kernel 5 --stride 1 --pad 2
    cnnstat explain maxpool --input 7x7x1 --kernel 3 --stride 2
    cnnstat explain linear --input 200x200x3 --out 1000
    cnnstat explain alexnet --layer conv1
    """
    if target in RULES and opts["layer_name"] is None:
        explanations = _explain_kind(target, opts)
    else:
        shape = parse_hwc(opts["input_hwc"]) if opts["input_hwc"] is not None else None
        report = analysed(target, shape, 1, opts["overrides"]).report
        explanations = explain_spec(report, opts["layer_name"])
    from cnnstat.views import explain_table as explain_view

    if opts["fmt"] == "table":
        write_text(explain_view.text(explanations))
    else:
        emit(opts["fmt"], opts["color"], lambda: explain_view.document(explanations),
             lambda: explain_view.tables(explanations))
