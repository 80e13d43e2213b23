"""verify measures a training-only head in training mode and the trunk in eval mode: a trunk
with batch norm over a 1x1 map (DeepLab's image pooling) and a head with one (Inception-v3's
aux classifier) both verify at batch 1, where batch norm cannot run in training mode on one
value per channel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cnnstat import analysis
from tests.conftest import write

pytestmark = pytest.mark.torch

POOLED = """\
name: pooled
inputs: {image: [3, 8, 8]}
layers:
  - conv: {out: 4, kernel: 3, padding: 1, bias: false, name: trunk}
  - side:
      training: true
      body:
        - global_avgpool
        - conv: {out: 2, kernel: 1, bias: false}
        - bn                                   # over a 1x1 map, in training mode
        - relu
  - adaptive_avgpool: {size: 1}
  - conv: {out: 4, kernel: 1, bias: false}
  - bn                                         # over a 1x1 map, in eval mode
  - relu
  - upsample: {mode: bilinear, like: trunk}
"""


def test_one_by_one_batch_norm_in_trunk_and_head_verifies_at_batch_1(
        tmp_path: Path, cli: Callable[..., Result]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    result = cli("verify", write(tmp_path, POOLED), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "internal error" not in result.stderr


def test_the_heads_flops_are_for_the_batch_they_ran_at(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from cnnstat.torch_backend.verify.crosscheck import verify_report

    # the head's batch norm sees one value per channel at batch 1, so the head's rows are
    # measured at batch 2 there (and the result says so); at batch 3 at the batch asked
    for batch, head_batch in ((1, 2), (3, 3)):
        result = verify_report(analysis.analyze(write(tmp_path, POOLED), batch=batch))
        assert result.ok and result.training_batch == head_batch
        checks = {lc.name: lc.checks for lc in result.layers}
        assert checks["side1.conv1"]["torch"].live == head_batch * 2 * (2 * 4)  # 2 x MACs
        assert checks["side1.bn1"]["fvcore"].live == head_batch * 2 * 5          # training: 5
        assert checks["bn1"]["fvcore"].live == batch * 4 * 2                     # eval: 2 each
