"""Convolution: 2-D, with stride, padding ('same' too), dilation, groups, optional bias, and
LeNet-5's sparse connection tables."""

from __future__ import annotations

from cnnstat.core.geometry import Window, effective_extent, same_padding
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


def conv_windows(layer: Layer, size: tuple[int, int]) -> tuple[Window, Window]:
    """The window per axis over an H x W input: 'same' pads as TensorFlow does at any stride
    (asymmetric when the total is odd); a padding per axis is P (both sides) or [before, after]."""
    kernel = positive_pair(layer, "kernel")
    stride = positive_pair(layer, "stride")
    dilation = positive_pair(layer, "dilation")
    padding = layer.args["padding"]
    wins = []
    for axis in range(2):
        k, s, d = kernel[axis], stride[axis], dilation[axis]
        if padding == "same":
            left, right = same_padding(size[axis], k, s, d)
        else:
            pad = 0 if padding == "valid" else padding[axis]
            left, right = pad if isinstance(pad, tuple) else (pad, pad)
            positive(layer, "padding", left, 0)
            positive(layer, "padding", right, 0)
        wins.append(Window(effective_extent(k, d), s, left, right, d))
    return wins[0], wins[1]


def _fan_in(layer: Layer, c_in: int) -> tuple[int, str]:
    """Input channels each filter sees, summed over filters / out (fan-in per filter)."""
    out, groups = layer.args["out"], layer.args["groups"]
    table = layer.args.get("connections")
    if table is not None:
        return _connection_fan_in(layer, c_in), ", sparse connections"
    positive(layer, "groups", groups)
    if c_in % groups or out % groups:
        raise spec_error("E402", f"conv '{layer.name}': groups={groups} must divide both input "
                         f"channels ({c_in}) and filters ({out})", layer.arg_path("groups"),
                         layer=layer.name)
    note = "" if groups == 1 else (", depthwise" if groups == c_in else f", groups {groups}")
    return out * (c_in // groups), note


def _connection_fan_in(layer: Layer, c_in: int) -> int:
    table: list[list[int]] = layer.args["connections"]
    if len(table) != layer.args["out"]:
        raise spec_error("E406", f"conv '{layer.name}': connections lists {len(table)} filters but "
                         f"out is {layer.args['out']}", layer.arg_path("connections"),
                         layer=layer.name)
    for row in table:
        if not row or len(set(row)) != len(row) or not all(0 <= c < c_in for c in row):
            raise spec_error("E406", f"conv '{layer.name}': each connections entry must list "
                             f"distinct input channels in 0..{c_in - 1}",
                             layer.arg_path("connections"), layer=layer.name)
    if layer.args["groups"] != 1:
        raise spec_error("E406", f"conv '{layer.name}': connections and groups cannot be combined",
                         layer.arg_path("groups"), layer=layer.name)
    return sum(len(row) for row in table)


def _fmt_padding(wins: tuple[Window, Window]) -> str:
    """'1', '1x2', or per side 'top 0, bottom 1, left 0, right 1' when uneven."""
    if all(w.pad_left == w.pad_right for w in wins):
        return fmt_scalar_pair((wins[0].pad_left, wins[1].pad_left))
    return (f"top {wins[0].pad_left}, bottom {wins[0].pad_right}, left {wins[1].pad_left}, "
            f"right {wins[1].pad_right}")


@rule("conv")
def conv(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """weights = K * (D/g) * F_h * F_w; bias = K; MACs = H2 * W2 * K * (D/g) * F_h * F_w."""
    c_in, h, w = spatial(layer, x)
    out = layer.args["out"]
    positive(layer, "out", out)
    wins = conv_windows(layer, (h, w))
    h2, w2 = slide(layer, (h, w), wins, sink)
    kh, kw = layer.args["kernel"]
    fan_in, note = _fan_in(layer, c_in)
    weights = fan_in * kh * kw
    bias = out if layer.args["bias"] else 0
    pad = _fmt_padding(wins)
    if layer.args["padding"] == "same":
        pad = "same" + ("" if all(w.pad_left == w.pad_right for w in wins) else f" ({pad})")
    dil = layer.args["dilation"]
    desc = (f"{out} {fmt_pair((kh, kw))} filters at stride {fmt_scalar_pair(layer.args['stride'])}"
            f", pad {pad}" + ("" if dil == (1, 1) else f", dilation {fmt_scalar_pair(dil)}")
            + note + ("" if bias else ", no bias"))
    return Cost(output=(out, h2, w2), description=desc, weights=weights, bias=bias,
                macs=h2 * w2 * weights, ops={"bias": out * h2 * w2} if bias else {},
                windows=wins)
