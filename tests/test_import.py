"""``cnnstat import``: a spec from a PyTorch module, proven by a round trip.

Every model the suite can build -- the networks of tests/import_models/nets.py, written as
people write them (a ResNet, an Inception-style concat, a U-Net with skips, SE blocks, a
depthwise-separable stack, ShuffleNet v2 units), and the paper's U-Net of tests/reference_models -- is imported;
the spec's parameters must equal ``numel`` of a fresh module and its FLOPs (torch preset) what
FlopCounterMode counts on a fresh module, and the leaf-by-leaf check of ``verify --module``
must pass.  A network with an operation that has no spec kind must fail naming it (E701),
never give a spec that counts something else.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

import cnnstat  # noqa: E402
from cnnstat.core.presets import TORCH  # noqa: E402
from cnnstat.errors import SpecError  # noqa: E402
from cnnstat.torch_backend.importer import mapping as import_map  # noqa: E402
from cnnstat.torch_backend.importer import run as importer  # noqa: E402
from cnnstat.torch_backend.importer import tracing  # noqa: E402
from cnnstat.torch_backend.verify.conformance import conform  # noqa: E402

NETS_FILE = Path(__file__).parent / "import_models" / "nets.py"
NETS = f"{NETS_FILE}:"
_spec = importlib.util.spec_from_file_location("import_nets", NETS_FILE)
assert _spec is not None and _spec.loader is not None
nets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nets)
_ref = importlib.util.spec_from_file_location(
    "reference_unet", Path(__file__).parent / "reference_models" / "unet.py")
assert _ref is not None and _ref.loader is not None
reference = importlib.util.module_from_spec(_ref)
_ref.loader.exec_module(reference)

# factory, input (C, H, W), what the readable spec must contain
MODELS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "resnet": ((3, 32, 32), ("residual:", "shortcut: identity", "repeat: 2", "basic_block_2")),
    "inception": ((3, 32, 32), ("concat:", "branches:", "inception: {name: inc1")),
    "unet": ((1, 32, 32), ("concat:", "conv_transpose:", "maxpool: {kernel: 2")),
    "senet": ((3, 32, 32), ("scale:", "sigmoid", "se: {name: se1")),
    "separable_stack": ((3, 32, 32), ("groups: 16", "relu6", "dropout: {p: 0.2")),
    "shufflenet": ((3, 32, 32), ("split:", "- null", "channel_shuffle: {groups: 2")),
    "convnext": ((3, 32, 32), ("permute: {dims: [0, 2, 3, 1]", "layernorm", "over: last",
                               "gelu", "layer_scale", "residual:", "mean")),
    "botnet": ((3, 16, 16), ("attention: {heads: 4, qkv_bias: false", "residual:")),
    "normnet": ((3, 16, 16), ("groupnorm: {groups: 4", "instancenorm: {affine: true",
                              "track_running_stats: true", "approximate: tanh",
                              "mean: {keepdim: true")),
    "auxnet": ((3, 16, 16), ("side:\n      name: aux1\n      training: true",
                             "side:\n      name: aux2", "dropout: {p: 0.7")),
    "ssd_stub": ((3, 15, 15), ("l2norm: {name: l2norm}", "ceil_mode: true", "dilation: 6",
                               "outputs: [l2norm, extra_1_3]")),
    "maxpooled": ((3, 15, 15), ("adaptive_maxpool: {size: [4, 6]",
                                "adaptive_maxpool: {size: 1, functional: true")),
}


def _live(model: torch.nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    """numel and FlopCounterMode's total of a module, measured here (on the meta device)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval().to("meta")(torch.zeros(1, *shape, device="meta"))
    return sum(p.numel() for p in model.parameters()), int(counter.get_total_flops())


