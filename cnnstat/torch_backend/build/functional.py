"""Layers written as functional calls (``functional: true``): a parameterless module whose forward
calls the function, as torchvision's ``F.relu(self.bn(x))`` does (an L2 norm: its scale a bare
parameter, :class:`~cnnstat.torch_backend.build.modules.BareL2Norm`).

The module keeps the layer's name, so ``verify`` still meets one module per row; but it is none of
the module classes the hook-based counters know (torchinfo, thop and torchscan count it 0), and
counters that patch functions (ptflops, calflops, DeepSpeed) see only the call, once.  The
function is looked up in ``torch.nn.functional`` (or ``torch``) at every call, never held, so a
counter that patches ``F.relu`` while it runs sees it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnstat.core.functional import FUNCTIONALS
from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape
from cnnstat.torch_backend.build.modules import BareL2Norm


class Functional(nn.Module):
    """``call(x, **kwargs)``, e.g. ``F.max_pool2d(x, kernel_size=3, stride=2)``; F.dropout gets
    ``training=self.training``."""

    def __init__(self, call: str, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.call, self.args, self.kwargs = call, args, kwargs

    def forward(self, x: Tensor) -> Tensor:
        where, name = self.call.split(".")
        fn = getattr(F if where == "F" else torch, name)
        if name == "dropout":
            return fn(x, *self.args, training=self.training,  # type: ignore[no-any-return]
                      **self.kwargs)
        return fn(x, *self.args, **self.kwargs)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return ", ".join([self.call, *map(repr, self.args),
                          *(f"{k}={v!r}" for k, v in self.kwargs.items())])


def _square(kernel: tuple[int, int]) -> int | tuple[int, int]:
    """An int for a square kernel, as torchvision writes it (torchscan reads the module's)."""
    return kernel[0] if kernel[0] == kernel[1] else kernel


def _kwargs(layer: Layer) -> dict[str, Any]:
    """The call's keyword arguments, from the layer's (an adaptive pool's output size is
    positional, as torchvision passes it: calflops' patched pool takes no ``output_size``)."""
    a, kind = layer.args, layer.kind
    if kind in ("maxpool", "avgpool"):
        window = {"kernel_size": _square(a["kernel"]), "stride": a["stride"] or a["kernel"],
                  "padding": a["padding"], "ceil_mode": a["ceil_mode"]}
        if kind == "maxpool":
            return {**window, "dilation": a["dilation"]}
        return {**window, "count_include_pad": a["count_include_pad"]}
    simple: dict[str, dict[str, Any]] = {
        "flatten": {"start_dim": 1}, "softmax": {"dim": 1}, "dropout": {"p": a.get("p")},
        "leaky_relu": {"negative_slope": a.get("slope")}, "elu": {"alpha": a.get("alpha")},
        "gelu": {"approximate": a.get("approximate")}}
    return simple.get(kind, {})


def build_functional(layer: Layer, x: Shape) -> nn.Module:
    """The layer as its functional call (:data:`cnnstat.core.functional.FUNCTIONALS`)."""
    if layer.kind == "l2norm":
        return BareL2Norm(x[0], float(layer.args["scale"]), float(layer.args["eps"]))
    if layer.kind in ("adaptive_avgpool", "adaptive_maxpool", "global_avgpool"):
        size = layer.args.get("size") or (1, 1)
        return Functional(FUNCTIONALS[layer.kind], tuple(size))
    return Functional(FUNCTIONALS[layer.kind], **_kwargs(layer))
