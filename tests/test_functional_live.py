"""Functional calls against the tools themselves (issue 17): small modules written as torchvision
writes them (GoogLeNet's BasicConv2d with ``F.relu``, DenseNet's tail with ``F.relu`` and
``F.adaptive_avg_pool2d``, an Inception block with ``F.max_pool2d`` and ``F.avg_pool2d``), each
counted by every installed tool and compared with the preset total of the equivalent spec, which
writes those layers ``functional: true``: exact integers.  And the spec's own built network (its
functional layers built as calls) counts the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cnnstat
from cnnstat.core.counters import ALL_PRESETS
from tests.conftest import write

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]
torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from cnnstat.torch_backend.live.counters import RUNNERS, count_live  # noqa: E402
from cnnstat.torch_backend.build.net import SpecNet  # noqa: E402

MODULES = {"torchinfo": "torchinfo", "thop": "thop", "ptflops": "ptflops",
           "ptflops-aten": "ptflops", "torchscan": "torchscan", "calflops": "calflops",
           "deepspeed": "deepspeed"}


class BasicConv2d(nn.Module):
    """torchvision's GoogLeNet / Inception-v3 BasicConv2d: conv, batch norm, ``F.relu``."""

    def __init__(self, cin: int, cout: int, **kw: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Basic(nn.Module):
    """Two BasicConv2d, then torch.flatten of a functional global pool (MobileNetV2's tail)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = BasicConv2d(3, 8, kernel_size=3, padding=1)
        self.b = BasicConv2d(8, 16, kernel_size=3, stride=2)
        self.fc = nn.Linear(16, 5)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(self.b(self.a(x)), (1, 1))
        return self.fc(torch.flatten(x, 1))


BASIC = """name: basic
input: [3, 16, 16]
blocks:
  basic:
    args: {out: required, kernel: 1, stride: 1, padding: 0}
    layers:
      - conv: {out: $out, kernel: $kernel, stride: $stride, padding: $padding, bias: false, name: conv}
      - bn: {name: bn}
      - relu: {name: relu, functional: true}
layers:
  - basic: {out: 8, kernel: 3, padding: 1, name: a}
  - basic: {out: 16, kernel: 3, stride: 2, name: b}
  - global_avgpool: {functional: true}
  - flatten: {functional: true}
  - linear: {out: 5, name: fc}
"""


class DenseTail(nn.Module):
    """DenseNet's end: features (conv, norm5), then ``F.relu``, ``F.adaptive_avg_pool2d``,
    ``torch.flatten`` and the classifier (DenseNet.forward)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(12), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, 2, 1), nn.Conv2d(12, 24, 1, bias=False),
                                      nn.BatchNorm2d(24))
        self.classifier = nn.Linear(24, 10)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.classifier(torch.flatten(out, 1))


DENSE = """name: dense-tail
input: [3, 16, 16]
layers:
  - conv: {out: 12, kernel: 3, padding: 1, bias: false}
  - bn
  - relu
  - maxpool: {kernel: 3, stride: 2, padding: 1}
  - conv: {out: 24, kernel: 1, bias: false}
  - bn: {name: norm5}
  - relu: {name: relu5, functional: true}
  - global_avgpool: {name: avgpool, functional: true}
  - flatten: {functional: true}
  - linear: {out: 10, name: classifier}
"""


class InceptionMini(nn.Module):
    """Inception-v3's InceptionA and InceptionB pools: ``F.avg_pool2d(x, 3, 1, 1)`` beside a
    1x1 BasicConv2d, then a reduction with ``F.max_pool2d(x, 3, 2)``; the stem's pool a module."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = BasicConv2d(3, 8, kernel_size=3)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.branch1x1 = BasicConv2d(8, 8, kernel_size=1)
        self.branch_pool = BasicConv2d(8, 4, kernel_size=1)
        self.branch3x3 = BasicConv2d(12, 16, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool1(self.stem(x))
        pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        x = torch.cat([self.branch1x1(x), pool], 1)
        return torch.cat([self.branch3x3(x), F.max_pool2d(x, kernel_size=3, stride=2)], 1)


INCEPTION = """name: inception-mini
input: [3, 31, 31]
blocks:
  basic:
    args: {out: required, kernel: 1, stride: 1}
    layers:
      - conv: {out: $out, kernel: $kernel, stride: $stride, bias: false, name: conv}
      - bn: {name: bn}
      - relu: {name: relu, functional: true}
layers:
  - basic: {out: 8, kernel: 3, name: stem}
  - maxpool: {kernel: 3, stride: 2, name: maxpool1}
  - concat:
      branches:
        - [basic: {out: 8, name: branch1x1}]
        - - avgpool: {kernel: 3, stride: 1, padding: 1, name: pool, functional: true}
          - basic: {out: 4, name: branch_pool}
  - concat:
      branches:
        - [basic: {out: 16, kernel: 3, stride: 2, name: branch3x3}]
        - [maxpool: {kernel: 3, stride: 2, name: pool, functional: true}]
