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
from cnnstat.core.counters import ALL_PRESETS, PTFLOPS, THOP, TOOLS, TORCHINFO, TORCHSCAN
from cnnstat.core.presets import CAUSES
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
    row = Row("norm1", "layernorm", "layer norm", (8, 4, 4), (8, 4, 4), weights=8, bias=8)
    with pytest.raises(UsageError, match=f"'{preset.name}' preset has no rule for layer kind "
                                         "'layernorm'"):
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


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "efficientnet", "unet", "lenet5"])
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
