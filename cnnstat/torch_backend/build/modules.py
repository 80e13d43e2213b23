"""The small modules PyTorch lacks: maxout, LeNet-5's sparse conv, subsampling and RBF output,
ResNet's option-A shortcut, the merges of parallel branches, and the containers of the tree.

Each keeps exactly the parameters and buffers the analytic rule counts, so ``numel`` of a module
is a live check of the rule.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Group(nn.Module):
    """A namespace in the module tree (``layer1`` of ``layer1.conv1``); never called itself."""


class Merge(nn.Module):
    """Joins branch outputs: ``concat`` along channels, ``add`` or ``mul`` (broadcast)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, *xs: Tensor) -> Tensor:
        if self.mode == "concat":
            return torch.cat(xs, dim=1)
        op = operator.add if self.mode == "add" else operator.mul
        return functools.reduce(op, xs)

    def extra_repr(self) -> str:
        return self.mode


class Maxout(nn.Module):
    """Goodfellow et al.'s maxout: the wrapped conv/linear computes ``pieces`` times ``out``
    features (output feature o, piece p at index o * pieces + p), and the max over pieces is kept.
    """

    def __init__(self, inner_name: str, inner: nn.Module, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces
        self.inner_name = inner_name
        self.add_module(inner_name, inner)

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.get_submodule(self.inner_name)(x)
        n, c = y.shape[0], y.shape[1]
        return y.view(n, c // self.pieces, self.pieces, *y.shape[2:]).amax(dim=2)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


class SparseConv2d(nn.Module):
    """A conv whose output map i sees only the input channels ``table[i]`` (LeNet-5's C3): one
    single-output conv per map, so the parameters are exactly sum(|table[i]|) * k_h * k_w (+ bias).
    """

    def __init__(self, table: list[list[int]], conv: dict[str, Any]) -> None:
        super().__init__()
        self.table = [list(row) for row in table]
        self.maps = nn.ModuleList(nn.Conv2d(len(row), 1, **conv) for row in table)

    def forward(self, x: Tensor) -> Tensor:
        outs = [conv(torch.cat([x[:, c:c + 1] for c in row], dim=1))
                for row, conv in zip(self.table, self.maps)]
        return torch.cat(outs, dim=1)


class Subsample(nn.Module):
    """LeNet-5's S-layer: the window average times a trainable coefficient plus a trainable bias,
    one of each per channel (2C parameters)."""

    def __init__(self, channels: int, kernel: tuple[int, int], stride: tuple[int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        y = F.avg_pool2d(x, self.kernel, self.stride)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.weight.numel()}, kernel_size={self.kernel}, stride={self.stride}"


class RBF(nn.Module):
    """LeNet-5's output: y_i = sum_j (x_j - w_ij)^2 with fixed centres w (a buffer, not trained)."""

    centres: Tensor

    def __init__(self, features: int, units: int) -> None:
        super().__init__()
        # The paper draws the centres by hand as +-1 bitmaps; random signs stand in for them.
        self.register_buffer("centres", torch.randint(0, 2, (units, features)).float() * 2 - 1)

    def forward(self, x: Tensor) -> Tensor:
        return (x.unsqueeze(1) - self.centres).pow(2).sum(dim=-1)


class PadChannels(nn.Module):
    """ResNet's option-A shortcut: x[:, :, ::s, ::s], zero-padded (evenly, as in the common CIFAR
    implementation) from its channels up to ``out``; no parameters."""

    def __init__(self, channels: int, out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.before = (out - channels) // 2
        self.after = out - channels - self.before

    def forward(self, x: Tensor) -> Tensor:
        s = self.stride
        return F.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, self.before, self.after))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, pad=({self.before}, {self.after})"


class FrozenBatchNorm2d(nn.Module):
    """torchvision.ops.FrozenBatchNorm2d, as detection backbones use it (any C x ... input): gamma, beta, running
    mean and variance are buffers (4C, no parameters); the forward is torchvision's, a multiply
    and an add per element, which FlopCounterMode and fvcore both count as 0."""

    weight: Tensor
    bias: Tensor
    running_mean: Tensor
    running_var: Tensor

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: Tensor) -> Tensor:
        per_channel = (1, -1) + (1,) * (x.dim() - 2)  # N x C x H x W, or N x C x L, or N x C
        w, b = self.weight.reshape(per_channel), self.bias.reshape(per_channel)
        rv, rm = self.running_var.reshape(per_channel), self.running_mean.reshape(per_channel)
        scale = w * (rv + self.eps).rsqrt()
        return x * scale + (b - rm * scale)


def _size_of(size: tuple[int, int], like: Tensor | None) -> tuple[int, int]:
    """The H x W to produce: ``like``'s when a tensor to match is passed, else the fixed size."""
    if like is None:
        return size
    return int(like.shape[-2]), int(like.shape[-1])


class Interpolate(nn.Module):
    """``F.interpolate`` to a size (the analysed one, or that of a second tensor passed to
    ``forward``: ``upsample: {like: skip}``).  The size is always given, never a scale, so
    PyTorch samples at in/out exactly as the analytic rule does."""

    def __init__(self, size: tuple[int, int], mode: str, align_corners: bool | None) -> None:
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners

    def forward(self, x: Tensor, like: Tensor | None = None) -> Tensor:
        return F.interpolate(x, size=_size_of(self.size, like), mode=self.mode,
                             align_corners=self.align_corners)

    def extra_repr(self) -> str:
        return f"size={self.size}, mode={self.mode!r}" + (
            "" if self.align_corners is None else f", align_corners={self.align_corners}")


class CentreCrop(nn.Module):
    """The centre h x w of the input, offset (H - h)//2, (W - w)//2 (U-Net's crop of the skip
    connection); to the size of a second tensor when one is passed to ``forward``."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: Tensor, like: Tensor | None = None) -> Tensor:
        h, w = _size_of(self.size, like)
        top, left = (int(x.shape[-2]) - h) // 2, (int(x.shape[-1]) - w) // 2
        return x[..., top:top + h, left:left + w]

    def extra_repr(self) -> str:
        return f"size={self.size}"


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d: layer norm over the channels of N x C x H x W
    (permuted to channels-last, ``F.layer_norm`` over C, permuted back)."""

    def forward(self, x: Tensor) -> Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return y.permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """ConvNeXt's layer scale: ``gamma * x`` with a learned gamma of shape C x 1 x 1 (C
    parameters), as torchvision's CNBlock holds it."""

    def __init__(self, channels: int, init: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, 1, 1), init))

    def forward(self, x: Tensor) -> Tensor:
        return self.gamma * x


