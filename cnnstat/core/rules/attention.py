"""Multi-head self-attention over a feature map, as hybrid CNNs use it (BoTNet's MHSA in place of
a 3x3 conv; a transformer block over the H·W positions).

The C x H x W input is read as N = H·W tokens of C features; with h heads of d = C/h features:

* QKV projection, a linear layer C -> 3C over every token: weights 3C², bias 3C (``qkv_bias``),
  MACs N·C·3C;
* the queries are scaled by 1/sqrt(d): N·C element-wise multiplies (``attention_scale``);
* Q·Kᵀ per head: h·N·N·d = N²·C multiply-accumulates (``products['qk']``);
* softmax over each row of the h x N x N scores: 3 ops per score (as the ``softmax`` kind);
* A·V per head: h·N·N·d = N²·C multiply-accumulates (``products['av']``);
* output projection, a linear layer C -> C over every token: weights C², bias C (``bias``),
  MACs N·C².

The projections are weight MACs (``macs``: conv and linear weights, as everywhere); the two
products multiply activations by activations, so they are reported apart, in ``products``, and
counted by the ``torch`` and ``fvcore`` presets as those tools count matrix products.  Every output
position reads every input position: the receptive field is the whole input.  The output is
C x H x W again.
"""

from __future__ import annotations

from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape
from cnnstat.core.rules.base import Cost, positive, rule, spatial
from cnnstat.errors import DiagnosticSink, spec_error


def attention_sizes(layer: Layer, x: Shape) -> tuple[int, int, int, int]:
    """(C, N, heads, d) of an attention layer on input ``x``; located errors when invalid."""
    c, h, w = spatial(layer, x)
    heads = layer.args["heads"]
    positive(layer, "heads", heads)
    if c % heads:
        raise spec_error("E402", f"attention '{layer.name}': heads {heads} do not divide the "
                         f"{c} channels", layer.arg_path("heads"), layer=layer.name,
                         hint="each head takes C / heads channels: choose heads dividing C")
    return c, h * w, heads, c // heads


@rule("attention")
def attention(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """weights 3C² + C²; bias 3C (qkv_bias) + C (bias); MACs 3NC² + NC²;
    products qk = av = h·N·N·d = N²C; ops: scale NC, softmax 3hN², bias adds per token."""
    c, n, heads, d = attention_sizes(layer, x)
    qkv_bias, out_bias = bool(layer.args["qkv_bias"]), bool(layer.args["bias"])
    bias = (3 * c if qkv_bias else 0) + (c if out_bias else 0)
    ops = {"attention_scale": n * c, "softmax": 3 * heads * n * n}
    if bias:
        ops["bias"] = n * bias
    return Cost(output=x, description=f"self-attention, {heads} heads of {d} over {n} positions",
                weights=4 * c * c, bias=bias, macs=4 * n * c * c, ops=ops, global_field=True,
                products={"qk": heads * n * n * d, "av": heads * n * n * d},
                scratch=scratch(c, n, heads))


def scratch(c: int, n: int, heads: int) -> int:
    """Intermediate elements the forward pass creates: Q, K, V (3NC), the scaled queries (NC),
    the scores and their softmax (2·h·N²), the heads' outputs (NC) and the projected tokens (NC)."""
    return 6 * n * c + 2 * heads * n * n
