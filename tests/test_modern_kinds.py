"""The normalisation and channels-last kinds of issue 14: layernorm (over the channels of a map,
as torchvision's LayerNorm2d, or over the last axis), groupnorm, instancenorm, layer_scale,
gelu's approximate, drop_path, permute, linear over the last axis and the global mean.
Expected values are written as arithmetic from first principles."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.core.presets import PRESETS
from cnnstat.core.receptive import receptive_fields
from cnnstat.core.rules import RULES
from cnnstat.spec.loader import load
from cnnstat.views.explain import EXPLAINERS
from tests.conftest import write

NEW_KINDS = {"layernorm", "groupnorm", "instancenorm", "layer_scale", "drop_path", "permute",
             "mean"}
# per element: statistics (mean, variance) 2 + normalise 2 + gamma 1 + beta 1
FULL, NO_AFFINE = 2 + 2 + 1 + 1, 2 + 2


def analyze(tmp_path: Path, input_shape: str, layers: str):  # type: ignore[no-untyped-def]
    text = f"name: t\ninput: {input_shape}\nlayers:\n{layers}"
    return analysis.analyze(load(write(tmp_path, text)))


# (input, layer, output shape, params, buffers, MACs, element-wise ops)
CASES = [
    # ConvNeXt's LayerNorm2d on the stem's 96 x 56 x 56: gamma and beta over C.
    ("[96, 56, 56]", "layernorm: {over: channels, eps: 1.0e-6}", (96, 56, 56), 96 + 96, 0, 0,
     {"layernorm": FULL * 96 * 56 * 56}),
    # nn.LayerNorm(C) on a channels-last 56 x 56 x 96: the same counts.
    ("[56, 56, 96]", "layernorm", (56, 56, 96), 96 + 96, 0, 0,
     {"layernorm": FULL * 56 * 56 * 96}),
    ("[10]", "layernorm: {elementwise_affine: false}", (10,), 0, 0, 0,
     {"layernorm": NO_AFFINE * 10}),
    ("[10]", "layernorm: {bias: false}", (10,), 10, 0, 0, {"layernorm": (2 + 2 + 1) * 10}),
    ("[32, 7, 5]", "groupnorm: {groups: 8}", (32, 7, 5), 32 + 32, 0, 0,
     {"groupnorm": FULL * 32 * 7 * 5}),
    ("[32, 7, 5]", "groupnorm: {groups: 32, affine: false}", (32, 7, 5), 0, 0, 0,
     {"groupnorm": NO_AFFINE * 32 * 7 * 5}),
    ("[6, 4, 4]", "instancenorm", (6, 4, 4), 0, 0, 0, {"instancenorm": NO_AFFINE * 6 * 4 * 4}),
    ("[6, 4, 4]", "instancenorm: {affine: true}", (6, 4, 4), 6 + 6, 0, 0,
     {"instancenorm": FULL * 6 * 4 * 4}),
    # running statistics: buffers 2C + 1 (mean, variance, batch counter); fixed at inference,
    # so one scale and one shift per element, as batch norm.
    ("[6, 4, 4]", "instancenorm: {track_running_stats: true}", (6, 4, 4), 0, 2 * 6 + 1, 0,
     {"instancenorm": 2 * 6 * 4 * 4}),
    ("[96, 56, 56]", "layer_scale", (96, 56, 56), 96, 0, 0, {"layer_scale": 96 * 56 * 56}),
    ("[96, 56, 56]", "gelu: {approximate: tanh}", (96, 56, 56), 0, 0, 0, {"gelu": 96 * 56 * 56}),
    ("[96, 56, 56]", "drop_path: {p: 0.2}", (96, 56, 56), 0, 0, 0, {}),
    ("[96, 56, 56]", "permute: {dims: [0, 2, 3, 1]}", (56, 56, 96), 0, 0, 0, {}),
    ("[56, 56, 96]", "permute: {dims: [0, 3, 1, 2]}", (96, 56, 56), 0, 0, 0, {}),
    # ConvNeXt-T's first pointwise Linear(96, 384) at each of the 56 x 56 positions.
    ("[56, 56, 96]", "linear: {out: 384, over: last}", (56, 56, 384), 96 * 384 + 384, 0,
     56 * 56 * 96 * 384, {"bias": 56 * 56 * 384}),
    ("[96]", "linear: {out: 10, over: last}", (10,), 96 * 10 + 10, 0, 96 * 10, {"bias": 10}),
    # ShuffleNetV2's x.mean([2, 3]) on its 1024 x 7 x 7 map.
    ("[1024, 7, 7]", "mean", (1024,), 0, 0, 0, {"mean": 1024 * 7 * 7}),
    ("[1024, 7, 7]", "mean: {keepdim: true}", (1024, 1, 1), 0, 0, 0, {"mean": 1024 * 7 * 7}),
]


@pytest.mark.parametrize("shape, layer, out, params, buffers, macs, ops", CASES)
def test_rule(tmp_path: Path, shape: str, layer: str, out: tuple[int, ...], params: int,
              buffers: int, macs: int, ops: dict[str, int]) -> None:
    row = analyze(tmp_path, shape, f"  - {layer}\n").rows[0]
    assert (row.output_shape, row.params, row.buffers, row.macs, row.ops) == (
        out, params, buffers, macs, ops)


def test_fvcore_preset_counts_norms_by_input_and_skips_the_rest(tmp_path: Path) -> None:
    """fvcore's norm_flop_counter: numel(input) * (5 with a gamma, else 4); aten::mean, mul,
    gelu, permute and eval-mode stochastic depth have no handle (0)."""
    report = analyze(tmp_path, "[8, 4, 4]", "\n".join([
        "  - layernorm: {over: channels}", "  - layernorm: {over: channels, bias: false}",
        "  - layernorm: {over: channels, elementwise_affine: false}",
        "  - groupnorm: {groups: 2}", "  - instancenorm",
        "  - instancenorm: {affine: true, track_running_stats: true}",
        "  - layer_scale", "  - gelu", "  - drop_path: {p: 0.5}",
        "  - permute: {dims: [0, 2, 3, 1]}", "  - linear: {out: 3, over: last}",
        "  - permute: {dims: [0, 3, 1, 2]}", "  - mean", ""]))
    n = 8 * 4 * 4
    fv, torch = PRESETS["fvcore"], PRESETS["torch"]
    assert [fv.count(r) for r in report.rows] == [
        5 * n, 5 * n, 4 * n, 5 * n, 4 * n, 5 * n, 0, 0, 0, 0, 4 * 4 * 8 * 3, 0, 0]
    assert [torch.count(r) for r in report.rows] == [0] * 10 + [2 * 4 * 4 * 8 * 3, 0, 0]


def test_a_channels_last_block_keeps_the_spatial_receptive_field(tmp_path: Path) -> None:
    """permute and linear over the channels move and mix channels, never positions: after
    ConvNeXt's 7x7 depthwise conv the field stays 7 through the channels-last part."""
    report = analyze(tmp_path, "[8, 16, 16]", "\n".join([
        "  - conv: {out: 8, kernel: 7, padding: 3, groups: 8}",
        "  - permute: {dims: [0, 2, 3, 1]}", "  - layernorm", "  - linear: {out: 32, over: last}",
        "  - gelu", "  - linear: {out: 8, over: last}", "  - permute: {dims: [0, 3, 1, 2]}",
        "  - layer_scale", ""]))
    fields = receptive_fields(report)
    assert [fr.fields[0].size for fr in fields.rows] == [7] * 8
    assert [fr.fields[0].jump for fr in fields.rows] == [1] * 8


