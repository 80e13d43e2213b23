"""Zoo: EfficientNetV2-S/M/L (Fused-MBConv and MBConv stages) as torchvision 0.29.1 builds them.

Expected values: torchvision 0.29.1's own figures (numel, FlopCounterMode and fvcore totals of
efficientnet_v2_s | m | l(weights=None) in eval at batch 1, measured by
tools/verify_torchvision.py) with the source named, and an independent count written from the
stage tables of torchvision's ``_efficientnet_conf`` (= Tan & Le 2021, Table 4 for V2-S).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat.analysis import analyze
from cnnstat.check.figures import check_figures
from cnnstat.core.presets import FVCORE, TORCH
from cnnstat.spec.loader import load

SPEC = Path(__file__).resolve().parent.parent / "specs" / "efficientnet-v2.yaml"

# torchvision 0.29.1 efficientnet_v2_{s,m,l}(weights=None), eval, 1x3xRxR:
# (name, R, numel, FlopCounterMode total, fvcore FlopCountAnalysis total)
TORCHVISION = [
    ("efficientnet-v2-s", 384, 21_458_488, 16_731_234_304, 8_446_985_216),
    ("efficientnet-v2-m", 480, 54_139_356, 49_164_920_768, 24_789_640_384),
    ("efficientnet-v2-l", 480, 118_515_272, 112_159_398_016, 56_443_543_808),
]

# torchvision's _efficientnet_conf: (block, expand ratio t, kernel, stride, out, repeats); stem
# width.  Every t x in is a multiple of 8, so make_divisible(in * t, 8) is in * t.
STAGES = {
    "efficientnet-v2-s": (24, [("fused", 1, 3, 1, 24, 2), ("fused", 4, 3, 2, 48, 4),
                               ("fused", 4, 3, 2, 64, 4), ("mb", 4, 3, 2, 128, 6),
                               ("mb", 6, 3, 1, 160, 9), ("mb", 6, 3, 2, 256, 15)]),
    "efficientnet-v2-m": (24, [("fused", 1, 3, 1, 24, 3), ("fused", 4, 3, 2, 48, 5),
                               ("fused", 4, 3, 2, 80, 5), ("mb", 4, 3, 2, 160, 7),
                               ("mb", 6, 3, 1, 176, 14), ("mb", 6, 3, 2, 304, 18),
                               ("mb", 6, 3, 1, 512, 5)]),
    "efficientnet-v2-l": (32, [("fused", 1, 3, 1, 32, 4), ("fused", 4, 3, 2, 64, 7),
                               ("fused", 4, 3, 2, 96, 7), ("mb", 4, 3, 2, 192, 10),
                               ("mb", 6, 3, 1, 224, 19), ("mb", 6, 3, 2, 384, 25),
                               ("mb", 6, 3, 1, 640, 7)]),
}


def _block(kind: str, t: int, k: int, cin: int, cout: int, h_in: int, h: int) -> tuple[int, int]:
    """(params, MACs) of one block: conv weights, BN gamma + beta, SE conv biases; h = output size."""
    e = cin * t
    if kind == "fused" and t == 1:           # one kxk conv + BN
        return k * k * cin * cout + 2 * cout, h * h * k * k * cin * cout
    if kind == "fused":                       # kxk expansion + BN, 1x1 projection + BN
        return (k * k * cin * e + 2 * e + e * cout + 2 * cout,
                h * h * k * k * cin * e + h * h * e * cout)
    sq = max(1, cin // 4)                     # SE squeeze: a quarter of the block's input
    params = (cin * e + 2 * e                 # 1x1 expansion + BN
              + k * k * e + 2 * e             # depthwise + BN
              + e * sq + sq + sq * e + e      # SE fc1, fc2 (with bias)
              + e * cout + 2 * cout)          # 1x1 projection + BN
    macs = h_in * h_in * cin * e + h * h * k * k * e + 2 * e * sq + h * h * e * cout
    return params, macs


def _first_principles(name: str, r: int) -> tuple[int, int]:
    stem, stages = STAGES[name]
    h = (r - 1) // 2 + 1                      # 3x3/2, padding 1
    params, macs = 3 * 3 * 3 * stem + 2 * stem, h * h * 3 * 3 * 3 * stem
    cin = stem
    for kind, t, k, s, cout, n in stages:
        for i in range(n):
            stride = s if i == 0 else 1
            h_out = (h - 1) // stride + 1     # kxk, padding (k - 1) // 2, k = 3
            p, m = _block(kind, t, k, cin, cout, h, h_out)
            params, macs, cin, h = params + p, macs + m, cout, h_out
    params += cin * 1280 + 2 * 1280 + 1280 * 1000 + 1000   # head 1x1 + BN, classifier
    macs += h * h * cin * 1280 + 1280 * 1000
    return params, macs


@pytest.mark.parametrize(("name", "r", "numel", "torch_flops", "fvcore"), TORCHVISION)
def test_torchvision_totals(name: str, r: int, numel: int, torch_flops: int, fvcore: int) -> None:
    report = analyze(load(name))
    assert report.input_shape == (3, r, r)
    assert report.totals.params == numel
    assert TORCH.total(report) == torch_flops == 2 * report.totals.macs
    # fvcore: 1 per MAC, eval batch norm 2 per input element, adaptive avg pool (every SE's and
    # the head's) 1 per input element; SiLU, sigmoid, the SE multiply and the adds count 0
    bn, pool = (sum(r.ops.get(kind, 0) for r in report.rows) for kind in ("bn", "avgpool"))
    assert FVCORE.total(report) == fvcore == report.totals.macs + bn + pool


@pytest.mark.parametrize(("name", "r", "numel", "torch_flops", "fvcore"), TORCHVISION)
def test_first_principles(name: str, r: int, numel: int, torch_flops: int, fvcore: int) -> None:
    assert _first_principles(name, r) == (numel, torch_flops // 2)


def test_default_is_s() -> None:
    plain, s = analyze(load("efficientnet-v2")), analyze(load("efficientnet-v2-s"))
    assert plain.totals == s.totals


def test_blocks() -> None:
    rows = {r.name: r for r in analyze(load("efficientnet-v2-s")).rows}
    assert rows["stem"].output_shape == (24, 192, 192)
    fused = rows["stage2.fused1.expand"]                 # 3x3/2 conv, 24 -> 24 * 4
    assert fused.output_shape == (96, 96, 96) and fused.macs == 96 * 96 * 96 * 3 * 3 * 24
    se = rows["stage4.mbconv2.se.fc1"]                   # 128 -> 512 expanded; squeeze 128 // 4
    assert se.output_shape == (32, 1, 1) and se.params == 512 * 32 + 32
    assert rows["stage6.mbconv15.project"].output_shape == (256, 12, 12)   # 384 / 32
    assert rows["classifier"].params == 1280 * 1000 + 1000


def test_s_has_no_seventh_stage() -> None:
    names = {r.name.split(".")[0] for r in analyze(load("efficientnet-v2-s")).rows}
    assert "stage6" in names and "stage7" not in names
    assert "stage7" in {r.name.split(".")[0] for r in analyze(load("efficientnet-v2-m")).rows}


STATUSES = {
    "efficientnet-v2-s": {"Tan & Le 2021, Table 7 (EfficientNetV2-S: 22M)": "known",
                          "Tan & Le 2021, Table 7 (EfficientNetV2-S: 8.8B FLOPs, "
                          "multiply-adds)": "known"},
    "efficientnet-v2-m": {"Tan & Le 2021, Table 7 (EfficientNetV2-M: 54M)": "agrees",
                          "Tan & Le 2021, Table 7 (EfficientNetV2-M: 24B FLOPs, "
                          "multiply-adds)": "known"},
    "efficientnet-v2-l": {"Tan & Le 2021, Table 7 (EfficientNetV2-L: 120M)": "known",
                          "Tan & Le 2021, Table 7 (EfficientNetV2-L: 53B FLOPs, "
                          "multiply-adds)": "known"},
}


@pytest.mark.parametrize("name", sorted(STATUSES))
def test_figure_statuses(name: str) -> None:
    loaded = load(name)
    checks = check_figures(analyze(loaded), loaded.reference)
    got = {c.figure.source: c.status for c in checks}
    assert {s: v for s, v in got.items() if s.startswith("torchvision")} == {
        s: "agrees" for s in got if s.startswith("torchvision")}
    assert len([s for s in got if s.startswith("torchvision")]) == 3
    assert {s: v for s, v in got.items() if s.startswith("Tan")} == STATUSES[name]


@pytest.mark.parametrize(("name", "r", "numel", "torch_flops", "fvcore"), TORCHVISION)
def test_cli_count_presets(name: str, r: int, numel: int, torch_flops: int, fvcore: int,
                           cli: Callable) -> None:
    for preset, total in (("torch", torch_flops), ("fvcore", fvcore)):
        result = cli("summary", name, "--count", preset, "--format", "json")
        assert result.exit_code == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["spec"]["input_shape"] == [3, r, r]
        assert doc["totals"]["params"] == numel and doc["count"]["total"] == total


def test_cli_check_strict_passes_with_the_papers_differences_as_notes(cli: Callable) -> None:
    result = cli("check", str(SPEC), "--strict", "--notes")
    assert result.exit_code == 0, result.stderr
    # S's two Table 7 figures, in the plain spec and in -s, M's FLOPs, L's params and FLOPs
    assert result.stderr.count("note[N602]") == 7
    assert "checked 1 file (4 specs): 0 failed, 0 errors, 0 warnings, 7 notes" in result.stderr
