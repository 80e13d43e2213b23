"""``cnnstat import`` is sound: no operation of the module is lost.  A subclass of a torch.nn
layer whose ``forward`` does more (or other) than its base's is not its base kind: it is traced
into, and written with every operation, or refused naming the operation and the module path --
never written as its base with an operation missing (tests/import_models/timm_like.py: timm's
classes, written out without timm).  The round trip compares the census of the traced run with
the spec written, operation by operation."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from cnnstat.core.presets import TORCH  # noqa: E402
from cnnstat.errors import SpecError  # noqa: E402
from cnnstat.torch_backend.common import module_types, operations  # noqa: E402
from cnnstat.torch_backend.importer import mapping as import_map  # noqa: E402
from cnnstat.torch_backend.importer import run as importer  # noqa: E402
from cnnstat.torch_backend.importer import tracing  # noqa: E402
from cnnstat.torch_backend.verify.conformance import conform, kinds_of  # noqa: E402

TIMM_FILE = Path(__file__).parent / "import_models" / "timm_like.py"
TIMM = f"{TIMM_FILE}:"
_spec = importlib.util.spec_from_file_location("timm_like", TIMM_FILE)
assert _spec is not None and _spec.loader is not None
timm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(timm)

SHAPE = (3, 8, 8)

# factory -> the layers the spec must hold, in order (None: refused, with (code, op, path))
WRITTEN: dict[str, list[str]] = {
    "batchnorm_act": ["conv", "bn", "identity", "relu", "conv"],
    "batchnorm_leaky": ["conv", "bn", "identity", "leaky_relu", "conv", "bn", "identity",
                        "leaky_relu"],
    "layernorm2d": ["conv", "permute", "layernorm", "permute", "gelu", "conv"],
    "relu_conv": ["conv", "relu", "conv"],
    "plain_conv": ["conv", "bn", "relu"],
    "swapped_conv": ["conv", "relu", "conv"],
}
REFUSED: dict[str, tuple[str, str, str]] = {
    # TF 'same' padding from the input's size: fx cannot trace max() of a traced size
    "conv2d_same": ("E702", "control flow", "0"),
    # the gain and the standardised weight are computed in forward(): no spec kind
    "scaled_std_conv": ("E701", "torch.conv2d", "0"),
}


def _live(model: nn.Module) -> tuple[int, int]:
    """numel and FlopCounterMode's total of a fresh module."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.zeros(1, *SHAPE))
    return sum(p.numel() for p in model.parameters()), int(counter.get_total_flops())


def _import(factory: str) -> dict[str, Any]:
    return tracing.describe(getattr(timm, factory)(), (SHAPE,))


def _kinds(doc: Any) -> list[str]:
    """The layer kinds of a spec document, in order, blocks expanded."""
    blocks = doc.get("blocks", {})
    out: list[str] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            kind, args = (item, {}) if isinstance(item, str) else next(iter(item.items()))
            if kind in blocks:
                walk(blocks[kind]["layers"])
            else:
                out.append(kind)

    walk(doc["layers"])
    return out


@pytest.mark.parametrize("factory", sorted(WRITTEN))
def test_a_subclass_is_written_with_every_operation(factory: str) -> None:
    described = _import(factory)
    assert "network" in described, described
    text = importer.write(described["network"], f"timm_like.py:{factory}", (SHAPE,),
                          "spec.schema.json")
    text, _, report = importer.proven(text, f"timm_like.py:{factory}", described["network"])
    assert _kinds(yaml.safe_load(text)) == WRITTEN[factory]
    params, flops = _live(getattr(timm, factory)())
    assert report.totals.params == params and TORCH.total(report) == flops
    result = conform(report, getattr(timm, factory)(), factory)
    assert result.ok, (result.divergence, result.operations.difference())
    module_ops = {c: b for c, _, b in result.operations.counts}
    assert module_ops == dict(operations.tally(described["network"]["ops"]))


@pytest.mark.parametrize("factory", sorted(REFUSED))
def test_a_subclass_that_has_no_spec_is_refused_naming_op_and_path(factory: str) -> None:
    code, op, path = REFUSED[factory]
    described = _import(factory)
    assert "rejected" in described
    problems = [(p.get("code", "E701"), p["op"], p["path"]) for p in described["rejected"]]
    assert (code, op, path) in problems, problems


def test_every_timm_like_model_is_written_whole_or_refused() -> None:
    factories = {name for name in vars(timm) if callable(getattr(timm, name)) and
                 name.islower() and not name.startswith("_")}
    assert factories == set(WRITTEN) | set(REFUSED)


def test_layernorm2d_is_not_a_layer_norm_over_the_width() -> None:
    """C == W == 8: nn.LayerNorm's subclass was written as a layer norm over W before."""
    text = importer.write(_import("layernorm2d")["network"], "t.py:ln", (SHAPE,), "s.json")
    doc = yaml.safe_load(text)
    assert doc["layers"][1:4] == [{"permute": {"dims": [0, 2, 3, 1], "name": "1_permute"}},
                                  {"layernorm": {"name": "1_layernorm"}},
                                  {"permute": {"dims": [0, 3, 1, 2], "name": "1_permute_2"}}]


def test_batchnorm_act_keeps_its_activation_arguments() -> None:
    text = importer.write(_import("batchnorm_leaky")["network"], "t.py:d", (SHAPE,), "s.json")
    assert "leaky_relu: {slope: 0.1" in text


