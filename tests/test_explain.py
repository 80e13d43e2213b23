"""cnnstat explain: the lecture's worked examples, and every printed figure equal to the core's."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from cnnstat.analysis import analyze
from cnnstat.spec.expr import evaluate
from cnnstat.spec.loader import load
from cnnstat.views.explain import DriftError, worked

CONV_EXAMPLE = ("explain", "conv", "--input", "3x32x32", "--filters", "10", "--kernel", "5",
                "--stride", "1", "--pad", "2")


def steps(doc: dict, label: str) -> dict:
    (layer,) = doc["layers"]
    return next(s for s in layer["steps"] if s["label"] == label)


def test_lecture_conv_example_is_worked_as_the_lecture_does(cli: Callable) -> None:
    result = cli(*CONV_EXAMPLE)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "(32 + 2*2 - 5)/1 + 1 = 32" in out  # the lecture: (32+2*2-5)/1+1 = 32
    assert "output 32x32x10 (H x W x C)" in out
    assert "5*5*3 + 1 = 76" in out and "76*10 = 760" in out
    assert f"32*32*10*5*5*3 = {32 * 32 * 10 * 5 * 5 * 3:,}" in out
    assert "kernel extent = 5x5" in out
    assert result.stderr == ""


def test_conv_example_numbers_are_the_cores(cli: Callable) -> None:
    doc = json.loads(cli(*CONV_EXAMPLE, "--format", "json").stdout)
    row = analyze(load("conv-example")).rows[0]
    (layer,) = doc["layers"]
    assert layer["params"] == row.params == (5 * 5 * 3 + 1) * 10
    assert layer["macs"] == row.macs == 32 * 32 * 10 * 5 * 5 * 3
    assert layer["flops"] == 2 * row.macs
    assert steps(doc, "parameters")["value"] == row.params
    assert steps(doc, "MACs")["value"] == row.macs
    assert steps(doc, "height and width")["value"] == 32


def _check_steps(layer: dict) -> int:
    """Every printed 'arithmetic = value' evaluates to its value; returns how many were checked."""
    checked = 0
    for step in layer["steps"]:
        if step["arithmetic"] and isinstance(step["value"], int):
            assert evaluate("=" + step["arithmetic"], {}) == step["value"], step
            checked += 1
    return checked


@pytest.mark.parametrize("name", ["alexnet", "lenet5", "mobilenet-v1", "googlenet-paper",
                                  "resnet18", "squeezenet1-0", "conv3x3-separable"])
def test_every_worked_line_of_a_spec_equals_the_core(name: str, cli: Callable) -> None:
    doc = json.loads(cli("explain", name, "--all", "--format", "json").stdout)
    summary = json.loads(cli("summary", name, "--format", "json").stdout)
    assert [la["name"] for la in doc["layers"]] == [la["name"] for la in summary["layers"]]
    checked = 0
    for ex, row in zip(doc["layers"], summary["layers"]):
        for key in ("params", "weights", "bias", "macs", "flops", "activations"):
            assert ex[key] == row[key], (ex["name"], key)
        labels = {s["label"]: s["value"] for s in ex["steps"]}
        if "parameters" in labels and isinstance(labels["parameters"], int):
            assert labels["parameters"] == row["params"]
        if "MACs" in labels:
            assert labels["MACs"] == row["macs"]
        checked += _check_steps(ex)
    assert checked > len(doc["layers"])


@pytest.mark.parametrize("kind", ["adaptive_maxpool", "adaptive_avgpool"])
def test_adaptive_pooling_is_worked_from_its_windows(kind: str, cli: Callable) -> None:
    """9x9 -> 6x4: six windows 2 wide (9 + 6 - gcd 3 = 12 rows read) and four 3 wide (9 + 4 -
    gcd 1 = 12 columns); 16 channels: 16*12*12 ops, one per window element per output."""
    result = cli("explain", kind, "--input", "16x9x9", "--arg", "size=[6, 4]", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    (layer,) = doc["layers"]
    op = "maxpool" if kind == "adaptive_maxpool" else "avgpool"
    assert steps(doc, "window widths (height)")["arithmetic"] == "9 + 6 - 3"
    assert steps(doc, "window widths (width)")["arithmetic"] == "9 + 4 - 1"
    assert steps(doc, f"element-wise ({op})")["value"] == 16 * (6 * 2) * (4 * 3)
    assert steps(doc, "receptive field")["value"] == "2x3"  # the widest window per axis
    assert layer["params"] == layer["macs"] == 0
    assert _check_steps(layer) == 4  # both widths, the ops and the activations evaluate


def test_a_drifted_explanation_is_refused() -> None:
    assert worked("5*5*3 + 1", 76) == "5*5*3 + 1"
    with pytest.raises(DriftError):
        worked("5*5*3", 76)


def test_non_integer_output_names_the_dropped_rows(cli: Callable) -> None:
    result = cli("explain", "maxpool", "--input", "1x7x7", "--kernel", "3", "--stride", "3")
    assert result.exit_code == 0
    assert "(7 - 3)/3 + 1" in result.stdout and "not an integer: the floor gives 2" in \
        result.stdout
    dropped = (7 - 3) % 3  # rows after the last window
    assert f"drops the last {dropped} input row and column" in result.stdout
    assert "Zero padding handles non-integer cases" in result.stdout
    assert f"pad 1 gives (7 + 2*1 - 3)/3 + 1 = {(7 + 2 - 3) // 3 + 1}" in result.stdout
    assert "warning[W501]" in result.stderr


def test_alexnet_at_224_is_explained_with_the_227_fix(cli: Callable) -> None:
    out = cli("explain", "conv", "--input", "3x224x224", "--filters", "96", "--kernel", "11",
              "--stride", "4").stdout
    assert "(224 - 11)/4 + 1 = 213/4 + 1" in out
    assert f"drops the last {(224 - 11) % 4} input row and column" in out
    assert f"an input of 227 gives (227 - 11)/4 + 1 = {(227 - 11) // 4 + 1}" in out


def test_pooling_has_zero_parameters_and_counts_window_ops(cli: Callable) -> None:
    doc = json.loads(cli("explain", "maxpool", "--input", "1x4x4", "--kernel", "2", "--stride",
                         "2", "--format", "json").stdout)
    (layer,) = doc["layers"]
    assert layer["params"] == 0 and layer["output_shape"] == [1, 2, 2]
    assert steps(doc, "element-wise (maxpool)")["value"] == 2 * 2 * 1 * 2 * 2
    assert steps(doc, "height and width")["arithmetic"] == "(4 - 2)/2 + 1"


def test_fully_connected_200x200_image(cli: Callable) -> None:
    doc = json.loads(cli("explain", "linear", "--input", "3x200x200", "--out", "1000",
                         "--format", "json").stdout)
    assert steps(doc, "weights")["arithmetic"] == "200*200*3*1000"
    assert steps(doc, "weights")["value"] == 200 * 200 * 3 * 1000
    assert steps(doc, "parameters")["value"] == 200 * 200 * 3 * 1000 + 1000


@pytest.mark.parametrize(("shared", "expected"), [(False, 64), (True, 1)])
def test_prelu_parameters_per_channel_or_shared(shared: bool, expected: int,
                                                cli: Callable) -> None:
    args = ["explain", "prelu", "--input", "64x8x8", "--format", "json"]
    doc = json.loads(cli(*args, *(["--shared"] if shared else [])).stdout)
    assert doc["layers"][0]["params"] == expected


def test_maxout_multiplies_the_wrapped_layer(cli: Callable) -> None:
    doc = json.loads(cli("explain", "maxout", "--input", "784", "--pieces", "2", "--out", "100",
                         "--format", "json").stdout)
    (layer,) = doc["layers"]
    assert layer["params"] == 2 * (784 * 100 + 100)
    assert layer["macs"] == 2 * 784 * 100
    assert steps(doc, "element-wise (maxout)")["value"] == (2 - 1) * 100
    conv = json.loads(cli("explain", "maxout", "--input", "3x8x8", "--pieces", "3", "--filters",
                          "4", "--kernel", "3", "--format", "json").stdout)
    assert conv["layers"][0]["params"] == 3 * ((3 * 3 * 3 + 1) * 4)


def test_depthwise_conv_is_explained_per_group(cli: Callable) -> None:
    out = cli("explain", "conv", "--input", "64x56x56", "--filters", "64", "--kernel", "3",
              "--pad", "1", "--groups", "64", "--no-bias").stdout
    assert "3*3*1 = 9" in out and f"9*64 = {9 * 64}" in out
    assert f"56*56*64*3*3*1 = {56 * 56 * 64 * 3 * 3:,}" in out


def test_linear_layer_of_a_spec_shows_the_flattened_volume(cli: Callable) -> None:
    out = cli("explain", "alexnet", "--layer", "fc6").stdout
    assert f"6*6*256 = {6 * 6 * 256:,}" in out
    assert f"6*6*256*4096 = {6 * 6 * 256 * 4096:,}" in out


def test_explain_input_is_c_h_w_as_everywhere(cli: Callable) -> None:
    # issue 29: --input 3x32x32 once read as H x W x C here (output 3x32x10, 5*5*32 + 1 = 801)
    doc = json.loads(cli("explain", "conv-example", "--input", "3x64x64", "--format",
                         "json").stdout)
    assert doc["layers"][0]["input_shape"] == [3, 64, 64]
    out = cli("explain", "conv", "--input", "3x32x32", "--filters", "10", "--kernel", "5",
              "--pad", "2").stdout
    assert "output 32x32x10 (H x W x C)" in out and "5*5*3 + 1 = 76" in out


def test_an_input_that_reads_like_h_w_c_is_warned_about(cli: Callable) -> None:
    result = cli("explain", "conv", "--input", "32x32x3", "--filters", "10", "--kernel", "1")
    assert result.exit_code == 0
    assert "warning: --input 32x32x3 reads as C x H x W" in result.stderr
    assert "--input 3x32x32" in result.stderr
    assert "warning" not in cli("summary", "conv-7x7", "--input", "64x56x56").stderr


@pytest.mark.parametrize(("args", "message"), [
    (("explain", "conv", "--input", "3x32x32", "--kernel", "3"), "needs --filters/--out"),
    (("explain", "linear", "--input", "10", "--out", "5", "--kernel", "3"),
     "--kernel does not apply to linear"),
    (("explain", "conv", "--filters", "3", "--kernel", "3"), "needs --input"),
    (("explain", "alexnet", "--layer", "conv9"), "no layer 'conv9'"),
    (("explain", "conv", "--input", "3x3xa", "--filters", "1", "--kernel", "1"), "CxHxW"),
])
def test_usage_errors_exit_2(args: tuple[str, ...], message: str, cli: Callable) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("name", "args"), [
    ("conv-example.txt", CONV_EXAMPLE),
    ("maxpool-7x7-stride-3.txt", ("explain", "maxpool", "--input", "1x7x7", "--kernel", "3",
                                  "--stride", "3")),
    ("alexnet-conv1.md", ("explain", "alexnet", "--layer", "conv1", "--format", "markdown")),
    ("inception-bottleneck.csv", ("explain", "inception-bottleneck", "--format", "csv")),
])
def test_explain_golden(name: str, args: tuple[str, ...], cli: Callable,
                        golden: Callable) -> None:
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    golden(f"explain/{name}", result.stdout)


def test_an_unknown_layer_argument_names_the_options_the_kind_takes(cli: Callable) -> None:
    result = cli("explain", "maxpool", "--input", "3x8x8", "--kernel", "3", "--arg", "bogus=1")
    assert result.exit_code == 2
    assert "--arg bogus does not apply to maxpool" in result.stderr
    assert "--kernel, --stride, --pad" in result.stderr


def test_other_layer_arguments_go_through_arg(cli: Callable) -> None:
    doc = json.loads(cli("explain", "lrn", "--input", "256x13x13", "--arg", "size=3",
                         "--format", "json").stdout)
    assert doc["layers"][0]["description"] == "Normalization layer (LRN, size 3)"
    assert steps(doc, "element-wise (lrn)")["value"] == 3 * 13 * 13 * 256