def _import(model: torch.nn.Module, shape: tuple[int, ...], label: str) -> tuple[str, Any]:
    """In this process (the models are ours): trace, write, load and prove."""
    described = tracing.describe(model, (shape,))
    if "rejected" in described:
        raise SpecError([])  # the caller looks at described itself
    text = importer.write(described["network"], label, (shape,), "spec.schema.json")
    text, _, report = importer.proven(text, label, described["network"])
    return text, report


@pytest.mark.parametrize("factory", sorted(MODELS))
def test_round_trip_of_the_suite_models(factory: str) -> None:
    shape, readable = MODELS[factory]
    text, report = _import(getattr(nets, factory)(), shape, f"nets.py:{factory}")
    params, flops = _live(getattr(nets, factory)(), shape)
    assert report.totals.params == params
    assert TORCH.total(report) == flops and report.totals.flops == 2 * report.totals.macs
    result = conform(report, getattr(nets, factory)(), factory)
    assert result.ok, result.divergence
    for needle in readable:
        assert needle in text, (needle, text)
    assert text.startswith("# yaml-language-server: $schema=")
    doc = yaml.safe_load(text)
    assert doc["input"] == list(shape) and doc["source"].startswith(f"cnnstat import nets.py:")


def test_resnet_spec_reads_as_written_by_hand() -> None:
    """Names from the module paths, blocks with arguments, literal values, repeat."""
    text, report = _import(nets.resnet(), (3, 32, 32), "nets.py:resnet")
    doc = yaml.safe_load(text)
    plain, strided = doc["blocks"]["basic_block"], doc["blocks"]["basic_block_2"]
    assert plain["args"] == strided["args"] == {"out": "required"}
    assert plain["layers"][0]["residual"]["shortcut"] == "identity"
    assert strided["layers"][0]["residual"]["body"][0] == {"conv": {
        "out": "$out", "kernel": 3, "stride": 2, "padding": 1, "bias": False, "name": "conv1"}}
    assert doc["layers"][:3] == [{"conv": {"out": 16, "kernel": 3, "padding": 1, "bias": False,
                                           "name": "stem_0"}},
                                 {"bn": {"name": "stem_1"}}, {"relu": {"name": "stem_2"}}]
    # two 16-channel blocks (a repeat), then a strided and a plain block at 32 and at 64
    assert doc["layers"][3] == {"repeat": 2, "layers": [{"basic_block": {"out": 16}}]}
    assert doc["layers"][4:8] == [{"basic_block_2": {"name": "layers_2", "out": 32}},
                                  {"basic_block": {"name": "layers_3", "out": 32}},
                                  {"basic_block_2": {"name": "layers_4", "out": 64}},
                                  {"basic_block": {"name": "layers_5", "out": 64}}]
    names = [r.name for r in report.rows]
    assert any(n.startswith("layers_2.") for n in names) and "fc" in names