"""

class SsdMini(nn.Module):
    """torchvision's SSDFeatureExtractorVGG in small: the L2 norm's scale a bare parameter of a
    module with children, applied in its own forward (``scale_weight.view(1, -1, 1, 1) *
    F.normalize(x)``): torchinfo, which sums leaf modules, does not count it."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.scale_weight = nn.Parameter(torch.full((8,), 20.0))
        self.extra = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        return self.extra(self.scale_weight.view(1, -1, 1, 1) * F.normalize(x))


SSD = """name: ssd-mini
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - l2norm: {functional: true}
  - maxpool: {kernel: 2}
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
"""


class MaxPoolHead(nn.Module):
    """Adaptive max pooling as a module (``nn.AdaptiveMaxPool2d((5, 3))``: uneven windows on a
    9 x 9 map) and as a call (``F.adaptive_max_pool2d(x, 1)``, a global max) before the
    classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.AdaptiveMaxPool2d((5, 3))
        self.fc = nn.Linear(8, 4)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_max_pool2d(self.pool(self.conv(x)), 1)
        return self.fc(torch.flatten(x, 1))


MAXPOOL_HEAD = """name: maxpool-head
input: [3, 9, 9]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, name: conv}
  - adaptive_maxpool: {size: [5, 3], name: pool}
  - adaptive_maxpool: {size: 1, functional: true}
  - flatten: {functional: true}
  - linear: {out: 4, name: fc}
"""

CASES = {"basic": (Basic, BASIC), "dense-tail": (DenseTail, DENSE),
         "inception-mini": (InceptionMini, INCEPTION), "ssd-mini": (SsdMini, SSD),
         "maxpool-head": (MaxPoolHead, MAXPOOL_HEAD)}


@pytest.mark.parametrize("tool", sorted(RUNNERS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_tool_on_a_module_with_functionals_equals_the_preset(
        tool: str, case: str, tmp_path: Path) -> None:
    pytest.importorskip(MODULES[tool])
    module_cls, text = CASES[case]
    report = cnnstat.analyze(write(tmp_path, text))
    expected = ALL_PRESETS[tool].total(report)
    model = module_cls().eval()
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    shape = report.rows[0].input_shape
    assert count_live(tool, model, [], [shape], 1).total == expected
    with torch.device("meta"):
        built = SpecNet(report)
    assert count_live(tool, built, [], built.input_shapes, 1).total == expected


def test_the_built_functional_layer_is_a_call_without_parameters(tmp_path: Path) -> None:
    report = cnnstat.analyze(write(tmp_path, DENSE))
    net = SpecNet(report)
    relu5 = net.get_submodule("relu5")
    assert list(relu5.parameters()) == [] and not isinstance(relu5, nn.ReLU)
    assert "F.relu" in repr(relu5)
    x = torch.randn(1, 24, 4, 4)
    assert torch.equal(relu5(x), F.relu(x))


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_imported_module_writes_its_calls_functional(case: str, tmp_path: Path) -> None:
    """``cnnstat import``: F.relu, F.max_pool2d, F.adaptive_avg_pool2d ... become layers with
    ``functional: true`` (and only those), so the imported spec's presets equal every tool's
    count of the module itself."""
    from cnnstat.torch_backend.importer import run as importer
    from cnnstat.torch_backend.importer import tracing

    module_cls, text = CASES[case]
    spec = cnnstat.analyze(write(tmp_path, text))
    shape = spec.rows[0].input_shape
    described = tracing.describe(module_cls(), (shape,))
    label = f"test_functional_live.py:{case}"
    written = importer.write(described["network"], label, (shape,), "spec.schema.json")
    written, _, report = importer.proven(written, label, described["network"])
    assert "functional: false" not in written
    assert [r.kind for r in report.rows if r.functional] == \
        [r.kind for r in spec.rows if r.functional]
    for tool in sorted(RUNNERS):
        pytest.importorskip(MODULES[tool])
        counted = count_live(tool, module_cls().eval(), [], [shape], 1).total
        assert counted == ALL_PRESETS[tool].total(report), tool


@pytest.mark.parametrize("tool", ["ptflops", "torchscan"])
def test_verify_count_tool_with_a_training_only_head(tool: str, tmp_path: Path,
                                                     cli: Callable[..., Any]) -> None:
    """``verify --count TOOL`` on a spec with a training-only side head (Inception-v3's
    AuxLogits, its pool a functional call): the tool's figures are checked at inference, where
    the head does not run (this was an internal error, KeyError)."""
    pytest.importorskip(MODULES[tool])
    spec = write(tmp_path, "name: aux\ninput: [3, 16, 16]\nlayers:\n"
                           "  - conv: {out: 4, kernel: 3, padding: 1}\n"
                           "  - relu: {functional: true}\n"
                           "  - side:\n      training: true\n      body:\n"
                           "        - avgpool: {kernel: 2, functional: true}\n"
                           "        - global_avgpool\n        - flatten\n"
                           "        - linear: {out: 2}\n"
                           "  - global_avgpool: {functional: true}\n  - flatten\n"
                           "  - linear: {out: 3}\n")
    result = cli("verify", spec, "--count", tool, "--format", "json")
    assert result.exit_code == 0, result.stderr
    totals = json.loads(result.stdout)["results"][0]["totals"]
    expected = ALL_PRESETS[tool].total(cnnstat.analyze(spec))
    assert totals[tool] == {"analytic": expected, "live": expected, "ok": True}