class L2Norm(nn.Module):
    """SSD's L2Norm (ParseNet): ``weight.view(1, -1, 1, 1) * F.normalize(x, p=2, dim=1, eps)``,
    as torchvision's SSDFeatureExtractorVGG computes it after conv4_3, with its scale (C
    parameters, initialised to ``scale``) held here as ``weight``."""

    PARAM = "weight"

    def __init__(self, channels: int, scale: float, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.register_parameter(self.PARAM, nn.Parameter(torch.full((channels,), scale)))

    def forward(self, x: Tensor) -> Tensor:
        scale: Tensor = getattr(self, self.PARAM)
        return scale.view(1, -1, 1, 1) * F.normalize(x, p=2.0, dim=1, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{getattr(self, self.PARAM).shape[0]}, eps={self.eps}"


class BareL2Norm(L2Norm):
    """An L2 norm written in its parent's forward (``functional: true``), as torchvision's SSD
    writes it: the scale is a bare parameter named ``scale``, not a ``weight``, so torchinfo,
    which counts a leaf's ``weight`` and ``bias`` (torchvision's ``scale_weight`` sits on a
    module with children, which it does not sum), counts it 0, as it does torchvision's."""

    PARAM = "scale"


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: in training, zero the input (per sample, ``row``, or
    for the whole batch) with probability p and scale the rest by 1/(1 - p); the identity in
    eval mode."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p) if self.p < 1 else x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class Permute(nn.Module):
    """torchvision.ops.misc.Permute: ``torch.permute(x, dims)``."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(x, self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Mean(nn.Module):
    """``x.mean([2, 3])`` (ShuffleNetV2's and MNASNet's global pooling), optionally keepdim."""

    def __init__(self, keepdim: bool) -> None:
        super().__init__()
        self.keepdim = keepdim

    def forward(self, x: Tensor) -> Tensor:
        return x.mean([2, 3], keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"dims=[2, 3], keepdim={self.keepdim}"
