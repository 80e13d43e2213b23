"""Small PyTorch networks written as people write them, for ``cnnstat import`` round trips
(tests/test_import.py): modules and functional calls mixed, residual adds, concatenated
branches, U-Net skips, squeeze-and-excitation, depthwise-separable convs."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.down is None else self.down(x)
        return F.relu(out + shortcut)


class ResNet(nn.Module):
    def __init__(self, blocks: int = 2, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True))
        layers, cin = [], 16
        for i, width in enumerate((16, 32, 64)):
            for j in range(blocks):
                layers.append(BasicBlock(cin, width, 2 if i and not j else 1))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(x.view(x.size(0), -1))


class Inception(nn.Module):
    """GoogLeNet's module: four branches concatenated on channels."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pp: int) -> None:
        super().__init__()
        self.b1 = nn.Sequential(nn.Conv2d(cin, c1, 1), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(cin, c3r, 1), nn.ReLU(), nn.Conv2d(c3r, c3, 3, padding=1),
                                nn.ReLU())
        self.b3 = nn.Sequential(nn.Conv2d(cin, c5r, 1), nn.ReLU(), nn.Conv2d(c5r, c5, 5, padding=2),
                                nn.ReLU())
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, pp, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class InceptionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, 2, 1)
        self.inc1 = Inception(64, 32, 48, 64, 8, 16, 16)
        self.inc2 = Inception(128, 64, 64, 96, 16, 48, 32)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(240, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inc2(self.inc1(F.relu(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def _double(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(True))


class UNet(nn.Module):
    """A padded U-Net: skips concatenated after transposed-conv upsampling."""

    def __init__(self, base: int = 8, classes: int = 2) -> None:
        super().__init__()
        self.enc1, self.enc2 = _double(1, base), _double(base, base * 2)
        self.bottom = _double(base * 2, base * 4)
        self.up2 = nn.ConvTranspose2d(base * 4, base * 2, 2, stride=2)
        self.dec2 = _double(base * 4, base * 2)
        self.up1 = nn.ConvTranspose2d(base * 2, base, 2, stride=2)
        self.dec1 = _double(base * 2, base)
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bottom(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([e2, self.up2(b)], dim=1))
        d1 = self.dec1(torch.cat([e1, self.up1(d2)], dim=1))
        return self.head(d1)


class SE(nn.Module):
    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, c // r, 1), nn.Conv2d(c // r, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return x * s


class SENet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, 2, 1)
        self.se1 = SE(32)
        self.conv2 = nn.Conv2d(32, 64, 3, 2, 1)
        self.se2 = SE(64)
        self.fc = nn.Linear(64, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se2(F.relu(self.conv2(self.se1(F.relu(self.conv(x))))))
        return self.fc(x.mean((2, 3)))


def separable(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
                         nn.BatchNorm2d(cin), nn.ReLU6(inplace=True),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU6(inplace=True))


class Separable(nn.Module):
    """MobileNet-v1 style: a stack of depthwise-separable convs."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(inplace=True),
            separable(16, 32), separable(32, 64, 2), separable(64, 64), separable(64, 128, 2))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class ShuffleUnit(nn.Module):
    """ShuffleNet v2's basic unit: half the channels pass, half go through the branch, then
    the two halves are concatenated and shuffled."""

    def __init__(self, c: int) -> None:
        super().__init__()
        half = c // 2
        self.branch = nn.Sequential(nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half),
                                    nn.ReLU(inplace=True),
                                    nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False),
                                    nn.BatchNorm2d(half))
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return self.shuffle(torch.cat((x1, self.branch(x2)), dim=1))


class ShuffleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2, 1)
        self.units = nn.Sequential(ShuffleUnit(16), ShuffleUnit(16))
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.units(self.stem(x)).mean([2, 3]))


class Unsupported(nn.Module):
    """Uses operations with no spec kind: an LSTM-free but still unsupported network."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.act = nn.Softplus()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.conv(x))
        return torch.tanh(x) * 2 + x.abs() + x.abs()


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block as torchvision writes it (Liu et al. 2022): a 7x7 depthwise conv, then
    channels-last LayerNorm, Linear 4C, GELU, Linear C, back to channels-first, a learned layer
    scale used directly and stochastic depth, added to the input."""

    def __init__(self, c: int, p: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.full((c, 1, 1), 1e-6))
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        y = self.gamma * torch.permute(y, (0, 3, 1, 2))
        # stochastic depth: the identity in eval mode, as the trace and verify run
        return x + (y if not self.training else y * (torch.rand(()) >= self.p))


class ConvNeXtNet(nn.Module):
    def __init__(self, c: int = 16) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 4, stride=4)
        self.blocks = nn.Sequential(ConvNeXtBlock(c, 0.0), ConvNeXtBlock(c, 0.1))
        self.head_norm = nn.LayerNorm(c)
        self.fc = nn.Linear(c, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x)).mean([2, 3])
        return self.fc(self.head_norm(x))


class NormNet(nn.Module):
    """GroupNorm and InstanceNorm (affine and with running statistics), tanh-approximate GELU
    as a module and as a function, and a spatial mean that keeps its dims."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.gn = nn.GroupNorm(4, 16)
        self.act = nn.GELU(approximate="tanh")
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.inorm = nn.InstanceNorm2d(16, affine=True)
        self.conv3 = nn.Conv2d(16, 8, 1)
        self.inorm2 = nn.InstanceNorm2d(8, track_running_stats=True)
        self.gn_plain = nn.GroupNorm(2, 8, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.gn(self.conv1(x)))
        x = F.gelu(self.inorm(self.conv2(x)), approximate="tanh")
        x = self.gn_plain(self.inorm2(self.conv3(x)))
        return torch.mean(x, (2, 3), keepdim=True)


class Branchy(nn.Module):
    """Control flow that depends on the data."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if y.sum() > 0:
            return y
        return -y


def resnet(blocks: int = 2, classes: int = 10) -> nn.Module:
    return ResNet(blocks, classes)


def inception() -> nn.Module:
    return InceptionNet()


def unet() -> nn.Module:
    return UNet()


def senet() -> nn.Module:
    return SENet()


def separable_stack() -> nn.Module:
    return Separable()


def shufflenet() -> nn.Module:
    return ShuffleNet()


def unsupported() -> nn.Module:
    return Unsupported()


def branchy() -> nn.Module:
    return Branchy()


def convnext() -> nn.Module:
    return ConvNeXtNet()


def normnet() -> nn.Module:
    return NormNet()


class TupleModule(nn.Module):
    """A module with no spec kind that returns a tuple (as nn.MultiheadAttention does)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.rnn = nn.GRU(8, 8, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).flatten(2).transpose(1, 2)
        return self.rnn(y)[0]


def tuple_module() -> nn.Module:
    return TupleModule()


class BoTBlock(nn.Module):
    """BoTNet's bottleneck (Srinivas et al. 2021) with cnnstat's own multi-head self-attention
    module (the one module the spec's attention kind is built as) in place of the 3x3 conv."""

    def __init__(self, c: int, mid: int, heads: int) -> None:
        super().__init__()
        from cnnstat.torch_backend.build.attention import SelfAttention2d

        self.reduce = nn.Conv2d(c, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.mhsa = SelfAttention2d(mid, heads, qkv_bias=False, bias=True)
        self.expand = nn.Conv2d(mid, c, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mhsa(F.relu(self.bn1(self.reduce(x))))
        return F.relu(x + self.bn2(self.expand(y)))


def botnet() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), BoTBlock(32, 16, 4),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


class AuxHead(nn.Module):
    """GoogLeNet's auxiliary classifier (torchvision's ``InceptionAux``, smaller): it runs only
    in training mode."""

    def __init__(self, cin: int, classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 8, 1)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(x, (2, 2))
        x = F.relu(self.conv(x))
        x = torch.flatten(x, 1)
        x = F.dropout(F.relu(self.fc1(x)), 0.7, training=self.training)
        return self.fc2(x)


class AuxNet(nn.Module):
    """A trunk with two auxiliary heads branched off as GoogLeNet does (``if self.training``),
    returning them beside the logits in training mode only."""

    def __init__(self, classes: int = 10, drop: float = 0.0, joined: bool = False,
                 inner: bool = False) -> None:
        super().__init__()
        # stochastic depth; a head reading two tensors; a head reading inside the residual
        self.drop, self.joined, self.inner = drop, joined, inner
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU())
        self.block1 = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.aux1 = AuxHead(16, classes)
        self.block2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.aux2 = AuxHead(32, classes)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> Any:
        s = self.stem(x)
        y = self.block1(s)
        if self.training and self.drop:  # stochastic depth: the identity in eval mode
            y = y * (torch.rand(()) >= self.drop)
        x = s + y
        aux1 = self.aux1(x + s if self.joined else y if self.inner else x) \
            if self.training else None
        x = self.block2(x)
        aux2 = self.aux2(x) if self.training else None
        x = self.fc(torch.flatten(self.pool(x), 1))
        if self.training:
            return x, aux2, aux1
        return x


def auxnet(drop: float = 0.0, joined: bool = False, inner: bool = False) -> nn.Module:
    return AuxNet(drop=drop, joined=joined, inner=inner)


class L2Norm(nn.Module):
    """SSD's L2Norm (Liu et al. 2016, after ParseNet) as its own module, the way ssd.pytorch
    writes it, here with ``F.normalize`` as torchvision does: a learned scale per channel
    (initialised to 20) times each position's channel vector divided by its L2 norm."""

    def __init__(self, channels: int, scale: float = 20.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight.view(1, -1, 1, 1) * F.normalize(x)


def _vgg_stub() -> tuple[nn.Sequential, list[nn.Sequential]]:
    """A small SSD300-style VGG: conv, pool (ceil mode), conv "4_3"; then pool 3/1/1, a dilated
    3x3 "conv6" (dilation 6), a 1x1 "conv7", and one extra layer of stride 2."""
    features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True),
                             nn.MaxPool2d(2, 2, ceil_mode=True),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True))
    fc = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(16, 32, 3, padding=6, dilation=6),
                       nn.ReLU(inplace=True), nn.Conv2d(32, 32, 1), nn.ReLU(inplace=True))
    extra = nn.Sequential(nn.Conv2d(32, 8, 1), nn.ReLU(inplace=True),
                          nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU(inplace=True))
    return features, [fc, extra]


class SSDStub(nn.Module):
    """Two heads: conv4_3 L2-normalised, and the extra layers, which read conv4_3 before it."""

    def __init__(self) -> None:
        super().__init__()
        self.features, extra = _vgg_stub()
        self.l2norm = L2Norm(16)
        self.extra = nn.Sequential(*extra)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.features(x)
        return self.l2norm(x), self.extra(x)


class SSDFeatureStub(nn.Module):
    """torchvision's SSDFeatureExtractorVGG written small: the scale a bare parameter of the
    extractor, used directly, and every feature map an output."""

    def __init__(self, scale: float = 20.0) -> None:
        super().__init__()
        self.features, extra = _vgg_stub()
        self.scale_weight = nn.Parameter(torch.full((16,), scale))
        self.extra = nn.ModuleList(extra)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.features(x)
        out = [self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)]
        for block in self.extra:
            x = block(x)
            out.append(x)
        return out


class NormalizeOnly(nn.Module):
    """F.normalize without the scale, and over the wrong axis: no spec kind (E701)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=2)


def ssd_stub() -> nn.Module:
    return SSDStub()


def ssd_feature_stub(scale: float = 20.0) -> nn.Module:
    return SSDFeatureStub(scale)


def normalize_only() -> nn.Module:
    return NormalizeOnly()


class MaxPooled(nn.Module):
    """Adaptive max pooling as people write it: a module (``nn.AdaptiveMaxPool2d((4, 6))``,
    uneven windows on a 15 x 15 map) and a call before the classifier
    (``F.adaptive_max_pool2d(x, 1)``, a global max)."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                      nn.AdaptiveMaxPool2d((4, 6)),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_max_pool2d(self.features(x), 1)
        return self.fc(torch.flatten(x, 1))


def maxpooled() -> nn.Module:
    return MaxPooled()


class IndexedPool(nn.Module):
    """Adaptive max pooling that also returns the argmax indices (``return_indices=True``), as
    a module and as a call: a tuple, which no spec layer returns."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveMaxPool2d(2, return_indices=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)[0] + F.adaptive_max_pool2d(x, 2, return_indices=True)[0]


def indexed_pool() -> nn.Module:
    return IndexedPool()
