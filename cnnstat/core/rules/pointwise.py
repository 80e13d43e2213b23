"""Layers that keep the shape: activations, normalisation, dropout, softmax, identity.

Element-wise convention (counted in ``ops`` under the layer's kind, never in MACs): one op per
element for every activation; 2 per element for batch norm (scale and shift, inference);
``size`` per element for LRN (its window sum of squares); 3 per element for softmax (exp, sum,
divide); none for dropout (inference) and identity."""

from __future__ import annotations

from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape, fmt_shape
from cnnstat.core.rules.base import Cost, numel, positive, rule
from cnnstat.errors import DiagnosticSink, spec_error

ACTIVATIONS = {
    "relu": "ReLU max(0, x)",
    "relu6": "ReLU6 min(max(0, x), 6)",
    "leaky_relu": "leaky ReLU max(ax, x)",
    "elu": "ELU",
    "sigmoid": "sigmoid 1/(1 + e^-x)",
    "tanh": "tanh",
    "silu": "SiLU x*sigmoid(x)",
    "swish": "swish x*sigmoid(x)",
    "mish": "mish x*tanh(softplus(x))",
    "gelu": "GELU",
    "hardswish": "hard swish",
    "hardsigmoid": "hard sigmoid",
}


@rule(*ACTIVATIONS)
def activation(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """No parameters; one op per element."""
    desc = ACTIVATIONS[layer.kind]
    if layer.kind == "leaky_relu":
        desc = f"leaky ReLU max({layer.args['slope']}x, x)"
    if layer.kind == "gelu" and layer.args.get("approximate") == "tanh":
        desc = "GELU, tanh approximation"
    return Cost(output=x, description=desc, ops={layer.kind: numel(x)})


@rule("prelu")
def prelu(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """PReLU max(ax, x) with a learned a: one per channel (C weights), or one shared."""
    alphas = 1 if layer.args["shared"] else x[0]
    desc = "PReLU max(ax, x), " + ("one shared a" if alphas == 1 else f"{alphas} learned a")
    return Cost(output=x, description=desc, weights=alphas, ops={"prelu": numel(x)})


@rule("bn")
def batch_norm(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Per channel: gamma, beta (weights C, bias C) when affine; running mean and variance and the
    batch counter are buffers (2C + 1).  2 ops per element.

    Frozen (torchvision's FrozenBatchNorm2d, detection backbones): gamma, beta, running mean and
    variance are all buffers (4C), no parameters; the same 2 ops per element (x * scale + shift),
    counted under ``frozen_bn`` because it runs as a multiply and an add, not as a batch norm."""
    c = x[0]
    if layer.args.get("frozen"):
        return Cost(output=x, description="frozen batch norm", buffers=4 * c,
                    ops={"frozen_bn": 2 * numel(x)})
    affine = bool(layer.args["affine"])
    return Cost(output=x, description="batch norm", weights=c if affine else 0,
                bias=c if affine else 0, buffers=2 * c + 1, ops={"bn": 2 * numel(x)})


@rule("lrn")
def lrn(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Local response normalisation across ``size`` channels: no parameters."""
    size = layer.args["size"]
    positive(layer, "size", size)
    if len(x) < 2:
        raise spec_error("E403", f"lrn '{layer.name}' normalises across channels of a C x H x W "
                         f"input, got the flat {fmt_shape(x)}", layer.path, layer=layer.name,
                         hint="put 'lrn' before 'flatten'")
    return Cost(output=x, description=f"Normalization layer (LRN, size {size})",
                ops={"lrn": size * numel(x)})


@rule("softmax")
def softmax(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Over the channel (or feature) axis; 3 ops per element."""
    return Cost(output=x, description="softmax", ops={"softmax": 3 * numel(x)})


@rule("dropout")
def dropout(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Identity at inference; p is a probability."""
    p = layer.args["p"]
    if not 0 <= p <= 1:
        raise spec_error("E406", f"dropout '{layer.name}': p must be between 0 and 1, got {p}",
                         layer.arg_path("p"), layer=layer.name)
    return Cost(output=x, description=f"dropout p={layer.args['p']}")


@rule("identity")
def identity(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    return Cost(output=x, description="identity")