def test_flat_references_where_no_composite_fits() -> None:
    """An add whose inputs do not share one fork is written flat, with from: references."""
    class Skip(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.b = torch.nn.Conv2d(8, 8, 3, padding=1)
            self.c = torch.nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a = self.a(x)
            b = self.b(a)
            return self.c(b) + a + b

    text, report = _import(Skip(), (3, 8, 8), "skip.py:Skip")
    assert "from: [" in text
    params, flops = _live(Skip(), (3, 8, 8))
    assert report.totals.params == params == (8 * 3 * 9 + 8) + 2 * (8 * 8 * 9 + 8)
    assert TORCH.total(report) == flops
    assert conform(report, Skip(), "skip").ok


def test_the_reference_u_net_imports_padded_and_names_the_crop_unpadded() -> None:
    """tests/reference_models/unet.py, written from the paper: the padded U-Net round-trips;
    the paper's crops the skip by slicing, which has no spec kind (crop is not inferred from a
    slice), so it fails naming the slice where it happens."""
    shape = (1, 512, 512)
    text, report = _import(reference.unet_padded(), shape, "unet.py:unet_padded")
    params, flops = _live(reference.unet_padded(), shape)
    assert report.totals.params == params and TORCH.total(report) == flops
    assert conform(report, reference.unet_padded(), "unet_padded").ok
    rejected = tracing.describe(reference.unet(), ((1, 572, 572),))["rejected"]
    assert {p["op"] for p in rejected} == {"operator.getitem"}
    assert all(p["count"] >= 1 and "slices" in p["why"] for p in rejected)


def test_cli_import_then_verify_module_round_trip(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "resnet.yaml"
    result = cli("import", f"{NETS}resnet", "--input", "3x32x32", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    params, flops = _live(nets.resnet(), (3, 32, 32))
    assert f"{params:,} params" in result.stderr
    check = cli("check", "--strict", str(out))
    assert check.exit_code == 0, check.stderr
    verify = cli("verify", str(out), "--module", f"{NETS}resnet", "--format", "json")
    assert verify.exit_code == 0, verify.stderr
    doc = json.loads(verify.stdout)
    assert doc["ok"] and doc["totals"]["params"]["live"] == params
    assert doc["totals"]["torch"]["live"] == flops


@pytest.mark.parametrize(("factory", "shape"), [("convnext", "3x32x32"), ("normnet", "3x16x16"),
                                                ("botnet", "3x16x16"), ("maxpooled", "3x15x15")])
def test_cli_round_trip_of_the_norm_and_channels_last_kinds(cli: Callable, tmp_path: Path,
                                                           factory: str, shape: str) -> None:
    """layernorm, linear over the last axis, permute, layer_scale, mean, groupnorm,
    instancenorm, gelu(tanh), attention and adaptive_maxpool (module and call): import, check
    --strict, then verify --module."""
    out = tmp_path / f"{factory}.yaml"
    result = cli("import", f"{NETS}{factory}", "--input", shape, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    check = cli("check", "--strict", str(out))
    assert check.exit_code == 0, check.stderr
    verify = cli("verify", str(out), "--module", f"{NETS}{factory}", "--format", "json")
    assert verify.exit_code == 0, verify.stderr
    params, flops = _live(getattr(nets, factory)(), tuple(int(d) for d in shape.split("x")))
    doc = json.loads(verify.stdout)
    assert doc["ok"] and doc["totals"]["params"]["live"] == params
    assert doc["totals"]["torch"]["live"] == flops


def test_cli_round_trip_of_training_only_side_heads(cli: Callable, tmp_path: Path) -> None:
    """GoogLeNet-style auxiliary heads (``if self.training``) are written as ``side: {training:
    true}`` where they branch off; their parameters count, their FLOPs stay out of the eval
    total, and verify --module measures them in training mode."""
    out = tmp_path / "auxnet.yaml"
    result = cli("import", f"{NETS}auxnet", "--input", "3x16x16", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    layers = yaml.safe_load(out.read_text())["layers"]
    names = [next(iter(e.values()))["name"] for e in layers]
    assert names[2:4] == ["residual", "aux1"] and names[5:7] == ["block2_1", "aux2"]
    assert layers[3]["side"]["training"] is True
    # conv 3->16 k3, 16->16 k3, 16->32 k3, fc 32->10; each head: conv C->8 k1, fc 32->16, 16->10
    trunk = (16 * 27 + 16) + (16 * 144 + 16) + (32 * 144 + 32) + (32 * 10 + 10)
    heads = (16 * 8 + 8) + (32 * 8 + 8) + 2 * ((32 * 16 + 16) + (16 * 10 + 10))
    params, flops = _live(nets.auxnet(), (3, 16, 16))
    assert params == trunk + heads == 9534
    # FlopCounterMode, eval: 2 x (convs at 16x16, 16x16, 8x8, and the fc), the heads not run
    assert flops == 2 * (16 * 27 * 256 + 16 * 144 * 256 + 32 * 144 * 64 + 32 * 10) == 1991296
    check = cli("check", "--strict", str(out))
    assert check.exit_code == 0, check.stderr
    summary = json.loads(cli("summary", str(out), "--format", "json").stdout)
    assert summary["totals"]["params"] == params
    verify = cli("verify", str(out), "--module", f"{NETS}auxnet", "--format", "json")
    assert verify.exit_code == 0, verify.stderr
    doc = json.loads(verify.stdout)
    assert doc["ok"] and doc["totals"]["params"]["live"] == params
    assert doc["totals"]["torch"]["live"] == flops


def test_stochastic_depth_in_training_is_no_side_head() -> None:
    """Training-only calls the trunk reads (``x * (rand >= p)``) are how the trunk runs in
    training, not a head: the spec is the same as without them."""
    plain, _ = _import(nets.auxnet(), (3, 16, 16), "nets.py:auxnet")
    dropped, report = _import(nets.auxnet(drop=0.1), (3, 16, 16), "nets.py:auxnet")
    assert dropped == plain and dropped.count("side:") == 2
    assert report.totals.params == 9534


def test_a_training_only_head_reading_two_tensors_is_named(cli: Callable) -> None:
    result = cli("import", f"{NETS}auxnet", "--input", "3x16x16", "--kwargs",
                 '{"joined": true}')
    assert result.exit_code == 1 and result.stdout == ""
    assert "error[E701]" in result.stderr and "training-only calls at 'the top level'" in \
        result.stderr and "reads 2 tensors of the network (a side head reads one)" in \
        result.stderr


def test_a_training_only_head_reading_inside_a_composite_is_named(cli: Callable) -> None:
    result = cli("import", f"{NETS}auxnet", "--input", "3x16x16", "--kwargs",
                 '{"inner": true}')
    assert result.exit_code == 1 and result.stdout == ""
    assert "error[E701]" in result.stderr and "training-only calls at 'aux1'" in \
        result.stderr and "reads a tensor inside a composite" in result.stderr


def test_convnext_block_counts_from_first_principles() -> None:
    """C = 16 on a 32x32 input: the 4x4 stem gives 16 x 8 x 8, P = 64 positions."""
    c, p = 16, 8 * 8
    block = (c * 7 * 7 + c) + 2 * c + (c * 4 * c + 4 * c) + (4 * c * c + c) + c
    stem, head = 3 * 4 * 4 * c + c, 2 * c + c * 10 + 10
    _, report = _import(nets.convnext(), (3, 32, 32), "nets.py:convnext")
    assert report.totals.params == stem + 2 * block + head
    block_macs = p * c * 7 * 7 + p * c * 4 * c + p * 4 * c * c
    # MACs: convs and linears only (norms, GELU, layer scale and the mean are other ops)
    assert report.totals.macs == 3 * 4 * 4 * c * p + 2 * block_macs + c * 10


def test_a_permute_of_other_axes_is_named() -> None:
    with pytest.raises(import_map.Unsupported, match=r"permutes \[1, 0, 2, 3\]"):
        import_map._permute([1, 0, 2, 3])


def test_cli_import_to_stdout_with_kwargs(cli: Callable, tmp_path: Path) -> None:
    kwargs = '{"blocks": 1, "classes": 3}'
    result = cli("import", f"{NETS}resnet", "--input", "3x16x16", "--kwargs", kwargs)
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["layers"][-1] == {"linear": {"out": 3, "name": "fc"}}
    params, _ = _live(nets.resnet(blocks=1, classes=3), (3, 16, 16))
    spec = tmp_path / "small.yaml"
    spec.write_text(result.stdout, encoding="utf-8")
    assert cnnstat.analyze(str(spec)).totals.params == params
    verify = cli("verify", str(spec), "--module", f"{NETS}resnet", "--kwargs", kwargs)
    assert verify.exit_code == 0, verify.stderr  # the round trip with the same --kwargs


def test_unsupported_operations_are_exit_1_naming_op_path_and_count(cli: Callable) -> None:
    result = cli("import", f"{NETS}unsupported", "--input", "3x8x8")
    assert result.exit_code == 1 and result.stdout == ""
    err = result.stderr
    assert "error[E701]" in err and "torch.nn.modules.activation.Softplus at 'act' (once)" \
        in err
    assert "Tensor.abs at 'the top level' (2 times)" in err
    assert "operator.mul at 'the top level' (once)" in err  # x * 2: a constant factor
    assert "operator.add" not in err  # x.abs() + x.abs(): an add, which a spec has
    assert "Traceback" not in err


def test_return_indices_is_refused_with_its_reason(cli: Callable) -> None:
    """nn.AdaptiveMaxPool2d(return_indices=True) and F.adaptive_max_pool2d(..., return_indices=
    True) return (values, indices): each is named with that reason, not only the indexing."""
    result = cli("import", f"{NETS}indexed_pool", "--input", "3x8x8")
    assert result.exit_code == 1 and result.stdout == ""
    why = "return_indices=True: a spec adaptive_maxpool returns one tensor, not (values, indices)"
    assert f"torch.nn.modules.pooling.AdaptiveMaxPool2d at 'pool' (once): {why}" in result.stderr
    assert "torch.nn.functional.adaptive_max_pool2d_with_indices at 'the top level' (once): " \
        f"{why}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_module_returning_a_tuple_is_named(cli: Callable) -> None:
    result = cli("import", f"{NETS}tuple_module", "--input", "3x4x4")
    assert result.exit_code == 1 and result.stdout == ""
    assert "torch.nn.modules.rnn.GRU at 'rnn' (once): no spec kind for this module type" \
        in result.stderr


def test_nearest_kind_is_named() -> None:
    error = importer._rejected("t", [{"op": "torch.nn.functional.max_pool1d", "path": "p",
                                      "count": 3, "why": "no spec kind"}])
    (diag,) = error.diagnostics
    assert diag.code == "E701" and "at 'p' (3 times)" in diag.message
    assert diag.hint == "nearest spec kind: 'maxpool'"


def test_data_dependent_control_flow_says_so(cli: Callable) -> None:
    result = cli("import", f"{NETS}branchy", "--input", "3x8x8")
    assert result.exit_code == 1 and result.stdout == ""
    assert "error[E702]" in result.stderr and "data-dependent control flow" in result.stderr
    assert "--kwargs" in result.stderr  # what to do


@pytest.mark.parametrize("args, message", [
    (("--input", "3x8x8", "--kwargs", "[1]"), "expected a JSON object"),
    (("--input", "3x8x8", "--kwargs", "{"), "not JSON"),
    ((), "--input"),
    (("--input", "3x8x8", "--input", "3x8x8"), "forward() takes 1 tensor"),
])
def test_usage_errors_are_exit_2(cli: Callable, args: tuple[str, ...], message: str) -> None:
    result = cli("import", f"{NETS}resnet", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


@pytest.mark.parametrize("command", ["summary", "params", "memory", "receptive-field"])
def test_analysis_commands_take_a_module(cli: Callable, command: str) -> None:
    result = cli(command, "--module", f"{NETS}senet", "--input", "3x32x32", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["spec"]["name"] == "nets-senet"
    if command in ("summary", "params"):
        params, _ = _live(nets.senet(), (3, 32, 32))
        assert doc["totals"]["params"] == params


def test_compare_and_diff_take_a_module(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "senet.yaml"
    assert cli("import", f"{NETS}senet", "--input", "3x32x32", "-o", str(out)).exit_code == 0
    diff = cli("diff", str(out), "--module", f"{NETS}senet", "--input", "3x32x32",
               "--format", "json")
    assert diff.exit_code == 0, diff.stderr
    doc = json.loads(diff.stdout)
    assert doc["counts"]["changed"] == doc["counts"]["added"] == doc["counts"]["removed"] == 0
    assert doc["totals"]["params"]["difference"] == 0 and doc["counts"]["same"] > 0
    compare = cli("compare", str(out), "--module", f"{NETS}senet", "--input", "3x32x32",
                  "--format", "json")
    assert compare.exit_code == 0, compare.stderr


def test_module_without_input_or_with_a_spec_is_exit_2(cli: Callable) -> None:
    assert "--input" in cli("summary", "--module", f"{NETS}senet").stderr
    both = cli("summary", "vgg16", "--module", f"{NETS}senet", "--input", "3x32x32")
    assert both.exit_code == 2 and "not both" in both.stderr
    neither = cli("summary")
    assert neither.exit_code == 2 and "--module" in neither.stderr


def test_parameters_forward_never_uses_are_named() -> None:
    """An auxiliary head that runs only in training holds parameters an eval trace never
    reaches: refused with the count (Linear(4, 2): 4 * 2 + 2), never left out of the total."""
    class Aux(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.aux = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    (problem,) = tracing.describe(Aux(), ((3, 8, 8),))["rejected"]
    assert problem["path"] == "aux" and f"{4 * 2 + 2:,} parameters" in problem["why"]


def test_several_inputs() -> None:
    """One --input per argument of forward(): inputs: by name, from: where a layer reads the
    second; 3 * 4 * 9 + 4 + 1 * 4 * 9 + 4 + 8 * 2 + 2 parameters."""
    class Two(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.b = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.head = torch.nn.Conv2d(8, 2, 1)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.head(torch.cat([self.a(x), self.b(y)], 1))

    network = tracing.describe(Two(), ((3, 8, 8), (1, 8, 8)))["network"]
    text = importer.write(network, "two.py:Two", ((3, 8, 8), (1, 8, 8)), "schema")
    _, _, report = importer.proven(text, "two.py:Two", network)
    doc = yaml.safe_load(text)
    assert doc["inputs"] == {"x": [3, 8, 8], "y": [1, 8, 8]}
    assert doc["layers"][1]["conv"]["from"] == "y"
    assert report.totals.params == 3 * 4 * 9 + 4 + 1 * 4 * 9 + 4 + 8 * 2 + 2


def test_a_warning_true_of_the_module_is_accepted(cli: Callable, tmp_path: Path) -> None:
    """(8 - 3)/2 + 1 = 3.5: the floor drops a row (W501), as the module does; the spec accepts
    it with the reason, so check --strict passes."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.ReLU())
    network = tracing.describe(model, ((3, 8, 8),))["network"]
    text = importer.write(network, "w.py:m", ((3, 8, 8),), "schema")
    text, _, _ = importer.proven(text, "w.py:m", network)
    assert yaml.safe_load(text)["accept"] == [
        {"code": "W501", "layer": "0", "reason": "true of the module imported (w.py:m)"}]
    spec = tmp_path / "w.yaml"
    spec.write_text(text, encoding="utf-8")
    result = cli("check", "--strict", "--notes", str(spec))
    assert result.exit_code == 0 and "note[W501]" in result.stderr


def test_runs_of_layers_inside_one_module_are_folded() -> None:
    """Two modules of one class without a merge (conv-bn-relu units) become one block, called
    with the numbers that differ; parameters 3*8*9 + 2*8 + 8*16*9 + 2*16."""
    class Unit(torch.nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            self.bn = torch.nn.BatchNorm2d(cout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.bn(self.conv(x)))

    model = torch.nn.Sequential(Unit(3, 8), Unit(8, 16))
    text, report = _import(model, (3, 8, 8), "u.py:units")
    doc = yaml.safe_load(text)
    assert doc["blocks"]["unit"]["layers"][0] == {"conv": {"out": "$out", "kernel": 3,
                                                           "padding": 1, "bias": False,
                                                           "name": "conv"}}
    assert doc["layers"] == [{"unit": {"name": "0", "out": 8}}, {"unit": {"name": "1", "out": 16}}]
    assert report.totals.params == 3 * 8 * 9 + 2 * 8 + 8 * 16 * 9 + 2 * 16
