"""The modern zoo of issue 14: ConvNeXt-T/S/B (torchvision), and ShuffleNetV2 / MNASNet's
``x.mean([2, 3])`` under the fvcore preset.

ConvNeXt's totals are derived here from first principles (Liu et al. 2022, Section 3; the
layout of torchvision.models.convnext) and compared with the analysis and with torchvision's
figures: num_params from its model metadata, FlopCounterMode and fvcore as measured live with
torchvision 0.29.1 (tools/verify_torchvision.py; docs/zoo.md, "Checked against torchvision").
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cnnstat.analysis import analyze
from cnnstat.core.presets import PRESETS
from cnnstat.spec.loader import load

# name: (dims, depths); torchvision convnext_tiny / _small / _base
CONVNEXT = {"convnext-tiny": ((96, 192, 384, 768), (3, 3, 9, 3)),
            "convnext-small": ((96, 192, 384, 768), (3, 3, 27, 3)),
            "convnext-base": ((128, 256, 512, 1024), (3, 3, 27, 3))}
# torchvision 0.29.1: num_params (metadata), FlopCounterMode and fvcore totals (live, eval mode)
TORCHVISION = {"convnext-tiny": (28_589_128, 8_911_062_528, 4_470_437_376),
               "convnext-small": (50_223_688, 17_367_424_512, 8_705_392_128),
               "convnext-base": (88_591_464, 30_709_458_944, 15_383_635_968)}
CLASSES = 1000


def block_params(d: int) -> int:
    """7x7 depthwise conv (49d + d), LayerNorm (2d), Linear(d, 4d) (4d^2 + 4d), Linear(4d, d)
    (4d^2 + d), layer scale (d)."""
    return (49 * d + d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d) + d


def block_macs(d: int, hw: int) -> int:
    return hw * (49 * d + d * 4 * d + 4 * d * d)


def convnext(dims: tuple[int, ...], depths: tuple[int, ...]) -> tuple[int, int, int]:
    """(params, MACs, LayerNorm input elements) at 224 x 224."""
    side = 224 // 4
    params = 3 * dims[0] * 4 * 4 + dims[0] + 2 * dims[0]   # stem conv + LayerNorm2d
    macs = side * side * dims[0] * 3 * 4 * 4
    norm = dims[0] * side * side
    for i, (d, n) in enumerate(zip(dims, depths)):
        params += n * block_params(d)
        macs += n * block_macs(d, side * side)
        norm += n * d * side * side
        if i + 1 < len(dims):  # LayerNorm2d + 2x2/2 conv to the next width
            params += 2 * d + d * dims[i + 1] * 2 * 2 + dims[i + 1]
            norm += d * side * side
            side //= 2
            macs += side * side * dims[i + 1] * d * 2 * 2
    d = dims[-1]
    params += 2 * d + d * CLASSES + CLASSES                 # head LayerNorm2d + linear
    macs += d * CLASSES
    norm += d                                               # head norm on d x 1 x 1
    return params, macs, norm


@pytest.mark.parametrize("name", CONVNEXT)
def test_convnext_from_first_principles_and_torchvision(name: str) -> None:
    params, macs, norm = convnext(*CONVNEXT[name])
    report = analyze(load(name))
    tv_params, tv_torch, tv_fvcore = TORCHVISION[name]
    assert report.totals.params == params == tv_params
    assert report.totals.macs == macs
    assert PRESETS["torch"].total(report) == 2 * macs == tv_torch
    # fvcore: a MAC is one flop; each LayerNorm 5 per input element (it has a gamma); the
    # adaptive average pool its input (d4 x 7 x 7); GELU, layer scale and adds 0.
    assert PRESETS["fvcore"].total(report) == macs + 5 * norm + CONVNEXT[name][0][-1] * 7 * 7
    assert PRESETS["fvcore"].total(report) == tv_fvcore


def test_convnext_tiny_numbers_written_out() -> None:
    # params: 28,589,128 (torchvision num_params); MACs 4,455,531,264 (its _ops: 4.456 GMACs)
    report = analyze(load("convnext"))
    assert report.totals.params == 28_589_128
    assert report.totals.macs == 4_455_531_264
    assert report.output_shape == (CLASSES,)


@pytest.mark.parametrize(("name", "c", "pool_input"), [
    ("shufflenet-v2", 1024, 1024 * 7 * 7), ("mnasnet1-0", 1280, 1280 * 7 * 7)])
def test_mean_pooling_is_not_counted_by_fvcore(name: str, c: int, pool_input: int) -> None:
    """torchvision's forward pools with x.mean([2, 3]): fvcore counts it 0 (no aten::mean
    handle), where an adaptive average pool would add its input (1024*7*7 = 50,176 and
    1280*7*7 = 62,720).  The fvcore totals are torchvision 0.29.1's, measured live."""
    report = analyze(load(name))
    (row,) = [r for r in report.rows if r.kind == "mean"]
    assert row.output_shape == (c,) and row.ops == {"mean": pool_input}
    fvcore = {"shufflenet-v2": 148_808_392, "mnasnet1-0": 325_329_152}[name]
    assert PRESETS["fvcore"].total(report) == fvcore
    assert PRESETS["fvcore"].count(row) == 0


