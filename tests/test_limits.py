"""Closed forms that replaced loops over the input size, and the limits that keep every answer
finite and quick (E407 sizes, E207 expansion, E105 documents)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cnnstat.core.analyze import _stride_between
from cnnstat.core.geometry import adaptive_bounds, adaptive_span
from cnnstat.core.ir import AutoShortcut
from cnnstat.errors import SpecError
from tests.conftest import write


@given(st.integers(1, 300), st.integers(1, 300))
def test_adaptive_span_is_the_sum_of_the_window_widths(size: int, out: int) -> None:
    assert adaptive_span(size, out) == sum(b - a for a, b in adaptive_bounds(size, out))


def _brute_stride(x: tuple[int, ...], target: tuple[int, ...]) -> int | None:
    for s in range(1, max(x[1], x[2]) + 1):
        if (-(-x[1] // s), -(-x[2] // s)) == target[1:]:
            return s
    return None


@given(st.integers(1, 60), st.integers(1, 60), st.integers(1, 60), st.integers(1, 60))
def test_shortcut_stride_is_the_smallest_that_fits(h: int, w: int, th: int, tw: int) -> None:
    auto = AutoShortcut("s", "projection")
    expected = _brute_stride((1, h, w), (2, th, tw))
    try:
        assert _stride_between(auto, (1, h, w), (2, th, tw)) == expected
    except SpecError:
        assert expected is None


def test_shortcut_stride_of_a_huge_input_is_immediate() -> None:
    big = 2**31 - 1
    assert _stride_between(AutoShortcut("s", "projection"), (3, big, big),
                           (8, -(-big // 2), -(-big // 2))) == 2


def test_input_override_is_limited_too(cli: Callable) -> None:
    result = cli("summary", "conv-example", "--input", "3x3000000000x32")
    assert result.exit_code == 1 and "error[E407]" in result.stderr


def test_the_largest_accepted_sizes_give_exact_answers(cli: Callable, tmp_path: Path) -> None:
    big = 2**31 - 1
    path = write(tmp_path, f"name: big\ninput: [1, {big}, {big}]\nlayers:\n"
                 f"  - conv: {{out: {big}, kernel: 1}}\n")
    doc = json.loads(cli("summary", path, "--format", "json").stdout)
    assert doc["totals"]["macs"] == big * big * big * 1
    assert doc["totals"]["params"] == big + big


def test_receptive_fields_of_huge_maps_are_refused_not_allocated(cli: Callable,
                                                                tmp_path: Path) -> None:
    big = 2**31 - 1
    path = write(tmp_path, f"name: big\ninput: [1, {big}, 8]\nlayers:\n  - conv: {{out: 2, kernel: 1}}\n")
    summary = json.loads(cli("summary", path, "--format", "json").stdout)
    assert summary["layers"][0]["rf"] is None  # the summary leaves the RF column empty
    result = cli("receptive-field", path)
    assert result.exit_code == 1
    assert f"error[E408]: receptive fields are exact per output unit, and a feature map of " \
        f"{big:,} rows or columns exceeds the 65,536 supported" in result.stderr
    assert "spec.yaml:2:" in result.stderr
