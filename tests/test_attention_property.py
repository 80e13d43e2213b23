"""Property: random valid ``attention`` layers (any heads dividing C, any map, either bias) built
as live modules agree with the analytic rows: output shapes, parameters, FlopCounterMode (its
``bmm`` for Q.K^T and A.V at 2 per MAC) and fvcore (``matmul`` at 1 per MAC); and the built
module is real attention: a change of one input position changes every output position."""

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
from cnnstat.torch_backend.build.attention import SelfAttention2d  # noqa: E402
from cnnstat.torch_backend.verify.crosscheck import verify_report  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]


@st.composite
def attention_specs(draw: st.DrawFn) -> dict[str, Any]:
    heads, d = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    shape = [heads * d, draw(st.integers(1, 7)), draw(st.integers(1, 7))]
    layer = {"attention": {"heads": heads, "qkv_bias": draw(st.booleans()),
                           "bias": draw(st.booleans())}}
    return {"name": "p", "input": shape, "layers": [layer, "relu", dict(layer)]}


@settings(max_examples=25)
@given(attention_specs())
def test_analytic_rows_equal_the_live_module(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        report = analyze(loader.load(str(path)))
    result = verify_report(report, ("torch", "fvcore"))
    assert result.ok, (spec, result.first_divergence, result.totals)


def test_every_output_position_depends_on_every_input_position() -> None:
    torch.manual_seed(0)
    module = SelfAttention2d(8, 2, True, True).double()
    x = torch.randn(1, 8, 3, 4, dtype=torch.float64, requires_grad=True)
    module(x)[0, :, 2, 3].sum().backward()
    assert x.grad is not None and bool((x.grad.abs().sum(dim=1) > 0).all())
