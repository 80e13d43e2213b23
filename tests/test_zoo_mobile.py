"""The mobile zoo: MobileNet v1/v2/v3, ShuffleNet V2, EfficientNet B0-B7, MNASNet.

Published figures come from /work/shared/reference/published.md (source named on each line);
everything else is arithmetic from first principles.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from cnnstat.analysis import analyze
from cnnstat.check.figures import check_figures
from cnnstat.spec.loader import load

# name, exact published params (None where only a rounded figure exists), published MACs, the
# tolerance its rounding implies, source.
PUBLISHED = [
    # torchvision model metadata: num_params exact; _ops GMACs to 3 decimals (+-0.0005 G)
    ("mobilenet-v2", 3_504_872, 301_000_000, 500_000, "torchvision mobilenet_v2"),
    ("shufflenet-v2", 2_278_604, 145_000_000, 500_000, "torchvision shufflenet_v2_x1_0"),
    ("shufflenet-v2-x1-0", 2_278_604, 145_000_000, 500_000, "torchvision shufflenet_v2_x1_0"),
    ("shufflenet-v2-x0-5", 1_366_792, 40_000_000, 500_000, "torchvision shufflenet_v2_x0_5"),
    ("efficientnet", 5_288_548, 386_000_000, 500_000, "torchvision efficientnet_b0"),
    ("efficientnet-b0", 5_288_548, 386_000_000, 500_000, "torchvision efficientnet_b0"),
    ("efficientnet-b1", 7_794_184, 687_000_000, 500_000, "torchvision efficientnet_b1"),
    ("efficientnet-b2", 9_109_994, 1_088_000_000, 500_000, "torchvision efficientnet_b2"),
    ("efficientnet-b3", 12_233_232, 1_827_000_000, 500_000, "torchvision efficientnet_b3"),
    ("efficientnet-b4", 19_341_616, 4_394_000_000, 500_000, "torchvision efficientnet_b4"),
    ("efficientnet-b5", 30_389_784, 10_266_000_000, 500_000, "torchvision efficientnet_b5"),
    ("efficientnet-b6", 43_040_704, 19_068_000_000, 500_000, "torchvision efficientnet_b6"),
    ("efficientnet-b7", 66_347_960, 37_746_000_000, 500_000, "torchvision efficientnet_b7"),
    ("mobilenet-v3-large", 5_483_032, 217_000_000, 500_000, "torchvision mobilenet_v3_large"),
    ("mobilenet-v3-small", 2_542_856, 57_000_000, 500_000, "torchvision mobilenet_v3_small"),
    ("mnasnet1-0", 4_383_312, 314_000_000, 500_000, "torchvision mnasnet1_0"),
]


@pytest.mark.parametrize("name, params, macs, tol, source", PUBLISHED,
                         ids=[p[0] for p in PUBLISHED])
def test_totals_match_torchvision(name: str, params: int, macs: int, tol: int,
                                  source: str) -> None:
    totals = analyze(load(name)).totals
    assert totals.params == params, source
    assert abs(totals.macs - macs) <= tol, source


def test_mobilenet_v1_against_the_paper() -> None:
    # Howard et al. 2017, Table 8: 4.2M parameters, 569M mult-adds (1.0 MobileNet-224)
    totals = analyze(load("mobilenet-v1")).totals
    assert abs(totals.params - 4_200_000) <= 50_000
    assert abs(totals.macs - 569_000_000) <= 500_000


# Every figure's status, by source: torchvision figures agree; each paper figure that disagrees
# either carries an explanation or is listed here as an unexplained disagreement.
STATUSES = {
    "mobilenet-v1": {"Howard et al. 2017, Table 8 (4.2M)": "agrees",
                     "Howard et al. 2017, Table 8 (569M mult-adds)": "agrees"},
    "mobilenet-v2": {"Sandler et al. 2018, Table 4 (3.4M)": "known",
                     "Sandler et al. 2018, Table 4 (300M multiply-adds)": "known"},
    "shufflenet-v2": {"Ma et al. 2018 (2.3M)": "agrees",
                      "Ma et al. 2018 (146M FLOPs, multiply-adds)": "known"},
    "shufflenet-v2-x1-0": {"Ma et al. 2018 (2.3M)": "agrees",
                           "Ma et al. 2018 (146M FLOPs, multiply-adds)": "known"},
    "shufflenet-v2-x1-0-authors": {"Ma et al. 2018 (2.3M)": "agrees",
                                   "Ma et al. 2018 (146M FLOPs, multiply-adds)": "agrees"},
    "efficientnet": {"Tan & Le 2019, Table 2 (5.3M)": "agrees",
                     "Tan & Le 2019, Table 2 (0.39B FLOPs, multiply-adds, at 224)": "agrees"},
    "efficientnet-b0": {"Tan & Le 2019, Table 2 (5.3M)": "agrees",
                        "Tan & Le 2019, Table 2 (0.39B FLOPs, multiply-adds, at 224)": "agrees"},
    "efficientnet-b1": {"Tan & Le 2019, Table 2 (7.8M)": "agrees",
                        "Tan & Le 2019, Table 2 (0.70B FLOPs, multiply-adds, at 240)": "known"},
    "efficientnet-b2": {"Tan & Le 2019, Table 2 (9.2M)": "known",
                        "Tan & Le 2019, Table 2 (1.0B FLOPs, multiply-adds, at 260)": "known"},
    "efficientnet-b3": {"Tan & Le 2019, Table 2 (12M)": "agrees",
                        "Tan & Le 2019, Table 2 (1.8B FLOPs, multiply-adds, at 300)": "agrees"},
    "efficientnet-b4": {"Tan & Le 2019, Table 2 (19M)": "agrees",
                        "Tan & Le 2019, Table 2 (4.2B FLOPs, multiply-adds, at 380)": "known"},
    "efficientnet-b5": {"Tan & Le 2019, Table 2 (30M)": "agrees",
                        "Tan & Le 2019, Table 2 (9.9B FLOPs, multiply-adds, at 456)": "known"},
    "efficientnet-b6": {"Tan & Le 2019, Table 2 (43M)": "agrees",
                        "Tan & Le 2019, Table 2 (19B FLOPs, multiply-adds, at 528)": "agrees"},
    "efficientnet-b7": {"Tan & Le 2019, Table 2 (66M)": "agrees",
                        "Tan & Le 2019, Table 2 (37B FLOPs, multiply-adds, at 600)": "known"},
}
ALL_SPECS = sorted({p[0] for p in PUBLISHED} | set(STATUSES) |
                   {"mobilenet-v1-0-75", "mobilenet-v1-0-5", "mobilenet-v1-0-25",
                    "shufflenet-v2-x1-5", "shufflenet-v2-x2-0"})


@pytest.mark.parametrize("name", ALL_SPECS)
def test_figure_statuses(name: str) -> None:
    loaded = load(name)
    checks = check_figures(analyze(loaded), loaded.reference)
    expected = STATUSES.get(name, {})
    for check in checks:
        source = check.figure.source
        if source.startswith("torchvision"):
            assert check.status == "agrees", (source, check.computed)
        else:
            assert source in expected, f"{name}: no expected status for {source!r}"
            assert check.status == expected[source], (source, check.computed)
    assert {c.figure.source for c in checks} >= set(expected)


# -- first principles ------------------------------------------------------------------------

C, K, HW = 32, 64, 14


def _spec(tmp_path, name: str, layers: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ninput: [{C}, {HW}, {HW}]\nlayers:\n{layers}",
                    encoding="utf-8")
    return str(path)


def test_depthwise_separable_vs_standard_conv(tmp_path) -> None:
    separable = _spec(tmp_path, "separable",
                      f"  - conv: {{out: {C}, kernel: 3, padding: 1, groups: {C}, bias: false,"
                      f" name: dw}}\n"
                      f"  - conv: {{out: {K}, kernel: 1, bias: false, name: pw}}\n")
    standard = _spec(tmp_path, "standard",
                     f"  - conv: {{out: {K}, kernel: 3, padding: 1, bias: false, name: full}}\n")
    dw, pw = analyze(load(separable)).rows
    full, = analyze(load(standard)).rows
    assert dw.output_shape == (C, HW, HW) and pw.output_shape == (K, HW, HW)
    assert full.output_shape == (K, HW, HW)
    # depthwise: one 3x3 filter per channel; pointwise: a 1x1xC filter per output channel
    assert dw.params == 3 * 3 * C
    assert pw.params == C * K
    assert full.params == 3 * 3 * C * K
    assert dw.macs == 3 * 3 * C * HW * HW
    assert pw.macs == C * K * HW * HW
    assert full.macs == 3 * 3 * C * K * HW * HW
    # Howard et al. 2017, eq. (5): the separable cost is 1/K + 1/(3*3) of the standard one
    assert Fraction(dw.macs + pw.macs, full.macs) == Fraction(1, K) + Fraction(1, 9)
    assert Fraction(dw.params + pw.params, full.params) == Fraction(1, K) + Fraction(1, 9)


def _row(report, name: str):
    matches = [r for r in report.rows if r.name == name]
    assert len(matches) == 1, name
    return matches[0]


def test_mbconv_squeeze_excitation_arithmetic() -> None:
    report = analyze(load("efficientnet-b0"))
    # stage 2's first block: input 16, expansion 6 -> 96 channels; SE squeezes to 16 // 4 = 4
    # (a quarter of the block's input width, not of the 96 expanded channels)
    inp, expanded = 16, 16 * 6
    squeeze = max(1, inp // 4)
    fc1 = _row(report, "stage2.mbconv1.se.fc1")
    fc2 = _row(report, "stage2.mbconv1.se.fc2")
    assert fc1.output_shape == (squeeze, 1, 1)
    assert fc2.output_shape == (expanded, 1, 1)
    assert fc1.params == expanded * squeeze + squeeze  # 1x1 conv weights + bias
    assert fc2.params == squeeze * expanded + expanded
    assert fc1.macs == expanded * squeeze and fc2.macs == squeeze * expanded
    mul = _row(report, "stage2.mbconv1.se.mul")
    assert mul.kind == "mul" and mul.params == 0 and mul.macs == 0
    assert mul.output_shape == (expanded, 56, 56)
    # the block's parameters: expand, depthwise 3x3, SE, project, and 3 BNs (2 per channel)
    block = sum(r.params for r in report.rows if r.name.startswith("stage2.mbconv1."))
    assert block == (inp * expanded + 2 * expanded            # expand + BN
                     + 3 * 3 * expanded + 2 * expanded        # depthwise + BN
                     + (expanded * squeeze + squeeze) + (squeeze * expanded + expanded)
                     + expanded * 24 + 2 * 24)                # project + BN


def test_mobilenet_v3_se_squeezes_the_expanded_width() -> None:
    report = analyze(load("mobilenet-v3-large"))
    # bneck 4: 24 -> expanded 72 -> 40 with SE: squeeze make_divisible(72 // 4, 8) = 24
    fc1 = _row(report, "bneck4.se.fc1")
    assert fc1.output_shape == (24, 1, 1)
    assert fc1.params == 72 * 24 + 24


def test_width_multiplier_scales_channels() -> None:
    full = analyze(load("mobilenet-v1"))
    half = analyze(load("mobilenet-v1", {"alpha": 0.5}))
    convs_full = [r for r in full.rows if r.kind == "conv"]
    convs_half = [r for r in half.rows if r.kind == "conv"]
    assert len(convs_full) == len(convs_half) == 27
    for a, b in zip(convs_full, convs_half):
        assert a.name == b.name
        assert b.output_shape[0] * 2 == a.output_shape[0]
        assert b.output_shape[1:] == a.output_shape[1:]
        if a.name.endswith(".pw"):  # 1x1 convs: params and MACs scale by alpha**2
            assert b.params * 4 == a.params and b.macs * 4 == a.macs
        if a.name.endswith(".dw"):  # depthwise: linearly in alpha
            assert b.params * 2 == a.params and b.macs * 2 == a.macs
    # the built-in variant is the same as the override
    variant = analyze(load("mobilenet-v1-0-5")).totals
    assert (variant.params, variant.macs) == (half.totals.params, half.totals.macs)
    # conv1 3*3*3*16 and the FC 512*1000 + 1000 are the only layers not in a separable block
    assert _row(half, "conv1").params == 3 * 3 * 3 * 16
    assert _row(half, "fc").params == 512 * 1000 + 1000


def test_mobilenet_v2_width_rounds_to_multiples_of_8() -> None:
    report = analyze(load("mobilenet-v2", {"width": 0.5}))
    # make_divisible(c * 0.5, 8): 32->16, 16->8, 24->12->16, 32->16, 64->32, 96->48, 160->80,
    # 320->160; the last conv keeps 1280 (width below 1 does not shrink it)
    outs = [_row(report, f"stage{i}.inverted1.project").output_shape[0] for i in range(1, 8)]
    assert outs == [8, 16, 16, 32, 48, 80, 160]
    assert _row(report, "conv1").output_shape[0] == 16
    assert _row(report, "conv_last").output_shape[0] == 1280


def test_efficientnet_depth_multiplier() -> None:
    base = [1, 2, 2, 3, 3, 4, 1]
    for variant, depth in [("b0", Fraction(1)), ("b4", Fraction(18, 10)),
                           ("b7", Fraction(31, 10))]:
        report = analyze(load(f"efficientnet-{variant}"))
        blocks = [r for r in report.rows if r.name.endswith(".project")]
        assert len(blocks) == sum(math.ceil(n * depth) for n in base)
    assert len([r for r in analyze(load("efficientnet-b7")).rows
                if r.name.endswith(".project")]) == 4 + 7 + 7 + 10 + 10 + 13 + 4


def test_inverted_residual_shortcuts_only_when_shapes_agree() -> None:
    # MobileNetV2: stages (n, s) = (1,1) (2,2) (3,2) (4,2) (3,1) (3,2) (1,1); a block adds its
    # input when stride 1 and in = out: every block after a stage's first, and none of the
    # first blocks (stage 1 and 7 change the width, stage 5 goes 64 -> 96)
    adds = [r for r in analyze(load("mobilenet-v2")).rows if r.kind == "add"]
    assert len(adds) == 0 + 1 + 2 + 3 + 2 + 2 + 0
    # EfficientNet-B0: 16 blocks, 7 stage-first blocks without a shortcut
    adds = [r for r in analyze(load("efficientnet-b0")).rows if r.kind == "add"]
    assert len(adds) == 16 - 7


def test_shufflenet_units() -> None:
    report = analyze(load("shufflenet-v2"))
    # a stride-1 unit splits 116 channels into halves; only the second goes through branch2
    pw1 = _row(report, "stage2.basic1.split1.branch2.pw1")
    assert pw1.input_shape == (58, 28, 28) and pw1.params == 58 * 58
    assert _row(report, "stage2.basic1.channel_shuffle1").output_shape == (116, 28, 28)
    # the stride-2 unit: branch1 sees all 24 input channels, depthwise at stride 2
    dw = _row(report, "stage2.down1.concat1.branch1.dw")
    assert dw.input_shape == (24, 56, 56) and dw.output_shape == (24, 28, 28)
    assert dw.params == 3 * 3 * 24
    # the authors' stage-2 first unit: 1x1 convs 24->24 and 58->92 instead of 24->58 and
    # 58->58, at 28x28; their classifier has no bias
    tv = analyze(load("shufflenet-v2")).totals
    authors = analyze(load("shufflenet-v2-x1-0-authors")).totals
    assert authors.macs - tv.macs == (24 * 24 - 24 * 58 + 58 * 92 - 58 * 58) * 28 * 28
    assert authors.params - tv.params == ((24 * 24 + 2 * 24) - (24 * 58 + 2 * 58)
                                          + (58 * 92 + 2 * 92) - (58 * 58 + 2 * 58) - 1000)


def test_efficientnet_b2_at_the_papers_resolution() -> None:
    # Tan & Le 2019, Table 2: B2 1.0B FLOPs (multiply-adds) at 260x260; torchvision uses 288
    at_260 = analyze(load("efficientnet-b2", input_shape=(3, 260, 260))).totals
    at_288 = analyze(load("efficientnet-b2")).totals
    assert abs(at_260.macs - 1_000_000_000) <= 50_000_000
    assert abs(at_288.macs - 1_000_000_000) > 50_000_000
    assert at_260.params == at_288.params


def test_mobilenet_v1_stride_of_the_last_depthwise_conv() -> None:
    # Table 1 prints "s2" for the 13th depthwise conv but its output is 7x7: stride 1
    report = analyze(load("mobilenet-v1"))
    assert _row(report, "separable13.dw").output_shape == (1024, 7, 7)
    assert _row(report, "global_avgpool1").input_shape == (1024, 7, 7)
