"""The presets of other counters (torchinfo, thop, ptflops, torchscan; issue 17): every layer
kind has an explicit rule in every table, a kind without one is refused (never counted 0), the
parts add up to the count, and each rule's arithmetic on one layer, written from the tool's
formula.  ``tests/test_counters_live.py`` compares them with the tools themselves."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import cnnstat
from cnnstat.core.counters import (
    ALL_PRESETS,
    CALFLOPS,
    DEEPSPEED,
    PTFLOPS,
    PTFLOPS_ATEN,
    THOP,
    TOOLS,
    TORCHINFO,
    TORCHSCAN,
)
from cnnstat.core.presets import CAUSES, FVCORE, TORCH
from cnnstat.core.report import Row
from cnnstat.core.rules import RULES
from cnnstat.errors import UsageError
from tests.conftest import write

MERGES = {"add", "mul", "concat"}  # rows of residual/SE/concat merges, which have no layer rule


@pytest.mark.parametrize("preset", TOOLS, ids=lambda p: p.name)
def test_every_kind_has_an_explicit_rule(preset: cnnstat.core.presets.Preset) -> None:
    assert preset.default is None  # no fallback: a new kind needs a decision here
    assert set(preset.rules) == set(RULES) | MERGES


@pytest.mark.parametrize("preset", TOOLS, ids=lambda p: p.name)
def test_a_kind_without_a_rule_is_refused(preset: cnnstat.core.presets.Preset) -> None:
    row = Row("norm1", "future_norm", "a kind no table has", (8, 4, 4), (8, 4, 4), weights=8)
    with pytest.raises(UsageError, match=f"'{preset.name}' preset has no rule for layer kind "
                                         "'future_norm'"):
        preset.count(row)


# conv-example: 10 5x5 filters, stride 1, pad 2, on 3x32x32 -> 10x32x32, with bias
OUT = 10 * 32 * 32
MACS = OUT * 3 * 5 * 5


def _conv_row() -> Row:
    return next(r for r in cnnstat.analyze("conv-example").rows if r.kind == "conv")


def test_conv_per_tool() -> None:
    row = _conv_row()
    assert row.macs == MACS
    assert TORCHINFO.count(row) == (10 * 3 * 5 * 5 + 10) * 32 * 32  # (weight + bias) x H x W
    assert THOP.count(row) == MACS  # calculate_conv2d_flops: no bias
    assert PTFLOPS.count(row) == MACS + OUT  # + bias_flops, one per output element
    assert TORCHSCAN.count(row) == OUT * (2 * 3 * 5 * 5 - 1 + 1)  # out x (2 terms - 1 + bias)


def test_batch_norm_relu_and_pooling_per_tool(tmp_path: Path) -> None:
    spec = write(tmp_path, "name: t\ninput: [4, 8, 8]\nlayers: [bn, relu, {maxpool: {kernel: 2}},"
                           " {avgpool: {kernel: 2}}, global_avgpool]\n")
    bn, relu, maxpool, avgpool, gap = cnnstat.analyze(spec).rows
    n = 4 * 8 * 8
    assert [TORCHINFO.count(r) for r in (bn, relu, maxpool)] == [2 * 4, 0, 0]  # N x (gamma, beta)
    assert THOP.count(bn) == 2 * n * 2  # calculate_norm = 2 numel, x 2 when affine
    # 4x4x4 -> 4x2x2: per axis two windows of 2 (sum 4); + 1 divide per output
    assert THOP.count(avgpool) == 4 * (2 + 2) * (2 + 2) + 4 * 2 * 2
    assert THOP.count(gap) == 4 * 2 * 2 + 4  # the whole 2x2 map per channel + 1 divide
    assert PTFLOPS.count(bn) == 2 * n
    assert PTFLOPS.parts(relu) == {"activations": n, "double counting": n}  # hook + F.relu
    assert PTFLOPS.parts(maxpool) == {"pooling": n, "double counting": n}  # input numel twice
    assert TORCHSCAN.count(relu) == n
    # out x (k - 1), with a square kernel built as one int (nn.MaxPool2d(2)): k = 2, not 2 x 2
    assert TORCHSCAN.count(maxpool) == 4 * 4 * 4 * (2 - 1)
    assert TORCHSCAN.batch_count(bn, 3) == 3 * (2 * n + 2 * n) + 2 * 4  # + 2C once per call


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "efficientnet", "unet", "lenet5",
                                  "convnext", "tests/verify_specs/modern.yaml"])
@pytest.mark.parametrize("preset", TOOLS, ids=lambda p: p.name)
def test_parts_add_up_to_the_count(name: str, preset: cnnstat.core.presets.Preset) -> None:
    report = cnnstat.analyze(name, batch=2)
    if (preset.name, name) == ("calflops", "unet"):  # its transposed convs have a bias
        with pytest.raises(UsageError, match="cannot count conv_transpose"):
            preset.total(report)
        return
    parts = preset.total_parts(report)
    assert set(parts) <= set(CAUSES)
    assert report.totals.macs + sum(parts.values()) == preset.total(report)


def test_summary_count_torchinfo(cli: Callable) -> None:
    result = cli("summary", "conv-example", "--count", "torchinfo", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["count"]["total"] == (10 * 3 * 5 * 5 + 10) * 32 * 32
    assert doc["count"]["preset"] == "torchinfo"


def test_summary_refuses_a_kind_a_preset_cannot_count(cli: Callable) -> None:
    result = cli("summary", "tests/verify_specs/composites.yaml", "--count", "torchscan")
    assert result.exit_code == 2
    assert "'torchscan' preset cannot count maxout" in result.stderr
    assert "Traceback" not in result.stderr


def test_calflops_refuses_a_transposed_conv_with_bias(cli: Callable) -> None:
    """calflops counts that bias over the output of a *conv* of the same arguments (its
    _conv_trans_flops_compute), which the row does not carry; DeepSpeed's fork fixed it."""
    result = cli("summary", "tests/verify_specs/resampling.yaml", "--count", "calflops")
    assert result.exit_code == 2
    assert "'calflops' preset cannot count conv_transpose" in result.stderr
    assert cli("summary", "tests/verify_specs/resampling.yaml", "--count", "deepspeed").exit_code == 0


