"""torchvision's own models, for ``cnnstat verify --module`` against the zoo specs (never in CI:
run with the separate environment of ``tools/torchvision_env.sh``; never imported by cnnstat or
its tests).  One small factory per spec, named after it; each builds without weights (there is
no download) and, where torchvision returns a dict or an auxiliary output, wraps the model to
return the tensor the spec's output is."""

from __future__ import annotations

import torch
from torch import nn


class _SegmentationOut(nn.Module):
    """A torchvision segmentation model returns ``{"out": ...}``: return ``out`` alone."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(x)["out"]
        return out


def lraspp_mobilenet_v3_large() -> nn.Module:
    """specs/lraspp-mobilenet-v3-large.yaml: 21 classes, dilated backbone, out['out']."""
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large as build

    return _SegmentationOut(build(weights=None, weights_backbone=None, num_classes=21))