def test_mean_is_a_global_reduction(tmp_path: Path) -> None:
    report = analyze(tmp_path, "[4, 9, 9]", "  - conv: {out: 4, kernel: 3}\n  - mean\n")
    fields = receptive_fields(report)
    assert report.rows[1].global_field and fields.last_spatial is not None
    assert fields.last_spatial.row.name == "conv1"


def test_every_new_kind_has_a_rule_and_an_explainer() -> None:
    assert NEW_KINDS <= set(RULES) and NEW_KINDS <= set(EXPLAINERS)


@pytest.mark.parametrize(("shape", "layer", "shown"), [
    ("[8, 4, 4]", "layernorm: {over: channels}", "(2 + 2 + 1 + 1)*8*4*4 = 768"),
    ("[8, 4, 4]", "groupnorm: {groups: 2, affine: false}", "(2 + 2 + 0 + 0)*8*4*4 = 512"),
    ("[8, 4, 4]", "instancenorm: {track_running_stats: true}", "2*8 + 1 = 17"),
    ("[8, 4, 4]", "layer_scale", "8*4*4 = 128"),
    ("[8, 4, 4]", "drop_path: {p: 0.5}", "L - p_L * (L + 1) / 2"),
    ("[8, 4, 4]", "mean", "8*4*4 = 128"),
    ("[8, 4, 4]", "permute: {dims: [0, 2, 3, 1]}", "4x4x8"),
    ("[4, 4, 8]", "linear: {out: 3, over: last}", "4*4*8*3 = 384"),
    ("[8, 4, 4]", "gelu: {approximate: tanh}", "GELU, tanh approximation"),
])
def test_explain_works_each_new_kind(tmp_path: Path, cli: Callable, shape: str, layer: str,
                                     shown: str) -> None:
    path = write(tmp_path, f"name: t\ninput: {shape}\nlayers:\n  - {layer}\n")
    result = cli("explain", path, "--layer", analysis.analyze(load(path)).rows[0].name)
    assert result.exit_code == 0, result.output
    assert shown in result.stdout


def test_summary_json_reports_the_new_kinds(tmp_path: Path, cli: Callable) -> None:
    path = write(tmp_path, "name: t\ninput: [8, 4, 4]\nlayers:\n  - groupnorm: {groups: 4}\n"
                           "  - mean\n")
    result = cli("summary", path, "--format", "json", "--batch", "2")
    assert result.exit_code == 0, result.stderr
    layers = json.loads(result.stdout)["layers"]
    assert [(x["kind"], x["params"], x["elementwise"]) for x in layers] == [
        ("groupnorm", 8 + 8, {"groupnorm": 2 * FULL * 8 * 4 * 4}),
        ("mean", 0, {"mean": 2 * 8 * 4 * 4})]
    assert layers[1]["output_shape"] == [8]