def test_every_preset_is_a_count_choice(cli: Callable) -> None:
    for name in ALL_PRESETS:
        assert cli("summary", "conv-example", "--count", name).exit_code == 0, name


def _rows(tmp_path: Path, body: str) -> list[Row]:
    return cnnstat.analyze(write(tmp_path, f"name: t\ninput: [8, 5, 6]\nlayers: {body}\n")).rows


def test_norms_of_issue_14_per_tool(tmp_path: Path) -> None:
    """One 8 x 5 x 6 map (n = 240 elements, 30 positions), each tool's formula written out."""
    ln_ch, ln_last, gn, inst = _rows(tmp_path, "[{layernorm: {over: channels}}, layernorm, "
                                               "{groupnorm: {groups: 4}}, instancenorm]")
    n = 8 * 5 * 6
    # torchinfo: N x (weight + bias); an instance norm without affine has none
    assert [TORCHINFO.count(r) for r in (ln_ch, ln_last, gn, inst)] == [16, 12, 16, 0]
    # thop count_normalization: 2 x numel, x 2 with (elementwise_)affine
    assert [THOP.count(r) for r in (ln_ch, ln_last, gn, inst)] == [4 * n, 4 * n, 4 * n, 2 * n]
    # ptflops: LayerNorm2d is no exact MODULES_MAPPING type (0); nn.LayerNorm has no `affine`
    # attribute (x 1); GroupNorm affine (x 2); InstanceNorm2d without affine (x 1)
    assert [PTFLOPS.count(r) for r in (ln_ch, ln_last, gn, inst)] == [0, n, 2 * n, n]
    # torchscan flops_layernorm: 6n + 2 x rows + n (weight) + n (bias); no group/instance norm
    assert TORCHSCAN.count(ln_ch) == 6 * n + 2 * (5 * 6) + n + n  # rows: one per position
    assert TORCHSCAN.count(ln_last) == 6 * n + 2 * (8 * 5) + n + n  # rows: D = 6, the last axis
    assert TORCHSCAN.count(gn) == TORCHSCAN.count(inst) == 0
    # calflops / DeepSpeed patched F.*_norm: numel x 5 with a weight, x 4 without
    assert [CALFLOPS.count(r) for r in (ln_ch, gn, inst)] == [5 * n, 5 * n, 4 * n]
    assert [DEEPSPEED.count(r) for r in (ln_ch, gn, inst)] == [5 * n, 5 * n, 4 * n]
    assert PTFLOPS_ATEN.count(ln_ch) == 0


