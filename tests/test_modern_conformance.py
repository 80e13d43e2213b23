"""``verify --module`` against a module that holds a parameter of its own beside its children,
as torchvision's ConvNeXt block holds its layer scale (a bare ``nn.Parameter``): the block is
measured as the work it does itself (its parameters and FlopCounterMode FLOPs minus its
children's) and matched with the spec's ``layer_scale``."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from torch import Tensor, nn  # noqa: E402

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.spec.loader import load  # noqa: E402
from cnnstat.torch_backend.verify.conformance import conform, leaf_modules  # noqa: E402
from tests.conftest import write  # noqa: E402

pytestmark = pytest.mark.torch

SPEC = """name: t
input: [8, 6, 6]
layers:
  - residual:
      body:
        - conv: {out: 8, kernel: 7, padding: 3, groups: 8}
        - permute: {dims: [0, 2, 3, 1]}
        - layernorm: {eps: 1.0e-6}
        - linear: {out: 32, over: last}
        - gelu
        - linear: {out: 8, over: last}
        - permute: {dims: [0, 3, 1, 2]}
        - layer_scale
        - drop_path: {p: 0.1}
      shortcut: identity
"""


class Permute(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(self.dims)


class Block(nn.Module):
    """torchvision's CNBlock, written out: the layer scale is the block's own parameter."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(),
            nn.Linear(4 * dim, dim), Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)

    def forward(self, x: Tensor) -> Tensor:
        return self.layer_scale * self.block(x) + x


def test_a_block_with_its_own_parameter_matches_layer_scale(tmp_path: Path) -> None:
    report = analyze(load(write(tmp_path, SPEC)))
    model = Block(8)
    names = [name for name, _ in leaf_modules(model)]
    assert names[-1] == ""  # the block itself, after its children
    result = conform(report, model, "Block")
    assert result.ok, result.divergence
    (pair,) = [p for p in result.pairs if p.spec is not None and p.spec.kind == "layer_scale"]
    assert pair.impl is not None and pair.impl.params == 8 and pair.impl.flops == 0
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
