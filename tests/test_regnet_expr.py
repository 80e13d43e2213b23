"""RegNet's derived widths in spec expressions: exact logarithms, lists, indexing, repeat's index.

The exact rule (cnnstat.spec.rounding.round_log, cnnstat.spec.regnet) must give the integers
torchvision's float32 ``BlockParams.from_init_params`` gives for every RegNet it ships: the table
below is torchvision 0.29.1's published parameters (regnet.py, each factory's call) and what
``from_init_params`` returned for them (widths, depths and group widths per stage).
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.spec.expr import ExprError, evaluate
from cnnstat.spec.loader import load
from cnnstat.spec.rounding import round_log
from tests.conftest import write
from tests.limits import time_limit

# name: ((depth, w0, wa, wm, group width, SE ratio), widths, depths, group widths)
TORCHVISION = {
    "y_400mf": ((16, 48, 27.89, 2.09, 8, 0.25), (48, 104, 208, 440), (1, 3, 6, 6), (8, 8, 8, 8)),
    "y_800mf": ((14, 56, 38.84, 2.4, 16, 0.25), (64, 144, 320, 784), (1, 3, 8, 2),
                (16, 16, 16, 16)),
    "y_1_6gf": ((27, 48, 20.71, 2.65, 24, 0.25), (48, 120, 336, 888), (2, 6, 17, 2),
                (24, 24, 24, 24)),
    "y_3_2gf": ((21, 80, 42.63, 2.66, 24, 0.25), (72, 216, 576, 1512), (2, 5, 13, 1),
                (24, 24, 24, 24)),
    "y_8gf": ((17, 192, 76.82, 2.19, 56, 0.25), (224, 448, 896, 2016), (2, 4, 10, 1),
              (56, 56, 56, 56)),
    "y_16gf": ((18, 200, 106.23, 2.48, 112, 0.25), (224, 448, 1232, 3024), (2, 4, 11, 1),
               (112, 112, 112, 112)),
    "y_32gf": ((20, 232, 115.89, 2.53, 232, 0.25), (232, 696, 1392, 3712), (2, 5, 12, 1),
               (232, 232, 232, 232)),
    "y_128gf": ((27, 456, 160.83, 2.52, 264, 0.25), (528, 1056, 2904, 7392), (2, 7, 17, 1),
                (264, 264, 264, 264)),
    "x_400mf": ((22, 24, 24.48, 2.54, 16, None), (32, 64, 160, 400), (1, 2, 7, 12),
                (16, 16, 16, 16)),
    "x_800mf": ((16, 56, 35.73, 2.28, 16, None), (64, 128, 288, 672), (1, 3, 7, 5),
                (16, 16, 16, 16)),
    "x_1_6gf": ((18, 80, 34.01, 2.25, 24, None), (72, 168, 408, 912), (2, 4, 10, 2),
                (24, 24, 24, 24)),
    "x_3_2gf": ((25, 88, 26.31, 2.25, 48, None), (96, 192, 432, 1008), (2, 6, 15, 2),
                (48, 48, 48, 48)),
    "x_8gf": ((23, 80, 49.56, 2.88, 120, None), (80, 240, 720, 1920), (2, 5, 15, 1),
              (80, 120, 120, 120)),
    "x_16gf": ((22, 216, 55.59, 2.1, 128, None), (256, 512, 896, 2048), (2, 6, 13, 1),
               (128, 128, 128, 128)),
    "x_32gf": ((23, 320, 69.86, 2.0, 168, None), (336, 672, 1344, 2520), (2, 7, 13, 1),
               (168, 168, 168, 168)),
}


def _env(name: str) -> dict[str, object]:
    (depth, w0, wa, wm, g, _), *_ = TORCHVISION[name]
    return {"d": depth, "w0": w0, "wa": wa, "wm": wm, "g": g}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_exact_rule_gives_torchvisions_stages(name: str) -> None:
    _, widths, depths, groups = TORCHVISION[name]
    env = _env(name)
    assert evaluate("=regnet_widths($d, $w0, $wa, $wm, $g)", env) == widths
    assert evaluate("=regnet_depths($d, $w0, $wa, $wm)", env) == depths
    assert sum(depths) == env["d"]
    for i, group in enumerate(groups):  # the spec's per-stage group width
        assert evaluate(f"=min($g, regnet_widths($d, $w0, $wa, $wm, $g)[{i}])", env) == group


def _torchvision_float32(depth: int, w0: int, wa: float, wm: float) -> list[int]:
    """torchvision's block widths as from_init_params computes them, in float32 (transcribed)."""
    import torch

    cont = torch.arange(depth) * wa + w0
    capacity = torch.round(torch.log(cont / w0) / math.log(wm))
    return (torch.round(torch.divide(w0 * torch.pow(wm, capacity), 8)) * 8).int().tolist()


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_float32_reference_agrees_block_by_block(name: str) -> None:
    from cnnstat.spec.regnet import _block_widths

    (depth, w0, wa, wm, _, _), *_ = TORCHVISION[name]
    exact = _block_widths(depth, Fraction(w0), Fraction(str(wa)), Fraction(str(wm)))
    assert exact == _torchvision_float32(depth, w0, wa, wm)