def test_adaptive_max_pooling_per_tool(tmp_path: Path) -> None:
    """nn.AdaptiveMaxPool2d, 16x9x9 -> 16x6x4 (uneven windows) and 16x9x9 -> 16x3x3 (even), as
    each tool's source counts it (tests/test_counters_live.py runs the tools themselves)."""
    uneven, even = (cnnstat.analyze(write(tmp_path, "name: t\ninput: [16, 9, 9]\nlayers: "
                                          f"[{{adaptive_maxpool: {{size: {size}}}}}]\n")).rows[0]
                    for size in ("[6, 4]", 3))
    n_in = 16 * 9 * 9
    # FlopCounterMode counts only convolutions and matmuls; fvcore has no handle for
    # aten::adaptive_max_pool2d; torchinfo: no parameters; thop: zero_ops; ptflops' aten
    # backend: not in ATEN_OPS_MAPPING
    for preset in (TORCH, FVCORE, TORCHINFO, THOP, PTFLOPS_ATEN):
        assert [preset.count(r) for r in (uneven, even)] == [0, 0], preset.name
    # ptflops: pool_flops_counter_hook (numel(input)) + the patched F.adaptive_max_pool2d that
    # nn.AdaptiveMaxPool2d.forward calls (numel(input) again)
    assert PTFLOPS.parts(uneven) == {"pooling": n_in, "double counting": n_in}
    # calflops and DeepSpeed: _pool_flops_compute on the patched F.adaptive_max_pool2d
    assert CALFLOPS.parts(uneven) == DEEPSPEED.parts(uneven) == {"pooling": n_in}
    # torchscan flops_adaptive_maxpool: out x (prod(k) - 1), adaptive_kernel_size k = I // O
    # where O divides I, else I % O + 1: (9 % 6 + 1) x (9 % 4 + 1) = 4 x 2, and 3 x 3
    assert TORCHSCAN.count(uneven) == 16 * 6 * 4 * (4 * 2 - 1)
    assert TORCHSCAN.count(even) == 16 * 3 * 3 * (3 * 3 - 1)


def test_kinds_no_tool_counts(tmp_path: Path) -> None:
    """Layer scale (``gamma * x``: Tensor.__mul__, patched by none, and a parameter named gamma,
    which torchinfo skips), stochastic depth (the identity in eval), permute and mean: 0 in all."""
    rows = _rows(tmp_path, "[{layer_scale: {init: 1.0e-6}}, {drop_path: {p: 0.1}}, "
                           "{permute: {dims: [0, 2, 3, 1]}}, {permute: {dims: [0, 3, 1, 2]}}, mean]")
    assert [preset.count(r) for preset in TOOLS for r in rows] == [0] * (len(TOOLS) * len(rows))


def test_linear_over_the_last_axis_per_tool(tmp_path: Path) -> None:
    """nn.Linear(6, 3) over a 8 x 5 x 6 map: 40 positions x 6 x 3 = 720 MACs, 120 outputs."""
    (row,) = _rows(tmp_path, "[{linear: {out: 3, over: last}}]")
    assert row.macs == 40 * 6 * 3
    assert TORCHINFO.count(row) == 6 * 3 + 3  # N x (weight + bias): once per image, not per position
    assert TORCHINFO.parts(row) == {"skipped": 18 - 720, "bias": 3}
    assert PTFLOPS.count(row) == PTFLOPS_ATEN.count(row) == 720 + 120  # + bias at every position
    assert THOP.count(row) == 720  # in_features x numel(output)
    assert TORCHSCAN.count(row) == 120 * (2 * 6 - 1 + 1)  # out x (2 terms - 1 + bias)
    assert CALFLOPS.count(row) == DEEPSPEED.count(row) == 2 * 720  # F.linear, bias not counted


def _attention() -> tuple[Row, Row]:
    report = cnnstat.analyze("tests/verify_specs/hybrid.yaml")
    first, second = (r for r in report.rows if r.kind == "attention")
    return first, second


def test_attention_per_tool() -> None:
    """bot1's attention: C = 8 over 16 x 16 (N = 256 tokens), 2 heads, no qkv bias, an output
    bias of 8: projections 4NC^2 MACs, products Q.K^T and A.V N^2 C each."""
    row, _ = _attention()
    c, n = 8, 256
    macs, products = 4 * n * c * c, 2 * n * n * c
    assert (row.macs, row.product_macs, row.weights, row.bias) == (macs, products, 4 * c * c, c)
    assert TORCHINFO.count(row) == 4 * c * c + c  # its two nn.Linear leaves: N x (weight + bias)
    assert THOP.count(row) == macs + products  # count_linear + _FunctionCounter's matmuls
    assert PTFLOPS.count(row) == macs + n * c + products  # + the output bias at every token
    assert PTFLOPS_ATEN.count(row) == macs + n * c + products  # proj's addmm counts its bias
    # flops_linear on qkv (3C outputs per token) and proj (C): out x (2 C - 1 + bias)
    assert TORCHSCAN.count(row) == n * 3 * c * (2 * c - 1) + n * c * (2 * c - 1 + 1)
    assert CALFLOPS.count(row) == DEEPSPEED.count(row) == 2 * macs + 2 * products


def test_ptflops_aten_refuses_an_attention_with_a_qkv_bias() -> None:
    """Whether aten.addmm (bias counted) or mm + add (not) runs depends on the input's memory
    layout, which the row does not carry."""
    _, second = _attention()
    with pytest.raises(UsageError, match="'ptflops-aten' preset cannot count attention "
                                         "'attention1': its qkv bias"):
        PTFLOPS_ATEN.count(second)
