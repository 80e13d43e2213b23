"""Per-kind rules, table-driven, expected values written as arithmetic from first principles."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.core.geometry import Window, output_size
from cnnstat.spec.loader import load
from tests.conftest import write


def analyze(tmp_path: Path, input_shape: str, layers: str):
    text = f"name: t\ninput: {input_shape}\nlayers:\n{layers}"
    return analysis.analyze(load(write(tmp_path, text)))


# (input, layer, expected output shape, params, MACs)
CASES = [
    # The lecture's example: 10 5x5 filters, stride 1, pad 2 on 32x32x3.
    ("[3, 32, 32]", "conv: {out: 10, kernel: 5, stride: 1, padding: 2}",
     (10, (32 + 2 * 2 - 5) // 1 + 1, 32), (5 * 5 * 3 + 1) * 10, 32 * 32 * 10 * 5 * 5 * 3),
    # 7x7 input, 3x3 filter: stride 1 -> 5x5, stride 2 -> 3x3, pad 1 -> 7x7.
    ("[1, 7, 7]", "conv: {out: 1, kernel: 3}", (1, 5, 5), 3 * 3 + 1, 5 * 5 * 3 * 3),
    ("[1, 7, 7]", "conv: {out: 1, kernel: 3, stride: 2}", (1, 3, 3), 10, 3 * 3 * 3 * 3),
    ("[1, 7, 7]", "conv: {out: 1, kernel: 3, padding: 1}", (1, 7, 7), 10, 7 * 7 * 9),
    # Rectangular kernel and stride; no bias.
    ("[4, 17, 9]", "conv: {out: 6, kernel: [3, 1], stride: [2, 1], bias: false}",
     (6, (17 - 3) // 2 + 1, 9), 6 * 4 * 3 * 1, 8 * 9 * 6 * 4 * 3),
    # Dilation: effective extent d*(k-1)+1 = 5.
    ("[2, 10, 10]", "conv: {out: 3, kernel: 3, dilation: 2}", (3, 10 - 5 + 1, 6),
     3 * 2 * 9 + 3, 6 * 6 * 3 * 2 * 9),
    # Groups: each filter sees C_in/g channels; depthwise when g = C_in.
    ("[8, 6, 6]", "conv: {out: 16, kernel: 3, padding: 1, groups: 4}", (16, 6, 6),
     16 * (8 // 4) * 9 + 16, 6 * 6 * 16 * 2 * 9),
    ("[8, 6, 6]", "conv: {out: 8, kernel: 3, padding: 1, groups: 8, bias: false}", (8, 6, 6),
     8 * 1 * 9, 6 * 6 * 8 * 9),
    # padding 'same' keeps the size at stride 1 (even kernels pad one more on the right).
    ("[1, 9, 9]", "conv: {out: 2, kernel: 4, padding: same}", (2, 9, 9), 2 * 16 + 2,
     9 * 9 * 2 * 16),
    # Pooling: (W - F)/S + 1, no parameters, no MACs.
    ("[96, 55, 55]", "maxpool: {kernel: 3, stride: 2}", (96, (55 - 3) // 2 + 1, 27), 0, 0),
    ("[1, 4, 4]", "maxpool: {kernel: 2, stride: 2}", (1, 2, 2), 0, 0),
    # ceil_mode rounds up: (112 - 3)/2 + 1 = 55.5 -> 56.
    ("[64, 112, 112]", "maxpool: {kernel: 3, stride: 2, ceil_mode: true}", (64, 56, 56), 0, 0),
    ("[5, 7, 7]", "avgpool: {kernel: 2}", (5, 3, 3), 0, 0),
    # Linear: N_in * N_out weights + N_out biases.
    ("[9216]", "linear: {out: 4096}", (4096,), 9216 * 4096 + 4096, 9216 * 4096),
    ("[200]", "linear: {out: 10, bias: false}", (10,), 200 * 10, 200 * 10),
    # Batch norm: gamma and beta per channel.
    ("[64, 8, 8]", "bn", (64, 8, 8), 2 * 64, 0),
    # PReLU: one alpha per channel, or one shared.
    ("[32, 4, 4]", "prelu", (32, 4, 4), 32, 0),
    ("[32, 4, 4]", "prelu: {shared: true}", (32, 4, 4), 1, 0),
    # Maxout with k = 3 pieces triples the wrapped layer's parameters and MACs.
    ("[100]", "maxout: {pieces: 3, layer: {linear: {out: 20}}}", (20,), 3 * (100 * 20 + 20),
     3 * 100 * 20),
    ("[16, 4, 4]", "adaptive_avgpool: {size: 2}", (16, 2, 2), 0, 0),
    # Adaptive max pooling: the output size is given, whatever the input; no parameters.
    ("[16, 9, 9]", "adaptive_maxpool: {size: [6, 4]}", (16, 6, 4), 0, 0),
    ("[16, 7, 5]", "adaptive_maxpool: {size: 1}", (16, 1, 1), 0, 0),
    ("[16, 7, 5]", "global_avgpool", (16, 1, 1), 0, 0),
    ("[16, 7, 5]", "flatten", (16 * 7 * 5,), 0, 0),
    ("[3, 227, 227]", "lrn: {size: 5}", (3, 227, 227), 0, 0),
]


@pytest.mark.parametrize(("shape", "layer", "out", "params", "macs"), CASES,
                         ids=[c[1] for c in CASES])
def test_layer_rule(tmp_path: Path, shape: str, layer: str, out: tuple[int, ...],
                    params: int, macs: int) -> None:
    row = analyze(tmp_path, shape, f"  - {layer}\n").rows[0]
    assert (row.output_shape, row.params, row.macs) == (out, params, macs)
    assert row.flops == 2 * row.macs


def test_weights_and_bias_are_separate(tmp_path: Path) -> None:
    row = analyze(tmp_path, "[3, 32, 32]", "  - conv: {out: 10, kernel: 5, padding: 2}\n").rows[0]
    assert (row.weights, row.bias) == (5 * 5 * 3 * 10, 10)
    assert row.ops == {"bias": 32 * 32 * 10}  # one add per output element, not in MACs


def test_elementwise_ops_are_counted_by_kind_never_in_macs(tmp_path: Path) -> None:
    report = analyze(tmp_path, "[4, 6, 6]", "  - bn\n  - relu\n  - maxpool: {kernel: 2}\n")
    bn, relu, pool = report.rows
    assert bn.ops == {"bn": 2 * 4 * 6 * 6} and relu.ops == {"relu": 4 * 6 * 6}
    assert pool.ops == {"maxpool": 4 * 3 * 3 * 2 * 2}
    assert report.totals.macs == 0


def test_adaptive_max_pooling_counts_one_compare_per_window_element(tmp_path: Path) -> None:
    """PyTorch's windows [floor(i*I/O), ceil((i+1)*I/O)): 9 -> 6 is six windows 2 wide, [0, 2)
    [1, 3) [3, 5) [4, 6) [6, 8) [7, 9); 9 -> 4 is four windows 3 wide, [0, 3) [2, 5) [4, 7)
    [6, 9).  Each output element compares every element of its window, as max pooling counts."""
    pool = analyze(tmp_path, "[16, 9, 9]", "  - adaptive_maxpool: {size: [6, 4]}\n").rows[0]
    assert pool.ops == {"maxpool": 16 * (6 * 2) * (4 * 3)}
    assert 6 * 2 == 9 + 6 - 3 and 4 * 3 == 9 + 4 - 1  # the closed form: I + O - gcd(I, O)
    assert (pool.params, pool.macs, pool.global_field) == (0, 0, False)
    whole = analyze(tmp_path, "[16, 7, 5]", "  - adaptive_maxpool: {size: 1}\n").rows[0]
    assert whole.ops == {"maxpool": 16 * 7 * 5} and whole.global_field


def test_adaptive_max_and_average_pooling_read_the_same_windows(tmp_path: Path) -> None:
    """The same windows, each counted under its own op (compares of a max, adds of a mean)."""
    mx = analyze(tmp_path, "[8, 13, 10]", "  - adaptive_maxpool: {size: [5, 4]}\n").rows[0]
    av = analyze(tmp_path, "[8, 13, 10]", "  - adaptive_avgpool: {size: [5, 4]}\n").rows[0]
    assert mx.ops == {"maxpool": 8 * (13 + 5 - 1) * (10 + 4 - 2)}
    assert av.ops == {"avgpool": mx.ops["maxpool"]} and av.output_shape == mx.output_shape


def test_lecture_alexnet_shapes() -> None:
    """The lecture's table: [55x55x96] CONV1 ... [6x6x256] MAX POOL3 ... [1000] FC8."""
    rows = {r.name: r for r in analysis.analyze(load("alexnet")).rows}
    expected = {
        "conv1": (96, (227 - 11) // 4 + 1, 55), "pool1": (96, 27, 27), "norm1": (96, 27, 27),
        "conv2": (256, 27, 27), "pool2": (256, 13, 13), "norm2": (256, 13, 13),
        "conv3": (384, 13, 13), "conv4": (384, 13, 13), "conv5": (256, 13, 13),
        "pool3": (256, 6, 6), "fc6": (4096,), "fc7": (4096,), "fc8": (1000,),
    }
    assert {name: rows[name].output_shape for name in expected} == expected
    assert rows["conv1"].params == (11 * 11 * 3) * 96 + 96
    assert rows["fc6"].params == 6 * 6 * 256 * 4096 + 4096


def test_alexnet_at_224_warns_about_the_floor() -> None:
    report = analysis.analyze(load("alexnet", input_shape=(3, 224, 224)))
    (warning,) = [d for d in report.diagnostics if d.layer == "conv1"]
    assert warning.code == "W501"
    # (224 - 11)/4 + 1 = 54.25: 213 = 4 * 53 + 1, so the last input row and column are unused.
    assert "(224 - 11 + 0)/4 + 1 is not an integer" in warning.message
    assert "drops the last 1 input row" in warning.message
    assert "drops the last 1 input column" in warning.message
    assert report.rows[0].output_shape == (96, 54, 54)


def test_no_warning_when_the_floor_only_drops_padding(tmp_path: Path) -> None:
    # 3x3/2 pad 1 on 32: (32 - 3 + 2)/2 + 1 = 16.5, but the unused position is right padding.
    report = analyze(tmp_path, "[1, 32, 32]", "  - conv: {out: 1, kernel: 3, stride: 2, padding: 1}\n")
    assert report.rows[0].output_shape == (1, 16, 16) and report.diagnostics == ()


@pytest.mark.parametrize(("size", "k", "s", "p", "ceil", "expected"), [
    (7, 3, 1, 0, False, 5), (7, 3, 2, 0, False, 3), (7, 3, 1, 1, False, 7),
    (227, 11, 4, 0, False, 55), (224, 11, 4, 2, False, 55),
    (6, 3, 2, 0, True, 3),   # ceil((6-3)/2)+1 = 3
    (5, 2, 2, 1, True, 3),   # windows start at -1, 1, 3: the one at 5 would start in padding
])
def test_window_formula(size: int, k: int, s: int, p: int, ceil: bool, expected: int) -> None:
    assert output_size(size, Window(k, s, p, p), ceil) == expected


def test_batch_scales_compute_and_activations_not_params() -> None:
    one, eight = analysis.analyze("conv-example"), analysis.analyze("conv-example", batch=8)
    assert eight.totals.params == one.totals.params == 760
    assert eight.totals.macs == 8 * one.totals.macs == 8 * 32 * 32 * 10 * 5 * 5 * 3
    assert eight.totals.activations == 8 * 32 * 32 * 10


def test_lenet5_per_layer_parameters_match_the_paper() -> None:
    """LeCun et al. 1998 Sec. II-B: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164."""
    rows = {r.name: r.params for r in analysis.analyze(load("lenet5")).rows}
    assert rows["c1"] == 6 * 5 * 5 + 6 == 156
    assert rows["s2"] == 6 + 6 == 12
    assert rows["c3"] == (6 * 3 + 9 * 4 + 1 * 6) * 5 * 5 + 16 == 1516
    assert rows["s4"] == 16 + 16 == 32
    assert rows["c5"] == 16 * 5 * 5 * 120 + 120 == 48120
    assert rows["f6"] == 120 * 84 + 84 == 10164
    assert rows["output"] == 0  # RBF centres are fixed, not trainable


@pytest.mark.parametrize(("layer", "ok"), [
    ("maxpool: {kernel: 2, padding: 1}", True),
    ("maxpool: {kernel: 3, padding: 2}", False),
    # PyTorch checks the undilated kernel: dilation does not allow more padding
    ("maxpool: {kernel: 3, dilation: 2, padding: 2, stride: 1}", False),
    ("avgpool: {kernel: 4, padding: 2, stride: 1}", True),
])
def test_pool_padding_at_most_half_the_kernel(tmp_path: Path, layer: str, ok: bool) -> None:
    from cnnstat.errors import SpecError

    if ok:
        analyze(tmp_path, "[1, 10, 10]", f"  - {layer}\n")
    else:
        with pytest.raises(SpecError) as info:
            analyze(tmp_path, "[1, 10, 10]", f"  - {layer}\n")
        assert info.value.diagnostics[0].code == "E406"
