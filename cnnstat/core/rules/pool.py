"""Pooling: max and average (with ceil_mode and padding), adaptive max and average pooling,
global average pooling, and LeNet-5's trainable subsampling.  Pooling has no parameters except
LeNet's S-layers.

Element-wise convention: one op per window element per output element (the compares of a max,
the adds of an average), counted under the op's name (``maxpool`` or ``avgpool``) whether the
windows slide or adapt.  An adaptive pool's windows are PyTorch's, [floor(i*W/O),
ceil((i+1)*W/O)), so its ops are the summed window areas."""

from __future__ import annotations

import dataclasses

from cnnstat.core.geometry import Window, adaptive_span, effective_extent
from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape
from cnnstat.core.rules.base import (
    Cost,
    fmt_pair,
    fmt_scalar_pair,
    positive,
    positive_pair,
    rule,
    spatial,
)
from cnnstat.core.rules.windowed import slide
from cnnstat.errors import DiagnosticSink, spec_error


def pool_windows(layer: Layer) -> tuple[Window, Window]:
    kernel = positive_pair(layer, "kernel")
    stride = layer.args.get("stride") or kernel
    if layer.args.get("stride"):
        positive_pair(layer, "stride")
    padding = layer.args.get("padding", (0, 0))
    dilation = layer.args.get("dilation", (1, 1))
    wins = []
    for axis in range(2):
        extent = effective_extent(kernel[axis], dilation[axis])
        positive(layer, "padding", padding[axis], 0)
        if 2 * padding[axis] > kernel[axis]:  # PyTorch's rule, on the undilated kernel
            raise spec_error("E406", f"{layer.kind} '{layer.name}': padding {padding[axis]} is more "
                             f"than half the kernel {kernel[axis]}", layer.arg_path("padding"),
                             layer=layer.name, hint="PyTorch allows at most kernel // 2")
        wins.append(Window(extent, stride[axis], padding[axis], padding[axis], dilation[axis]))
    return wins[0], wins[1]


def _describe(kind: str, layer: Layer, wins: tuple[Window, Window]) -> str:
    k = fmt_pair(layer.args["kernel"])
    s = fmt_scalar_pair((wins[0].stride, wins[1].stride))
    pad = wins[0].pad_left, wins[1].pad_left
    extra = "" if pad == (0, 0) else f", pad {fmt_scalar_pair(pad)}"
    extra += ", ceil mode" if layer.args.get("ceil_mode") else ""
    return f"{k} {kind} at stride {s}{extra}"


def _pool(layer: Layer, x: Shape, sink: DiagnosticSink, kind: str) -> Cost:
    c, h, w = spatial(layer, x)
    wins = pool_windows(layer)
    h2, w2 = slide(layer, (h, w), wins, sink, bool(layer.args.get("ceil_mode")))
    kh, kw = layer.args["kernel"]
    return Cost(output=(c, h2, w2), description=_describe(kind, layer, wins),
                ops={layer.kind: c * h2 * w2 * kh * kw}, windows=wins)


@rule("maxpool")
def maxpool(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Output W2 = (W1 - F + 2P)/S + 1 per axis (the lecture's pooling formula with padding)."""
    return _pool(layer, x, sink, "max pool")


@rule("avgpool")
def avgpool(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """As max pooling; one add per window element."""
    cost = _pool(layer, x, sink, "avg pool")
    assert cost.windows is not None  # _pool always slides windows
    counts_pad = bool(layer.args["count_include_pad"])
    h, w = (dataclasses.replace(win, counts_pad=counts_pad) for win in cost.windows)
    return dataclasses.replace(cost, windows=(h, w))


@rule("subsample")
def subsample(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """LeNet-5 S-layer: average of each window times a trainable coefficient plus a trainable bias
    per channel: weights = C, bias = C."""
    cost = _pool(layer, x, sink, "subsampling")
    c = x[0]
    return Cost(output=cost.output, description=cost.description + ", trainable scale and bias",
                weights=c, bias=c, ops={"subsample": cost.ops["subsample"] + 2 * c *
                                        cost.output[1] * cost.output[2]},
                windows=cost.windows)


def _adaptive(layer: Layer, x: Shape, out_hw: tuple[int, int], desc: str,
              op: str = "avgpool") -> Cost:
    c, h, w = spatial(layer, x)
    oh, ow = out_hw
    rows, cols = adaptive_span(h, oh), adaptive_span(w, ow)
    return Cost(output=(c, oh, ow), description=desc, ops={op: c * rows * cols},
                global_field=(oh, ow) == (1, 1))


@rule("adaptive_avgpool")
def adaptive_avgpool(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """PyTorch's adaptive average pooling to a fixed output size; ops = summed window areas."""
    size = positive_pair(layer, "size")
    return _adaptive(layer, x, size, f"adaptive avg pool to {fmt_pair(size)}")


@rule("adaptive_maxpool")
def adaptive_maxpool(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """PyTorch's adaptive max pooling to a fixed output size: output C x O_h x O_w, no
    parameters, no MACs; ops (``maxpool``) = one compare per window element per output, the
    summed window areas C * (H + O_h - gcd(H, O_h)) * (W + O_w - gcd(W, O_w)), as max pooling
    counts k_h * k_w per output."""
    size = positive_pair(layer, "size")
    return _adaptive(layer, x, size, f"adaptive max pool to {fmt_pair(size)}", "maxpool")


@rule("global_avgpool")
def global_avgpool(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Average over the whole H x W: output C x 1 x 1; ops = C * H * W."""
    return _adaptive(layer, x, (1, 1), "global avg pool")


@rule("mean")
def mean(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """x.mean([2, 3]): the mean over the whole H x W, output C (C x 1 x 1 with ``keepdim``);
    ops = C * H * W, as global average pooling.  A kind of its own because the tools count it
    differently: aten::mean has no fvcore handle, aten::adaptive_avg_pool2d has."""
    c, h, w = spatial(layer, x)
    keep = bool(layer.args["keepdim"])
    return Cost(output=(c, 1, 1) if keep else (c,), description="mean over H x W" +
                (", keepdim" if keep else ""), ops={"mean": c * h * w}, global_field=True)
