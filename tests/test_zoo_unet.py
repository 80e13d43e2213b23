"""The dense-prediction zoo: U-Net (Ronneberger et al. 2015) unpadded and padded, and LR-ASPP on
a dilated MobileNetV3-Large (torchvision lraspp_mobilenet_v3_large).

U-Net's expected values are arithmetic from the sizes printed in the paper's Figure 1; the
torch-marked tests verify both specs against an independent plain-PyTorch U-Net written from
that figure (tests/reference_models/unet.py).  LR-ASPP's figures are torchvision's, measured
with tools/verify_torchvision.py in the environment of tools/torchvision_env.sh (never in CI).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cnnstat.analysis import analyze
from cnnstat.spec.loader import load

REFERENCE = Path(__file__).parent / "reference_models" / "unet.py"


def conv(cin: int, cout: int, k: int = 3) -> int:
    """Parameters of a conv (or a transposed conv) with bias."""
    return k * k * cin * cout + cout


# Figure 1: the channels of every 3x3 conv pair, the 2x2 up-convs, the final 1x1 conv.
UNET_PARAMS = (
    conv(1, 64) + conv(64, 64) + conv(64, 128) + conv(128, 128)
    + conv(128, 256) + conv(256, 256) + conv(256, 512) + conv(512, 512)
    + conv(512, 1024) + conv(1024, 1024)
    + conv(1024, 512, 2) + conv(1024, 512) + conv(512, 512)
    + conv(512, 256, 2) + conv(512, 256) + conv(256, 256)
    + conv(256, 128, 2) + conv(256, 128) + conv(128, 128)
    + conv(128, 64, 2) + conv(128, 64) + conv(64, 64)
    + conv(64, 2, 1)
)

# Figure 1's map sizes: each conv's output H = W times C_out x C_in x k x k; an up-conv's MACs
# are over its input (H_in x W_in x C_in x C_out x 2 x 2).
UNET_MACS = (
    570 * 570 * 64 * 1 * 9 + 568 * 568 * 64 * 64 * 9
    + 282 * 282 * 128 * 64 * 9 + 280 * 280 * 128 * 128 * 9
    + 138 * 138 * 256 * 128 * 9 + 136 * 136 * 256 * 256 * 9
    + 66 * 66 * 512 * 256 * 9 + 64 * 64 * 512 * 512 * 9
    + 30 * 30 * 1024 * 512 * 9 + 28 * 28 * 1024 * 1024 * 9
    + 28 * 28 * 1024 * 512 * 4 + 54 * 54 * 512 * 1024 * 9 + 52 * 52 * 512 * 512 * 9
    + 52 * 52 * 512 * 256 * 4 + 102 * 102 * 256 * 512 * 9 + 100 * 100 * 256 * 256 * 9
    + 100 * 100 * 256 * 128 * 4 + 198 * 198 * 128 * 256 * 9 + 196 * 196 * 128 * 128 * 9
    + 196 * 196 * 128 * 64 * 4 + 390 * 390 * 64 * 128 * 9 + 388 * 388 * 64 * 64 * 9
    + 388 * 388 * 2 * 64
)


def test_unet_follows_figure_1() -> None:
    report = analyze(load("unet"))
    rows = {r.name: r for r in report.rows}
    assert report.input_shape == (1, 572, 572)
    assert report.rows[-1].output_shape == (2, 388, 388)
    assert report.totals.params == UNET_PARAMS
    assert report.totals.macs == UNET_MACS
    # "copy and crop": each skip cropped at its centre to the up-sampled map
    assert [rows[f"crop{i}"].output_shape for i in (4, 3, 2, 1)] == [
        (512, 56, 56), (256, 104, 104), (128, 200, 200), (64, 392, 392)]
    assert rows["crop1"].input_shape == (64, 568, 568)
    # "In total the network has 23 convolutional layers."
    assert sum(r.kind in ("conv", "conv_transpose") for r in report.rows) == 23


def test_unet_padded_keeps_the_size_and_the_parameters() -> None:
    report = analyze(load("unet-padded"))
    assert report.rows[-1].output_shape == (2, 512, 512)
    assert report.totals.params == UNET_PARAMS  # padding changes no weight
    assert not any(r.kind == "crop" for r in report.rows)
    # every 3x3 conv keeps its input's size: 512, 256, 128, 64, 32 down and back up
    assert report.totals.macs == (
        512 * 512 * 64 * 9 * (1 + 64) + 256 * 256 * 128 * 9 * (64 + 128)
        + 128 * 128 * 256 * 9 * (128 + 256) + 64 * 64 * 512 * 9 * (256 + 512)
        + 32 * 32 * 1024 * 9 * (512 + 1024)
        + 32 * 32 * 1024 * 512 * 4 + 64 * 64 * 512 * 9 * (1024 + 512)
        + 64 * 64 * 512 * 256 * 4 + 128 * 128 * 256 * 9 * (512 + 256)
        + 128 * 128 * 256 * 128 * 4 + 256 * 256 * 128 * 9 * (256 + 128)
        + 256 * 256 * 128 * 64 * 4 + 512 * 512 * 64 * 9 * (128 + 64)
        + 512 * 512 * 2 * 64)


def test_lraspp_matches_torchvision() -> None:
    report = analyze(load("lraspp-mobilenet-v3-large"))
    rows = {r.name: r for r in report.rows}
    # torchvision 0.29.1 lraspp_mobilenet_v3_large(num_classes=21): numel; FlopCounterMode
    # 4,172,439,376 at 1x3x520x520 = 2 x MACs (tools/verify_torchvision.py)
    assert report.totals.params == 3_221_538
    assert 2 * report.totals.macs == 4_172_439_376
    # the head: low features at output stride 8, high at 16 (the dilated C4), logits at 520
    assert rows["low_classifier"].input_shape == (40, 65, 65)
    assert rows["cbr"].input_shape == (960, 33, 33)
    assert rows["gated_up"].output_shape == (128, 65, 65)
    assert report.rows[-1].output_shape == (21, 520, 520)
    # the head's own parameters: cbr (no bias) + BN, scale conv (no bias), two classifiers
    head = 960 * 128 + 2 * 128 + 960 * 128 + (40 * 21 + 21) + (128 * 21 + 21)
    assert sum(r.params for r in report.rows if r.name in (
        "cbr", "cbr_bn", "scale_conv", "low_classifier", "high_classifier")) == head


def test_lraspp_fvcore_total_is_torchvisions(cli: Callable[..., Result]) -> None:
    # fvcore 0.1.5 FlopCountAnalysis of torchvision's model, eval, 1x3x520x520
    result = cli("summary", "lraspp-mobilenet-v3-large", "--count", "fvcore", "--format", "json")
    assert result.exit_code == 0, result.stderr
    count = json.loads(result.stdout)["count"]
    assert (count["preset"], count["total"]) == ("fvcore", 2_175_378_272)


@pytest.mark.torch
@pytest.mark.usefixtures("torch_one_thread")
@pytest.mark.parametrize(("spec", "factory"), [("unet", "unet"),
                                                ("unet-padded", "unet_padded")])
def test_unet_verifies_against_the_reference_implementation(
        cli: Callable[..., Result], spec: str, factory: str) -> None:
    pytest.importorskip("torch")
    result = cli("verify", spec, "--module", f"{REFERENCE}:{factory}")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "45 layers match the spec in order" in result.stdout
