"""The torch-free side of ``cnnstat bench``: percentiles, analytic FLOPs of a timed step, bytes
moved and arithmetic intensity per operation, the roofline classification, batch lists, the fit
search, and the derived figures of a result.  Expected values are written as arithmetic."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from cnnstat.analysis import analyze
from cnnstat.cli import options
from cnnstat.core import memory, roofline
from cnnstat.core.roofline import LayerCost, Stats
from cnnstat.render import numbers
from cnnstat.spec import loader
from cnnstat.torch_backend.bench.results import OK, BatchResult, Memory, Probe
from tests.conftest import write

SAMPLES = [0.010, 0.012, 0.011, 0.015, 0.013, 0.020, 0.014, 0.011, 0.012, 0.030]


def test_percentiles_agree_with_the_inclusive_quantiles_of_statistics() -> None:
    s = roofline.stats(SAMPLES)
    deciles = statistics.quantiles(SAMPLES, n=10, method="inclusive")
    quartiles = statistics.quantiles(SAMPLES, n=4, method="inclusive")
    assert s.median == pytest.approx(statistics.median(SAMPLES))
    assert (s.p10, s.p90) == pytest.approx((deciles[0], deciles[8]))
    assert (s.p25, s.p75) == pytest.approx((quartiles[0], quartiles[2]))
    assert s.iqr == pytest.approx(quartiles[2] - quartiles[0])
    assert (s.minimum, s.maximum, s.n) == (0.010, 0.030, 10)


def test_percentile_interpolates_between_order_statistics() -> None:
    ordered = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    # position q * (n - 1): p10 at 0.9 -> 1 + 0.9 * (2 - 1); p90 at 8.1 -> 9 + 0.1 * (10 - 9)
    assert roofline.percentile(ordered, 0.1) == pytest.approx(1 + 0.9 * (2 - 1))
    assert roofline.percentile(ordered, 0.9) == pytest.approx(9 + 0.1 * (10 - 9))
    assert roofline.percentile([0.5], 0.9) == 0.5
    with pytest.raises(ValueError):
        roofline.percentile([], 0.5)


def test_step_flops_are_two_macs_per_image_and_three_forwards_for_training() -> None:
    macs = 32 * 32 * 10 * 5 * 5 * 3  # conv-example
    assert roofline.step_flops(macs, 8, train=False) == 2 * macs * 8
    assert roofline.step_flops(macs, 8, train=True) == 3 * 2 * macs * 8


def test_conv_arithmetic_intensity() -> None:
    report = analyze(loader.load("conv-example"))
    (cost,) = roofline.layer_costs(report, batch=4, dtype_bytes=4)
    flops = 2 * (32 * 32 * 10 * 5 * 5 * 3) * 4
    moved = ((3 * 32 * 32 + 10 * 32 * 32) * 4 + (10 * 5 * 5 * 3 + 10)) * 4
    assert (cost.flops, cost.bytes) == (flops, moved)
    assert cost.intensity == pytest.approx(flops / moved)
    (half,) = roofline.layer_costs(report, batch=4, dtype_bytes=2)
    assert half.intensity == pytest.approx(2 * cost.intensity)


def test_pointwise_layers_have_no_intensity_and_merges_read_every_operand(
        tmp_path: Path) -> None:
    spec = write(tmp_path, """
name: tiny-res
input: [4, 8, 8]
layers:
  - residual:
      body:
        - conv: {out: 4, kernel: 3, padding: 1, bias: false}
        - relu
      shortcut: identity
  - concat:
      branches:
        - [conv: {out: 2, kernel: 1}]
        - [conv: {out: 6, kernel: 1}]
