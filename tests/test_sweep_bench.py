"""cnnstat sweep --bench: the Pareto front timed through cnnstat bench's timer (issue 18, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch

TINY = """\
name: tiny
input: [3, 16, 16]
params: {c: 4}
layers:
  - conv: {out: $c, kernel: 3, padding: 1}
  - relu
  - global_avgpool
"""


def test_the_front_is_timed(cli, tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    result = cli("sweep", str(spec), "--vary", "c=2,4,8", "--objective", "macs",
                 "--objective", "max:params", "--bench", "--format", "json", "-j", "1")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    # more channels: more MACs and more params, so no row dominates another: all on the front
    assert all(r["pareto"] for r in rows)
    assert all(r["latency_ms"] > 0 for r in rows)
    budgeted = cli("sweep", str(spec), "--vary", "c=2,4,8", "--budget", "params<=200",
                   "--bench-all", "--format", "json", "-j", "1")
    rows = json.loads(budgeted.stdout)["rows"]
    # params: 3 * 3 * 3 * c + c (bias): 56, 112, 224 -> the last is over the budget, not timed
    assert [r["params"] for r in rows] == [3 * 3 * 3 * c + c for c in (2, 4, 8)]
    assert ["latency_ms" in r for r in rows] == [True, True, False]
