"""Property: random valid resampling layers (transposed convs with every argument, upsampling in
every mode, crops, pads in every mode, pixel (un)shuffle, 'same' at any stride) built as live
modules agree with the analytic rows: output shapes, parameters, FlopCounterMode and fvcore."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstat.spec import loader

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.torch_backend.verify.crosscheck import verify_report  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]


@st.composite
def resampling(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["conv_transpose", "upsample", "crop", "pad", "pixel_shuffle",
                                 "pixel_unshuffle", "same"]))
    if kind == "conv_transpose":
        stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        kernel = draw(st.integers(1, 4))
        return {kind: {"out": 2 * draw(st.integers(1, 2)), "kernel": kernel, "stride": stride,
                       "padding": draw(st.integers(0, (kernel - 1) * dilation // 2)),
                       "output_padding": draw(st.integers(0, max(stride, dilation) - 1)),
                       "dilation": dilation, "groups": draw(st.sampled_from([1, 2])),
                       "bias": draw(st.booleans())}}
    if kind == "upsample":
        mode = draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))
        args: dict[str, Any] = {"mode": mode}
        if draw(st.booleans()):
            args["scale"] = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
        else:
            args["size"] = [draw(st.integers(1, 20)), draw(st.integers(1, 20))]
        if mode != "nearest" and draw(st.booleans()):
            args["align_corners"] = draw(st.booleans())
        return {kind: args}
    if kind == "crop":
        return {kind: {"size": [draw(st.integers(1, 6)), draw(st.integers(1, 6))]}}
    if kind == "pad":
        sides = [draw(st.integers(0, 5)) for _ in range(4)]
        return {kind: {"padding": sides, "mode": draw(st.sampled_from(
            ["constant", "reflect", "replicate"]))}}
    if kind in ("pixel_shuffle", "pixel_unshuffle"):
        return {kind: {"factor": 2}}
    return {"conv": {"out": 2, "kernel": draw(st.integers(1, 5)), "stride": draw(st.integers(1, 3)),
                     "dilation": draw(st.integers(1, 2)), "padding": "same"}}


@settings(max_examples=30)
@given(resampling())
def test_analytic_rows_equal_the_live_module(layer: dict[str, Any]) -> None:
    spec = {"name": "p", "input": [4, 6, 8], "layers": [layer]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        report = analyze(loader.load(str(path)))
    result = verify_report(report, ("torch", "fvcore"))
    assert result.ok, (layer, result.first_divergence)
