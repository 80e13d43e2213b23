"""DLA-34 in plain PyTorch, written from Yu et al. 2018 (Deep Layer Aggregation, arXiv:1707.06484)
as timm's ``dla34`` builds it (timm/models/dla.py, read for its structure; no code copied, and
timm is not imported: it is not installed beside the test torch).  An independent implementation
to verify specs/dla34.yaml against.

Hierarchical deep aggregation is a tree: a tree of one level is two basic blocks and a *root*
(a 1x1 conv + BN + ReLU over the concatenation of both blocks' outputs and any children handed
down); a tree of L levels is two trees of L - 1 levels, the second handed the output of the first
as a child.  Iterative deep aggregation hands a stage's downsampled input to its root too
(``level_root``).  As in timm, a strided tree downsamples its input with a max pool (kernel =
stride) for the shortcut of its first block, projected by a 1x1 conv + BN where the width
changes (in one-level trees only: timm dropped the original's unused projections of deeper
trees, which is why its DLA-34 has 15,742,104 parameters).
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]


class Basic(nn.Module):
    """Two 3x3 convs, the shortcut added before the last ReLU (the caller may pass it)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(cin, cout, 3, stride)
        self.relu1 = nn.ReLU()
        self.conv2, self.bn2 = _conv_bn(cout, cout)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor, shortcut: torch.Tensor | None = None) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + (x if shortcut is None else shortcut))


class Root(nn.Module):
    """1x1 conv + BN + ReLU over the concatenated children."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv, self.bn = _conv_bn(cin, cout, 1)
        self.relu = nn.ReLU()

    def forward(self, *children: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(torch.cat(children, 1))))


class Tree(nn.Module):
    def __init__(self, levels: int, cin: int, cout: int, stride: int = 1,
                 level_root: bool = False, root_dim: int = 0) -> None:
        super().__init__()
        root_dim = (root_dim or 2 * cout) + (cin if level_root else 0)
        self.levels, self.level_root = levels, level_root
        self.downsample = nn.MaxPool2d(stride, stride) if stride > 1 else None
        self.project = nn.Sequential(*_conv_bn(cin, cout, 1)) \
            if levels == 1 and cin != cout else None
        self.tree1: nn.Module
        self.tree2: nn.Module
        if levels == 1:
            self.tree1, self.tree2 = Basic(cin, cout, stride), Basic(cout, cout)
            self.root = Root(root_dim, cout)
        else:
            self.tree1 = Tree(levels - 1, cin, cout, stride)
            self.tree2 = Tree(levels - 1, cout, cout, root_dim=root_dim + cout)

    def forward(self, x: torch.Tensor,
                children: list[torch.Tensor] | None = None) -> torch.Tensor:
        children = [] if children is None else children
        bottom = x if self.downsample is None else self.downsample(x)
        if self.level_root:
            children.append(bottom)
        if self.levels > 1:
            x1 = self.tree1(x)
            return self.tree2(x1, [*children, x1])
        shortcut = bottom if self.project is None else self.project(bottom)
        x1 = self.tree1(x, shortcut)
        x2 = self.tree2(x1)
        return self.root(x2, x1, *children)


class DLA34(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        widths, levels = [16, 32, 64, 128, 256, 512], [1, 1, 1, 2, 2, 1]
        self.base = nn.Sequential(*_conv_bn(3, 16, 7), nn.ReLU())
        self.level0 = nn.Sequential(*_conv_bn(16, 16), nn.ReLU())
        self.level1 = nn.Sequential(*_conv_bn(16, 32, 3, 2), nn.ReLU())
        self.trees = nn.ModuleList(
            Tree(levels[i], widths[i - 1], widths[i], 2, level_root=i > 2) for i in range(2, 6))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(512, classes, 1)  # timm's classifier: a 1x1 conv, then flatten

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.level1(self.level0(self.base(x)))
        for tree in self.trees:
            x = tree(x)
        return torch.flatten(self.fc(self.pool(x)), 1)


def dla34() -> DLA34:
    return DLA34()
