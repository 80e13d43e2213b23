"""U-Net written in plain PyTorch straight from Ronneberger et al. 2015, Figure 1 and Section 2
(not from specs/unet.yaml): an independent implementation to verify the spec against.

Figure 1: "Each blue box corresponds to a multi-channel feature map ... white boxes represent
copied feature maps.  The arrows denote the different operations": conv 3x3, ReLU (unpadded);
copy and crop; max pool 2x2; up-conv 2x2; conv 1x1.  Section 2: "Every step in the expansive
path consists of an upsampling of the feature map followed by a 2x2 convolution ("up-convolution")
that halves the number of feature channels, a concatenation with the correspondingly cropped
feature map from the contracting path, and two 3x3 convolutions, each followed by a ReLU."

`unet()` is the paper's network (1x572x572 -> 2x388x388); `unet_padded()` pads every 3x3 conv by
1, so no crop is needed (1x512x512 -> 2x512x512).
"""

from __future__ import annotations

import torch
from torch import nn


def _two_convs(cin: int, cout: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=padding), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=padding), nn.ReLU(),
    )


def _centre_crop(skip: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    h, w = like.shape[-2:]
    top = (skip.shape[-2] - h) // 2
    left = (skip.shape[-1] - w) // 2
    return skip[..., top:top + h, left:left + w]


class UNet(nn.Module):
    """Contracting path 64-128-256-512, bottom 1024, expansive path back to 64, 1x1 to classes."""

    def __init__(self, in_channels: int = 1, classes: int = 2, padding: int = 0) -> None:
        super().__init__()
        widths = [64, 128, 256, 512]
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(_two_convs(cin, w, padding))
            cin = w
        self.pool = nn.MaxPool2d(2, 2)
        self.bottom = _two_convs(512, 1024, padding)
        self.upconvs = nn.ModuleList()
        self.up = nn.ModuleList()
        cin = 1024
        for w in reversed(widths):
            self.upconvs.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.up.append(_two_convs(2 * w, w, padding))
            cin = w
        self.final = nn.Conv2d(64, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for step in self.down:
            x = step(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for upconv, step, skip in zip(self.upconvs, self.up, reversed(skips)):
            x = upconv(x)
            x = step(torch.cat([_centre_crop(skip, x), x], dim=1))
        return self.final(x)


def unet() -> nn.Module:
    """The paper's U-Net: 1x572x572 in, 2x388x388 out."""
    return UNet(padding=0)


def unet_padded() -> nn.Module:
    """Every 3x3 conv padded by 1: 1x512x512 in, 2x512x512 out, the skips uncropped."""
    return UNet(padding=1)
