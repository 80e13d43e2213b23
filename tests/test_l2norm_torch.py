"""The ``l2norm`` kind live (issue 15): the builder computes what torchvision's SSD300 does after
conv4_3, ``scale.view(1, -1, 1, 1) * F.normalize(x)``; ``cnnstat import`` fuses that pattern
into one layer (torchvision's way, the scale a bare parameter of the extractor, and
ssd.pytorch's, an ``L2Norm`` module), and any other use of ``F.normalize`` stays E701."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from torch.nn import functional as F  # noqa: E402

from cnnstat.core.presets import TORCH  # noqa: E402
from cnnstat.torch_backend.importer import run as importer  # noqa: E402
from cnnstat.torch_backend.importer import tracing  # noqa: E402
from cnnstat.torch_backend.build.modules import L2Norm  # noqa: E402

NETS_FILE = Path(__file__).parent / "import_models" / "nets.py"
_spec = importlib.util.spec_from_file_location("import_nets_l2norm", NETS_FILE)
assert _spec is not None and _spec.loader is not None
nets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nets)
SHAPE = (3, 15, 15)


def test_the_builder_is_torchvisions_formula() -> None:
    """x / max(||x||_2 over channels, eps) times 20 per channel, its scale named ``weight``."""
    torch.manual_seed(0)
    x = torch.randn(2, 6, 3, 5)
    module = L2Norm(6, 20.0, 1e-12)
    assert [(n, tuple(p.shape)) for n, p in module.named_parameters()] == [("weight", (6,))]
    assert bool((module.weight == 20.0).all())
    expected = 20.0 * x / x.pow(2).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12)
    assert torch.allclose(module(x), expected, rtol=1e-6, atol=1e-6)
    assert torch.allclose(module(x).div(20.0).pow(2).sum(dim=1), torch.ones(2, 3, 5), atol=1e-5)


def _live(model: torch.nn.Module) -> tuple[int, int]:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval().to("meta")(torch.zeros(1, *SHAPE, device="meta"))
    return sum(p.numel() for p in model.parameters()), int(counter.get_total_flops())


def _imported(model: torch.nn.Module, label: str) -> tuple[str, int, int]:
    described = tracing.describe(model, (SHAPE,))
    assert "network" in described, described
    text = importer.write(described["network"], label, (SHAPE,), "spec.schema.json")
    text, _, report = importer.proven(text, label, described["network"])
    return text, report.totals.params, TORCH.total(report)


def test_torchvisions_form_imports_as_one_layer_with_its_scale() -> None:
    """SSDFeatureExtractorVGG's ``self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)``, the
    scale a bare parameter initialised to 10 here: one l2norm with ``scale: 10.0``, written
    ``functional: true`` (the scale is no module of its own: torchinfo does not count it); every
    feature map an output; totals equal numel and FlopCounterMode."""
    text, params, flops = _imported(nets.ssd_feature_stub(10.0), "nets.py:ssd_feature_stub")
    doc = yaml.safe_load(text)
    norms = [e["l2norm"] for e in doc["layers"] if "l2norm" in e]
    assert norms == [{"scale": 10.0, "functional": True, "name": "l2norm"}]
    assert doc["outputs"] == ["l2norm", "extra_0_4", "extra_1_3"]
    assert (params, flops) == _live(nets.ssd_feature_stub(10.0))
    assert "Tensor.view" not in text and "normalize" not in text


def test_on_the_meta_device_the_scale_is_unknown_and_the_default_is_written() -> None:
    with torch.device("meta"):
        model = nets.ssd_feature_stub(10.0)
    text, params, _ = _imported(model, "nets.py:ssd_feature_stub")
    norms = [e["l2norm"] for e in yaml.safe_load(text)["layers"] if "l2norm" in e]
    assert norms == [{"functional": True, "name": "l2norm"}]  # scale 20, the default: it
    # changes no count
    assert params == sum(p.numel() for p in nets.ssd_feature_stub().parameters())


def test_a_module_of_its_own_is_named_by_its_path() -> None:
    text, _, _ = _imported(nets.ssd_stub(), "nets.py:ssd_stub")
    assert "- l2norm: {name: l2norm}" in text


def test_normalize_alone_or_over_another_axis_is_e701_naming_it(cli: Callable) -> None:
    result = cli("import", f"{NETS_FILE}:normalize_only", "--input", "3x8x8")
    assert result.exit_code == 1
    assert "error[E701]" in result.stderr
    assert "torch.nn.functional.normalize at 'the top level' (once): no spec kind" in \
        result.stderr
    assert "nearest spec kind: 'l2norm'" in result.stderr


def test_a_scale_of_the_wrong_shape_is_not_fused() -> None:
    """A parameter of C x 1 x 1 (not viewed) times F.normalize: layer_scale's shape, so it is
    written as a layer scale, and F.normalize stays unsupported."""
    class Other(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.g = torch.nn.Parameter(torch.ones(3, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.g * F.normalize(x)

    rejected = tracing.describe(Other(), ((3, 4, 4),))["rejected"]
    assert [p["op"] for p in rejected] == ["torch.nn.functional.normalize"]


def test_verify_module_places_a_holders_scale_where_it_is_used(cli: Callable,
                                                                tmp_path: Path) -> None:
    """torchvision's form: the extractor holds the scale itself, and its forward hook fires
    after the extra layers; verify --module measures the scale's row where the parameter is
    first used (after conv4_3), with the shape of the rescaled map, so every layer matches."""
    out = tmp_path / "ssd.yaml"
    result = cli("import", f"{NETS_FILE}:ssd_feature_stub", "--input", "3x15x15", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    verify = cli("verify", str(out), "--module", f"{NETS_FILE}:ssd_feature_stub", "--format",
                 "json")
    assert verify.exit_code == 0, verify.stderr
    doc = json.loads(verify.stdout)
    assert doc["ok"]
    pair = next(p for p in doc["pairs"] if p["spec"] and p["spec"]["kind"] == "l2norm")
    assert (pair["module"]["params"], pair["module"]["shape"], pair["module"]["flops"]) == (
        16, [16, 8, 8], 0)