@pytest.mark.parametrize(("x", "base", "expected"), [
    (8, 2, 3),                       # 2**3 = 8
    (9, 2, 3),                       # log2 9 = 3.17
    (12, 2, 4),                      # log2 12 = 3.58: 12**2 = 144 > 2**7 = 128
    (11, 2, 3),                      # 11**2 = 121 < 128
    (2, 4, 0),                       # log4 2 = 1/2 exactly: ties to even (0)
    (8, 4, 2),                       # log4 8 = 3/2 exactly: ties to even (2)
    (Fraction(1, 8), 2, -3),
    (1, Fraction(209, 100), 0),
    (Fraction(4800 + 15 * 2789, 4800), Fraction(209, 100), 3),  # y_400mf block 15: 3.08
])
def test_round_log_is_exact(x: int | Fraction, base: int | Fraction, expected: int) -> None:
    assert round_log(x, base) == expected


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("$w[2]", {"w": [8, 16, 32]}, 32),
    ("$w[$i] * 2", {"w": [8, 16, 32], "i": 1}, 16 * 2),
    ("=len($w)", {"w": [8, 16, 32]}, 3),
    ("=len(5)", {}, 1),
    ("=prepend(32, $w)", {"w": [8, 16]}, (32, 8, 16)),
    ("=prepend(32, $w)[$i]", {"w": [8, 16], "i": 0}, 32),
    ("=[4, 5][1]", {}, 5),
])
def test_lists(text: str, env: dict[str, object], expected: object) -> None:
    assert evaluate(text, env) == expected


@pytest.mark.parametrize(("text", "code"), [
    ("$w[3]", "E304"),                 # outside 0..2
    ("$w[-1]", "E304"),                # no negative indexing: a typo, not a convention
    ("$w[1/2]", "E304"),
    ("$n[0]", "E303"),                 # a number is not a list
    ("$w[0:1]", "E301"),
    ("=prepend(1, prepend(1, [1, 2, 3, 4, 5, 6, 7]))", "E303"),  # 9 elements: lists hold 8
    ("=regnet_widths(16, 48, 27.89, 1, 8)", "E304"),   # wm must be above 1
    ("=regnet_widths(16, 44, 27.89, 2.09, 8)", "E304"),  # w0 a multiple of 8
    ("=regnet_depths(1001, 48, 27.89, 2.09)", "E304"),
    ("=regnet_depths(64, 8, 1000, 1.5)", "E303"),      # 9 stages: more than a list holds
    ("=round_log(0, 2)", "E304"),
    ("=round_log(10**15, 1.000001)", "E304"),  # log beyond 64
    ("=round_log(2, 1 + 1/10**15)", "E304"),
])
def test_list_and_regnet_errors(text: str, code: str) -> None:
    with pytest.raises(ExprError) as info:
        evaluate(text, {"w": [8, 16, 32], "n": 4})
    assert info.value.code == code


def test_hostile_arguments_stay_cheap() -> None:
    """The largest inputs the bounds let through are still small-number work."""
    with time_limit(10):
        for text in ("=regnet_depths(1000, 8, 10**15, 10**15)",
                 "=regnet_depths(1000, 8, 1/3, 1 + 1/10**4)",
                 "=round_log(10**15, 1 + 1/1000)"):
            try:
                result = evaluate(text, {})
            except ExprError as exc:
                assert exc.code == "E304", exc
            else:
                assert result == (1, 999)  # only the first: wa = wm = 10**15


def test_repeat_index_iterates_a_list(tmp_path: Path) -> None:
    spec = load(write(tmp_path, """
name: stages
input: [3, 32, 32]
params: {widths: [8, 16, 32]}
layers:
  - repeat: "=len($widths)"
    index: i
    layers: [conv: {out: "$widths[$i] + $i", kernel: 1}]
"""))
    outs = [layer.args["out"] for layer in spec.graph.items]  # type: ignore[attr-defined]
    assert outs == [8 + 0, 16 + 1, 32 + 2]


def test_shortcut_first_runs_the_shortcut_before_the_body(tmp_path: Path) -> None:
    """The same sum, the shortcut's rows first (torchvision's RegNet: proj(x) + f(x))."""
    text = """
name: sf
input: [8, 16, 16]
layers:
  - residual:
      shortcut_first: {first}
      shortcut: [conv: {{out: 16, kernel: 1, stride: 2, bias: false}}, bn]
      body: [conv: {{out: 16, kernel: 3, stride: 2, padding: 1, bias: false}}, bn]
"""
    plain = analysis.run(write(tmp_path, text.format(first="false"), "a.yaml")).report
    first = analysis.run(write(tmp_path, text.format(first="true"), "b.yaml")).report
    assert [r.name for r in first.rows] == ["residual1.shortcut.conv1", "residual1.shortcut.bn1",
                                            "residual1.conv1", "residual1.bn1", "residual1.add"]
    assert sorted(r.name for r in plain.rows) == sorted(r.name for r in first.rows)
    assert first.totals == plain.totals
    assert first.totals.macs == 8 * 8 * 16 * 8 * 1 * 1 + 8 * 8 * 16 * 8 * 3 * 3
