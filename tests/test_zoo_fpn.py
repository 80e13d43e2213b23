"""Zoo: inception-v3 (pair arguments, a training-only aux head) and resnet50-fpn (frozen batch
norm, an FPN of named tensors, five outputs).  Expected values are arithmetic, or torchvision
0.29.1's own figures (measured by tools/verify_torchvision.py) with their source named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.core.outputs import heads
from cnnstat.core.presets import FVCORE, TORCH
from tests.conftest import write

SPECS = Path(__file__).resolve().parent.parent / "specs"

# torchvision 0.29.1, inception_v3(weights=None, aux_logits=True, init_weights=False), eval,
# 1x3x299x299: numel 27,161,264; FlopCounterMode 11,426,432,192; fvcore 5,731,282,144.
AUX = (768 * 128 + 2 * 128            # conv0: 1x1, 768 -> 128, no bias; its BN
       + 128 * 768 * 5 * 5 + 2 * 768  # conv1: 5x5, 128 -> 768; its BN
       + 768 * 1000 + 1000)           # fc
# torchvision 0.29.1 resnet_fpn_backbone('resnet50', weights=None, trainable_layers=5), eval,
# 1x3x800x800: numel 26,799,296; FlopCounterMode 176,762,880,000; fvcore 88,394,880,000.
BODY = 25557032 - (2048 * 1000 + 1000) - 2 * 26560  # resnet50 numel less fc and the BN gammas,
#                                                     betas (26,560 channels of BN in all)
FPN = ((256 + 512 + 1024 + 2048) * 256 + 4 * 256     # four 1x1 laterals, with bias
       + 4 * (3 * 3 * 256 * 256 + 256))              # four 3x3 output convs, with bias


def _report(name: str) -> analysis.Analysed:
    return analysis.run(str(SPECS / f"{name}.yaml"))


def test_inception_v3_is_torchvisions_count() -> None:
    report = _report("inception-v3").report
    t = report.totals
    assert t.params == 27161264 and t.training_params == AUX
    assert t.params - AUX == 23834568  # without the aux head: the paper's "< 25M"
    assert TORCH.total(report) == 11426432192 == 2 * t.macs
    assert FVCORE.total(report) == 5731282144
    # fvcore: the MACs, BN at 2 per element of its input, the adaptive pool's 2048x8x8 input
    bn = sum(r.ops.get("bn", 0) for r in report.rows if not r.training)
    assert FVCORE.total(report) == t.macs + bn + 2048 * 8 * 8


def test_inception_v3_aux_head_is_training_only() -> None:
    rows = {r.name: r for r in _report("inception-v3").report.rows}
    aux = [r for r in rows.values() if r.training]
    assert {r.name.split(".")[0] for r in aux} == {"AuxLogits"}
    assert rows["AuxLogits.conv1.conv"].input_shape == (128, 5, 5)   # (17 - 5) // 3 + 1
    assert rows["AuxLogits.conv1.conv"].macs == 768 * 128 * 5 * 5


def test_inception_v3_factorized_convs_take_pairs() -> None:
    rows = {r.name: r for r in _report("inception-v3").report.rows}
    one_by_seven = rows["Mixed_6b.branch7x7.branch7x7_2.conv"]
    assert one_by_seven.weights == 128 * 128 * 1 * 7
    assert one_by_seven.output_shape == (128, 17, 17)
    assert rows["Mixed_7b.concat"].output_shape == (320 + 2 * 384 + 2 * 384 + 192, 8, 8)


def test_resnet50_fpn_is_torchvisions_count() -> None:
    report = _report("resnet50-fpn").report
    assert report.totals.params == BODY + FPN == 26799296
    assert report.totals.buffers == 4 * 26560  # FrozenBatchNorm2d: gamma, beta, mean, var
    assert TORCH.total(report) == 176762880000 == 2 * report.totals.macs
    # fvcore: the MACs and the three nearest upsamplings, 1 per output element; frozen BN 0
    upsampled = 256 * (50 * 50 + 100 * 100 + 200 * 200)
    assert FVCORE.total(report) == report.totals.macs + upsampled == 88394880000


def test_resnet50_fpn_outputs_are_the_pyramid() -> None:
    got = [(h.name, h.shape) for h in heads(_report("resnet50-fpn").report)]
    assert got == [("0", (256, 200, 200)), ("1", (256, 100, 100)), ("2", (256, 50, 50)),
                   ("3", (256, 25, 25)), ("pool", (256, 13, 13))]  # 25 -> (25 - 1) // 2 + 1


FROZEN = """\
name: frozen
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, padding: 1, bias: false}
  - bn: {frozen: true, name: norm}
  - relu
"""


def test_a_frozen_batch_norm_holds_buffers_only(tmp_path: Path) -> None:
    report = analysis.run(write(tmp_path, FROZEN)).report
    norm = {r.name: r for r in report.rows}["norm"]
    assert (norm.params, norm.buffers) == (0, 4 * 4)
    assert norm.ops == {"frozen_bn": 2 * 4 * 8 * 8}  # x * scale + shift
    assert FVCORE.count(norm) == 0 and TORCH.count(norm) == 0


def test_a_frozen_batch_norm_verifies_live(tmp_path: Path, cli: Callable) -> None:
    pytest.importorskip("fvcore")
    result = cli("verify", write(tmp_path, FROZEN), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    norm = next(la for la in doc["results"][0]["layers"] if la["name"] == "norm")
    assert norm["checks"]["buffers"]["live"] == 4 * 4
    assert norm["checks"]["fvcore"]["live"] == 0  # a multiply and an add: fvcore skips both


def test_a_frozen_batch_norm_is_explained(tmp_path: Path, cli: Callable) -> None:
    result = cli("explain", write(tmp_path, FROZEN), "--layer", "norm")
    assert result.exit_code == 0, result.output
    assert "4*4" in result.stdout and "frozen batch norm" in result.stdout


AUX_1X1 = """\
name: aux-1x1
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, stride: 2, padding: 1, bias: false}
  - side:
      training: true
      body:
        - conv: {out: 4, kernel: 4, bias: false}
        - bn
        - flatten
        - linear: {out: 2}
  - global_avgpool
"""


def test_a_training_only_head_on_a_1x1_map_verifies_at_batch_1(tmp_path: Path,
                                                               cli: Callable) -> None:
    """Batch norm in training mode needs more than one value per channel: a 1x1 map at batch 1
    has one (Inception-v3's aux head), so the training rows run at batch 2 and say so; at
    batch 3 they run at 3, and nothing is said."""
    result = cli("verify", write(tmp_path, AUX_1X1), "--count", "torch")
    assert result.exit_code == 0, result.output
    assert "training mode at batch 2" in result.stdout
    doc = json.loads(cli("verify", write(tmp_path, AUX_1X1), "--count", "torch",
                         "--format", "json").stdout)["results"][0]
    assert (doc["batch"], doc["training_batch"]) == (1, 2)
    conv = next(la for la in doc["layers"] if la["name"] == "side1.conv1")
    assert conv["checks"]["torch"]["live"] == 2 * 2 * (1 * 1 * 4 * 4 * 4 * 4)  # batch 2, 2/MAC
    doc3 = json.loads(cli("verify", write(tmp_path, AUX_1X1), "--count", "torch", "--batch", "3",
                          "--format", "json").stdout)["results"][0]
    assert doc3["ok"] and "training_batch" not in doc3
