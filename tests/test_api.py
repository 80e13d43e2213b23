"""The public API: cnnstat.analyze / load / build, as docs/python-api.md documents them."""

from __future__ import annotations

from pathlib import Path

import pytest

import cnnstat
from cnnstat.errors import SpecError, UsageError


def test_analyze_a_built_in_spec() -> None:
    report = cnnstat.analyze("vgg16")
    # torchvision's VGG-16: 138,357,544 parameters; 15,470,264,320 multiply-accumulates at 224.
    assert report.totals.params == 138_357_544
    assert report.totals.macs == 15_470_264_320
    assert report.totals.flops == 2 * report.totals.macs
    assert report.layers[0].name == "stage1.conv1"
    assert report.layers[0].output_shape == (64, 224, 224)
    assert report.totals.params == sum(layer.params for layer in report.layers)


def test_batch_scales_compute_not_parameters() -> None:
    one, eight = cnnstat.analyze("alexnet"), cnnstat.analyze("alexnet", batch=8)
    assert eight.totals.macs == 8 * one.totals.macs
    assert eight.totals.activations == 8 * one.totals.activations
    assert eight.totals.params == one.totals.params


def test_input_and_set_overrides() -> None:
    # The lecture's conv example: 10 5x5 filters, stride 1, pad 2 on 32x32x3.
    report = cnnstat.analyze("conv-example", input=(3, 64, 64))
    assert report.layers[0].output_shape == (10, 64, 64)
    assert report.totals.macs == 64 * 64 * 10 * 5 * 5 * 3
    ten = cnnstat.analyze("vgg16", set={"classes": 10})
    assert ten.layers[-1].output_shape == (10,)
    assert ten.totals.params == 138_357_544 - (4096 * 1000 + 1000) + (4096 * 10 + 10)


def test_load_then_analyze() -> None:
    loaded = cnnstat.load("resnet50")
    assert loaded.name == "resnet50" and loaded.input_shape == (3, 224, 224)
    assert cnnstat.analyze(loaded).totals.params == 25_557_032  # torchvision num_params


def test_a_rejected_spec_raises_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ninput: [3, 4, 4]\nlayers:\n  - conv: {out: 8, kernel: 7}\n")
    with pytest.raises(SpecError) as info:
        cnnstat.analyze(path)
    assert info.value.diagnostics[0].code == "E401"


def test_an_unknown_name_raises_usage_error() -> None:
    with pytest.raises(UsageError, match="no built-in spec named 'vgg61'"):
        cnnstat.analyze("vgg61")
