"""``cnnstat import``'s one table: what each module type and each function or tensor method is in
a spec.  Adding a kind is one entry: a writer that returns the spec layer(s) -- kind and the
arguments that differ from the spec's defaults, as literal values -- or raises
:class:`Unsupported` with the reason.

A writer sees the module (or the call's arguments) and the input and output shapes without the
batch.  :class:`Alias` means "no layer: the output is the input" (``x.contiguous()``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnstat.core.functional import FUNCTIONALS
from cnnstat.torch_backend.common import module_types
from cnnstat.torch_backend.build import modules as ours
from cnnstat.torch_backend.build.attention import SelfAttention2d

Shape = tuple[int, ...] | None


class Unsupported(Exception):
    """This call has no spec kind (the message says why)."""


@dataclass(frozen=True)
class Written:
    kind: str
    args: dict[str, Any] = field(default_factory=dict)


class Alias:
    """The call passes its input on unchanged: no layer."""


@dataclass(frozen=True)
class Call:
    """A function or method call: its non-tensor arguments (the first tensor removed), shapes."""

    args: list[Any]
    kwargs: dict[str, Any]
    in_shape: Shape
    out_shape: Shape

    def arg(self, i: int, name: str, default: Any = None) -> Any:
        if name in self.kwargs:
            return self.kwargs[name]
        return self.args[i] if i < len(self.args) else default


@dataclass(frozen=True)
class Held:
    """An argument of a call that is a parameter (or buffer) of the module the call happens
    in, read as it is (``F.batch_norm(x, self.running_mean, ...)`` in a subclass's
    ``forward``): its shape."""

    shape: tuple[int, ...]
    parameter: bool


class Computed:
    """An argument of a call that is a tensor computed in ``forward()`` (not the data flowing
    in, not a parameter read as it is): a weight standardised on the fly."""


Result = Alias | list[Written]
ModuleWriter = Callable[[Any, Shape, Shape], Result]
CallWriter = Callable[[Call], Result]


def _size(value: Any) -> Any:
    """A torch size (int or tuple) as a spec size: an int when both axes agree."""
    if isinstance(value, (tuple, list)):
        items = [int(v) for v in value]
        return items[0] if len(set(items)) == 1 else items
    return int(value) if isinstance(value, int) else value


def _only(args: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The arguments that differ from the spec's defaults (a person writes only those)."""
    return {k: v for k, v in args.items() if k not in defaults or defaults[k] != v}


def as_functional(result: Result) -> Result:
    """A function or method call (``F.relu(x)``, ``x.relu()``) is written ``functional: true``
    where its kind has a functional twin: the counters that hook modules do not see it, and the
    spec's presets then count it as they do."""
    if isinstance(result, Alias):
        return result
    return [Written(w.kind, {**w.args, "functional": True}) if w.kind in FUNCTIONALS else w
            for w in result]


def _one(kind: str, **args: Any) -> list[Written]:
    return [Written(kind, args)]


def _conv(m: nn.Conv2d, i: Shape, o: Shape) -> Result:
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode={m.padding_mode!r}: a spec conv pads with zeros (write "
                          "a 'pad' layer before it)")
    pad = m.padding if isinstance(m.padding, str) else _size(m.padding)
    return [Written("conv", _only({
        "out": m.out_channels, "kernel": _size(m.kernel_size), "stride": _size(m.stride),
        "padding": pad, "dilation": _size(m.dilation), "groups": m.groups,
        "bias": m.bias is not None}, {"stride": 1, "padding": 0, "dilation": 1, "groups": 1,
                                      "bias": True}))]


def _conv_transpose(m: nn.ConvTranspose2d, i: Shape, o: Shape) -> Result:
    return [Written("conv_transpose", _only({
        "out": m.out_channels, "kernel": _size(m.kernel_size), "stride": _size(m.stride),
        "padding": _size(m.padding), "output_padding": _size(m.output_padding),
        "dilation": _size(m.dilation), "groups": m.groups, "bias": m.bias is not None},
        {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1,
         "bias": True}))]


