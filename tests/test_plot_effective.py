"""cnnstat plot rf --effective: the effective receptive field (Luo et al. 2016) from torch,
inside the theoretical field, drawn beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import cnnstat
from tests.conftest import write
from tests.test_plot import svg_text

pytestmark = pytest.mark.torch
pytest.importorskip("matplotlib")

TWO_CONVS = """name: two-convs
input: [2, 11, 11]
layers:
  - conv: {out: 4, kernel: 3, name: c1}
  - relu
  - conv: {out: 4, kernel: 3, name: c2}
"""


def test_effective_field_lies_inside_the_theoretical_field(tmp_path: Path,
                                                           torch_one_thread: None) -> None:
    from cnnstat.torch_backend.live.erf import effective_field

    report = cnnstat.analyze(write(tmp_path, TWO_CONVS))
    # c2's output is 7x7; its centre unit (3, 3) sees input rows and columns 3..7 (3 + 3 - 1)
    grid = effective_field(report, "c2", (3, 3), samples=3)
    assert len(grid) == 11 and all(len(row) == 11 for row in grid)
    inside = [grid[i][j] for i in range(3, 8) for j in range(3, 8)]
    outside = [grid[i][j] for i in range(11) for j in range(11)
               if not (3 <= i < 8 and 3 <= j < 8)]
    assert max(inside) == 1.0 and all(v == 0.0 for v in outside)
    assert effective_field(report, "c2", (3, 3), samples=3) == grid  # seeded: repeatable


def test_rf_effective_draws_both_panels(cli: Callable, tmp_path: Path,
                                        torch_one_thread: None) -> None:
    out = tmp_path / "rf.svg"
    spec = write(tmp_path, TWO_CONVS)
    result = cli("plot", "rf", spec, "--effective", "--samples", "2", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    text = " ".join(svg_text(out.read_bytes())).replace("\n", " ")  # lines wrapped
    assert "two-convs: theoretical and effective receptive field of c2's centre unit" in text
    assert "effective field (Luo et al. 2016)" in text and "mean of 2 normal inputs" in text
    assert "theoretical field of unit (3, 3) of c2 (4x7x7): rows 3..7, columns 3..7" in text
