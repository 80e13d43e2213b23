"""HRNet-W18-small in plain PyTorch, written from Wang et al. 2020 (Deep High-Resolution
Representation Learning, arXiv:1908.07919) as timm's ``hrnet_w18_small`` builds it
(timm/models/hrnet.py, read for its configuration and the order of its operations; no code
copied, and timm is not imported: it is not installed beside the test torch).  An independent
implementation to verify specs/hrnet-w18-small.yaml against.

A stem of two strided 3x3 convs; stage 1, one bottleneck (32 wide, 128 out); then stages of 2, 3
and 4 parallel branches (16, 32, 64, 128 channels at strides 4, 8, 16, 32), one module each of two
basic blocks per branch.  Between stages a transition keeps each branch (a 3x3 conv where the
width changes) and adds one, a strided 3x3 conv from the last.  A module's fuse sums, for each
output branch i, every branch j brought to i's size: j > i by a 1x1 conv + BN and nearest
upsampling by 2^(j - i); j < i by i - j strided 3x3 convs (BN and ReLU between, BN only after
the last); j = i as it is; a ReLU after the sum.  The classification head: a bottleneck per
branch (32, 64, 128, 256 wide), each sum strided on by a 3x3 conv (with bias) + BN + ReLU into
the next, a 1x1 conv to 2048, global pooling and a linear layer.
"""

from __future__ import annotations

import torch
from torch import nn

WIDTHS = (16, 32, 64, 128)
HEAD = (32, 64, 128, 256)


def cbr(cin: int, cout: int, k: int = 3, stride: int = 1, relu: bool = True,
        bias: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias),
                               nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


class Basic(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(c, c), cbr(c, c, relu=False))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + x)


class Bottleneck(nn.Module):
    """1x1, 3x3, 1x1 (x4), the input projected by a 1x1 conv + BN where the width changes."""

    def __init__(self, cin: int, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(cin, width, 1), cbr(width, width),
                                  cbr(width, 4 * width, 1, relu=False))
        self.down = cbr(cin, 4 * width, 1, relu=False) if cin != 4 * width else None
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return self.relu(out + (x if self.down is None else self.down(x)))


def fuse_path(i: int, j: int) -> nn.Module | None:
    """Branch j brought to branch i's size and width (None: branch i itself, as it is)."""
    if j > i:
        return nn.Sequential(cbr(WIDTHS[j], WIDTHS[i], 1, relu=False),
                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"))
    if j == i:
        return None
    steps = [cbr(WIDTHS[j], WIDTHS[j], stride=2) for _ in range(i - j - 1)]
    return nn.Sequential(*steps, cbr(WIDTHS[j], WIDTHS[i], stride=2, relu=False))


class Module(nn.Module):
    """One high-resolution module of n branches: two basic blocks each, then the fuse."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(Basic(WIDTHS[j]), Basic(WIDTHS[j]))
                                      for j in range(n))
        self.paths = [[fuse_path(i, j) for j in range(n)] for i in range(n)]
        self.fuse = nn.ModuleList(nn.ModuleList(p for p in paths if p is not None)
                                  for paths in self.paths)
        self.relu = nn.ReLU()

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        out = []
        for paths in self.paths:
            brought = [x if path is None else path(x) for path, x in zip(paths, xs)]
            total = brought[0]
            for y in brought[1:]:
                total = total + y
            out.append(self.relu(total))
        return out


class HRNetW18Small(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 64, stride=2), cbr(64, 64, stride=2))
        self.layer1 = Bottleneck(64, 32)
        self.transitions: list[list[nn.Module | None]] = []
        self.steps = nn.ModuleList()
        self.stages = nn.ModuleList()
        previous = [128]
        for n in (2, 3, 4):
            steps: list[nn.Module | None] = []
            for j in range(n):
                if j < len(previous):  # kept, through a 3x3 conv where the width changes
                    keep = previous[j] == WIDTHS[j]
                    steps.append(None if keep else cbr(previous[j], WIDTHS[j]))
                else:
                    steps.append(cbr(previous[-1], WIDTHS[j], stride=2))
            self.transitions.append(steps)
            self.steps.extend(step for step in steps if step is not None)
            self.stages.append(Module(n))
            previous = list(WIDTHS[:n])
        self.incre = nn.ModuleList(Bottleneck(WIDTHS[i], HEAD[i]) for i in range(4))
        self.downs = nn.ModuleList(cbr(4 * HEAD[i], 4 * HEAD[i + 1], stride=2, bias=True)
                                   for i in range(3))
        self.final = cbr(4 * HEAD[3], 2048, 1, bias=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ys = [self.layer1(self.stem(x))]
        for steps, stage in zip(self.transitions, self.stages):
            xs = [y if step is None else step(y)
                  for step, y in zip(steps, [*ys, ys[-1]][:len(steps)])]
            ys = stage(xs)
        y = self.incre[0](ys[0])
        for incre, down, branch in zip(self.incre[1:], self.downs, ys[1:]):
            y = incre(branch) + down(y)
        y = self.pool(self.final(y))
        return self.fc(torch.flatten(y, 1))


def hrnet_w18_small() -> HRNetW18Small:
    return HRNetW18Small()
