"""Zoo: the RegNet family (specs/regnet.yaml), written as its published parameters.  Expected
values are arithmetic, or torchvision 0.29.1's own figures measured by tools/verify_torchvision.py
(numel, FlopCounterMode and fvcore totals of ``regnet_*(weights=None)``, eval, 1x3x224x224)."""

from __future__ import annotations

import pytest

from cnnstat import analysis
from cnnstat.core.presets import FVCORE, TORCH
from cnnstat.spec.loader import load

# variant: (numel, FlopCounterMode FLOPs, fvcore total), torchvision 0.29.1 measured
TORCHVISION = {
    "y-400mf": (4344144, 803685696, 410406088),
    "x-400mf": (5495976, 827625216, 420179472),
    "y-800mf": (6432512, 1667712512, 845841264),
    "x-800mf": (7259656, 1599399424, 810028128),
    "y-1-6gf": (11202430, 3224152320, 1630259080),
    "x-1-6gf": (9190136, 3205699584, 1618759504),
    "y-3-2gf": (19436338, 6352965504, 3201896896),
    "x-3-2gf": (15296552, 6353243904, 3199404208),
    "y-8gf": (39381472, 16946141184, 8517250560),
    "x-8gf": (39572648, 15990264832, 8023343872),
    "y-16gf": (83590140, 31823020544, 15963307584),
    "x-16gf": (54278536, 31881510912, 15991884800),
    "y-32gf": (145046770, 64559105664, 32347836096),
    "x-32gf": (107811560, 63471859584, 31808655592),
}


@pytest.mark.parametrize("variant", sorted(TORCHVISION))
def test_regnet_is_torchvisions_count(variant: str) -> None:
    params, torch_flops, fvcore = TORCHVISION[variant]
    report = analysis.run(f"regnet-{variant}").report
    assert report.totals.params == params
    assert report.totals.flops == torch_flops == TORCH.total(report)
    assert FVCORE.total(report) == fvcore


def test_y_400mf_stages_from_its_parameters() -> None:
    """d=16, w0=48, wa=27.89, wm=2.09, g=8: widths (48, 104, 208, 440), depths (1, 3, 6, 6)."""
    spec = load("regnet-y-400mf")
    assert spec.env["widths"] == (48, 104, 208, 440) and spec.env["depths"] == (1, 3, 6, 6)
    report = analysis.run("regnet-y-400mf").report
    rows = {row.name: row for row in report.layers}
    assert rows["stem"].macs == 112 * 112 * 32 * 3 * 3 * 3
    # stage 2's first block: 48 -> 104 at stride 2 (56 -> 28); w_b = 104, 13 groups of 8
    assert rows["stage2.first1.shortcut.conv1"].macs == 28 * 28 * 104 * 48
    assert rows["stage2.first1.body1.b"].params == 104 * (104 // 13) * 3 * 3
    assert rows["stage2.first1.body1.b"].output_shape == (104, 28, 28)
    # SE squeezes to a quarter of the block's *input* width: 48 // 4 = 12, then 104 // 4 = 26
    se = [r for r in report.layers if r.name.startswith("stage2.") and ".se." in r.name
          and r.kind == "conv"]
    assert [r.output_shape[0] for r in se[:4]] == [12, 104, 26, 104]
    assert rows["fc"].params == 440 * 1000 + 1000
    assert sum(1 for r in report.layers if r.name.endswith(".c")) == 16  # depth 16


def test_first_block_runs_the_projection_first() -> None:
    """torchvision's ResBottleneckBlock computes proj(x) + f(x): the shortcut's rows come first,
    and no extra rows are needed (the activations are the outputs of real operations only)."""
    report = analysis.run("regnet-y-400mf").report
    names = [r.name for r in report.layers if r.name.startswith("stage1.first1.")]
    assert names[:3] == ["stage1.first1.shortcut.conv1", "stage1.first1.shortcut.bn1",
                         "stage1.first1.body1.a"]
    assert not any(r.kind == "identity" for r in report.layers)


def test_regnet_x_has_no_squeeze_and_excitation() -> None:
    report = analysis.run("regnet-x-400mf").report
    assert not any(".se." in r.name for r in report.layers)
    assert sum(1 for r in report.layers if r.name.endswith(".c")) == 22


def test_x_8gf_group_width_is_capped_by_the_stage_width() -> None:
    """x_8gf: g = 120 but stage 1 is 80 wide, so its group width is min(120, 80) = 80: 1 group."""
    rows = {r.name: r for r in analysis.run("regnet-x-8gf").report.layers}
    assert rows["stage1.first1.body1.b"].params == 80 * 80 * 3 * 3  # groups = 80 // 80 = 1
    assert rows["stage2.first1.body1.b"].params == 240 * 120 * 3 * 3  # groups = 240 // 120 = 2