# -- the rule ------------------------------------------------------------------------------------

def test_a_subclass_is_its_base_only_when_it_computes_as_its_base() -> None:
    assert import_map.module_writer(timm.PlainConv(3, 8)) is import_map.MODULES[nn.Conv2d]
    assert kinds_of(timm.PlainConv(3, 8)) == ("conv",)
    for module in (timm.ReLUConv(3, 8, 3), timm.SwappedConv(3, 8, 3), timm.Conv2dSame(3, 8, 3),
                   timm.ScaledStdConv2d(3, 8, 3), timm.BatchNormAct2d(8),
                   timm.LayerNorm2d(8)):
        assert import_map.module_writer(module) is None, type(module)
        assert kinds_of(module) == (), type(module)
    assert not tracing._Tracer().is_leaf_module(timm.BatchNormAct2d(8), "bn")


def test_entry_walks_to_the_nearest_base() -> None:
    class Base(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x

    class Same(Base):
        def extra_repr(self) -> str:
            return "same"

    class Deeper(Same):
        pass

    class Other(Same):
        def forward(self, x: Tensor) -> Tensor:
            return F.relu(x)

    class BelowOther(Other):
        pass

    table = {Base: "base"}
    assert module_types.entry(table, Base) == "base"
    assert module_types.entry(table, Deeper) == "base"
    assert module_types.entry(table, Other) is None
    assert module_types.entry(table, BelowOther) is None
    assert module_types.entry({**table, Other: "other"}, BelowOther) == "other"
    assert module_types.entry(table, nn.Conv2d) is None


# -- functions given the module's own weights ------------------------------------------------------

class _Held(nn.Module):
    """Calls a function with its own parameters, as a subclass's forward does."""

    def __init__(self, call: Callable[["_Held", Tensor], Tensor]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(8, 3, 3, 3))
        self.bias = nn.Parameter(torch.zeros(8))
        self.call = call

    def forward(self, x: Tensor) -> Tensor:
        return self.call(self, x)


def test_a_function_given_another_modules_weight_is_refused() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 8, 3)
            self.b = nn.Conv2d(3, 8, 3)

        def forward(self, x: Tensor) -> Tensor:
            return F.conv2d(x, self.a.weight, self.b.bias)

    described = tracing.describe(Two(), (SHAPE,))
    assert "rejected" in described
    assert any("a weight of another module" in p["why"] for p in described["rejected"])


def test_a_conv_given_its_own_weight_is_a_conv() -> None:
    held = _Held(lambda m, x: F.conv2d(x, m.weight, m.bias, 2, 1))
    described = tracing.describe(held, (SHAPE,))
    text = importer.write(described["network"], "t.py:held", (SHAPE,), "s.json")
    assert "conv: {out: 8, kernel: 3, stride: 2, padding: 1" in text
    importer.proven(text, "t.py:held", described["network"])


def test_a_batch_norm_over_the_batch_is_refused() -> None:
    class BatchStats(nn.BatchNorm2d):
        def forward(self, x: Tensor) -> Tensor:
            return F.batch_norm(x, None, None, self.weight, self.bias, True)

    described = tracing.describe(nn.Sequential(nn.Conv2d(3, 8, 1), BatchStats(8)), (SHAPE,))
    assert "rejected" in described
    assert any("the batch's own statistics" in p["why"] and p["path"] == "1"
               for p in described["rejected"])


# -- the round trip compares every operation -------------------------------------------------------

def test_a_spec_written_without_an_operation_fails_the_round_trip() -> None:
    """The round trip's own check: the spec written with its relu taken out is E703, naming the
    operation and where the module runs it."""
    network = _import("batchnorm_act")["network"]
    text = importer.write(network, "t.py:bna", (SHAPE,), "s.json")
    without = "".join(line for line in text.splitlines(keepends=True) if "relu" not in line)
    with pytest.raises(SpecError) as caught:
        importer.proven(without, "t.py:bna", network)
    diag = caught.value.diagnostics[0]
    assert diag.code == "E703"
    assert "relu operations: the spec 0, the module 1; first at '1.act'" in diag.message


# -- the command line ------------------------------------------------------------------------------

def test_cli_import_of_the_issues_example_keeps_the_relu(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "bna.yaml"
    result = cli("import", f"{TIMM}batchnorm_act", "--input", "3x8x8", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert _kinds(yaml.safe_load(out.read_text())) == WRITTEN["batchnorm_act"]
    verify = cli("verify", str(out), "--module", f"{TIMM}batchnorm_act")
    assert verify.exit_code == 0, verify.stdout + verify.stderr
    assert "every operation: conv 2, batch_norm 1, relu 1" in verify.stdout


@pytest.mark.parametrize(("factory", "needles"), [
    ("conv2d_same", ("error[E702]", "conv2d_same: at '0': forward() has data-dependent")),
    ("scaled_std_conv", ("error[E701]", "torch.conv2d at '0' (once): a conv whose weight or "
                         "bias is computed in forward()")),
])
def test_cli_import_refuses_naming_op_and_path(cli: Callable, factory: str,
                                               needles: tuple[str, ...]) -> None:
    result = cli("import", f"{TIMM}{factory}", "--input", "3x8x8")
    assert result.exit_code == 1 and not result.stdout
    for needle in needles:
        assert needle in result.stderr, result.stderr
