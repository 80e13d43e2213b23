"""Each counter preset against the tool itself (issue 17): torchinfo, thop, ptflops and
torchscan, pinned in tests/constraints.txt, run on networks built from the zoo and the kind
fixtures; totals and, where the tool reports them, every layer, exact integers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import cnnstat
from cnnstat.core.counters import ALL_PRESETS
from cnnstat.errors import UsageError

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from cnnstat.torch_backend.live.counters import RUNNERS, count_live  # noqa: E402
from cnnstat.torch_backend.build.net import SpecNet  # noqa: E402

MODULES = {"torchinfo": "torchinfo", "thop": "thop", "ptflops": "ptflops",
           "ptflops-aten": "ptflops", "torchscan": "torchscan", "calflops": "calflops",
           "deepspeed": "deepspeed"}
# small inputs keep the run short; together these specs use every layer kind and merge (the
# refusals in REFUSED are pinned in test_counters.py)
SPECS = [("resnet18", (64, 64)), ("resnet50", (64, 64)), ("vgg11-bn", (32, 32)),
         ("lenet5", None), ("alexnet", None), ("googlenet-paper", None),
         ("efficientnet", (64, 64)),
         ("lraspp-mobilenet-v3-large", (64, 64)), ("resnet-cifar", None),
         ("inception-v3", None),
         ("tests/verify_specs/resampling.yaml", None),
         ("tests/verify_specs/lenet-parts.yaml", None),
         ("tests/verify_specs/composites.yaml", None),
         ("tests/verify_specs/residuals.yaml", None),
         # the kinds of issue 14 (layer, group and instance norm, layer scale, stochastic depth,
         # permute, mean, tanh GELU, linear over the last axis) and attention
         ("tests/verify_specs/modern.yaml", None), ("convnext", (32, 32)),
         ("tests/verify_specs/hybrid.yaml", None),
         # every kind with a functional twin, written as its call (functional: true)
         ("tests/verify_specs/functional.yaml", None),
         # SSD300's L2 norm after conv4_3 (issue 15), with several outputs
         ("tests/verify_specs/ssd.yaml", None)]


REFUSED = {("torchscan", "maxout"), ("calflops", "conv_transpose"),
           ("ptflops-aten", "attention")}


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[cnnstat.core.report.Report, SpecNet]]:
    out = {}
    for name, size in SPECS:
        report = cnnstat.analyze(name, input=size)
        with torch.device("meta"):
            out[name] = (report, SpecNet(report))
    return out


@pytest.mark.parametrize("tool", sorted(RUNNERS))
@pytest.mark.parametrize("name", [n for n, _ in SPECS])
def test_preset_equals_the_tool(tool: str, name: str, built: dict) -> None:
    pytest.importorskip(MODULES[tool])
    report, model = built[name]
    preset = ALL_PRESETS[tool]
    try:
        expected = preset.total(report)
    except UsageError as err:  # the refusals test_counters.py pins
        assert (tool, err.args[0].split(" cannot count ")[1].split()[0]) in REFUSED
        return
    names = [r.name for r in report.rows]
    counted = count_live(tool, model, names, model.input_shapes, report.batch)
    assert counted.total == expected
    for row in report.rows:
        if counted.layers and not row.training:
            assert counted.layers[row.name] == preset.batch_count(row, report.batch), row.name


@pytest.mark.parametrize("tool", ["torchinfo", "thop", "torchscan"])
def test_preset_equals_the_tool_at_batch_3(tool: str) -> None:
    """Per-batch tools scale with the batch; torchscan's per-call constants do not."""
    pytest.importorskip(MODULES[tool])
    report = cnnstat.analyze("vgg11-bn", input=(32, 32), batch=3)
    with torch.device("meta"):
        model = SpecNet(report)
    counted = count_live(tool, model, [r.name for r in report.rows], model.input_shapes, 3)
    assert counted.total == ALL_PRESETS[tool].total(report)


def test_ptflops_measures_one_image_only() -> None:
    report = cnnstat.analyze("conv-example", batch=2)
    with torch.device("meta"):
        model = SpecNet(report)
    with pytest.raises(UsageError, match="one image"):
        count_live("ptflops", model, [r.name for r in report.rows], model.input_shapes, 2)


@pytest.mark.parametrize("tool", ["torchinfo", "thop", "calflops"])
def test_verify_checks_a_tool_live(tool: str, cli: Callable) -> None:
    """``verify --count TOOL``: the tool's total (and per layer where it reports them) against
    its preset, as for FlopCounterMode and fvcore."""
    pytest.importorskip(MODULES[tool])
    result = cli("verify", "resnet18", "--input", "64x64", "--count", tool, "--format", "json")
    assert result.exit_code == 0, result.stderr
    totals = json.loads(result.stdout)["results"][0]["totals"]
    report = cnnstat.analyze("resnet18", input=(64, 64))
    assert totals[tool] == {"analytic": ALL_PRESETS[tool].total(report),
                            "live": ALL_PRESETS[tool].total(report), "ok": True}


def test_ptflops_aten_attention_without_a_qkv_bias(tmp_path: Path) -> None:
    """The attention the ptflops-aten preset counts (no qkv bias), after a plain map and after
    another attention's channels-last output: the same figure, proj's bias at every token."""
    pytest.importorskip("ptflops")
    from tests.conftest import write

    spec = write(tmp_path, "name: t\ninput: [8, 6, 6]\nlayers: [{attention: {heads: 2, "
                           "qkv_bias: false}}, {attention: {heads: 4, qkv_bias: false}}]\n")
    report = cnnstat.analyze(spec)
    with torch.device("meta"):
        model = SpecNet(report)
    n, c = 36, 8
    expected = 2 * (4 * n * c * c + n * c + 2 * n * n * c)  # MACs + proj bias + products, twice
    assert ALL_PRESETS["ptflops-aten"].total(report) == expected
    counted = count_live("ptflops-aten", model, [r.name for r in report.rows], model.input_shapes, 1)
    assert counted.total == expected
