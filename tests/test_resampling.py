"""The resampling kinds (issue 13, part 2): conv_transpose, upsample, crop, pad, pixel_shuffle,
pixel_unshuffle, conv padding 'same' at any stride and per axis [before, after], and ``like:``.
Expected values are written as arithmetic from first principles."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.core import memory
from cnnstat.core.presets import PRESETS
from cnnstat.core.receptive import receptive_fields
from cnnstat.core.rules import RULES
from cnnstat.spec.loader import load
from cnnstat.views.explain import EXPLAINERS
from tests.conftest import write

NEW_KINDS = {"conv_transpose", "upsample", "crop", "pad", "pixel_shuffle", "pixel_unshuffle"}


def analyze(tmp_path: Path, input_shape: str, layers: str):  # type: ignore[no-untyped-def]
    text = f"name: t\ninput: {input_shape}\nlayers:\n{layers}"
    return analysis.analyze(load(write(tmp_path, text)))


# (input, layer, output shape, params, MACs, element-wise ops)
CASES = [
    # U-Net's up-convolution: 2x2 at stride 2 doubles the map; MACs over the input.
    ("[16, 24, 24]", "conv_transpose: {out: 8, kernel: 2, stride: 2}",
     (8, (24 - 1) * 2 + (2 - 1) + 1, 48), 16 * 8 * 2 * 2 + 8, 24 * 24 * 16 * 8 * 2 * 2,
     {"bias": 8 * 48 * 48}),
    # padding, output_padding, dilation and groups: (H-1)*S - 2P + D*(K-1) + OP + 1.
    ("[4, 7, 5]", "conv_transpose: {out: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1,"
     " dilation: 2, groups: 2, bias: false}",
     (6, (7 - 1) * 2 - 2 * 1 + 2 * (3 - 1) + 1 + 1, (5 - 1) * 2 - 2 + 4 + 1 + 1),
     4 * (6 // 2) * 3 * 3, 7 * 5 * 4 * (6 // 2) * 3 * 3, {}),
    ("[3, 5, 7]", "upsample: {scale: 2}", (3, 10, 14), 0, 0, {}),
    ("[3, 5, 7]", "upsample: {scale: [2, 3], mode: bilinear}", (3, 10, 21), 0, 0,
     {"upsample": 4 * 3 * 10 * 21}),
    ("[3, 5, 7]", "upsample: {size: [9, 8], mode: bicubic, align_corners: true}", (3, 9, 8), 0,
     0, {"upsample": 16 * 3 * 9 * 8}),
    ("[2, 9, 8]", "crop: {size: [5, 4]}", (2, 5, 4), 0, 0, {}),
    ("[2, 9, 8]", "pad: {padding: [1, 2, 3, 4], mode: reflect}", (2, 1 + 9 + 2, 3 + 8 + 4), 0,
     0, {}),
    ("[2, 9, 8]", "pad: {padding: [1, 2]}", (2, 9 + 2 * 1, 8 + 2 * 2), 0, 0, {}),
    ("[18, 4, 5]", "pixel_shuffle: {factor: 3}", (18 // (3 * 3), 4 * 3, 5 * 3), 0, 0, {}),
    ("[2, 4, 6]", "pixel_unshuffle: {factor: 2}", (2 * 2 * 2, 4 // 2, 6 // 2), 0, 0, {}),
    # TensorFlow's SAME at stride 2: output ceil(W/S); 7 -> 4 pads (4-1)*2 + 3 - 7 = 2: 1 + 1,
    # 8 -> 4 pads (4-1)*2 + 3 - 8 = 1: 0 before, 1 after.
    ("[1, 7, 8]", "conv: {out: 1, kernel: 3, stride: 2, padding: same, bias: false}",
     (1, -(-7 // 2), -(-8 // 2)), 9, 4 * 4 * 9, {}),
    # Explicit asymmetric padding per axis [before, after].
    ("[1, 6, 6]", "conv: {out: 1, kernel: 2, padding: [[0, 1], [1, 0]], bias: false}",
     (1, (6 + 0 + 1 - 2) + 1, (6 + 1 + 0 - 2) + 1), 4, 6 * 6 * 4, {}),
]


@pytest.mark.parametrize("shape, layer, out, params, macs, ops", CASES)
def test_rule(tmp_path: Path, shape: str, layer: str, out: tuple[int, ...], params: int,
              macs: int, ops: dict[str, int]) -> None:
    row = analyze(tmp_path, shape, f"  - {layer}\n").rows[0]
    assert (row.output_shape, row.params, row.macs, row.ops) == (out, params, macs, ops)


def test_same_at_stride_two_pads_as_tensorflow(tmp_path: Path) -> None:
    row = analyze(tmp_path, "[1, 8, 8]",
                  "  - conv: {out: 1, kernel: 3, stride: 2, padding: same}\n").rows[0]
    assert row.windows is not None
    assert [(w.pad_left, w.pad_right) for w in row.windows] == [(0, 1), (0, 1)]


def test_like_takes_the_size_of_another_tensor(tmp_path: Path) -> None:
    report = analyze(tmp_path, "[4, 20, 20]", "\n".join([
        "  - conv: {out: 4, kernel: 3, name: a}",
        "  - maxpool: {kernel: 2, name: small}",
        "  - upsample: {like: a, mode: bilinear, name: big}",
        "  - crop: {from: a, like: small, name: cut}", ""]))
    rows = {r.name: r for r in report.rows}
    assert rows["big"].output_shape == (4, 18, 18)
    assert rows["cut"].output_shape == (4, 9, 9)
    # 'a' is read by 'cut' (and sized 'big'), so it stays alive until 'cut'
    assert memory.producers(report)["cut"] == ("a", "small")
    assert memory.reads(report)["cut"] == 4 * 18 * 18 + 4 * 9 * 9


def test_fvcore_preset_counts_nearest_and_bilinear_by_output(tmp_path: Path) -> None:
    report = analyze(tmp_path, "[2, 3, 4]", "\n".join([
        "  - upsample: {scale: 2}", "  - upsample: {scale: 2, mode: bilinear}",
        "  - upsample: {scale: 2, mode: bicubic}", ""]))
    fv = PRESETS["fvcore"]
    assert [fv.count(r) for r in report.rows] == [1 * 2 * 6 * 8, 4 * 2 * 12 * 16, 0]
    assert [PRESETS["torch"].count(r) for r in report.rows] == [0, 0, 0]


def test_transposed_conv_and_upsample_give_fractional_jumps(tmp_path: Path) -> None:
    report = analyze(tmp_path, "[1, 16, 16]", "\n".join([
        "  - conv: {out: 1, kernel: 3, stride: 2, padding: 1}",
        "  - conv_transpose: {out: 1, kernel: 2, stride: 2}",
        "  - upsample: {scale: 2}", ""]))
    fields = receptive_fields(report)
    jumps = [fr.fields[0].jump for fr in fields.rows]
    assert jumps == [2, Fraction(2, 2), Fraction(1, 2)]
    # 2x2 at stride 2 after jump 2: r = 3 + (2 - 1)*2/2 ... in input rows: 3 + 1
    assert fields.rows[1].fields[0].size == 3 + (2 - 1) * Fraction(2, 2)


def test_receptive_field_json_writes_fractions_as_strings(tmp_path: Path, cli: Callable) -> None:
    path = write(tmp_path, "name: t\ninput: [1, 8, 8]\nlayers:\n  - upsample: {scale: 2}\n")
    result = cli("receptive-field", path, "--format", "json")
    assert result.exit_code == 0, result.output
    layer = json.loads(result.stdout)["layers"][0]
    assert layer["h"]["j"] == "1/2" and Fraction(layer["h"]["r"]) == Fraction(3, 2)


def test_every_new_kind_has_a_rule_and_an_explainer() -> None:
    assert NEW_KINDS <= set(RULES) and NEW_KINDS <= set(EXPLAINERS)


@pytest.mark.parametrize("layer", [
    "conv_transpose: {out: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
    "upsample: {scale: 3, mode: bilinear}", "crop: {size: [3, 5]}",
    "pad: {padding: [1, 0, 2, 1], mode: replicate}", "pixel_shuffle: {factor: 2}",
    "pixel_unshuffle: {factor: 2}"])
def test_explain_works_each_new_kind(tmp_path: Path, cli: Callable, layer: str) -> None:
    path = write(tmp_path, f"name: t\ninput: [4, 6, 8]\nlayers:\n  - {layer}\n")
    result = cli("explain", path, "--layer", analysis.analyze(load(path)).rows[0].name)
    assert result.exit_code == 0, result.output
    assert "activations" in result.stdout