def test_resnet_110_with_stochastic_depth() -> None:
    """Huang et al. 2016: ResNet-110 (He et al. 2016, Table 6: 1.7M params) with block l of
    L = 54 dropped in training with probability l / L * (1 - p_L), p_L = 0.5.  At inference
    every block runs: params and MACs are ResNet-110's."""
    sd, plain = analyze(load("resnet-110-sd")), analyze(load("resnet-cifar-110"))
    # conv1 + BN, then per stage 18 blocks of two 3x3 convs + two BNs; fc 64 -> 10
    params = 3 * 16 * 9 + 2 * 16
    for c_in, c in ((16, 16), (16, 32), (32, 64)):
        params += (c_in * c * 9 + 2 * c) + (c * c * 9 + 2 * c)    # the first block
        params += 17 * 2 * (c * c * 9 + 2 * c)                     # the other 17
    params += 64 * 10 + 10
    assert sd.totals.params == plain.totals.params == params
    assert abs(params - 1_700_000) <= 50_000
    assert sd.totals.macs == plain.totals.macs
    drops = [r for r in sd.rows if r.kind == "drop_path"]
    assert len(drops) == 3 * 18 and all(r.ops == {} and r.params == 0 for r in drops)
    assert drops[0].description.startswith(f"stochastic depth p={1 / 108:g} ")
    assert drops[-1].description.startswith("stochastic depth p=0.5 ")
    # expected blocks run in training: the sum of the survival probabilities 1 - l / 108
    blocks = 54
    expected = sum(1 - n * (1 - 0.5) / blocks for n in range(1, blocks + 1))
    assert expected == pytest.approx(blocks - 0.5 * (blocks + 1) / 2) == 40.25


def test_lecture_and_compare_views_read_a_channels_last_block(cli: Callable) -> None:
    """The lecture's table writes the channels-last part as the tensor holds it (H x W x C
    already) and a linear over the last axis as positions x N_out x N_in."""
    lecture = cli("summary", "convnext-tiny", "--style", "lecture")
    assert lecture.exit_code == 0, lecture.stderr
    assert "[56x56x384] STAGE1.CNBLOCK1.PWCONV1: 384 neurons" in lecture.stdout
    memory = cli("summary", "convnext-tiny", "--style", "memory", "--format", "csv")
    assert memory.exit_code == 0, memory.stderr
    assert "STAGE1.CNBLOCK1.PWCONV1,56x56x384,56*56*384,1204224,96*384 + 384,37248" in \
        memory.stdout
    compare = cli("compare", "convnext-tiny", "convnext-small", "--format", "markdown")
    assert compare.exit_code == 0, compare.stderr
    assert "[fc, 384] 56x56x384x96" in compare.stdout
    assert f"{56 * 56 * 384 * 96:,}" in compare.stdout
