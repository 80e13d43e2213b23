"""cnnstat explain: one layer's numbers with the formulas worked out.

``cnnstat explain conv --input 3x32x32 --filters 10 --kernel 5 --stride 1 --pad 2`` writes a
one-layer spec, analyses it with the core and prints the arithmetic; ``cnnstat explain SPEC
--layer NAME`` does the same for a layer of a spec, and ``cnnstat explain SPEC`` for every
block.  ``--input`` is C x H x W, as for every command, or N features for a linear layer; the
worked lines write volumes H x W x C, as the lecture does (labelled so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
import yaml

from cnnstat import analysis
from cnnstat.cli.options import (color_option, depth_option, format_option, input_option,
                                 parse_value, set_option)
from cnnstat.cli.output import analysed, chosen_columns, emit, report_diagnostics, write_text
from cnnstat.core.ir import Layer, iter_layers
from cnnstat.core.report import Report, Row, Shape
from cnnstat.core.rollup import Block, blocks, max_depth
from cnnstat.core.rules import RULES
from cnnstat.errors import UsageError
from cnnstat.spec import loader
from cnnstat.spec.models import LAYER_ARGS
from cnnstat.spec.validate import suggest

if TYPE_CHECKING:  # the explanation code loads only when explain runs
    from cnnstat.views.explain import Explanation
    from cnnstat.views.explain_table import Section

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


def _signature(block: Block, layers: dict[str, Layer]) -> tuple[Any, ...]:
    """What makes two blocks' worked lines the same: each layer's place in the block, kind,
    arguments, description and shapes."""
    cut = len(block.name) + 1
    return tuple((r.name[cut:], r.kind, r.description,
                  r.input_shape, r.output_shape,
                  repr(sorted(layers[r.name].args.items())) if r.name in layers else "")
                 for r in block.members)


def _distinct(blocks_: list[Block], layers: dict[str, Layer]) -> dict[str, str]:
    """Block name -> the earlier block it repeats (same signature); a layer alone is never
    referred to another (it is its own explanation)."""
    first: dict[tuple[Any, ...], str] = {}
    out = {}
    for b in blocks_:
        if b.single:
            continue
        sig = _signature(b, layers)
        if sig in first:
            out[b.name] = first[sig]
        else:
            first[sig] = b.name
    return out


def block_depth(report: Report, layers: dict[str, Layer]) -> int:
    """The depth whose blocks leave the fewest layers to explain once repeated blocks are
    explained once (the shallowest of equals): resnet50's bottlenecks (depth 2), vgg16's stages
    (depth 1)."""
    deepest = max_depth(report.rows)
    best, fewest = 1, len(report.rows) + 1
    for depth in range(1, max(2, deepest)):
        parts = blocks(report.rows, depth)
        repeats = _distinct(parts, layers)
        left = sum(len(b.members) for b in parts if b.name not in repeats)
        if left < fewest:
            best, fewest = depth, left
    return best


def explain_blocks(report: Report, depth: int | None,
                   every: bool) -> tuple[list[Section], int]:
    """The spec explained block by block at ``depth`` (default :func:`block_depth`): every
    layer of a distinct block, one heading per block, a repeated block as a reference to the
    first of its kind (``every``: each layer of each block)."""
    from cnnstat.views.explain import explain
    from cnnstat.views.explain_table import Section

    layers = {layer.name: layer for layer in iter_layers(report.graph)}
    depth = block_depth(report, layers) if depth is None else depth
    parts = blocks(report.rows, depth)
    repeats = {} if every else _distinct(parts, layers)
    index = {r.name: i for i, r in enumerate(report.rows)}
    sections = []
    for b in parts:
        if b.name in repeats:
            sections.append(Section(b, [], repeats[b.name]))
            continue
        sections.append(Section(b, [explain(layers.get(r.name), r,
                                            _flat_source(report, index[r.name]))
                                    for r in b.members]))
    return sections, depth


def _explain_kind(kind: str, opts: dict[str, Any]) -> list[Explanation]:
    from cnnstat.views.explain import explain

    shape = opts.get("input_shape")
    if shape is None or len(shape) == 2:
        raise UsageError(f"explain {kind} needs --input CxHxW (or N features)",
                         "e.g. --input 3x32x32")
    text, flat = one_layer_spec(kind, shape, opts)
    loaded = loader.load_text(text, f"<explain {kind}>")
    report = analysis.analyze_loaded(loaded)
    report_diagnostics(list(report.diagnostics), loaded.source)
    layer: Layer = iter_layers(report.graph)[-1]
    row: Row = report.rows[-1]
    return [explain(layer, row, flat)]


@click.command(name="explain")
@click.argument("target")
@click.option("--layer", "layer_name", metavar="NAME", help="Explain this layer of the spec.")
@input_option
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
@click.option("--all", "every", is_flag=True,
              help="SPEC: every layer of every block (default: a repeated block is explained "
              "once and referred to after).")
@depth_option("SPEC: blocks at N parts of the layer names, one heading each (default: the depth "
              "that explains the fewest layers once repeats are referred to).")
@set_option
@format_option(help="table prints the worked lines; json/csv/markdown for programs and docs.")
@color_option
def explain_command(target: str, **opts: Any) -> None:
    """One layer's numbers with the formulas worked out (TARGET: a layer kind or a SPEC).

    \b
    cnnstat explain conv --input 3x32x32 --filters 10 --kernel 5 --stride 1 --pad 2
    cnnstat explain maxpool --input 1x7x7 --kernel 3 --stride 2
    cnnstat explain linear --input 3x200x200 --out 1000
    cnnstat explain alexnet --layer conv1
    cnnstat explain resnet50               # block by block, a repeated block once
    cnnstat explain resnet50 --all         # every layer
    """
    sections: list[Section] = []
    depth = opts["depth"]
    if target in RULES and opts["layer_name"] is None:
        explanations = _explain_kind(target, opts)
    else:
        report = analysed(target, opts["input_shape"], 1, opts["overrides"]).report
        if opts["layer_name"] is not None:
            explanations = explain_spec(report, opts["layer_name"])
        else:
            sections, depth = explain_blocks(report, depth, opts["every"])
            explanations = [ex for sec in sections for ex in sec.explanations]
    from cnnstat.views import explain_table as explain_view

    if opts["fmt"] == "table":
        if chosen_columns() is not None:
            raise UsageError("--columns chooses the columns of the csv and markdown tables; the "
                             "worked lines have none", "add --format csv or --format markdown")
        write_text(explain_view.text(sections or explanations))
    else:
        emit(opts["fmt"], opts["color"],
             lambda: explain_view.document(explanations, sections, depth),
             lambda: explain_view.tables(explanations))
