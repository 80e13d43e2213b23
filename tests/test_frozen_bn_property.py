"""Property: a frozen batch norm (``bn: {frozen: true}``) on a random input (flat or C x H x W), in the
trunk or in a training-only head, built as a live module agrees with its analytic row: output
shape, no parameters, 4C buffers, 0 FlopCounterMode and 0 fvcore FLOPs."""

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
def frozen_specs(draw: st.DrawFn) -> dict[str, Any]:
    rank = draw(st.sampled_from([1, 3]))  # [features] or [C, H, W]
    shape = [draw(st.integers(1, 6)) for _ in range(rank)]
    layers: list[Any] = [{"bn": {"frozen": True, "name": "norm"}}]
    if draw(st.booleans()):  # inside a training-only head, as well as in the trunk
        layers.append({"side": {"training": True, "body": [{"bn": {"frozen": True}}]}})
    return {"name": "p", "input": shape, "layers": layers}


@settings(max_examples=20)
@given(frozen_specs())
def test_a_frozen_batch_norm_equals_the_live_module(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        report = analyze(loader.load(str(path)))
    result = verify_report(report, ("torch", "fvcore"))
    assert result.ok, (spec, result.first_divergence)
    norm = next(lc for lc in result.layers if lc.name == "norm")
    assert norm.checks["buffers"].live == 4 * spec["input"][0]
    assert norm.checks["params"].live == 0 and norm.checks["fvcore"].live == 0
