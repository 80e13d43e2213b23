"""The receptive field as the framework sees it: where one output unit's input gradient is non-zero.

:func:`positive_surrogate` makes a copy of a module in which no gradient can cancel or vanish:
every parameter positive, every activation (and LRN, softmax) the identity, max pooling (sliding
or adaptive, module or functional call) turned into average pooling over the same windows, and an
element-wise product (squeeze-and-excitation) a sum, which depends on the same inputs without
squaring magnitudes block after block.  Fed a positive input, every partial derivative along every
path is then positive, so the support of the input gradient of one output unit is exactly the set
of input pixels it depends on: the oracle for :mod:`cnnstat.core.receptive` (a chain's support is
its analytic field clipped to the input; a branching network's is enclosed by its field).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnstat.core.functional import FUNCTIONALS

#: Modules that act on each position (or across channels only): identity for the oracle.
POINTWISE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.Sigmoid, nn.Tanh, nn.SiLU,
             nn.Mish, nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.Softmax, nn.LocalResponseNorm,
             nn.Dropout)
#: The same kinds written as functional calls (``functional: true``), by the call they build.
POINTWISE_CALLS = frozenset(FUNCTIONALS[kind] for kind in (
    "relu", "relu6", "leaky_relu", "elu", "sigmoid", "tanh", "silu", "gelu", "hardswish",
    "hardsigmoid", "softmax", "dropout"))

Span = tuple[int, int]


class _DilatedMean(nn.Module):
    """Average pooling with dilation (which nn.AvgPool2d lacks): a depthwise all-ones conv over
    the windows ``pool`` would take (ceil_mode's extra windows included)."""

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pool
        kernel, stride = _pair(p.kernel_size), _pair(p.stride or p.kernel_size)
        pad, dil = _pair(p.padding), _pair(p.dilation)
        out = F.max_pool2d(x.detach(), kernel, stride, pad, dil, p.ceil_mode).shape[2:]
        extra = [max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * q))
                 for o, s, d, k, n, q in zip(out, stride, dil, kernel, x.shape[2:], pad)]
        x = F.pad(x, (pad[1], pad[1] + extra[1], pad[0], pad[0] + extra[0]))
        weight = x.new_ones(x.shape[1], 1, *kernel)
        y = F.conv2d(x, weight, None, stride, 0, dil, x.shape[1])
        return y[:, :, : out[0], : out[1]]


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _mean_pool(pool: nn.Module) -> nn.Module:
    if isinstance(pool, nn.AdaptiveMaxPool2d):
        return nn.AdaptiveAvgPool2d(pool.output_size)
    assert isinstance(pool, nn.MaxPool2d)
    if _pair(pool.dilation) != (1, 1):
        return _DilatedMean(pool)
    return nn.AvgPool2d(pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode)


def positive_surrogate(module: nn.Module, seed: int = 0) -> nn.Module:
    """A float64 copy in eval mode whose gradients never cancel or vanish (see the module doc).

    Weights are drawn from U(0.5, 1.5) / fan-in so that activations stay near 1 however deep the
    network; biases and other vectors from U(0.5, 1.5).
    """
    copied = copy.deepcopy(module).double().eval()
    _replace(copied)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in copied.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.copy_((torch.rand(p.shape, generator=gen, dtype=p.dtype) + 0.5) / fan_in)
    return copied


def _replace(module: nn.Module) -> None:
    from cnnstat.torch_backend.build.functional import Functional
    from cnnstat.torch_backend.build.modules import Merge

    for name, child in module.named_children():
        if isinstance(child, Functional) and child.call == "F.max_pool2d":
            setattr(module, name, _mean_pool(nn.MaxPool2d(*child.args, **child.kwargs)))
        elif isinstance(child, Functional) and child.call == "F.adaptive_max_pool2d":
            setattr(module, name, _mean_pool(nn.AdaptiveMaxPool2d(*child.args, **child.kwargs)))
        elif isinstance(child, POINTWISE) or (isinstance(child, Functional)
                                              and child.call in POINTWISE_CALLS):
            setattr(module, name, nn.Identity())
        elif isinstance(child, Merge) and child.mode == "mul":
            # x * gate(x) and x + gate(x) depend on the same pixels, but products of products
            # (one per squeeze-and-excitation block) overflow float64 in deep networks
            setattr(module, name, Merge("add"))
        elif isinstance(child, (nn.MaxPool2d, nn.AdaptiveMaxPool2d)):
            setattr(module, name, _mean_pool(child))
        else:
            _replace(child)


def gradient_supports(module: nn.Module, input_shape: Sequence[int],
                      units: Sequence[tuple[int, int]], layer: str | None = None,
                      channel: int | None = None) -> list[torch.Tensor]:
    """For each output ``unit`` (i, j): the H x W boolean mask of input pixels whose gradient
    is non-zero, from one forward pass.

    The unit is taken from the output of submodule ``layer`` (the module's own output when None),
    summed over its channels when ``channel`` is None.  ``module`` is used as given (pass
    :func:`positive_surrogate`'s copy for an exact support).
    """
    dtype = next((p.dtype for p in module.parameters()), torch.float64)
    x = torch.ones(1, *input_shape, dtype=dtype, requires_grad=True)
    captured: list[torch.Tensor] = []
    hook = None if layer is None else module.get_submodule(layer).register_forward_hook(
        lambda _m, _i, out: captured.append(out))
    try:
        y = module(x)
    finally:
        if hook is not None:
            hook.remove()
    out = captured[-1] if layer is not None else y
    masks = []
    for i, j in units:
        picked = out[0, :, i, j] if channel is None else out[0, channel, i, j]
        (grad,) = torch.autograd.grad(picked.sum(), x, retain_graph=True)
        masks.append(grad[0].abs().sum(dim=0) > 0)
    return masks


def gradient_support(module: nn.Module, input_shape: Sequence[int], unit: tuple[int, int],
                     channel: int | None = None) -> torch.Tensor:
    """The mask of :func:`gradient_supports` for one unit of the module's output."""
    return gradient_supports(module, input_shape, [unit], channel=channel)[0]


def support_box(mask: torch.Tensor) -> tuple[Span | None, Span | None]:
    """(first, last) row and column of a boolean H x W mask; None where it is empty."""
    rows = torch.nonzero(mask.any(dim=1)).flatten().tolist()
    cols = torch.nonzero(mask.any(dim=0)).flatten().tolist()
    return ((rows[0], rows[-1]) if rows else None, (cols[0], cols[-1]) if cols else None)
