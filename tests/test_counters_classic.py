"""The ``thop-classic`` preset (issue 17): the classic ``thop`` package (PyPI ``thop``
0.1.1.post2209072238), where it differs from ultralytics-thop 2.2.3 (the ``thop`` preset), each
rule's arithmetic written from classic thop's own formula (thop/vision/basic_hooks.py,
calc_func.py).  Classic thop installs as the import name ``thop``, as ultralytics-thop does, so
it cannot run here beside it: its live check is tools/thop_classic.py (tools/thop_classic.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import cnnstat
from cnnstat.core.counters import ALL_PRESETS, THOP, THOP_CLASSIC
from cnnstat.core.presets import CAUSES
from cnnstat.core.report import Row
from cnnstat.core.rules import RULES
from cnnstat.errors import UsageError
from tests.conftest import write

MERGES = {"add", "mul", "concat"}


def _rows(tmp_path: Path, body: str, shape: str = "[8, 6, 6]") -> list[Row]:
    return cnnstat.analyze(write(tmp_path, f"name: t\ninput: {shape}\nlayers: {body}\n")).rows


def test_every_kind_has_an_explicit_rule() -> None:
    assert THOP_CLASSIC.default is None
    assert set(THOP_CLASSIC.rules) == set(RULES) | MERGES
    assert ALL_PRESETS["thop-classic"] is THOP_CLASSIC


def test_conv_linear_bn_softmax_prelu_as_ultralytics(tmp_path: Path) -> None:
    """count_convNd, count_linear, count_normalization, count_softmax, count_prelu: the same
    formulas in both packages (conv and linear MACs without bias, BN 2 x numel x 2 affine)."""
    conv, bn, prelu, softmax = _rows(tmp_path, "[{conv: {out: 4, kernel: 3, padding: 1}}, bn, "
                                               "prelu, softmax]")
    n = 4 * 6 * 6
    assert THOP_CLASSIC.count(conv) == 4 * 6 * 6 * 8 * 3 * 3  # numel(out) x C_in x k x k
    assert THOP_CLASSIC.count(bn) == 2 * n * 2
    assert THOP_CLASSIC.count(prelu) == n
    assert THOP_CLASSIC.count(softmax) == 6 * 6 * (4 + (4 - 1) + 4)  # exp, add, div per position
    assert [THOP_CLASSIC.count(r) for r in (conv, bn, prelu, softmax)] == \
        [THOP.count(r) for r in (conv, bn, prelu, softmax)]


def test_transposed_conv_over_its_output(tmp_path: Path) -> None:
    """count_convNd on nn.ConvTranspose2d: numel(output) x (C_in / g) x prod(kernel), where
    ultralytics' count_convtNd (and our MACs) walk the input: 8x6x6 -> 4x12x12, kernel 2,
    stride 2: 4 x 12 x 12 x 8 x 2 x 2 against 6 x 6 x 8 x 4 x 2 x 2."""
    (up,) = _rows(tmp_path, "[{conv_transpose: {out: 4, kernel: 2, stride: 2}}]")
    assert up.output_shape == (4, 12, 12)
    assert THOP.count(up) == up.macs == 6 * 6 * 8 * 4 * 2 * 2
    assert THOP_CLASSIC.count(up) == 4 * 12 * 12 * 8 * 2 * 2
    assert THOP_CLASSIC.parts(up) == {"other": 4 * 12 * 12 * 8 * 2 * 2 - 6 * 6 * 8 * 4 * 2 * 2}


def test_pooling(tmp_path: Path) -> None:
    """count_avgpool: calculate_avgpool(numel(output)), 1 per output whatever the window;
    count_adap_avgpool: (prod(I / O) + 1) x numel(output)."""
    avg, adaptive, gap = _rows(tmp_path, "[{avgpool: {kernel: 3, stride: 1, padding: 1}}, "
                                         "{adaptive_avgpool: {size: 3}}, global_avgpool]")
    assert THOP_CLASSIC.count(avg) == 8 * 6 * 6
    assert THOP.count(avg) == 8 * (3 * 6) * (3 * 6) + 8 * 6 * 6  # windows incl. padding, + 1
    assert THOP_CLASSIC.count(adaptive) == THOP.count(adaptive) == (2 * 2 + 1) * 8 * 3 * 3
    assert THOP_CLASSIC.count(gap) == THOP.count(gap) == (3 * 3 + 1) * 8


def test_an_adaptive_pool_o_not_dividing_i_is_refused(tmp_path: Path) -> None:
    """6 -> 4: classic thop's ratio 1.5 x 1.5 = 2.25 per output, in float64, truncated once
    for the whole batch; the real windows (ultralytics) are 2, 2, 2, 2 per axis.  Rows carry
    per-image counts, so it is refused, never rounded."""
    (adaptive,) = _rows(tmp_path, "[{adaptive_avgpool: {size: 4}}]")
    with pytest.raises(UsageError, match="'thop-classic' preset cannot count adaptive_avgpool"):
        THOP_CLASSIC.count(adaptive)
    assert THOP.count(adaptive) == 8 * (2 * 4) * (2 * 4) + 8 * 4 * 4


def test_adaptive_max_pooling_is_zero_ops_even_where_o_does_not_divide_i(
        tmp_path: Path) -> None:
    """register_hooks: nn.AdaptiveMaxPool2d: zero_ops, in classic thop as in ultralytics-thop:
    no ratio is taken, so 6 -> 4 is counted (0), not refused as count_adap_avgpool is."""
    uneven, even = _rows(tmp_path, "[{adaptive_maxpool: {size: 4}}, {adaptive_maxpool: "
                                   "{size: 2}}]")
    assert [THOP_CLASSIC.count(r) for r in (uneven, even)] == [0, 0]
    assert [THOP.count(r) for r in (uneven, even)] == [0, 0]


def test_norms(tmp_path: Path) -> None:
    """register_hooks by exact type: nn.LayerNorm and nn.InstanceNorm2d have count_normalization,
    LayerNorm2d (a subclass) and nn.GroupNorm (not registered) have none: 0."""
    ln_ch, ln_last, gn, inst = _rows(tmp_path, "[{layernorm: {over: channels}}, layernorm, "
                                               "{groupnorm: {groups: 4}}, instancenorm]")
    n = 8 * 6 * 6
    assert [THOP_CLASSIC.count(r) for r in (ln_ch, ln_last, gn, inst)] == [0, 4 * n, 0, 2 * n]
    assert [THOP.count(r) for r in (ln_ch, ln_last, gn, inst)] == [4 * n, 4 * n, 4 * n, 2 * n]


def test_attention_counts_only_its_linears() -> None:
    """No _FunctionCounter: the two Tensor.matmul of SelfAttention2d are not counted, only its
    nn.Linear qkv and proj (count_linear: 4NC^2 for C = 8, N = 16 x 16 tokens)."""
    row = next(r for r in cnnstat.analyze("tests/verify_specs/hybrid.yaml").rows
               if r.kind == "attention")
    c, n = 8, 256
    assert THOP_CLASSIC.count(row) == 4 * n * c * c
    assert THOP.count(row) == 4 * n * c * c + 2 * n * n * c


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "unet", "convnext",
                                  "tests/verify_specs/modern.yaml"])
def test_parts_add_up_to_the_count(name: str) -> None:
    report = cnnstat.analyze(name, batch=2)
    parts = THOP_CLASSIC.total_parts(report)
    assert set(parts) <= set(CAUSES)
    assert report.totals.macs + sum(parts.values()) == THOP_CLASSIC.total(report)


def test_summary_count_thop_classic(cli: Callable) -> None:
    """resnet18 at 224: the same as ultralytics-thop (no kind where they differ); the figure is
    tools/thop_classic.md's, measured with classic thop."""
    result = cli("summary", "resnet18", "--count", "thop-classic", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["count"]["preset"] == "thop-classic"
    assert doc["count"]["total"] == THOP.total(cnnstat.analyze("resnet18")) == 1_824_033_792


def test_refused_adaptive_pool_exit_2(cli: Callable) -> None:
    """composites' adaptive pool 8x8 -> 3x3: refused, exit 2, named, never counted 0."""
    result = cli("summary", "tests/verify_specs/composites.yaml", "--count", "thop-classic")
    assert result.exit_code == 2
    assert "'thop-classic' preset cannot count adaptive_avgpool" in result.stderr
    assert "Traceback" not in result.stderr


def test_reconcile_row(cli: Callable) -> None:
    """unet's four 2x2 stride-2 up-convs counted over their outputs: 4 x their MACs, the 3 x
    beyond them under ``other``; its avg-pool-free, norm-free rest as ultralytics-thop."""
    result = cli("reconcile", "unet", "--format", "json")
    assert result.exit_code == 0, result.stderr
    tools = {t["preset"]: t for t in json.loads(result.stdout)["tools"]}
    report = cnnstat.analyze("unet")
    up = sum(r.macs for r in report.rows if r.kind == "conv_transpose")
    assert tools["thop-classic"]["tool"] == "thop 0.1.1.post2209072238"
    assert tools["thop-classic"]["causes"] == {"other": 3 * up}
    assert tools["thop-classic"]["total"] == tools["thop"]["total"] + 3 * up


def test_a_functional_call_counts_zero(tmp_path: Path) -> None:
    """Classic thop hooks modules only (no functional counting): a layer written as a function
    (``functional: true``) counts 0 where its module would count; avg pool 3x3/1 on 8x6x6 with
    padding 1 as a module: 1 per output element."""
    module, function = _rows(tmp_path, "[{avgpool: {kernel: 3, stride: 1, padding: 1}}, "
                                       "{avgpool: {kernel: 3, stride: 1, padding: 1, "
                                       "functional: true}}]")
    assert THOP_CLASSIC.count(module) == 8 * 6 * 6
    assert THOP_CLASSIC.count(function) == 0
