"""Normalisation with statistics computed per sample (layer, group and instance norm), ConvNeXt's
layer scale, and stochastic depth.

Element-wise convention (counted in ``ops`` under the layer's kind, never in MACs):

- statistics computed from the input, as these norms do at inference: 2 per element (the sum for
  the mean, the square-accumulate of the deviation for the variance);
- normalising: 2 per element (subtract the mean, multiply by 1/sqrt(var + eps));
- the affine part: 1 per element for gamma, 1 for beta.

So an affine layer norm is 6 per element, 4 without gamma and beta.  Fixed statistics (instance
norm with ``track_running_stats`` at inference) fold into one scale and shift per channel, as
batch norm does: 2 per element.  ``eps`` changes no count.  Layer scale is one multiply per
element; stochastic depth is the identity at inference (0).  SSD's L2 norm: per position C
squares, C - 1 adds, a square root and a clamp to eps (2C + 1), then a divide and a multiply by
the scale per element: H·W·(2C + 1) + 2·C·H·W = H·W·(4C + 1).
"""

from __future__ import annotations

from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape, fmt_shape
from cnnstat.core.rules.base import Cost, numel, positive, rule, spatial
from cnnstat.errors import DiagnosticSink, spec_error

STATISTICS, NORMALISE = 2, 2


def per_element(computed: bool, gamma: bool, beta: bool) -> int:
    """Element-wise ops per element of a normalisation (see the module's convention)."""
    if not computed:
        return 2
    return STATISTICS + NORMALISE + int(gamma) + int(beta)


@rule("layernorm")
def layer_norm(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Over D features: the last axis (nn.LayerNorm(D)), or the channels of a C x H x W map
    (torchvision's LayerNorm2d: permute to channels-last, layer_norm over C, permute back).
    weights = D (gamma), bias = D (beta) with ``elementwise_affine``; no buffers."""
    a = layer.args
    if a["over"] == "channels":
        d, where = spatial(layer, x)[0], "channels"
    else:
        d, where = x[-1], "last axis"
    gamma = bool(a["elementwise_affine"])
    beta = gamma and bool(a["bias"])
    return Cost(output=x, description=f"layer norm over {d} ({where})",
                weights=d if gamma else 0, bias=d if beta else 0,
                ops={"layernorm": per_element(True, gamma, beta) * numel(x)})


@rule("groupnorm")
def group_norm(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Statistics per group of C/groups channels (over their H x W); gamma and beta per channel
    when affine (weights C, bias C); no buffers."""
    c, groups = x[0], layer.args["groups"]
    positive(layer, "groups", groups)
    if c % groups:
        raise spec_error("E402", f"groupnorm '{layer.name}': groups={groups} must divide the {c} "
                         "input channels", layer.arg_path("groups"), layer=layer.name)
    if c // groups * numel(x[1:]) == 1:
        raise spec_error("E406", f"groupnorm '{layer.name}': each of the {groups} groups holds one "
                         f"value of the {fmt_shape(x)} input; its statistics are degenerate "
                         "(PyTorch refuses it at batch 1)", layer.arg_path("groups"),
                         layer=layer.name, hint="use fewer groups, or normalise a larger map")
    affine = bool(layer.args["affine"])
    return Cost(output=x, description=f"group norm, {groups} groups of {c // groups} channels",
                weights=c if affine else 0, bias=c if affine else 0,
                ops={"groupnorm": per_element(True, affine, affine) * numel(x)})


@rule("instancenorm")
def instance_norm(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Statistics per channel over H x W of each sample (nn.InstanceNorm2d); gamma and beta when
    affine; with ``track_running_stats`` the running mean and variance and the batch counter are
    buffers (2C + 1) and, at inference, the statistics are fixed (2 ops per element)."""
    c, h, w = spatial(layer, x)
    affine, tracked = bool(layer.args["affine"]), bool(layer.args["track_running_stats"])
    if h * w == 1 and not tracked:
        raise spec_error("E406", f"instancenorm '{layer.name}': statistics over a 1x1 map are "
                         "degenerate (PyTorch refuses them)", layer.path, layer=layer.name,
                         hint="normalise a larger map, or use track_running_stats")
    desc = "instance norm" + (", running statistics" if tracked else "")
    return Cost(output=x, description=desc, weights=c if affine else 0, bias=c if affine else 0,
                buffers=2 * c + 1 if tracked else 0,
                ops={"instancenorm": per_element(not tracked, affine, affine) * numel(x)})


@rule("layer_scale")
def layer_scale(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """ConvNeXt's layer scale: a learned gamma per channel (C weights, shape C x 1 x 1)
    multiplies a C x H x W input: 1 op per element."""
    c, _, _ = spatial(layer, x)
    return Cost(output=x, description=f"layer scale, {c} learned gamma", weights=c,
                ops={"layer_scale": numel(x)})


@rule("l2norm")
def l2_norm(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """SSD's L2Norm (Liu et al. 2016, after ParseNet; torchvision's SSD300 after conv4_3):
    ``scale.view(1, -1, 1, 1) * F.normalize(x, p=2, dim=1, eps)``: each position's C-vector
    divided by max(its L2 norm, eps), times a learned scale per channel (C weights).  Ops: per
    position 2C + 1 (C squares, C - 1 adds, a square root, the clamp), per element 2 (the
    divide, the scale's multiply): H·W·(4C + 1).  No MACs: FlopCounterMode counts 0."""
    c, h, w = spatial(layer, x)
    return Cost(output=x, description=f"L2 norm over {c} channels, {c} learned scales",
                weights=c, ops={"l2norm": h * w * (4 * c + 1)})


@rule("drop_path")
def drop_path(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """Stochastic depth (Huang et al. 2016; torchvision.ops.StochasticDepth): in training the
    residual branch it ends is dropped with probability p (per sample, ``row``, or for the whole
    batch), so its expected training compute is (1 - p) x the branch's; at inference it is the
    identity: no parameters, no ops."""
    p = layer.args["p"]
    if not 0 <= p <= 1:
        raise spec_error("E406", f"drop_path '{layer.name}': p must be between 0 and 1, got {p}",
                         layer.arg_path("p"), layer=layer.name)
    return Cost(output=x, description=f"stochastic depth p={p:g} ({layer.args['mode']}), identity "
                "at inference")


@rule("permute")
def permute(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """torch.permute with the batch axis first and kept: ``dims`` [0, 2, 3, 1] turns C x H x W
    into H x W x C (channels-last), [0, 3, 1, 2] turns it back.  Data movement: no ops."""
    dims = tuple(layer.args["dims"])
    if sorted(dims) != list(range(len(x) + 1)) or dims[0] != 0:
        raise spec_error("E406", f"permute '{layer.name}': dims {list(dims)} must order the "
                         f"{len(x) + 1} axes 0..{len(x)} of the batched {fmt_shape(x)} input, "
                         "batch (0) first", layer.arg_path("dims"), layer=layer.name,
                         hint="[0, 2, 3, 1] to channels-last, [0, 3, 1, 2] back")
    out = tuple(x[d - 1] for d in dims[1:])
    return Cost(output=out, description=f"permute {list(dims)}")
