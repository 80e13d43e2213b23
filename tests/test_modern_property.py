"""Property: random valid normalisation and channels-last layers (layer norm either way, group
and instance norm with every flag, layer scale, GELU either way, stochastic depth, permute to
channels-last and back around a linear, the global mean, SSD's L2 norm) built as live modules
agree with the analytic rows: output shapes, parameters, buffers, FlopCounterMode and fvcore."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnstat.spec import loader

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.torch_backend.verify.crosscheck import verify_report  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

KINDS = ["layernorm", "groupnorm", "instancenorm", "layer_scale", "gelu", "drop_path",
         "channels_last", "mean", "l2norm"]


@st.composite
def modern(draw: st.DrawFn) -> list[Any]:
    """One new kind (or ConvNeXt's channels-last sandwich) on a 4 x H x W input."""
    kind = draw(st.sampled_from(KINDS))
    if kind == "layernorm":
        return [{kind: {"over": "channels", "elementwise_affine": draw(st.booleans()),
                        "bias": draw(st.booleans())}}]
    if kind == "groupnorm":
        return [{kind: {"groups": draw(st.sampled_from([1, 2, 4])),
                        "affine": draw(st.booleans())}}]
    if kind == "instancenorm":
        return [{kind: {"affine": draw(st.booleans()),
                        "track_running_stats": draw(st.booleans())}}]
    if kind == "layer_scale":
        return [{kind: {"init": draw(st.sampled_from([1e-6, 0.5]))}}]
    if kind == "gelu":
        return [{kind: {"approximate": draw(st.sampled_from(["none", "tanh"]))}}]
    if kind == "drop_path":
        return [{kind: {"p": draw(st.sampled_from([0.0, 0.3, 1.0])),
                        "mode": draw(st.sampled_from(["row", "batch"]))}}]
    if kind == "l2norm":
        return [{kind: {"scale": draw(st.sampled_from([20, 0.5])),
                        "eps": draw(st.sampled_from([1e-12, 1e-3]))}}]
    if kind == "mean":
        return [{kind: {"keepdim": draw(st.booleans())}}]
    norm = {"layernorm": {"elementwise_affine": draw(st.booleans()), "bias": draw(st.booleans())}}
    return [{"permute": {"dims": [0, 2, 3, 1]}}, norm,
            {"linear": {"out": draw(st.integers(1, 6)), "over": "last",
                        "bias": draw(st.booleans())}},
            {"permute": {"dims": [0, 3, 1, 2]}}]


@settings(max_examples=30)
@given(modern(), st.integers(1, 5), st.integers(1, 5), st.integers(1, 2))
def test_analytic_rows_equal_the_live_module(layers: list[Any], h: int, w: int,
                                             batch: int) -> None:
    # one value per channel: instance norm (and group norm by channel) refuses it (E406)
    assume(h * w > 1 or not any("instancenorm" in x or "groupnorm" in x for x in layers))
    spec = {"name": "p", "input": [4, h, w], "layers": layers}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        report = analyze(loader.load(str(path)), batch=batch)
    result = verify_report(report, ("torch", "fvcore"))
    assert result.ok, (layers, result.first_divergence)
