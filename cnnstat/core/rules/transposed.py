"""Transposed convolution (``nn.ConvTranspose2d``): the gradient of a conv, used to upsample.

Per axis, H_out = (H_in - 1)*S - 2P + D*(K - 1) + output_padding + 1.  Each input unit is
multiplied by the whole K_h x K_w x (C_out/g) kernel and scattered into the output, so the
multiply-accumulates are counted over the *input*: MACs = H_in*W_in*C_in*(C_out/g)*K_h*K_w, bias
excluded (the house convention; it is also what both counters measure: PyTorch's FlopCounterMode
``conv_flop_count(transposed=True)`` takes 2 x batch x prod(input spatial) x prod(weight shape),
and fvcore's ``conv_flop_jit`` the same without the 2, both with the weight shaped
C_in x C_out/g x K_h x K_w).
"""

from __future__ import annotations

from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape
from cnnstat.core.resample import Transposed
from cnnstat.core.rules.base import (
    Cost,
    fmt_pair,
    fmt_scalar_pair,
    positive,
    positive_pair,
    rule,
    spatial,
)
from cnnstat.errors import DiagnosticSink, spec_error

AXES = ("H", "W")


def transposed_size(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                    dilation: int) -> int:
    """(W - 1)*S - 2P + D*(K - 1) + output_padding + 1."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _groups(layer: Layer, c_in: int) -> int:
    out: int = layer.args["out"]
    groups: int = layer.args["groups"]
    positive(layer, "groups", groups)
    if c_in % groups or out % groups:
        raise spec_error("E402", f"conv_transpose '{layer.name}': groups={groups} must divide "
                         f"both input channels ({c_in}) and filters ({out})",
                         layer.arg_path("groups"), layer=layer.name)
    return groups


def _output_padding(layer: Layer, stride: tuple[int, int], dilation: tuple[int, int]) -> None:
    """PyTorch's rule: output_padding < max(stride, dilation) on each axis."""
    for axis, op, s, d in zip(AXES, layer.args["output_padding"], stride, dilation):
        positive(layer, "output_padding", op, 0)
        if op >= max(s, d):
            raise spec_error("E406", f"conv_transpose '{layer.name}': output_padding {op} along "
                             f"{axis} must be smaller than the stride ({s}) or the dilation ({d})",
                             layer.arg_path("output_padding"), layer=layer.name,
                             hint="output_padding only picks among the sizes a stride allows")


def _sizes(layer: Layer, h: int, w: int) -> tuple[int, int]:
    kernel, stride = positive_pair(layer, "kernel"), positive_pair(layer, "stride")
    dilation, padding = positive_pair(layer, "dilation"), layer.args["padding"]
    for p in padding:
        positive(layer, "padding", p, 0)
    _output_padding(layer, stride, dilation)
    out = []
    for axis, n, k, s, p, op, d in zip(AXES, (h, w), kernel, stride, padding,
                                       layer.args["output_padding"], dilation):
        size = transposed_size(n, k, s, p, op, d)
        if size < 1:
            raise spec_error("E401", f"conv_transpose '{layer.name}': the padding {p} crops the "
                             f"whole output along {axis} (({n} - 1)*{s} - 2*{p} + {d}*({k} - 1) "
                             f"+ {op} + 1 = {size})", layer.arg_path("padding"),
                             layer=layer.name, hint="use less padding or a larger kernel")
        out.append(size)
    return out[0], out[1]


@rule("conv_transpose")
def conv_transpose(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """weights = C_in*(C_out/g)*K_h*K_w; bias = C_out; MACs = H_in*W_in*C_in*(C_out/g)*K_h*K_w
    (every input unit times the whole kernel); element-wise: one bias add per output element."""
    c_in, h, w = spatial(layer, x)
    out = layer.args["out"]
    positive(layer, "out", out)
    groups = _groups(layer, c_in)
    h2, w2 = _sizes(layer, h, w)
    kh, kw = layer.args["kernel"]
    weights = c_in * (out // groups) * kh * kw
    bias = out if layer.args["bias"] else 0
    a = layer.args
    maps = tuple(Transposed(k, s, p, d) for k, s, p, d in
                 zip(a["kernel"], a["stride"], a["padding"], a["dilation"]))
    desc = (f"{out} {fmt_pair((kh, kw))} filters transposed at stride "
            f"{fmt_scalar_pair(a['stride'])}, pad {fmt_scalar_pair(a['padding'])}"
            + ("" if a["output_padding"] == (0, 0) else
               f", output padding {fmt_scalar_pair(a['output_padding'])}")
            + ("" if a["dilation"] == (1, 1) else f", dilation {fmt_scalar_pair(a['dilation'])}")
            + ("" if groups == 1 else f", groups {groups}") + ("" if bias else ", no bias"))
    return Cost(output=(out, h2, w2), description=desc, weights=weights, bias=bias,
                macs=h * w * weights, ops={"bias": out * h2 * w2} if bias else {},
                maps=(maps[0], maps[1]))
