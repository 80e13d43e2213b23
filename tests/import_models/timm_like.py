"""Subclasses of torch.nn layers that change what the layer computes, written as timm (PyTorch
Image Models) writes them -- without importing timm: for the soundness of ``cnnstat import``
and ``verify --module`` (tests/test_import_soundness.py, tests/test_verify_census.py).  Each
class inherits its base's parameters but not its base's behaviour: none of them is its base
kind."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class BatchNormAct2d(nn.BatchNorm2d):
    """timm.layers.norm_act.BatchNormAct2d: a batch norm, then an activation module (timm's
    darknet53, densenet121, inception_v4 use it everywhere)."""

    def __init__(self, channels: int, act_layer: type[nn.Module] = nn.ReLU,
                 **act: Any) -> None:
        super().__init__(channels)
        self.drop = nn.Identity()
        self.act = act_layer(**act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn_training = self.training or self.running_mean is None
        x = F.batch_norm(x, self.running_mean if not self.training else None,
                         self.running_var if not self.training else None, self.weight,
                         self.bias, bn_training, self.momentum or 0.0, self.eps)
        return self.act(self.drop(x))


class LayerNorm2d(nn.LayerNorm):
    """timm.layers.norm.LayerNorm2d: a layer norm over the channels of N x C x H x W (channels
    last in between)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def _same(size: int, kernel: int, stride: int, dilation: int) -> int:
    return max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)


class Conv2dSame(nn.Conv2d):
    """timm.layers.conv2d_same.Conv2dSame: TensorFlow's 'same' padding, computed from the
    input's size in forward(), then a convolution without padding."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.size()[-2:]
        ph = _same(ih, self.kernel_size[0], self.stride[0], self.dilation[0])
        pw = _same(iw, self.kernel_size[1], self.stride[1], self.dilation[1])
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation,
                        self.groups)


class ScaledStdConv2d(nn.Conv2d):
    """timm.layers.std_conv.ScaledStdConv2d (NF-ResNet): the weight standardised and scaled
    by a learned gain in forward()."""

    def __init__(self, cin: int, cout: int, kernel: int, padding: int = 0) -> None:
        super().__init__(cin, cout, kernel, padding=padding)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))
        self.scale = (cin * kernel * kernel) ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                              weight=(self.gain * self.scale).view(-1), training=True,
                              momentum=0.0, eps=1e-6).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ReLUConv(nn.Conv2d):
    """A subclass whose forward() adds an operation after its base's: a conv then a ReLU,
    functionally (not a conv)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(super().forward(x))


class PlainConv(nn.Conv2d):
    """A subclass that changes nothing its forward() runs (a different __init__ only): still
    a conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, cout, 3, padding=1, bias=False)


class SwappedConv(nn.Conv2d):
    """A subclass that keeps nn.Conv2d.forward but replaces the _conv_forward it calls (a conv,
    then a ReLU): not a conv."""

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: torch.Tensor | None) -> torch.Tensor:
        return F.relu(super()._conv_forward(x, weight, bias))


def batchnorm_act() -> nn.Module:
    """The issue's example: Conv2d, BatchNormAct2d(ReLU), Conv2d."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), BatchNormAct2d(8),
                         nn.Conv2d(8, 4, 3, padding=1))


def batchnorm_leaky() -> nn.Module:
    """darknet53's pattern: conv, BatchNormAct2d(LeakyReLU(0.1)), twice."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False),
                         BatchNormAct2d(8, nn.LeakyReLU, negative_slope=0.1),
                         nn.Conv2d(8, 8, 3, padding=1, bias=False),
                         BatchNormAct2d(8, nn.LeakyReLU, negative_slope=0.1))


def layernorm2d() -> nn.Module:
    """C == W == 8: a layer norm over W would have the same parameters as one over C."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), LayerNorm2d(8), nn.GELU(),
                         nn.Conv2d(8, 8, 1))


def conv2d_same() -> nn.Module:
    return nn.Sequential(Conv2dSame(3, 8, 3, 2), nn.ReLU())


def scaled_std_conv() -> nn.Module:
    return nn.Sequential(ScaledStdConv2d(3, 8, 3, padding=1), nn.SiLU())


def relu_conv() -> nn.Module:
    return nn.Sequential(ReLUConv(3, 8, 3, padding=1), nn.Conv2d(8, 4, 1))


def plain_conv() -> nn.Module:
    return nn.Sequential(PlainConv(3, 8), nn.BatchNorm2d(8), nn.ReLU())


def swapped_conv() -> nn.Module:
    return nn.Sequential(SwappedConv(3, 8, 3, padding=1), nn.Conv2d(8, 4, 1))