def _linear(m: nn.Linear, i: Shape, o: Shape) -> Result:
    """A flat input is a plain ``linear``; any other (channels-last H x W x C) is ``linear``
    over the last axis, the same weights at every position."""
    if i is None:
        raise Unsupported("a linear layer over an input of unknown shape")
    over = {} if len(i) == 1 else {"over": "last"}
    return [Written("linear", {**_only({"out": m.out_features, "bias": m.bias is not None},
                                       {"bias": True}), **over})]


def _layernorm(m: nn.LayerNorm, over: str, i: Shape) -> Result:
    """``nn.LayerNorm(C)`` over the last axis (``over: last``, the spec's default), or
    torchvision's ``LayerNorm2d`` over the C of a C x H x W map (``over: channels``)."""
    if len(m.normalized_shape) != 1:
        raise Unsupported(f"normalizes over {tuple(m.normalized_shape)}; a spec layernorm "
                          "normalizes one axis")
    affine = bool(m.elementwise_affine)
    args = {"over": over, "elementwise_affine": affine,
            "bias": getattr(m, "bias", None) is not None or not affine}
    return [Written("layernorm", _only(args, {"over": "last", "elementwise_affine": True,
                                               "bias": True}))]


def _groupnorm(m: nn.GroupNorm, i: Shape, o: Shape) -> Result:
    return [Written("groupnorm", {"groups": m.num_groups,
                                  **_only({"affine": m.affine}, {"affine": True})})]


def _instancenorm(m: nn.InstanceNorm2d, i: Shape, o: Shape) -> Result:
    return [Written("instancenorm", _only(
        {"affine": m.affine, "track_running_stats": m.track_running_stats},
        {"affine": False, "track_running_stats": False}))]


def _drop_path(m: Any, i: Shape, o: Shape) -> Result:
    """torchvision's ``StochasticDepth``: the identity in eval mode (as the trace runs), kept as
    a layer so the spec says where the paper's stochastic depth is."""
    return [Written("drop_path", {"p": float(m.p), **_only({"mode": m.mode}, {"mode": "row"})})]


