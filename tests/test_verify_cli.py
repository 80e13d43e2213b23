"""``cnnstat verify`` and ``summary --count`` from the command line: exit codes 0/1/2, tables and
JSON, conformance of a user's module (``--module``), and life without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cnnstat.spec import loader

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from cnnstat.torch_backend.build import layers  # noqa: E402
from cnnstat.torch_backend.verify.conformance import conform  # noqa: E402
from cnnstat.analysis import analyze  # noqa: E402

GOOD = """
import torch.nn as nn

def make():
    return nn.Sequential(nn.Conv2d(3, 10, kernel_size=5, padding=2))
"""
WRONG_KERNEL = """
import torch.nn as nn

def make():
    return nn.Sequential(nn.Conv2d(3, 10, kernel_size=3, padding=1))
"""
OWN_BUILD = """
import cnnstat

def make():
    return cnnstat.build("lenet5")
"""


def factory(tmp_path: Path, text: str, name: str = "impl.py") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return f"{path}:make"


def test_verify_one_spec_agrees_and_exits_0(cli: Callable) -> None:
    result = cli("verify", "conv-example")
    assert result.exit_code == 0, result.stderr
    assert "conv1" in result.stdout and "✗" not in result.stdout
    assert "all 1 operations agree" in result.stdout


def test_verify_json_has_both_sides_per_layer(cli: Callable) -> None:
    result = cli("verify", "lenet5", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    (spec,) = doc["results"]
    assert doc["ok"] and spec["first_divergence"] is None
    c3 = next(layer for layer in spec["layers"] if layer["name"] == "c3")
    # LeNet-5's C3: 60 connections of 5x5 plus 16 biases; 10x10 outputs
    assert c3["checks"]["params"] == {"analytic": 60 * 25 + 16, "live": 60 * 25 + 16, "ok": True}
    assert c3["checks"]["torch"]["live"] == 2 * 10 * 10 * 60 * 25
    assert c3["checks"]["fvcore"]["live"] == 10 * 10 * 60 * 25
    assert spec["totals"]["params"]["live"] == 60000


def test_verify_without_specs_covers_the_zoo(cli: Callable,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """No SPEC means every name the zoo lists, in its order, with the overview table.  Verifying
    each of the built-in specs live is tests/test_verify_zoo.py's work; here a three-spec zoo
    (deliberately not in alphabetical order) exercises the CLI path."""
    from cnnstat import zoo

    names = ["lenet5", "conv-example", "resnet-basic-block"]
    monkeypatch.setattr(zoo, "names", lambda: names)
    result = cli("verify", "--count", "torch", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [r["spec"] for r in doc["results"]] == names
    assert all(r["ok"] for r in doc["results"])
    table = cli("verify", "--count", "torch", "--color", "never")
    assert table.exit_code == 0, table.stderr
    assert "cnnstat verify: analytic vs live PyTorch" in table.stdout
    assert all(name in table.stdout for name in names)
    assert f"{len(names)} of {len(names)} specs agree with live PyTorch" in table.stdout


def test_planted_builder_mismatch_exits_1_and_names_the_layer(cli: Callable, 
        monkeypatch: pytest.MonkeyPatch) -> None:
    def wider_conv(layer, x):  # noqa: ANN001, ANN202 - a deliberately wrong builder
        return torch.nn.Conv2d(x[0], layer.args["out"], 7, padding=3)

    monkeypatch.setitem(layers.BUILDERS, "conv", wider_conv)
    result = cli("verify", "conv-example")
    assert result.exit_code == 1
    assert "first divergent layer 'conv1' (params, torch, fvcore)" in result.stderr
    assert "first divergent layer: conv1 (conv): params 760 vs live " \
        f"{10 * 3 * 7 * 7 + 10:,}" in result.stdout


def test_module_conforming_exits_0(cli: Callable, tmp_path: Path) -> None:
    result = cli("verify", "conv-example", "--module", factory(tmp_path, GOOD))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "1 layers match the spec in order" in result.stdout


def test_module_with_wrong_kernel_exits_1_naming_both_sides(cli: Callable, tmp_path: Path) -> None:
    result = cli("verify", "conv-example", "--module", factory(tmp_path, WRONG_KERNEL))
    assert result.exit_code == 1
    err = result.stderr
    assert "spec 'conv1' (conv, output 10x32x32, 760 params" in err
    assert f"module '0' (Conv2d (conv), output 10x32x32, {10 * 3 * 3 * 3 + 10:,} params" in err
    doc = json.loads(cli("verify", "conv-example", "--module", factory(tmp_path, WRONG_KERNEL),
                         "--format", "json").stdout)
    assert doc["divergence"]["problems"] == ["params", "FLOPs (torch)"]


def test_module_from_a_package_path_and_cnnstats_own_build(cli: Callable, 
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    factory(tmp_path, OWN_BUILD, "own_lenet_impl.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "own_lenet_impl", raising=False)
    result = cli("verify", "lenet5", "--module", "own_lenet_impl:make")
    sys.modules.pop("own_lenet_impl", None)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "14 layers match" in result.stdout


def test_conformance_leaves_the_users_module_unmodified(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 10, 5, padding=2),
                                torch.nn.BatchNorm2d(10)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = analyze(str(_spec(tmp_path)))
    assert conform(report, model, "inline").ok
    assert all(m.training for m in model.modules())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert not any(m._forward_hooks for m in model.modules())


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "convbn.yaml"
    path.write_text("name: convbn\ninput: [3, 8, 8]\nlayers:\n"
                    "  - conv: {out: 10, kernel: 5, padding: 2}\n  - bn\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("target, message", [
    ("no_such_module_xyz:make", "cannot import no_such_module_xyz"),
    ("impl.py", "expected MODULE:FACTORY"),
])
def test_bad_module_targets_exit_2_without_traceback(cli: Callable, target: str,
                                                     message: str) -> None:
    result = cli("verify", "conv-example", "--module", target)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_module_factory_that_raises_exits_2(cli: Callable, tmp_path: Path) -> None:
    target = factory(tmp_path, "def make():\n    raise RuntimeError('boom')\n")
    result = cli("verify", "conv-example", "--module", target)
    assert result.exit_code == 2 and "make() raised RuntimeError: boom" in result.stderr


def test_module_needs_exactly_one_spec(cli: Callable, tmp_path: Path) -> None:
    result = cli("verify", "conv-example", "lenet5", "--module", factory(tmp_path, GOOD))
    assert result.exit_code == 2 and "exactly one SPEC" in result.stderr


def _without_torch(*args: str) -> subprocess.CompletedProcess[str]:
    code = ("import sys; sys.modules['torch'] = None; from cnnstat.cli.main import main; "
            f"main({list(args)!r})")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_verify_without_torch_exits_2_with_the_install_hint() -> None:
    proc = _without_torch("verify", "conv-example")
    assert proc.returncode == 2
    assert "pip install 'cnnstat[torch]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_summary_runs_without_torch() -> None:
    proc = _without_torch("summary", "vgg16", "--count", "fvcore", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["count"]["preset"] == "fvcore"


def test_summary_count_adds_a_labelled_column_and_total(cli: Callable) -> None:
    report = analyze(loader.load("vgg11"))
    t = report.totals
    doc = json.loads(cli("summary", "vgg11", "--count", "torch", "--format", "json").stdout)
    assert doc["count"]["total"] == 2 * t.macs
    assert doc["layers"][0]["count"] == 2 * 224 * 224 * 64 * 3 * 3 * 3
    table = cli("summary", "vgg11", "--count", "fvcore", "--format", "markdown").stdout
    assert "| flops (fvcore) |" in table
    # vgg11 has no batch norm: fvcore = MACs + the adaptive pool's input (512 x 7 x 7)
    assert f"**{t.macs + 512 * 7 * 7:,}**" in table
    plain = json.loads(cli("summary", "vgg11", "--format", "json").stdout)
    assert "count" not in plain and "count" not in plain["layers"][0]


def test_verify_csv_has_exact_analytic_and_live_values(cli: Callable) -> None:
    lines = cli("verify", "lenet5", "--format", "csv").stdout.splitlines()
    header = lines[0].split(",")
    c3 = dict(zip(header, next(line for line in lines if line.startswith("c3,")).split(",")))
    assert c3["params"] == c3["params_live"] == str(60 * 25 + 16)
    assert c3["shape"] == c3["shape_live"] == "16x10x10"
    assert c3["fvcore_live"] == str(10 * 10 * 60 * 25)
