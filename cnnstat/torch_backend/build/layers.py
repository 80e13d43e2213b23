"""One builder per layer kind: an IR :class:`~cnnstat.core.ir.Layer` and its per-image input shape
to a real ``torch.nn`` module.  The keys of :data:`BUILDERS` are the keys of the analytic
``RULES`` and of the schema's ``LAYER_ARGS`` (a test asserts it), so no kind can be analysed but
not built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from torch import nn

from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape
from cnnstat.core.rules.conv import conv_windows
from cnnstat.torch_backend.build.attention import SelfAttention2d
from cnnstat.torch_backend.build.functional import build_functional
from cnnstat.torch_backend.build.modules import (
    RBF,
    CentreCrop,
    FrozenBatchNorm2d,
    Interpolate,
    L2Norm,
    LayerNorm2d,
    LayerScale,
    Maxout,
    Mean,
    PadChannels,
    Permute,
    SparseConv2d,
    StochasticDepth,
    Subsample,
)

Builder = Callable[[Layer, Shape], nn.Module]

BUILDERS: dict[str, Builder] = {}


def builds(*kinds: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for kind in kinds:
            if kind in BUILDERS:
                raise RuntimeError(f"two builders for layer kind {kind!r}")
            BUILDERS[kind] = fn
        return fn

    return register


def build_layer(layer: Layer, x: Shape) -> nn.Module:
    """The layer's module; a functional layer's call (an upsample is F.interpolate already)."""
    if layer.args.get("functional") and layer.kind != "upsample":
        return build_functional(layer, x)
    return BUILDERS[layer.kind](layer, x)


@builds("conv")
def conv(layer: Layer, x: Shape) -> nn.Module:
    """nn.Conv2d, with 'same'/'valid' written as explicit zero padding (see :func:`padding`)."""
    a = layer.args
    pads = padding(layer, x)
    symmetric = all(left == right for left, right in pads)
    common: dict[str, Any] = {"kernel_size": a["kernel"], "stride": a["stride"],
                              "padding": tuple(left for left, _ in pads) if symmetric else 0,
                              "dilation": a["dilation"], "bias": a["bias"]}
    if a.get("connections") is not None:
        module: nn.Module = SparseConv2d(a["connections"], common)
    else:
        module = nn.Conv2d(x[0], a["out"], groups=a["groups"], **common)
    return module if symmetric else nn.Sequential(nn.ZeroPad2d(
        (pads[1][0], pads[1][1], pads[0][0], pads[0][1])), module)


def padding(layer: Layer, x: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
    """(left, right) zero padding per axis (H, W), from the same windows the analytic rule uses.

    ``nn.Conv2d(padding='same')`` computes the same thing, but it runs as
    aten::_convolution_mode, which fvcore has no handle for (it counts such a conv as 0), while
    torchvision-style networks write the padding out; so the builder writes it out too.  Uneven
    padding (TensorFlow's 'same' at a stride, or [[0, 1], [0, 1]]) is an nn.ZeroPad2d before the
    conv, as TensorFlow ports write it."""
    wins = conv_windows(layer, (x[1], x[2]))
    return (wins[0].pad_left, wins[0].pad_right), (wins[1].pad_left, wins[1].pad_right)


@builds("conv_transpose")
def conv_transpose(layer: Layer, x: Shape) -> nn.Module:
    a = layer.args
    return nn.ConvTranspose2d(x[0], a["out"], a["kernel"], a["stride"], a["padding"],
                              a["output_padding"], a["groups"], a["bias"], a["dilation"])


@builds("upsample")
def upsample(layer: Layer, x: Shape) -> nn.Module:
    """F.interpolate to the analysed size (or the ``like`` tensor's, passed at run time)."""
    (_, h, w), a = x, layer.args
    size = a["size"] if a.get("size") is not None else (h * a["scale"][0], w * a["scale"][1])
    return Interpolate(size, a["mode"], a.get("align_corners"))


@builds("crop")
def crop(layer: Layer, x: Shape) -> nn.Module:
    return CentreCrop(layer.args["size"])


_PADS: dict[str, type[nn.Module]] = {"reflect": nn.ReflectionPad2d,
                                     "replicate": nn.ReplicationPad2d}


@builds("pad")
def pad(layer: Layer, x: Shape) -> nn.Module:
    """nn.ConstantPad2d / ReflectionPad2d / ReplicationPad2d, sides (left, right, top, bottom)."""
    (top, bottom), (left, right) = layer.args["padding"]
    sides = (left, right, top, bottom)
    mode = layer.args["mode"]
    if mode == "constant":
        return nn.ConstantPad2d(sides, layer.args["value"])
    return _PADS[mode](sides)


@builds("pixel_shuffle")
def pixel_shuffle(layer: Layer, x: Shape) -> nn.Module:
    return nn.PixelShuffle(layer.args["factor"])


@builds("pixel_unshuffle")
def pixel_unshuffle(layer: Layer, x: Shape) -> nn.Module:
    return nn.PixelUnshuffle(layer.args["factor"])


@builds("linear")
def linear(layer: Layer, x: Shape) -> nn.Module:
    return nn.Linear(x[-1], layer.args["out"], bias=layer.args["bias"])


@builds("maxout")
def maxout(layer: Layer, x: Shape) -> nn.Module:
    """The wrapped layer with ``pieces`` times the outputs (a sparse table repeated per piece)."""
    inner: Layer = layer.args["layer"]
    pieces: int = layer.args["pieces"]
    args = {**inner.args, "out": inner.args["out"] * pieces}
    if inner.args.get("connections") is not None:
        args["connections"] = [row for row in inner.args["connections"] for _ in range(pieces)]
    wide = build_layer(replace(inner, args=args), x)
    return Maxout(inner.name.rsplit(".", 1)[-1], wide, pieces)


def _square(kernel: tuple[int, int]) -> int | tuple[int, int]:
    """A square pooling kernel as one int, as torchvision writes it (``nn.MaxPool2d(3)``): the
    same pooling, and the module torchscan's formulas see (they read an int kernel as k)."""
    return kernel[0] if kernel[0] == kernel[1] else kernel


@builds("maxpool")
def maxpool(layer: Layer, x: Shape) -> nn.Module:
    a = layer.args
    return nn.MaxPool2d(_square(a["kernel"]), a["stride"] or a["kernel"], a["padding"],
                        a["dilation"], ceil_mode=a["ceil_mode"])


@builds("avgpool")
def avgpool(layer: Layer, x: Shape) -> nn.Module:
    a = layer.args
    return nn.AvgPool2d(_square(a["kernel"]), a["stride"] or a["kernel"], a["padding"],
                        ceil_mode=a["ceil_mode"], count_include_pad=a["count_include_pad"])


@builds("subsample")
def subsample(layer: Layer, x: Shape) -> nn.Module:
    kernel = layer.args["kernel"]
    return Subsample(x[0], kernel, layer.args["stride"] or kernel)


@builds("adaptive_avgpool")
def adaptive_avgpool(layer: Layer, x: Shape) -> nn.Module:
    return nn.AdaptiveAvgPool2d(layer.args["size"])


@builds("adaptive_maxpool")
def adaptive_maxpool(layer: Layer, x: Shape) -> nn.Module:
    return nn.AdaptiveMaxPool2d(layer.args["size"])


@builds("global_avgpool")
def global_avgpool(layer: Layer, x: Shape) -> nn.Module:
    """As torchvision writes it (so fvcore counts it as adaptive pooling, as its preset says)."""
    return nn.AdaptiveAvgPool2d(1)


@builds("flatten")
def flatten(layer: Layer, x: Shape) -> nn.Module:
    return nn.Flatten()


@builds("bn")
def batch_norm(layer: Layer, x: Shape) -> nn.Module:
    """BatchNorm2d for C x H x W inputs, BatchNorm1d for C x L and flat ones; frozen: our
    FrozenBatchNorm2d (torchvision's, which does not import beside the pinned torch)."""
    if layer.args.get("frozen"):
        return FrozenBatchNorm2d(x[0])
    cls = nn.BatchNorm2d if len(x) == 3 else nn.BatchNorm1d
    return cls(x[0], affine=layer.args["affine"])


@builds("layernorm")
def layer_norm(layer: Layer, x: Shape) -> nn.Module:
    """nn.LayerNorm over the last axis, or LayerNorm2d over the channels (torchvision's)."""
    a = layer.args
    over_channels = a["over"] == "channels"
    cls = LayerNorm2d if over_channels else nn.LayerNorm
    return cls(x[0] if over_channels else x[-1], eps=a["eps"],
               elementwise_affine=a["elementwise_affine"],
               bias=a["elementwise_affine"] and a["bias"])


@builds("groupnorm")
def group_norm(layer: Layer, x: Shape) -> nn.Module:
    a = layer.args
    return nn.GroupNorm(a["groups"], x[0], eps=a["eps"], affine=a["affine"])


@builds("instancenorm")
def instance_norm(layer: Layer, x: Shape) -> nn.Module:
    a = layer.args
    return nn.InstanceNorm2d(x[0], eps=a["eps"], affine=a["affine"],
                             track_running_stats=a["track_running_stats"])


@builds("layer_scale")
def layer_scale(layer: Layer, x: Shape) -> nn.Module:
    return LayerScale(x[0], layer.args["init"])


@builds("l2norm")
def l2_norm(layer: Layer, x: Shape) -> nn.Module:
    return L2Norm(x[0], float(layer.args["scale"]), float(layer.args["eps"]))


@builds("drop_path")
def drop_path(layer: Layer, x: Shape) -> nn.Module:
    return StochasticDepth(layer.args["p"], layer.args["mode"])


@builds("permute")
def permute(layer: Layer, x: Shape) -> nn.Module:
    return Permute(layer.args["dims"])


@builds("mean")
def mean(layer: Layer, x: Shape) -> nn.Module:
    return Mean(layer.args["keepdim"])


@builds("gelu")
def gelu(layer: Layer, x: Shape) -> nn.Module:
    return nn.GELU(approximate=layer.args["approximate"])


@builds("lrn")
def lrn(layer: Layer, x: Shape) -> nn.Module:
    a = layer.args
    return nn.LocalResponseNorm(a["size"], a["alpha"], a["beta"], a["k"])


@builds("dropout")
def dropout(layer: Layer, x: Shape) -> nn.Module:
    return nn.Dropout(layer.args["p"])


@builds("softmax")
def softmax(layer: Layer, x: Shape) -> nn.Module:
    return nn.Softmax(dim=1)


@builds("attention")
def attention(layer: Layer, x: Shape) -> nn.Module:
    a = layer.args
    return SelfAttention2d(x[0], a["heads"], a["qkv_bias"], a["bias"])


@builds("identity")
def identity(layer: Layer, x: Shape) -> nn.Module:
    return nn.Identity()


@builds("channel_shuffle")
def channel_shuffle(layer: Layer, x: Shape) -> nn.Module:
    return nn.ChannelShuffle(layer.args["groups"])


@builds("pad_channels")
def pad_channels(layer: Layer, x: Shape) -> nn.Module:
    return PadChannels(x[0], layer.args["out"], layer.args["stride"])


@builds("rbf")
def rbf(layer: Layer, x: Shape) -> nn.Module:
    return RBF(x[0], layer.args["out"])


@builds("prelu")
def prelu(layer: Layer, x: Shape) -> nn.Module:
    return nn.PReLU(num_parameters=1 if layer.args["shared"] else x[0])


@builds("leaky_relu")
def leaky_relu(layer: Layer, x: Shape) -> nn.Module:
    return nn.LeakyReLU(layer.args["slope"])


@builds("elu")
def elu(layer: Layer, x: Shape) -> nn.Module:
    return nn.ELU(layer.args["alpha"])


_PLAIN: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "silu": nn.SiLU,
    "swish": nn.SiLU, "mish": nn.Mish, "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
}


@builds(*_PLAIN)
def plain(layer: Layer, x: Shape) -> nn.Module:
    """Activations without arguments."""
    return _PLAIN[layer.kind]()