def _permute(dims: Any) -> Result:
    items = [int(d) for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
    if len(items) != 4 or items[0] != 0:
        raise Unsupported(f"permutes {items}; a spec permutes the three axes of C x H x W, "
                          "batch (0) first and kept")
    return [Written("permute", {"dims": items})]


def _bn(m: nn.BatchNorm2d, i: Shape, o: Shape) -> Result:
    return [Written("bn", _only({"affine": m.affine}, {"affine": True}))]


def _frozen_bn(m: Any, i: Shape, o: Shape) -> Result:
    return _one("bn", frozen=True)


def _pool_args(m: Any, kernel: Any, stride: Any) -> dict[str, Any]:
    return {"kernel": kernel, "stride": stride, "padding": _size(m.padding),
            "ceil_mode": bool(m.ceil_mode)}


def _maxpool(m: nn.MaxPool2d, i: Shape, o: Shape) -> Result:
    if m.return_indices:
        raise Unsupported("return_indices=True: a spec maxpool returns one tensor")
    kernel = _size(m.kernel_size)
    stride = _size(m.stride) if m.stride is not None else kernel
    args = {**_pool_args(m, kernel, stride), "dilation": _size(m.dilation)}
    return [Written("maxpool", _only(args, {"stride": kernel, "padding": 0, "dilation": 1,
                                            "ceil_mode": False}))]


def _avgpool(m: nn.AvgPool2d, i: Shape, o: Shape) -> Result:
    if m.divisor_override is not None:
        raise Unsupported("divisor_override: a spec avgpool divides by the window")
    kernel = _size(m.kernel_size)
    stride = _size(m.stride) if m.stride is not None else kernel
    args = {**_pool_args(m, kernel, stride), "count_include_pad": bool(m.count_include_pad)}
    return [Written("avgpool", _only(args, {"stride": kernel, "padding": 0, "ceil_mode": False,
                                            "count_include_pad": True}))]


def _adaptive(size: Any, o: Shape) -> Result:
    if o is None or len(o) != 3:
        raise Unsupported("adaptive pooling of a tensor that is not C x H x W")
    if (o[1], o[2]) == (1, 1):
        return [Written("global_avgpool")]
    return _one("adaptive_avgpool", size=_size((o[1], o[2])))


def _adaptive_max(size: Any, indices: Any, o: Shape) -> Result:
    """``nn.AdaptiveMaxPool2d`` / ``F.adaptive_max_pool2d``: ``adaptive_maxpool`` to the output's
    H x W (a 1 x 1 output too: there is no global max pool kind); ``return_indices=True``
    returns the argmax indices beside the values, which a spec layer does not."""
    if indices:
        raise Unsupported("return_indices=True: a spec adaptive_maxpool returns one tensor, "
                          "not (values, indices)")
    if o is None or len(o) != 3:
        raise Unsupported("adaptive pooling of a tensor that is not C x H x W")
    return _one("adaptive_maxpool", size=_size((o[1], o[2])))


def _flatten_check(start: int, end: int, i: Shape) -> Result:
    if start != 1 or end not in (-1, len(i or ())):
        raise Unsupported(f"flattens dims {start}..{end}; a spec flattens all but the batch")
    return Alias() if i is not None and len(i) == 1 else [Written("flatten")]


def _simple(kind: str) -> ModuleWriter:
    return lambda m, i, o: [Written(kind)]


def _softmax_dim(dim: Any, i: Shape) -> Result:
    if dim not in (1, -1 if i is not None and len(i) == 1 else 1, -len(i or (0,))):
        raise Unsupported(f"softmax over dim {dim}; a spec's softmax is over channels")
    return [Written("softmax")]


def _upsample(mode: str, scale: Any, size: Any, align: Any, o: Shape) -> Result:
    if mode not in ("nearest", "bilinear", "bicubic"):
        raise Unsupported(f"mode {mode!r}: a spec upsample is nearest, bilinear or bicubic")
    args: dict[str, Any] = {"mode": mode} if mode != "nearest" else {}
    if scale is not None and all(float(s).is_integer() for s in _pair(scale)):
        args["scale"] = _size(tuple(int(s) for s in _pair(scale)))
    elif o is not None:
        args["size"] = _size((o[1], o[2]))
    if align and mode != "nearest":
        args["align_corners"] = True
    return [Written("upsample", args)]


def _pair(v: Any) -> tuple[Any, ...]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _pad(pad: Any, mode: str, value: Any) -> Result:
    if not isinstance(pad, (tuple, list)) or len(pad) != 4:
        raise Unsupported("pads other than 2-D (left, right, top, bottom)")
    left, right, top, bottom = (int(p) for p in pad)
    args: dict[str, Any] = {"padding": [top, bottom, left, right]}
    if mode != "constant":
        args["mode"] = mode
    if value:
        args["value"] = value
    return [Written("pad", args)]


def _hardtanh(lo: float, hi: float) -> Result:
    if (lo, hi) != (0.0, 6.0):
        raise Unsupported(f"hardtanh({lo}, {hi}): only hardtanh(0, 6) is a spec kind (relu6)")
    return [Written("relu6")]


def _gelu(approximate: str) -> Result:
    if approximate not in ("none", "tanh"):
        raise Unsupported(f"gelu(approximate={approximate!r}): a spec gelu is none or tanh")
    return [Written("gelu", _only({"approximate": approximate}, {"approximate": "none"}))]


# The spec kinds no entry of this table writes, on purpose, and why: every other kind of
# cnnstat.spec.models.LAYER_ARGS is written by some entry (tests/test_import_kinds.py checks
# both ways), so a new kind is either mapped here or added to this set with its reason.
NOT_IMPORTED: dict[str, str] = {
    # PyTorch has no module for these; LeNet-5 specs write them by hand
    "subsample": "LeNet-5's trainable subsampling: no PyTorch module or function",
    "rbf": "LeNet-5's RBF output with fixed centres: no PyTorch module or function",
    # written in PyTorch as slicing and padding, which a trace cannot tell from other slicing
    "maxout": "a max over k views of one conv's output: slicing and torch.max",
    "pad_channels": "ResNet option A: a strided slice and F.pad of the channels",
    "crop": "the centre of a tensor: slicing, x[:, :, a:b, c:d]",
    # the same function as silu under its other name; an import writes silu
    "swish": "the same function as silu (nn.SiLU, F.silu), which the import writes",
}


MODULES: dict[type, ModuleWriter] = {
    nn.Conv2d: _conv, nn.ConvTranspose2d: _conv_transpose, nn.Linear: _linear,
    nn.BatchNorm2d: _bn, nn.BatchNorm1d: _bn, ours.FrozenBatchNorm2d: _frozen_bn,
    nn.MaxPool2d: _maxpool, nn.AvgPool2d: _avgpool,
    nn.AdaptiveAvgPool2d: lambda m, i, o: _adaptive(m.output_size, o),
    nn.AdaptiveMaxPool2d: lambda m, i, o: _adaptive_max(m.output_size, m.return_indices, o),
    nn.Flatten: lambda m, i, o: _flatten_check(m.start_dim, m.end_dim, i),
    nn.Dropout: lambda m, i, o: _one("dropout", **_only({"p": m.p}, {"p": 0.5})),
    nn.Dropout2d: lambda m, i, o: _one("dropout", **_only({"p": m.p}, {"p": 0.5})),
    nn.Identity: _simple("identity"),
    nn.LayerNorm: lambda m, i, o: _layernorm(m, "last", i),
    nn.GroupNorm: _groupnorm, nn.InstanceNorm2d: _instancenorm,
    SelfAttention2d: lambda m, i, o: _one("attention", heads=m.heads, **_only(
        {"qkv_bias": m.qkv.bias is not None, "bias": m.proj.bias is not None},
        {"qkv_bias": True, "bias": True})),
    nn.ReLU: _simple("relu"), nn.ReLU6: _simple("relu6"),
    nn.LeakyReLU: lambda m, i, o: _one("leaky_relu", **_only({"slope": m.negative_slope},
                                                               {"slope": 0.01})),
    nn.PReLU: lambda m, i, o: _one("prelu", **({"shared": True} if m.num_parameters == 1
                                               else {})),
    nn.ELU: lambda m, i, o: _one("elu", **_only({"alpha": m.alpha}, {"alpha": 1.0})),
    nn.Sigmoid: _simple("sigmoid"), nn.Tanh: _simple("tanh"), nn.SiLU: _simple("silu"),
    nn.Mish: _simple("mish"), nn.GELU: lambda m, i, o: _gelu(m.approximate),
    nn.Hardswish: _simple("hardswish"), nn.Hardsigmoid: _simple("hardsigmoid"),
    nn.Hardtanh: lambda m, i, o: _hardtanh(m.min_val, m.max_val),
    nn.Softmax: lambda m, i, o: _softmax_dim(m.dim, i),
    nn.LocalResponseNorm: lambda m, i, o: _one("lrn", **_only(
        {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k},
        {"size": 5, "alpha": 0.0001, "beta": 0.75, "k": 2.0})),
    nn.ChannelShuffle: lambda m, i, o: _one("channel_shuffle", groups=m.groups),
    nn.PixelShuffle: lambda m, i, o: _one("pixel_shuffle", factor=m.upscale_factor),
    nn.PixelUnshuffle: lambda m, i, o: _one("pixel_unshuffle", factor=m.downscale_factor),
    nn.Upsample: lambda m, i, o: _upsample(m.mode, m.scale_factor, m.size, m.align_corners, o),
    nn.ZeroPad2d: lambda m, i, o: _pad(m.padding, "constant", 0),
    nn.ConstantPad2d: lambda m, i, o: _pad(m.padding, "constant", m.value),
    nn.ReflectionPad2d: lambda m, i, o: _pad(m.padding, "reflect", 0),
    nn.ReplicationPad2d: lambda m, i, o: _pad(m.padding, "replicate", 0),
}


def _torchvision_modules() -> dict[type, ModuleWriter]:
    """torchvision's FrozenBatchNorm2d (detection backbones), StochasticDepth, Permute and
    ConvNeXt's LayerNorm2d (a subclass of nn.LayerNorm that normalizes channels), where
    torchvision is installed."""
    try:
        from torchvision import ops  # type: ignore[import-not-found,unused-ignore]
        from torchvision.models import convnext  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return {}
    return {ops.misc.FrozenBatchNorm2d: _frozen_bn, ops.StochasticDepth: _drop_path,
            ops.misc.Permute: lambda m, i, o: _permute(m.dims),
            convnext.LayerNorm2d: lambda m, i, o: _layernorm(m, "channels", i)}


MODULES.update(_torchvision_modules())


def _torchvision_functions() -> dict[Callable[..., Any], CallWriter]:
    """torchvision's ShuffleNet ``channel_shuffle`` (a function of view, transpose and view):
    traced as one call, where torchvision is installed."""
    try:
        from torchvision.models import shufflenetv2  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return {}
    return {shufflenetv2.channel_shuffle: lambda c: _one("channel_shuffle",
                                                         groups=c.arg(0, "groups"))}


def module_writer(module: nn.Module) -> ModuleWriter | None:
    """The writer of ``module``'s type, or of its nearest base in the table where it computes
    as that base does (:func:`~cnnstat.torch_backend.common.module_types.entry`: a subclass
    of nn.Conv2d that only changes ``__init__`` is a conv; one with its own ``forward`` is
    traced into); torch.nn's own containers are never leaves."""
    return module_types.entry(MODULES, type(module))


def _act(kind: str) -> CallWriter:
    return lambda c: [Written(kind)]


def _alias(c: Call) -> Result:
    return Alias()


def _view(c: Call) -> Result:
    """``x.view(n, -1)`` / ``x.reshape(...)``: a flatten when all but the batch is flattened."""
    if c.in_shape is not None and c.out_shape is not None and len(c.out_shape) == 1:
        return Alias() if len(c.in_shape) == 1 else [Written("flatten")]
    if c.in_shape == c.out_shape:
        return Alias()
    raise Unsupported(f"reshapes {c.in_shape} to {c.out_shape}; only a flatten to "
                      "features is a spec kind")


def _mean(c: Call) -> Result:
    """``x.mean([2, 3])``: the ``mean`` kind, not ``global_avgpool`` -- it runs as
    ``aten::mean``, which fvcore does not count and ``adaptive_avg_pool2d`` it does."""
    dims = c.arg(0, "dim")
    keep = bool(c.arg(1, "keepdim", False))
    if c.in_shape is None or len(c.in_shape) != 3 or dims is None or \
            sorted(int(d) % 4 for d in _pair(dims)) != [2, 3]:
        raise Unsupported(f"mean over dims {dims}: only the spatial mean (dims 2, 3) is a spec "
                          "kind (mean)")
    return [Written("mean", {"keepdim": True} if keep else {})]


def _permute_call(c: Call) -> Result:
    """``x.permute(0, 2, 3, 1)``, ``x.permute([0, 2, 3, 1])``, ``torch.permute(x, dims)``."""
    dims = c.kwargs.get("dims", c.args[0] if len(c.args) == 1 else c.args)
    return _permute(dims)


def _interpolate(c: Call) -> Result:
    return _upsample(c.arg(2, "mode", "nearest"), c.arg(1, "scale_factor"), c.arg(0, "size"),
                     c.arg(3, "align_corners"), c.out_shape)


def _f_maxpool(c: Call) -> Result:
    if c.arg(5, "return_indices", False):
        raise Unsupported("return_indices=True: a spec maxpool returns one tensor")
    kernel = _size(c.arg(0, "kernel_size"))
    stride = c.arg(1, "stride")
    stride = _size(stride) if stride not in (None, [], ()) else kernel
    args = {"kernel": kernel, "stride": stride, "padding": _size(c.arg(2, "padding", 0)),
            "dilation": _size(c.arg(3, "dilation", 1)),
            "ceil_mode": bool(c.arg(4, "ceil_mode", False))}
    return [Written("maxpool", _only(args, {"stride": kernel, "padding": 0, "dilation": 1,
                                            "ceil_mode": False}))]


def _f_avgpool(c: Call) -> Result:
    if c.arg(6, "divisor_override") is not None:
        raise Unsupported("divisor_override: a spec avgpool divides by the window")
    kernel = _size(c.arg(0, "kernel_size"))
    stride = c.arg(1, "stride")
    stride = _size(stride) if stride not in (None, [], ()) else kernel
    args = {"kernel": kernel, "stride": stride, "padding": _size(c.arg(2, "padding", 0)),
            "ceil_mode": bool(c.arg(3, "ceil_mode", False)),
            "count_include_pad": bool(c.arg(4, "count_include_pad", True))}
    return [Written("avgpool", _only(args, {"stride": kernel, "padding": 0, "ceil_mode": False,
                                            "count_include_pad": True}))]


FUNCTIONS: dict[Callable[..., Any], CallWriter] = {
    F.max_pool2d: _f_maxpool, F.avg_pool2d: _f_avgpool,
    # what F.max_pool2d and F.adaptive_max_pool2d trace as with return_indices=True: refused
    F.max_pool2d_with_indices: _f_maxpool,
    F.relu: _act("relu"), torch.relu: _act("relu"), F.relu6: _act("relu6"),
    torch.sigmoid: _act("sigmoid"), F.sigmoid: _act("sigmoid"), torch.tanh: _act("tanh"),
    F.tanh: _act("tanh"), F.silu: _act("silu"), F.mish: _act("mish"),
    F.hardswish: _act("hardswish"), F.hardsigmoid: _act("hardsigmoid"),
    F.gelu: lambda c: _gelu(c.arg(0, "approximate", "none")),
    F.hardtanh: lambda c: _hardtanh(c.arg(0, "min_val", -1.0), c.arg(1, "max_val", 1.0)),
    F.leaky_relu: lambda c: _one("leaky_relu", **_only(
        {"slope": c.arg(0, "negative_slope", 0.01)}, {"slope": 0.01})),
    F.elu: lambda c: _one("elu", **_only({"alpha": c.arg(0, "alpha", 1.0)}, {"alpha": 1.0})),
    F.softmax: lambda c: _softmax_dim(c.arg(0, "dim"), c.in_shape),
    torch.softmax: lambda c: _softmax_dim(c.arg(0, "dim"), c.in_shape),
    F.dropout: lambda c: _one("dropout", **_only({"p": c.arg(0, "p", 0.5)}, {"p": 0.5})),
    F.adaptive_avg_pool2d: lambda c: _adaptive(c.arg(0, "output_size"), c.out_shape),
    F.adaptive_max_pool2d: lambda c: _adaptive_max(c.arg(0, "output_size"),
                                                   c.arg(1, "return_indices", False),
                                                   c.out_shape),
    F.adaptive_max_pool2d_with_indices: lambda c: _adaptive_max(
        c.arg(0, "output_size"), c.arg(1, "return_indices", True), c.out_shape),
    torch.flatten: lambda c: _flatten_check(c.arg(0, "start_dim", 0), c.arg(1, "end_dim", -1),
                                            c.in_shape),
    F.interpolate: _interpolate,
    F.pad: lambda c: _pad(c.arg(0, "pad"), c.arg(1, "mode", "constant"), c.arg(2, "value", 0)),
    torch.mean: _mean, torch.permute: _permute_call,
    F.channel_shuffle: lambda c: _one("channel_shuffle", groups=c.arg(0, "groups")),
    torch.channel_shuffle: lambda c: _one("channel_shuffle", groups=c.arg(0, "groups")),
    operator.getitem: lambda c: _getitem(c),
}

FUNCTIONS.update(_torchvision_functions())
AUTOWRAP = tuple(f for f in _torchvision_functions())  # traced as calls, not through

METHODS: dict[str, CallWriter] = {
    "relu": _act("relu"), "relu_": _act("relu"), "sigmoid": _act("sigmoid"),
    "tanh": _act("tanh"), "contiguous": _alias, "clone": _alias, "detach": _alias,
    "view": _view, "reshape": _view, "flatten": lambda c: _flatten_check(
        c.arg(0, "start_dim", 0), c.arg(1, "end_dim", -1), c.in_shape),
    "mean": _mean, "permute": _permute_call, "softmax": lambda c: _softmax_dim(c.arg(0, "dim"), c.in_shape),
}


def _held(value: Any, parameter: bool = True) -> bool:
    return isinstance(value, Held) and value.parameter == parameter


def _affine(weight: Any, bias: Any, what: str) -> tuple[bool, bool]:
    """(weight given, bias given) of a norm whose weight and bias are the module's own
    parameters or absent."""
    if weight is not None and not _held(weight) or bias is not None and not _held(bias):
        raise Unsupported(f"a {what} whose weight or bias is computed in forward(), not a "
                          "parameter of the module: a spec layer uses its parameters as they are")
    return weight is not None, bias is not None


def _held_batch_norm(c: Call) -> Result:
    """``F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False,
    ...)``: a ``bn`` (timm's BatchNormAct2d runs it before its activation)."""
    mean, var = c.arg(0, "running_mean"), c.arg(1, "running_var")
    if not _held(mean, False) or not _held(var, False) or c.arg(4, "training", False):
        raise Unsupported("a batch norm over the batch's own statistics (training=True or no "
                          "running statistics): a spec bn normalises with running statistics")
    weight, bias = _affine(c.arg(2, "weight"), c.arg(3, "bias"), "batch norm")
    if weight != bias:
        raise Unsupported("a batch norm with a weight but no bias, or a bias but no weight")
    return [Written("bn", _only({"affine": weight}, {"affine": True}))]


def _held_layer_norm(c: Call) -> Result:
    """``F.layer_norm(x, (C,), self.weight, self.bias)`` over the last axis: a ``layernorm``
    (timm's LayerNorm2d permutes to channels-last around it: written as the permutes)."""
    shape = c.arg(0, "normalized_shape")
    last = c.in_shape[-1] if c.in_shape else None
    if not isinstance(shape, (tuple, list)) or [int(d) for d in shape] != [last]:
        raise Unsupported(f"normalizes over {shape}; a spec layernorm normalizes the last axis")
    weight, bias = _affine(c.arg(1, "weight"), c.arg(2, "bias"), "layer norm")
    return [Written("layernorm", _only({"elementwise_affine": weight, "bias": bias or not weight},
                                       {"elementwise_affine": True, "bias": True}))]


def _held_group_norm(c: Call) -> Result:
    weight, bias = _affine(c.arg(1, "weight"), c.arg(2, "bias"), "group norm")
    if weight != bias:
        raise Unsupported("a group norm with a weight but no bias, or a bias but no weight")
    return [Written("groupnorm", {"groups": int(c.arg(0, "num_groups")),
                                  **_only({"affine": weight}, {"affine": True})})]


def _held_conv(c: Call) -> Result:
    """``F.conv2d(x, self.weight, self.bias, ...)``: a ``conv`` whose weight is the module's
    own parameter (a subclass of nn.Conv2d that adds to its forward); a weight computed in
    forward() (timm's weight-standardised convs) has no spec kind."""
    weight, bias = c.arg(0, "weight"), c.arg(1, "bias")
    if not _held(weight) or bias is not None and not _held(bias):
        raise Unsupported("a conv whose weight or bias is computed in forward() (weight "
                          "standardisation, a gain): a spec conv uses its weight as it is")
    padding = c.arg(3, "padding", 0)
    return [Written("conv", _only({
        "out": weight.shape[0], "kernel": _size(weight.shape[2:]),
        "stride": _size(c.arg(2, "stride", 1)),
        "padding": padding if isinstance(padding, str) else _size(padding),
        "dilation": _size(c.arg(4, "dilation", 1)), "groups": int(c.arg(5, "groups", 1)),
        "bias": bias is not None}, {"stride": 1, "padding": 0, "dilation": 1, "groups": 1,
                                    "bias": True}))]


def _held_linear(c: Call) -> Result:
    weight, bias = c.arg(0, "weight"), c.arg(1, "bias")
    if not _held(weight) or bias is not None and not _held(bias):
        raise Unsupported("a linear layer whose weight or bias is computed in forward(): a "
                          "spec linear uses its weight as it is")
    if c.in_shape is None:
        raise Unsupported("a linear layer over an input of unknown shape")
    over = {} if len(c.in_shape) == 1 else {"over": "last"}
    return [Written("linear", {**_only({"out": weight.shape[0], "bias": bias is not None},
                                       {"bias": True}), **over})]


# Functions that take weights: written as a layer where every weight they are given is a
# parameter or buffer of the module they are called in (:class:`Held`), each used once.
HELD: dict[Callable[..., Any], CallWriter] = {
    F.batch_norm: _held_batch_norm, F.layer_norm: _held_layer_norm,
    F.group_norm: _held_group_norm, F.conv2d: _held_conv, F.linear: _held_linear,
}


def _getitem(c: Call) -> Result:
    if c.in_shape == c.out_shape:
        return Alias()  # x[:] or a one-tensor tuple's element
    raise Unsupported("indexes or slices a tensor; a spec has no slicing kind")
