"""``cnnstat import``'s child made fast (benchmarks/import.md), with nothing it proves weakened:
no ``torch._dynamo`` import for counting on the meta device, and the guard still quiet when the
user's code imports it itself; the module built on the meta device (the spec written is the same
as from a CPU build), or on the CPU, with a note, when its factory needs real tensors."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from cnnstat.torch_backend.importer import run as importer  # noqa: E402
from cnnstat.torch_backend.importer import tracing  # noqa: E402
from cnnstat.torch_backend.isolation.guard import Snapshot  # noqa: E402
from tests.test_import import MODELS, nets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
META_NETS = Path(__file__).parent / "import_models" / "meta_nets.py"
NETS = Path(__file__).parent / "import_models" / "nets.py"


def test_the_trace_counts_without_importing_dynamo() -> None:
    """A fresh process (what the import child does): warm-up, then every suite network traced
    on the meta device with FLOPs counted; torch._dynamo is never imported."""
    code = (
        "import sys, importlib.util\n"
        "from cnnstat.torch_backend.importer import tracing\n"
        "tracing.warm_up()\n"
        f"spec = importlib.util.spec_from_file_location('nets', {str(NETS)!r})\n"
        "nets = importlib.util.module_from_spec(spec); spec.loader.exec_module(nets)\n"
        "for name in ('resnet', 'inception', 'senet', 'convnext', 'normnet', 'auxnet'):\n"
        "    assert tracing.describe(getattr(nets, name)(), ((3, 16, 16),))['network']['flops']\n"
        "print('torch._dynamo' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_the_guard_takes_torchs_own_dynamo_wrapper_and_no_other(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing torch._dynamo rebinds torch.manual_seed to torch._disable_dynamo(the same
    function): not a change.  A wrapper of the user's around it still is."""
    seed = torch.manual_seed
    while hasattr(seed, "__wrapped__"):  # the original, however this process has it
        seed = seed.__wrapped__
    monkeypatch.setattr(torch, "manual_seed", seed)
    snapshot = Snapshot.take()
    monkeypatch.setattr(torch, "manual_seed", torch._disable_dynamo(seed))
    assert snapshot.changes() == []
    monkeypatch.setattr(torch, "manual_seed", functools.wraps(seed)(lambda *a: seed(*a)))
    assert snapshot.changes() == ["torch.manual_seed"]


def test_a_factory_that_imports_dynamo_imports(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "net.yaml"
    result = cli("import", f"{META_NETS}:with_dynamo", "--input", "3x8x8", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "6 operations" in result.stderr  # conv, bn, relu, pool, flatten, linear
    assert "note:" not in result.stderr  # built on the meta device


def _written(model: torch.nn.Module, shape: tuple[int, ...], label: str) -> str:
    network = tracing.describe(model, (shape,))["network"]
    text, _, _ = importer.proven(importer.write(network, label, (shape,), "s.json"), label,
                                 network)
    return text


@pytest.mark.parametrize("factory", sorted(MODELS))
def test_a_meta_build_writes_the_spec_a_cpu_build_does(factory: str) -> None:
    shape = MODELS[factory][0]
    with torch.device("meta"):
        on_meta = getattr(nets, factory)()
    assert {p.device.type for p in on_meta.parameters()} == {"meta"}
    label = f"nets.py:{factory}"
    assert _written(on_meta, shape, label) == _written(getattr(nets, factory)(), shape, label)


@pytest.mark.parametrize(("factory", "why", "params"), [
    ("item_at_build", "Tensor.item() cannot be called on meta tensors",
     3 * 8 * 9 + 8 + 8 * 8 * 8 * 4 + 4),  # conv, linear
    ("checked_weights", "RuntimeError", 3 * 8 * 9 + 8 + 2 * 8 + 8 * 4 + 4),
])
def test_a_factory_that_needs_real_tensors_is_built_on_the_cpu(
        cli: Callable, tmp_path: Path, factory: str, why: str, params: int) -> None:
    out = tmp_path / "net.yaml"
    result = cli("import", f"{META_NETS}:{factory}", "--input", "3x8x8", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert (f"cnnstat: import: note: {factory}() cannot be built on the meta device ("
            in result.stderr)
    assert why in result.stderr and "); built on the CPU\n" in result.stderr
    assert f"{params:,} params" in result.stderr and out.read_text().startswith("# yaml")
    # conv 3*8*9 + 8, bn 2*8, linear 8*4 + 4
    assert f"{3 * 8 * 9 + 8 + 2 * 8 + 8 * 4 + 4:,} params" in result.stderr
