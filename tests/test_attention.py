"""The ``attention`` kind (multi-head self-attention over a feature map): its rule, presets,
memory, receptive field and what users see.  Expected values are arithmetic from the formulas
(N = H*W tokens of C features, h heads of d = C/h)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.core.memory import schedule
from cnnstat.core.presets import FVCORE, MACS, TORCH
from cnnstat.core.receptive import receptive_fields
from tests.conftest import write

HYBRID = Path(__file__).parent / "verify_specs" / "hybrid.yaml"


def _spec(tmp_path: Path, args: str, shape: str = "[64, 14, 14]") -> str:
    return write(tmp_path, f"name: att\ninput: {shape}\nlayers:\n  - attention: {args}\n")


def test_botnet_mhsa_figures(tmp_path: Path) -> None:
    """BoTNet's MHSA at C = 512 on a 14x14 map, 4 heads (Srinivas et al. 2021, c5 at 224)."""
    report = analysis.run(_spec(tmp_path, "{heads: 4}", "[512, 14, 14]")).report
    (row,) = report.rows
    n, c, h, d = 14 * 14, 512, 4, 512 // 4
    assert row.output_shape == (512, 14, 14)
    assert row.weights == 3 * c * c + c * c
    assert row.bias == 3 * c + c
    assert row.macs == n * c * 3 * c + n * c * c
    assert row.products == {"qk": h * n * n * d, "av": h * n * n * d}
    assert row.ops == {"attention_scale": n * c, "softmax": 3 * h * n * n, "bias": n * (3 * c + c)}
    assert row.scratch == 6 * n * c + 2 * h * n * n
    assert row.flops == 2 * row.macs  # FLOPs = 2 x weight MACs: the products are apart


def test_biases_are_optional(tmp_path: Path) -> None:
    report = analysis.run(_spec(tmp_path, "{heads: 2, qkv_bias: false, bias: false}")).report
    (row,) = report.rows
    assert row.bias == 0 and "bias" not in row.ops
    report = analysis.run(_spec(tmp_path, "{heads: 2, qkv_bias: false}")).report
    assert report.rows[0].bias == 64 and report.rows[0].ops["bias"] == 14 * 14 * 64


def test_presets_count_the_products_as_their_tools_do(tmp_path: Path) -> None:
    report = analysis.run(_spec(tmp_path, "{heads: 4}")).report
    (row,) = report.rows
    n, c = 14 * 14, 64
    weight_macs, products = 4 * n * c * c, 2 * n * n * c  # qk + av, each h*N*N*d = N*N*C
    assert MACS.count(row) == weight_macs
    assert TORCH.count(row) == 2 * (weight_macs + products)
    assert FVCORE.count(row) == weight_macs + products


def test_memory_holds_the_attention_matrix(tmp_path: Path) -> None:
    """The h x N x N scores and their softmax are alive during the layer, and saved in training."""
    report = analysis.run(_spec(tmp_path, "{heads: 4}")).report
    sched = schedule(report)
    n, c, h = 14 * 14, 64, 4
    assert sched.peak.alive == n * c + n * c + 6 * n * c + 2 * h * n * n  # input, output, scratch
    assert sched.saved == n * c + n * c + 6 * n * c + 2 * h * n * n


def test_every_position_sees_the_whole_map() -> None:
    report = analysis.run(str(HYBRID)).report
    fields = receptive_fields(report)
    row = fields.find("bot1.attention1")
    assert row is not None and all(f.shared for f in row.fields)
    # the block's input is 16x16 at jump 2 with a 3x3 field: the union is rows -1..31
    assert [f.size for f in row.fields] == [33, 33] and [f.jump for f in row.fields] == [2, 2]


def test_summary_json_and_table_show_the_products(tmp_path: Path, cli: Callable) -> None:
    path = _spec(tmp_path, "{heads: 4}")
    result = cli("summary", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    qk = av = 4 * 196 * 196 * 16
    assert doc["layers"][0]["products"] == {"qk": qk, "av": av}
    assert doc["totals"]["products"] == {"qk": qk, "av": av}
    assert doc["totals"]["macs"] == 4 * 196 * 64 * 64
    assert "products" in doc["conventions"]
    table = cli("summary", path, "--batch", "2")
    assert table.exit_code == 0
    assert f"Q.K^T {2 * qk:,}, A.V {2 * av:,}" in table.stdout
    counted = json.loads(cli("summary", path, "--format", "json", "--count", "torch").stdout)
    assert counted["count"]["total"] == 2 * (4 * 196 * 64 * 64 + qk + av)


def test_explain_works_the_formulas(tmp_path: Path, cli: Callable) -> None:
    result = cli("explain", _spec(tmp_path, "{heads: 4}"), "--layer", "attention1")
    assert result.exit_code == 0, result.stderr
    assert "h*N*N*d = 4*196*196*16 = 2,458,624" in result.stdout
    assert "N*C*3*C + N*C*C = 196*64*3*64 + 196*64*64 = 3,211,264" in result.stdout


@pytest.mark.parametrize(("args", "shape", "code"), [
    ("{heads: 3}", "[64, 14, 14]", "E402"),   # 3 does not divide 64
    ("{heads: 0}", "[64, 14, 14]", "E406"),
    ("{heads: 2}", "[64]", "E403"),           # a flat input has no positions
])
def test_rejects(tmp_path: Path, cli: Callable, args: str, shape: str, code: str) -> None:
    result = cli("summary", _spec(tmp_path, args, shape))
    assert result.exit_code == 1
    assert f"error[{code}]" in result.stderr and "Traceback" not in result.stderr
