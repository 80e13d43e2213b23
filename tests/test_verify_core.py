"""Analytic-core fixes found by the live cross-check, pinned with arithmetic and with torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.core.geometry import Window, output_size
from cnnstat.core.report import Report
from cnnstat.errors import SpecError
from cnnstat.spec import loader


def analyze(tmp_path: Path, text: str) -> Report:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return analysis.analyze(loader.load(str(path)))


def test_ceil_mode_window_may_overhang_a_small_input() -> None:
    # PyTorch: out = floor((1 + 0 - 2 + (2 - 1)) / 2) + 1 = 1, so a 2x2/2 ceil pool keeps 1x1.
    assert output_size(1, Window(2, 2, 0, 0), ceil_mode=True) == (1 + 0 - 2 + 1) // 2 + 1
    # floor mode has no such overhang: (1 - 2) / 2 + 1 < 1.
    assert output_size(1, Window(2, 2, 0, 0)) < 1
    # a 5-wide window at stride 2 overhangs by more than S - 1: too small in both modes.
    assert output_size(1, Window(5, 2, 0, 0), ceil_mode=True) < 1


CEIL_POOL_ON_1X1 = ("name: t\ninput: [4, 1, 1]\nlayers:\n"
                    "  - maxpool: {kernel: 2, stride: 2, ceil_mode: true}\n")


def test_ceil_mode_pool_on_1x1_is_accepted(tmp_path: Path) -> None:
    assert analyze(tmp_path, CEIL_POOL_ON_1X1).output_shape == (4, 1, 1)


@pytest.mark.torch
def test_ceil_mode_pool_on_1x1_is_accepted_like_pytorch(tmp_path: Path) -> None:
    report = analyze(tmp_path, CEIL_POOL_ON_1X1)
    torch = pytest.importorskip("torch")
    live = torch.nn.MaxPool2d(2, 2, ceil_mode=True)(torch.zeros(1, 4, 1, 1))
    assert tuple(live.shape[1:]) == report.output_shape == (4, 1, 1)


def test_lrn_on_a_flat_input_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="lrn 'lrn1'"):
        analyze(tmp_path, "name: t\ninput: [8]\nlayers:\n  - lrn\n")


def test_dropout_probability_is_checked(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="between 0 and 1"):
        analyze(tmp_path, "name: t\ninput: [8]\nlayers:\n  - dropout: {p: 1.5}\n")


def test_explicit_shortcut_list_expands(tmp_path: Path) -> None:
    report = analyze(tmp_path, "name: t\ninput: [4, 8, 8]\nlayers:\n  - residual:\n"
                     "      body: [conv: {out: 6, kernel: 1}]\n"
                     "      shortcut: [conv: {out: 6, kernel: 1, bias: false}]\n")
    names = [r.name for r in report.rows]
    assert names == ["residual1.conv1", "residual1.shortcut.conv1", "residual1.add"]
    assert report.rows[1].params == 4 * 6


def test_shortcut_mapping_is_a_located_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="residual shortcut must be"):
        analyze(tmp_path, "name: t\ninput: [4, 8, 8]\nlayers:\n  - residual:\n"
                "      body: [relu]\n      shortcut: {conv: {out: 4, kernel: 1}}\n")


def test_pool_padding_is_bounded_by_half_the_kernel_not_the_dilated_window(tmp_path: Path) -> None:
    # kernel 3 at dilation 2 spans 5, but PyTorch checks pad <= kernel // 2 = 1
    text = ("name: t\ninput: [1, 9, 9]\nlayers:\n"
            "  - maxpool: {kernel: 3, dilation: 2, padding: %d}\n")
    side = (9 + 2 * 1 - 5) // 3 + 1
    assert analyze(tmp_path, text % 1).output_shape == (1, side, side)
    with pytest.raises(SpecError, match="more than half the kernel 3"):
        analyze(tmp_path, text % 2)


@pytest.mark.torch
def test_pytorch_bounds_pool_padding_by_half_the_kernel() -> None:
    """The live side of the test above: PyTorch refuses padding 2 at kernel 3, dilation 2."""
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="half of kernel size"):
        torch.nn.MaxPool2d(3, padding=2, dilation=2)(torch.zeros(1, 1, 9, 9))
