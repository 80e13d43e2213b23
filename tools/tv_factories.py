"""torchvision factories for ``cnnstat verify --module`` (run with the torchvision venv of
``tools/torchvision_env.sh``; never imported by cnnstat or its tests).

Each factory takes no arguments and builds the model without pretrained weights (there is no
network here).  ``verify --module`` compares leaf layers in eval mode and expects one tensor
out, so models returning a dict are wrapped to return the main output.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import segmentation


class MainOut(nn.Module):
    """Returns ``result["out"]`` of a torchvision segmentation model (its dict output)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(x)["out"]
        return out


def fcn_resnet50() -> nn.Module:
    """fcn_resnet50 without its aux head (aux_loss=False): the inference path."""
    return MainOut(segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False))


def deeplabv3_resnet50() -> nn.Module:
    """deeplabv3_resnet50 without its aux head (aux_loss=False): the inference path."""
    return MainOut(segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None,
                                                   aux_loss=False))


def lraspp_mobilenet_v3_large() -> nn.Module:
    """lraspp_mobilenet_v3_large: 21 classes, dilated backbone, the ``out`` tensor."""
    return MainOut(segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                          num_classes=21))
