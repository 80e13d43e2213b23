"""Fully connected layers, LeNet-5's RBF output, and maxout (which wraps a conv or linear)."""

from __future__ import annotations

from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape, fmt_shape
from cnnstat.core.rules.base import RULES, Cost, numel, positive, rule
from cnnstat.errors import DiagnosticSink, spec_error


def _flat(layer: Layer, x: Shape) -> int:
    if len(x) != 1:
        raise spec_error("E403", f"{layer.kind} '{layer.name}' needs a flat input, got "
                         f"{fmt_shape(x)}", layer.path, layer=layer.name,
                         hint="add 'flatten' (or 'global_avgpool' then 'flatten') before it" +
                         ("; or, over the channels of a map, 'permute' to channels-last and "
                          "'over: last'" if layer.kind == "linear" else ""))
    return x[0]


@rule("linear")
def linear(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """weights = N_in * N_out; bias = N_out; MACs = N_in * N_out.

    ``over: last``: applied to the last axis of any input, as nn.Linear is (ConvNeXt's Linear
    over the channels of a channels-last H x W x C map): each of the prod(leading axes) vectors
    costs N_in * N_out MACs and N_out bias adds; the weights are shared, so counted once."""
    last = layer.args.get("over") == "last"
    n_in, out = x[-1] if last else _flat(layer, x), layer.args["out"]
    positive(layer, "out", out)
    lead = numel(x[:-1])
    bias = out if layer.args["bias"] else 0
    over = f" over the last axis of {fmt_shape(x)}" if last and len(x) > 1 else ""
    return Cost(output=(*x[:-1], out),
                description=f"{out} neurons" + ("" if bias else ", no bias") + over,
                weights=n_in * out, bias=bias, macs=lead * n_in * out,
                ops={"bias": lead * out} if bias else {}, global_field=len(x) == 1)


@rule("rbf")
def rbf(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Euclidean RBF units: y_i = sum_j (x_j - w_ij)^2.  The centres w are fixed, so they are
    buffers, not trainable parameters; each term is a subtract and a square-accumulate (2 ops)."""
    n_in, out = _flat(layer, x), layer.args["out"]
    positive(layer, "out", out)
    return Cost(output=(out,), description=f"{out} Euclidean RBF units (fixed centres)",
                buffers=n_in * out, ops={"rbf": 2 * n_in * out}, global_field=True)


@rule("maxout")
def maxout(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """max over k pieces of a conv/linear: k times its weights, bias and MACs, plus (k-1)
    comparisons per output element."""
    inner: Layer = layer.args["layer"]
    pieces = layer.args["pieces"]
    positive(layer, "pieces", pieces, 2)
    if inner.kind not in ("conv", "linear"):
        raise spec_error("E406", f"maxout '{layer.name}' wraps a {inner.kind}; it must wrap a conv "
                         "or a linear layer", layer.arg_path("layer"), layer=layer.name)
    base = RULES[inner.kind](inner, x, sink)
    out_elems = 1
    for d in base.output:
        out_elems *= d
    ops = {k: v * pieces for k, v in base.ops.items()}
    ops["maxout"] = (pieces - 1) * out_elems
    return Cost(output=base.output, description=f"maxout of {pieces} x ({base.description})",
                weights=base.weights * pieces, bias=base.bias * pieces, macs=base.macs * pieces,
                ops=ops, windows=base.windows, global_field=base.global_field)
