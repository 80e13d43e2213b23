"""Segmentation networks in the zoo: fcn-resnet50 and deeplabv3-resnet50 as torchvision builds
them (dilated ResNet-50 backbone, output stride 8, training-only aux head) at 3x520x520.

Parameters are written as arithmetic from the architecture; the FLOP totals are torchvision
0.29.1's own, measured with FlopCounterMode and fvcore on the aux_loss=False models in eval mode
(tools/tv_factories.py, tools/verify_torchvision.py), and the MACs figure is the weights' ``_ops``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest
from click.testing import Result

from cnnstat import analysis
from cnnstat.check.figures import check_figures
from cnnstat.core.presets import PRESETS
from cnnstat.core.report import Report
from cnnstat.spec.loader import load

CLASSES = 21
MAP = 65                                           # 520 / 8: output stride 8
# torchvision resnet50 num_params less its fc (2048 x 1000 + 1000): dilation adds no parameters.
BACKBONE = 25557032 - (2048 * 1000 + 1000)
FCN_HEAD = 2048 * 512 * 9 + 2 * 512 + (512 * CLASSES + CLASSES)
AUX_HEAD = 1024 * 256 * 9 + 2 * 256 + (256 * CLASSES + CLASSES)
CONV_BN = 2 * 256                                  # every ASPP conv is followed by BN (no bias)
ASPP = ((2048 * 256 + CONV_BN)                     # 1x1 branch
        + 3 * (2048 * 256 * 9 + CONV_BN)           # rates 12, 24, 36
        + (2048 * 256 + CONV_BN)                   # image pooling
        + (5 * 256 * 256 + CONV_BN))               # projection 1280 -> 256
DEEPLAB_HEAD = ASPP + (256 * 256 * 9 + CONV_BN) + (256 * CLASSES + CLASSES)
AUX_MACS = MAP * MAP * 256 * 1024 * 9 + MAP * MAP * CLASSES * 256


def analyze(name: str, **params: int) -> Report:
    return analysis.analyze(load(name, dict(params)) if params else load(name))


def test_fcn_params_are_the_backbone_and_two_heads() -> None:
    t = analyze("fcn-resnet50").totals
    assert t.params == BACKBONE + FCN_HEAD + AUX_HEAD == 35322218   # torchvision numel, aux_loss=True
    assert t.training_params == AUX_HEAD
    assert analyze("fcn-resnet50", aux=0).totals.params == BACKBONE + FCN_HEAD == 32957013


def test_deeplab_params_are_the_backbone_aspp_and_heads() -> None:
    t = analyze("deeplabv3-resnet50").totals
    assert t.params == BACKBONE + DEEPLAB_HEAD + AUX_HEAD == 42004074
    assert analyze("deeplabv3-resnet50", aux=0).totals.params == BACKBONE + DEEPLAB_HEAD


@pytest.mark.parametrize("name", ["fcn-resnet50", "deeplabv3-resnet50"])
def test_output_stride_8_and_the_upsample_to_the_input(name: str) -> None:
    report = analyze(name)
    rows = {r.name: r for r in report.rows}
    assert rows["layer2.bottleneck4.relu3"].output_shape == (512, MAP, MAP)
    assert rows["layer3.bottleneck6.relu3"].output_shape == (1024, MAP, MAP)
    assert rows["layer4.bottleneck3.relu3"].output_shape == (2048, MAP, MAP)
    assert report.output_shape == (CLASSES, 520, 520)
    # torchvision's dilation: the first bottleneck keeps the previous one, the rest take the new
    dilated = {n: rows[f"{n}.conv2"].description for n in (
        "layer3.bottleneck1", "layer3.bottleneck2", "layer4.bottleneck1", "layer4.bottleneck3")}
    assert dilated == {"layer3.bottleneck1": "256 3x3 filters at stride 1, pad 1, no bias",
                       "layer3.bottleneck2": "256 3x3 filters at stride 1, pad 2, dilation 2, no bias",
                       "layer4.bottleneck1": "512 3x3 filters at stride 1, pad 2, dilation 2, no bias",
                       "layer4.bottleneck3": "512 3x3 filters at stride 1, pad 4, dilation 4, no bias"}
    assert report.totals.training_macs == AUX_MACS


# torchvision 0.29.1, aux_loss=False, eval, 1x3x520x520 (tools/verify_torchvision.py)
TORCHVISION = {
    "fcn-resnet50": {"flopcounter": 285451545600, "fvcore": 143024294400},
    "deeplabv3-resnet50": {"flopcounter": 337462411776, "fvcore": 169051360000},
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_flop_totals_are_torchvisions(name: str) -> None:
    report = analyze(name)
    assert PRESETS["torch"].total(report) == TORCHVISION[name]["flopcounter"] == 2 * report.totals.macs
    assert PRESETS["fvcore"].total(report) == TORCHVISION[name]["fvcore"]


def test_fvcore_total_of_deeplab_by_part() -> None:
    report = analyze("deeplabv3-resnet50")
    bn = sum(2 * math.prod(r.input_shape) for r in report.rows   # eval: 2 per input element
             if r.kind == "bn" and not r.training)
    upsample = 4 * (256 * MAP * MAP + CLASSES * 520 * 520)   # fvcore: 4 per bilinear output
    pool = 2048 * MAP * MAP                                   # adaptive pool: numel(input)
    assert bn == 284461312                                    # fvcore's batch_norm on torchvision
    assert PRESETS["fvcore"].total(report) == report.totals.macs + bn + pool + upsample


@pytest.mark.parametrize("name, ops", [("fcn-resnet50", 152_717),
                                       ("deeplabv3-resnet50", 178_722)])
def test_torchvisions_ops_include_the_aux_head(name: str, ops: int) -> None:
    report = analyze(name)
    with_aux = report.totals.macs + report.totals.training_macs
    assert (with_aux + 500_000) // 1_000_000 == ops   # the weights' _ops: GMACs, 3 decimals
    loaded = load(name)
    statuses = {c.metric: c.status for c in check_figures(report, loaded.reference)}
    assert statuses["macs"] == "known" and statuses["params"] == "agrees"


def test_the_summary_reports_the_aux_head_apart(cli: Callable[..., Result]) -> None:
    result = cli("summary", "deeplabv3-resnet50", "--format", "json")
    assert result.exit_code == 0
    totals = json.loads(result.stdout)["totals"]
    assert totals["training_only"] == {"params": AUX_HEAD, "macs": AUX_MACS}
    assert totals["params"] == 42004074
