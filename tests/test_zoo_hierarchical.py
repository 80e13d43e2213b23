"""The multi-branch and recursive zoo: DLA-34 (Yu et al. 2018; timm dla34), its trees written as a
recursive block, and HRNet-W18-small (Wang et al. 2020; timm hrnet_w18_small), its stages written
with looped, named branches and generated fuse sums.

DLA-34's parameters are arithmetic from the architecture; both specs are checked against an
independent plain-PyTorch implementation of each (tests/reference_models/dla.py, hrnet.py,
written from the papers as timm builds them; timm itself is not installed beside the test torch):
parameters equal its numel, MACs half its FlopCounterMode FLOPs, and ``verify --module`` pairs
every layer.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import Result

from cnnstat import zoo
from cnnstat.analysis import analyze
from cnnstat.spec.loader import load

REFERENCE = Path(__file__).parent / "reference_models"


def conv(cin: int, cout: int, k: int = 3) -> int:
    """A conv without bias, and its batch norm's gamma and beta."""
    return cin * cout * k * k + 2 * cout


def basic(cin: int, cout: int) -> int:
    return conv(cin, cout) + conv(cout, cout)


def leaf(cin: int, cout: int, root_in: int) -> int:
    """A one-level tree: the projection where the width changes, two blocks, the root."""
    return (conv(cin, cout, 1) if cin != cout else 0) + basic(cin, cout) + basic(cout, cout) \
        + conv(root_in, cout, 1)


# The root of a leaf concatenates its two blocks (2 x out), the children handed down (the first
# subtree's output) and, in a stage's tree (level_root), the stage's pooled input.
DLA34_PARAMS = (
    conv(3, 16, 7) + conv(16, 16) + conv(16, 32)
    + leaf(32, 64, 2 * 64)
    + leaf(64, 128, 2 * 128) + leaf(128, 128, 2 * 128 + 64 + 128)
    + leaf(128, 256, 2 * 256) + leaf(256, 256, 2 * 256 + 128 + 256)
    + leaf(256, 512, 2 * 512 + 256)
    + 512 * 1000 + 1000
)


def test_dla34_parameters_from_the_architecture() -> None:
    report = analyze(load("dla34"))
    assert report.totals.params == DLA34_PARAMS == 15_742_104  # timm's dla34
    rows = {r.name: r for r in report.rows}
    # level 4 (two levels, level root): the last root reads both blocks, the stage's pooled
    # input and the first subtree: 256 + 256 + 128 + 256 channels at 14 x 14
    assert rows["level4.tree2.concat1"].reads == (
        "level4.tree2.tree2", "level4.tree2.tree1", "level4.bottom", "level4.tree1")
    assert rows["level4.tree2.concat1"].output_shape == (256 + 256 + 128 + 256, 14, 14)
    # a projection only where the width changes: the strided first subtree, not the second
    assert "level4.tree1.proj.cbr1.conv1" in rows
    assert not any(n.startswith("level4.tree2.proj.") for n in rows)
    assert report.rows[-1].output_shape == (1000,)


def test_hrnet_w18_small_stages_and_fuse() -> None:
    report = analyze(load("hrnet-w18-small"))
    rows = {r.name: r for r in report.rows}
    assert report.totals.params == 13_187_464  # timm: 13.2M
    # stage 4's outputs: 16, 32, 64, 128 channels at strides 4, 8, 16, 32
    assert [rows[f"s4.y{i}.relu1"].output_shape for i in range(4)] == [
        (16, 56, 56), (32, 28, 28), (64, 14, 14), (128, 7, 7)]
    # y2 of stage 4: two strided convs from b0 (16 -> 16 -> 64), one from b1, b2 itself, and
    # b3 through a 1x1 conv and a 2x nearest upsampling
    assert rows["s4.y2.add1"].reads == ("s4.y2.p0", "s4.y2.p1", "s4.y2.p2", "s4.y2.p3")
    assert rows["s4.y2.p0.cbr1.conv1"].params == 16 * 16 * 9
    assert rows["s4.y2.p0.cbr2.conv1"].params == 16 * 64 * 9
    assert rows["s4.y2.p3.upsample1"].output_shape == (64, 14, 14)
    assert rows["s4.y2.add1"].ops == {"add": 3 * 64 * 14 * 14}
    # the transition keeps a branch whose width is unchanged and adds a strided one
    assert not any(n.startswith("s3.t0.") or n.startswith("s3.t1.") for n in rows)
    assert rows["s3.t2.cbr1.conv1"].output_shape == (64, 14, 14)


def test_hrnet_is_written_in_eighty_lines() -> None:
    path = zoo.specs_dir() / "hrnet-w18-small.yaml"
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 80


def _reference(module: str, factory: str) -> object:
    spec = importlib.util.spec_from_file_location(module, REFERENCE / f"{module}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert isinstance(mod, ModuleType)
    return getattr(mod, factory)()


CASES = [("dla34", "dla", "dla34", 115), ("hrnet-w18-small", "hrnet", "hrnet_w18_small", 269)]


@pytest.mark.torch
@pytest.mark.usefixtures("torch_one_thread")
@pytest.mark.parametrize(("spec", "module", "factory", "layers"), CASES)
def test_figures_equal_the_reference_module(spec: str, module: str, factory: str,
                                            layers: int) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    report = analyze(load(spec))
    with torch.device("meta"):
        model = _reference(module, factory)
    assert isinstance(model, torch.nn.Module)
    with FlopCounterMode(display=False) as counter:
        model.eval()(torch.empty(1, 3, 224, 224, device="meta"))
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert 2 * report.totals.macs == counter.get_total_flops()


@pytest.mark.torch
@pytest.mark.usefixtures("torch_one_thread")
@pytest.mark.parametrize(("spec", "module", "factory", "layers"), CASES)
def test_verify_module_pairs_every_layer(cli: Callable[..., Result], spec: str, module: str,
                                         factory: str, layers: int) -> None:
    pytest.importorskip("torch")
    result = cli("verify", spec, "--module", f"{REFERENCE / module}.py:{factory}")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"{layers} layers match the spec in order" in result.stdout
