"""torchvision factories for ``cnnstat verify --module`` (run with the torchvision venv of
``tools/torchvision_env.sh``; never imported by cnnstat or its tests).

Each factory takes no arguments and builds the model without pretrained weights (there is no
network here).  ``verify --module`` compares leaf layers in eval mode and expects one tensor
out, so models returning a dict are wrapped to return the main output.
"""

from __future__ import annotations

from collections import OrderedDict

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


def inception_v3() -> nn.Module:
    """inception_v3 with the aux head, which runs in training only (eval returns the main logits
    alone, as the spec's inference pass does)."""
    from torchvision.models import inception_v3 as build

    return build(weights=None, aux_logits=True, init_weights=False)


class Outputs(nn.Module):
    """A model returning an ordered dict of tensors, returning them as a tuple in order."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out: OrderedDict[str, torch.Tensor] = self.model(x)
        return tuple(out.values())


def resnet50_fpn() -> nn.Module:
    """The backbone of torchvision's detection models (FrozenBatchNorm2d, FPN on layer1-4,
    LastLevelMaxPool): outputs '0', '1', '2', '3', 'pool' as a tuple."""
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    return Outputs(resnet_fpn_backbone(backbone_name="resnet50", weights=None,
                                       trainable_layers=5))


def ssd300_vgg16() -> nn.Module:
    """The backbone of torchvision's ssd300_vgg16 (SSDFeatureExtractorVGG: VGG-16 to conv5_3,
    the L2 norm on conv4_3, fc6/fc7 and the extra layers): its six maps as a tuple."""
    from torchvision.models.detection import ssd300_vgg16 as build

    return Outputs(build(weights=None, weights_backbone=None).backbone)


def efficientnet_v2_s() -> nn.Module:
    """efficientnet_v2_s (Fused-MBConv and MBConv stages; StochasticDepth is the identity in
    eval)."""
    from torchvision.models import efficientnet_v2_s as build

    return build(weights=None)


def efficientnet_v2_m() -> nn.Module:
    """efficientnet_v2_m."""
    from torchvision.models import efficientnet_v2_m as build

    return build(weights=None)


def efficientnet_v2_l() -> nn.Module:
    """efficientnet_v2_l."""
    from torchvision.models import efficientnet_v2_l as build

    return build(weights=None)


def shufflenet_v2_x1_0() -> nn.Module:
    """shufflenet_v2_x1_0: global pooling is ``x.mean([2, 3])`` in its forward."""
    from torchvision.models import shufflenet_v2_x1_0 as build

    return build(weights=None)


def mnasnet1_0() -> nn.Module:
    """mnasnet1_0: global pooling is ``x.mean([2, 3])`` in its forward."""
    from torchvision.models import mnasnet1_0 as build

    return build(weights=None)


def convnext_tiny() -> nn.Module:
    from torchvision.models import convnext_tiny as build

    return build(weights=None)


def convnext_small() -> nn.Module:
    from torchvision.models import convnext_small as build

    return build(weights=None)


def convnext_base() -> nn.Module:
    from torchvision.models import convnext_base as build

    return build(weights=None)


def _regnet(name: str) -> nn.Module:
    """A torchvision RegNet by name, without weights."""
    from torchvision.models import regnet

    model: nn.Module = getattr(regnet, name)(weights=None)
    return model


def regnet_x_400mf() -> nn.Module:
    return _regnet("regnet_x_400mf")


def regnet_x_800mf() -> nn.Module:
    return _regnet("regnet_x_800mf")


def regnet_x_1_6gf() -> nn.Module:
    return _regnet("regnet_x_1_6gf")


def regnet_x_3_2gf() -> nn.Module:
    return _regnet("regnet_x_3_2gf")


def regnet_x_8gf() -> nn.Module:
    return _regnet("regnet_x_8gf")


def regnet_x_16gf() -> nn.Module:
    return _regnet("regnet_x_16gf")


def regnet_x_32gf() -> nn.Module:
    return _regnet("regnet_x_32gf")


def regnet_y_400mf() -> nn.Module:
    return _regnet("regnet_y_400mf")


def regnet_y_800mf() -> nn.Module:
    return _regnet("regnet_y_800mf")


def regnet_y_1_6gf() -> nn.Module:
    return _regnet("regnet_y_1_6gf")


def regnet_y_3_2gf() -> nn.Module:
    return _regnet("regnet_y_3_2gf")


def regnet_y_8gf() -> nn.Module:
    return _regnet("regnet_y_8gf")


def regnet_y_16gf() -> nn.Module:
    return _regnet("regnet_y_16gf")


def regnet_y_32gf() -> nn.Module:
    return _regnet("regnet_y_32gf")
