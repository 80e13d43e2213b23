"""The spec -> nn.Module builder: every kind and composition, names, the presets proven live."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cnnstat.core.presets import FVCORE, PRESETS, TORCH
from cnnstat.core.rules import RULES
from cnnstat.spec import loader
from cnnstat.spec.models import LAYER_ARGS
from tests.conftest import fresh_imports

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import cnnstat  # noqa: E402
from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.torch_backend.build.layers import BUILDERS  # noqa: E402
from cnnstat.torch_backend.build.net import SpecNet  # noqa: E402
from cnnstat.torch_backend.verify.crosscheck import verify_report  # noqa: E402

SPECS = Path(__file__).parent / "verify_specs"
FIXTURES = sorted(SPECS.glob("*.yaml"))


def test_builders_rules_and_schema_cover_the_same_kinds() -> None:
    assert set(BUILDERS) == set(RULES) == set(LAYER_ARGS)


def test_importing_cnnstat_does_not_import_torch() -> None:
    proc, loaded = fresh_imports(("cnnstat", "cnnstat.cli.main"))
    assert proc.returncode == 0 and "torch" not in loaded


def test_presets_and_verify_views_import_neither_torch_nor_ui_libraries() -> None:
    proc, loaded = fresh_imports(("cnnstat.core.presets", "cnnstat.spec.loader",
                                  "cnnstat.views.verify", "cnnstat.torch_backend.verify.results"))
    assert proc.returncode == 0, proc.stderr
    assert loaded & {"torch", "fvcore", "rich", "click"} == set()


def test_build_takes_a_name_a_path_or_a_loaded_spec() -> None:
    loaded = loader.load("conv-example")
    for spec in ("conv-example", str(loaded.source.name), loaded):
        model = cnnstat.build(spec, device="meta")
        assert sum(p.numel() for p in model.parameters()) == 10 * (5 * 5 * 3 + 1)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_specs_verify_on_every_figure(path: Path) -> None:
    report = analyze(loader.load(str(path)))
    result = verify_report(report, ("torch", "fvcore"))
    assert result.ok, (result.first_divergence, result.totals)
    assert {c for lc in result.layers for c in lc.checks} == {"shape", "params", "buffers",
                                                             "torch", "fvcore"}


def test_fixtures_exercise_every_kind_and_composition() -> None:
    rows = [r for p in FIXTURES for r in analyze(loader.load(str(p))).rows]
    kinds = {r.kind for r in rows}
    # maxout's wrapped conv/linear, and the analytic merge rows, come on top of the layer kinds
    assert set(LAYER_ARGS) - kinds == set()
    assert {"add", "mul", "concat"} <= kinds
    names = {r.name for r in rows}
    assert {"basic2.shortcut.conv", "basic_a1.shortcut.pad", "split1.concat",
            "inverted1.scale1.mul", "dense1.layer3.concat", "side1.linear1"} <= names


def test_module_names_are_the_spec_layer_names() -> None:
    report = analyze(loader.load(str(SPECS / "residuals.yaml")))
    model = SpecNet(report)
    for row in report.rows:
        assert model.get_submodule(row.name) is not None
    conv = model.get_submodule("basic2.conv1")
    assert isinstance(conv, torch.nn.Conv2d) and conv.stride == (2, 2)
    assert isinstance(model.get_submodule("basic2.shortcut.conv"), torch.nn.Conv2d)


def test_identity_if_same_shortcut_is_dropped_when_shapes_differ() -> None:
    report = analyze(loader.load(str(SPECS / "composites.yaml")))
    names = {r.name for r in report.rows}
    assert "inverted1.add" in names  # 16 -> 16 at stride 1: identity shortcut and add
    assert "inverted2.add" not in names  # 16 -> 24 at stride 2: no shortcut at all


def test_side_outputs_are_returned_after_the_trunk() -> None:
    model = cnnstat.build(str(SPECS / "composites.yaml"), device="meta")
    out = model(torch.empty(2, 3, 32, 32, device="meta"))
    assert isinstance(out, tuple) and len(out) == 2
    assert tuple(out[0].shape) == (2, 7) and tuple(out[1].shape) == (2, 5)


def test_sparse_connections_and_lenet_parts_hold_the_analytic_parameters() -> None:
    model = cnnstat.build(str(SPECS / "lenet-parts.yaml"))
    conv1 = model.get_submodule("conv1")
    # connections [[0], [1, 2], [0, 2], [0, 1, 2]]: (1 + 2 + 2 + 3) * 3 * 3 weights + 4 biases
    assert sum(p.numel() for p in conv1.parameters()) == (1 + 2 + 2 + 3) * 3 * 3 + 4
    # maxout of 2 pieces over connections [[0, 1], [2, 3], [1]], no bias
    assert sum(p.numel() for p in model.get_submodule("maxout1").parameters()) == \
        2 * (2 + 2 + 1) * 3 * 3
    assert sum(p.numel() for p in model.get_submodule("subsample1").parameters()) == 2 * 4
    rbf = model.get_submodule("rbf1")
    assert sum(p.numel() for p in rbf.parameters()) == 0
    assert sum(b.numel() for b in rbf.buffers()) == rbf.centres.shape[1] * 5


def test_build_on_cpu_runs_real_numbers() -> None:
    model = cnnstat.build("lenet5").eval()
    with torch.no_grad():
        y = model(torch.randn(3, 1, 32, 32))
    assert tuple(y.shape) == (3, 10) and bool(torch.isfinite(y).all())
    assert sum(p.numel() for p in model.parameters()) == 60000


def test_verify_leaves_the_module_unmodified() -> None:
    report = analyze(loader.load(str(SPECS / "composites.yaml")))
    model = SpecNet(report).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    buffers = [n for n, _ in model.named_buffers()]
    assert verify_report(report, ("torch", "fvcore"), model=model).ok
    assert all(m.training for m in model.modules())
    assert [n for n, _ in model.named_buffers()] == buffers
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_same_padding_is_built_as_explicit_zero_padding() -> None:
    report = analyze(loader.load(str(SPECS / "composites.yaml")))
    model = SpecNet(report)
    inner = model.get_submodule("maxout1.conv1")  # kernel 3, dilation 2, 'same': pad 2 each side
    assert inner.padding == (2, 2)


def _fvcore(module: torch.nn.Module, x: torch.Tensor) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(module, x)
    analysis.unsupported_ops_warnings(False)
    return int(analysis.total())


def test_fvcore_counts_batch_norm_by_mode_and_affine() -> None:
    x = torch.zeros(2, 4, 5, 7)
    assert _fvcore(torch.nn.BatchNorm2d(4).eval(), x) == 2 * x.numel()
    assert _fvcore(torch.nn.BatchNorm2d(4, affine=False).eval(), x) == 1 * x.numel()
    # in training mode fvcore counts the statistics too: 5 per element (4 without affine); the
    # fvcore preset is the eval-mode count, and verify measures in eval mode
    assert _fvcore(torch.nn.BatchNorm2d(4).train(), x) == 5 * x.numel()
    assert _fvcore(torch.nn.AdaptiveAvgPool2d(3), x) == x.numel()
    assert _fvcore(torch.nn.MaxPool2d(2), x) == 0


def test_presets_reconcile_on_vgg11_bn() -> None:
    report = analyze(loader.load("vgg11-bn"))
    t = report.totals
    bn = sum(2 * math.prod(r.input_shape) for r in report.rows if r.kind == "bn")
    pool = sum(math.prod(r.input_shape) for r in report.rows if r.kind == "adaptive_avgpool")
    assert PRESETS["macs"].total(report) == t.macs
    assert TORCH.total(report) == 2 * t.macs
    assert FVCORE.total(report) == t.macs + bn + pool
    assert bn > 0 and pool == 512 * 7 * 7