""")
    report = analyze(loader.load(spec))
    costs = {c.kind: c for c in roofline.layer_costs(report, batch=1, dtype_bytes=4)}
    assert costs["relu"].intensity == 0.0
    assert costs["relu"].bytes == (4 * 8 * 8 + 4 * 8 * 8) * 4
    assert costs["add"].bytes == (2 * 4 * 8 * 8 + 4 * 8 * 8) * 4  # body + shortcut in, sum out
    assert costs["concat"].bytes == ((2 + 6) * 8 * 8 + 8 * 8 * 8) * 4
    reads = memory.reads(report)
    assert reads[next(r.name for r in report.rows if r.kind == "add")] == 2 * 4 * 8 * 8


def test_roofline_bound_and_fraction_of_peak() -> None:
    peak, bandwidth = 100e9, 20e9
    ridge = roofline.ridge(peak, bandwidth)
    assert ridge == 100e9 / 20e9
    assert roofline.bound(ridge, ridge) == "compute"
    assert roofline.bound(ridge * 0.99, ridge) == "memory"
    heavy = LayerCost("conv", "conv", flops=10 * 10**9, bytes=10**9)  # 10 FLOP/byte
    light = LayerCost("relu", "relu", flops=0, bytes=10**9)
    assert roofline.fraction_of_peak(heavy, 0.5, peak, bandwidth) == pytest.approx(
        10e9 / 0.5 / 100e9)
    assert roofline.fraction_of_peak(light, 0.1, peak, bandwidth) == pytest.approx(
        1e9 / 0.1 / 20e9)


@pytest.mark.parametrize(("text", "batches"), [("1", [1]), ("1,8,32,128", [1, 8, 32, 128]),
                                                (" 4 , 2 ", [4, 2])])
def test_parse_batches(text: str, batches: list[int]) -> None:
    assert options.parse_batches(text) == batches


@pytest.mark.parametrize("text", ["", "0", "1,,2", "a", "1.5", "-1", "2,2", "8;16"])
def test_parse_batches_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        options.parse_batches(text)


def test_fit_search_doubles_then_bisects() -> None:
    fit = roofline.fit_search(lambda b: b <= 37, upper=4096)
    assert fit.largest == 37
    assert [b for b, _ in fit.tried] == [1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38, 37]
    assert dict(fit.tried)[64] is False and dict(fit.tried)[32] is True


def test_fit_search_stops_at_the_upper_bound() -> None:
    fit = roofline.fit_search(lambda b: True, upper=100)
    assert fit.largest == 100
    assert [b for b, _ in fit.tried] == [1, 2, 4, 8, 16, 32, 64, 100]


def test_fit_search_when_nothing_runs() -> None:
    assert roofline.fit_search(lambda b: False, upper=64).tried == ((1, False),)
    assert roofline.fit_search(lambda b: False, upper=64).largest == 0
    assert roofline.fit_search(lambda b: True, upper=0).tried == ()


def test_derived_figures_of_a_result() -> None:
    probe = Probe("float32", matmul_n=1000, matmul=_const(0.02), copy_bytes=10**8,
                  copy=_const(0.01))
    assert probe.flops_per_s == pytest.approx(2 * 1000**3 / 0.02)
    assert probe.bytes_per_s == pytest.approx(2 * 10**8 / 0.01)
    assert probe.ridge == pytest.approx((2 * 1000**3 / 0.02) / (2 * 10**8 / 0.01))
    r = BatchResult(8, OK, flops=4 * 10**9, memory=Memory(1, 2, None, ""), latency=_const(0.5))
    assert r.images_per_s == 8 / 0.5
    assert r.flops_per_s == 4e9 / 0.5
    assert r.fraction_of_peak(probe) == pytest.approx((4e9 / 0.5) / (2 * 1000**3 / 0.02))
    assert r.fraction_of_peak(None) is None


def _const(seconds: float) -> Stats:
    return roofline.stats([seconds] * 3)


@pytest.mark.parametrize(("value", "text"), [(12.3456, "12.35"), (123456.7, "123,457"),
                                             (0.001234, "0.001234"), (0, "0")])
def test_real_numbers_read_with_four_significant_digits(value: float, text: str) -> None:
    assert numbers.real(value) == text
