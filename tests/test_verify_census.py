"""``verify --module`` compares every operation, not the totals: the census of the module's aten
operations (cnnstat/torch_backend/common/census.py) against what the spec's rows imply (the one
table, cnnstat/torch_backend/common/operations.py).  A spec that leaves out an activation, a
norm, a pool or an add -- as a module or as a functional call in a ``forward()`` -- fails,
located at the module path where the operation ran; identities take no part in the pairing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.core.report import Report  # noqa: E402
from cnnstat.spec.loader import load  # noqa: E402
from cnnstat.spec.models import LAYER_ARGS  # noqa: E402
from cnnstat.torch_backend.build import SpecNet  # noqa: E402
from cnnstat.torch_backend.common import operations  # noqa: E402
from cnnstat.torch_backend.common.census import counted  # noqa: E402
from cnnstat.torch_backend.verify.conformance import conform, measure  # noqa: E402
from cnnstat.torch_backend.verify.matching import Measured, match  # noqa: E402
from tests.conftest import write  # noqa: E402

pytestmark = pytest.mark.torch

TIMM_LIKE = Path(__file__).parent / "import_models" / "timm_like.py"
VERIFY_SPECS = sorted((Path(__file__).parent / "verify_specs").glob("*.yaml"))


def report(tmp_path: Path, layers: str, shape: str = "[3, 8, 8]") -> Report:
    return analyze(load(write(tmp_path, f"name: t\ninput: {shape}\nlayers:\n{layers}")))


class Seq(nn.Module):
    """Modules in order, with functional calls between them: ``fns[i]`` runs after module i."""

    def __init__(self, *mods: nn.Module, fns: dict[int, Callable[[Tensor], Tensor]] | None = None,
                 residual: bool = False) -> None:
        super().__init__()
        self.mods = nn.ModuleList(mods)
        self.fns = fns or {}
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        y = x
        for i, m in enumerate(self.mods):
            y = m(y)
            y = self.fns.get(i, lambda t: t)(y)
        return x + y if self.residual else y


CONV = "  - conv: {out: 8, kernel: 3, padding: 1}\n"


def conv() -> nn.Conv2d:
    return nn.Conv2d(3, 8, 3, padding=1)


# -- the table -----------------------------------------------------------------------------------

def test_the_table_has_every_kind_and_merge() -> None:
    assert set(operations.LOWERINGS) == set(LAYER_ARGS) | {"add", "mul", "concat"}


@pytest.mark.parametrize("spec", VERIFY_SPECS, ids=lambda p: p.stem)
def test_the_table_is_what_cnnstat_builds(spec: Path) -> None:
    """Every kind (the verify specs together use them all) built by cnnstat runs exactly the
    operations the table says, row by row in total."""
    rep = analyze(load(str(spec)))
    result = conform(rep, SpecNet(rep), spec.stem)
    assert result.operations.ok, result.operations.difference()
    assert result.ok


def test_the_verify_specs_use_every_kind() -> None:
    used = {row.kind for spec in VERIFY_SPECS for row in analyze(load(str(spec))).rows}
    assert set(LAYER_ARGS) <= used


def test_categories_fold_in_place_variants_and_leave_out_data_movement() -> None:
    assert operations.category("relu_") == "relu"
    assert operations.category("native_batch_norm") == "batch_norm"
    assert operations.category("_native_batch_norm_legit_no_training") == "batch_norm"
    assert operations.category("max_pool2d_with_indices") == "max_pool"
    assert operations.category("view") is None and operations.category("cat") is None
    assert operations.category("cumsum") == "cumsum"  # unknown work is counted, by its name


# -- the census ----------------------------------------------------------------------------------

def test_the_census_names_the_innermost_module_and_skips_parameter_arithmetic() -> None:
    class Frozen(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("var", torch.ones(8))
            self.conv = conv()

        def forward(self, x: Tensor) -> Tensor:
            scale = (self.var + 1e-5).rsqrt().view(1, -1, 1, 1)  # the buffers only: not counted
            return F.relu(self.conv(x) * scale)

    ops = counted(Frozen().eval(), torch.zeros(1, 3, 8, 8))
    assert operations.tally(ops) == {"conv": 1, "mul": 1, "relu": 1}
    assert ("convolution", "conv", 1) in ops and ("relu", "", 1) in ops


def test_measured_keeps_its_census_through_json(tmp_path: Path) -> None:
    rep = report(tmp_path, CONV + "  - relu\n")
    measured = measure(rep, nn.Sequential(conv(), nn.ReLU()))
    again = Measured.from_json(json.loads(json.dumps(measured.to_json())))
    assert again == measured and ("relu", "1", 1) in again.ops
    doc = measured.to_json()
    doc["ops"] = [["relu", "1", "one"]]
    with pytest.raises(ValueError):
        Measured.from_json(doc)


# -- what the census catches ---------------------------------------------------------------------

@pytest.mark.parametrize(("module", "spec", "category", "path"), [
    # an activation module the spec leaves out (the walk passes over parameter-free modules)
    (lambda: nn.Sequential(conv(), nn.ReLU()), CONV, "relu", "1"),
    # a functional activation in forward(): checked, not skipped
    (lambda: Seq(conv(), fns={0: F.relu}), CONV, "relu", ""),
    (lambda: Seq(conv(), fns={0: F.hardswish}), CONV, "hardswish", ""),
    # a norm without parameters
    (lambda: nn.Sequential(conv(), nn.InstanceNorm2d(8)), CONV, "batch_norm", "1"),
    (lambda: nn.Sequential(conv(), nn.GroupNorm(2, 8, affine=False)), CONV, "group_norm", "1"),
    # a pool that keeps the shape
    (lambda: nn.Sequential(conv(), nn.MaxPool2d(3, 1, 1)), CONV, "max_pool", "1"),
    (lambda: Seq(conv(), fns={0: lambda t: F.avg_pool2d(t, 3, 1, 1)}), CONV, "avg_pool", ""),
    # a residual add
    (lambda: Seq(nn.Conv2d(3, 3, 3, padding=1), residual=True),
     "  - conv: {out: 3, kernel: 3, padding: 1}\n", "add", ""),
    # an operation no spec kind has
    (lambda: Seq(conv(), fns={0: lambda t: t.cumsum(1)}), CONV, "cumsum", ""),
])
def test_an_operation_the_spec_leaves_out_fails_located(
        tmp_path: Path, module: Callable[[], nn.Module], spec: str, category: str,
        path: str) -> None:
    result = conform(report(tmp_path, spec), module(), "m")
    assert result.divergence is None and all(c.ok for c in result.totals.values())
    assert not result.ok
    ops = result.operations
    assert ops.first == category and ops.module_path == path
    spec_n, module_n = next((a, b) for c, a, b in ops.counts if c == category)
    assert (spec_n, module_n) == (0, 1)
    where = f"first at module path '{path}'" if path else "first in the top-level forward()"
    assert ops.difference() == f"{category} operations: the spec 0, the module 1; {where}"


def test_an_operation_the_module_leaves_out_names_the_spec_layer(tmp_path: Path) -> None:
    result = conform(report(tmp_path, CONV + "  - relu: {name: act}\n"), nn.Sequential(conv()),
                     "m")
    assert not result.ok and result.operations.first == "relu"
    assert result.operations.spec_row == "act"
    assert "relu operations: the spec 1, the module 0; spec layer 'act' has none in the " \
        "module" == result.operations.difference()


def test_the_issues_example_without_its_relu_fails(tmp_path: Path) -> None:
    """A 3-layer Conv2d, BatchNormAct2d(ReLU), Conv2d against a spec without the ReLU: the
    parameters, shapes and FLOPs all agree, the ReLU is named where it runs."""
    from tests.import_models.timm_like import batchnorm_act

    spec = CONV + "  - bn\n  - conv: {out: 4, kernel: 3, padding: 1}\n"
    result = conform(report(tmp_path, spec), batchnorm_act(), "timm_like")
    assert result.divergence is None and all(c.ok for c in result.totals.values())
    assert result.operations.first == "relu" and result.operations.module_path == "1.act"
    with_relu = conform(report(tmp_path, spec.replace("  - bn\n", "  - bn\n  - relu\n")),
                        batchnorm_act(), "timm_like")
    assert with_relu.ok, with_relu.operations.difference()


def test_tf_same_padding_in_forward_is_a_pad(tmp_path: Path) -> None:
    """timm's Conv2dSame at stride 2 over 8 x 8 pads 0 above and 1 below: a spec conv padded 1
    on both sides gives the same shape, but not the same operations."""
    from tests.import_models.timm_like import conv2d_same

    same = "  - conv: {out: 8, kernel: 3, stride: 2, padding: same}\n  - relu\n"
    assert conform(report(tmp_path, same), conv2d_same(), "m").ok
    padded = same.replace("padding: same", "padding: 1")
    result = conform(report(tmp_path, padded), conv2d_same(), "m")
    assert result.divergence is None and result.operations.first == "pad"
    assert result.operations.module_path == "0"


# -- accepted forms --------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "fn"), [
    ("hardswish", lambda t: t * F.relu6(t + 3) / 6),
    ("hardsigmoid", lambda t: F.relu6(t + 3) / 6),
    ("silu", lambda t: t * torch.sigmoid(t)),
    ("mish", lambda t: t * torch.tanh(F.softplus(t))),
])
def test_an_activation_written_out_is_that_activation(tmp_path: Path, kind: str,
                                                      fn: Callable[[Tensor], Tensor]) -> None:
    result = conform(report(tmp_path, f"{CONV}  - {kind}\n"), Seq(conv(), fns={0: fn}), "m")
    assert result.ok, result.operations.difference()


def test_forms_are_chosen_per_row(tmp_path: Path) -> None:
    """Two hardswish rows: one module runs F.hardswish, the other writes it out."""
    spec = f"{CONV}  - hardswish\n  - conv: {{out: 8, kernel: 1}}\n  - hardswish\n"
    module = Seq(conv(), nn.Conv2d(8, 8, 1),
                 fns={0: F.hardswish, 1: lambda t: t * F.relu6(t + 3) / 6})
    assert conform(report(tmp_path, spec), module, "m").ok
    one_short = Seq(conv(), nn.Conv2d(8, 8, 1), fns={0: F.hardswish})
    result = conform(report(tmp_path, spec), one_short, "m")
    assert not result.ok and result.operations.first == "hardswish"


# -- identities ----------------------------------------------------------------------------------

def test_identities_are_never_paired(tmp_path: Path) -> None:
    """The spec's identity is after the pool, the module's nn.Identity (a placeholder) before
    it: they are not the same thing, and neither does work.  Paired, their shapes differed."""
    spec = CONV + "  - maxpool: {kernel: 2}\n  - identity\n"
    module = nn.Sequential(conv(), nn.Identity(), nn.MaxPool2d(2))
    result = conform(report(tmp_path, spec), module, "m")
    assert result.ok, (result.divergence, result.operations.difference())
    kinds = {p.spec.kind for p in result.pairs if p.spec} | \
        {p.impl.kind for p in result.pairs if p.impl}
    assert not any("identity" in k for k in kinds)
    assert "1" not in result.skipped_impl


def test_a_subclass_of_identity_that_does_work_is_not_an_identity(tmp_path: Path) -> None:
    class Act(nn.Identity):
        def forward(self, x: Tensor) -> Tensor:
            return F.relu(x)

    result = conform(report(tmp_path, CONV + "  - identity\n"), nn.Sequential(conv(), Act()),
                     "m")
    assert result.operations.first == "relu" and result.operations.module_path == "1"


# -- the command line ------------------------------------------------------------------------------

def test_cli_verify_module_fails_naming_the_missing_relu(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers:\n" + CONV +
                 "  - bn\n  - conv: {out: 4, kernel: 3, padding: 1}\n")
    result = cli("verify", spec, "--module", f"{TIMM_LIKE}:batchnorm_act")
    assert result.exit_code == 1
    assert "relu operations: the spec 0, the module 1; first at module path '1.act'" in \
        result.stderr
    doc = json.loads(cli("verify", spec, "--module", f"{TIMM_LIKE}:batchnorm_act",
                         "--format", "json").stdout)
    assert doc["ok"] is False and doc["operations"]["first"] == "relu"
    assert doc["operations"]["module_path"] == "1.act"
    assert doc["operations"]["counts"]["relu"] == {"spec": 0, "module": 1}
