"""torchvision's own models, for ``verify --module`` against the zoo specs (never in CI: run with
the separate environment of ``tools/torchvision_env.sh``).  One small factory per spec, named
after it; each builds without weights (there is no download) and, where torchvision returns a
dict or an auxiliary output, wraps the model to return the tensors the spec's outputs name."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def inception_v3() -> nn.Module:
    """specs/inception-v3.yaml: with the aux head, which runs in training only (eval returns
    the main logits alone, as the spec's inference pass does)."""
    from torchvision.models import inception_v3 as build

    return build(weights=None, aux_logits=True, init_weights=False)


class _Outputs(nn.Module):
    """A model returning an ordered dict of tensors, returning them as a tuple in order."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out: OrderedDict[str, torch.Tensor] = self.model(x)
        return tuple(out.values())


def resnet50_fpn() -> nn.Module:
    """specs/resnet50-fpn.yaml: the backbone of torchvision's detection models (FrozenBatchNorm2d,
    FPN on layer1-4, LastLevelMaxPool), outputs '0', '1', '2', '3', 'pool' as a tuple."""
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    return _Outputs(resnet_fpn_backbone(backbone_name="resnet50", weights=None,
                                        trainable_layers=5))
