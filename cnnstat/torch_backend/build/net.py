"""The whole network: :class:`SpecNet` registers every leaf layer and every merge under the spec's
hierarchical name (``model.get_submodule("layer1.bottleneck1.conv2")``) and its ``forward``
interprets the resolved graph of the analytic report, so the live network is, by construction,
the graph whose numbers the report holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cnnstat import analysis
from cnnstat.core.ir import Join, Layer, Node, Parallel, Seq
from cnnstat.core.report import Report, Shape
from cnnstat.errors import UsageError
from cnnstat.spec.loader import Loaded
from cnnstat.torch_backend.build.layers import build_layer
from cnnstat.torch_backend.build.modules import Group, Merge


def merge_name(par: Parallel) -> str:
    """The name of a merge's row and module: '<parallel name>.<merge>'."""
    return f"{par.name}.{par.merge}" if par.name else par.merge


def _built(layer: Layer, input_shape: Shape, spec: str) -> nn.Module:
    """``build_layer``; a layer whose tensors PyTorch cannot even size (their bytes overflow
    64 bits: a 2^31 x 2^31 weight) is a UsageError that says so, not an internal error."""
    try:
        return build_layer(layer, input_shape)
    except RuntimeError as exc:
        if "size calculation overflowed" not in str(exc):
            raise
        raise UsageError(f"{spec}: layer '{layer.name}' is too large to build in PyTorch: the "
                         f"bytes of its tensors do not fit in 64 bits ({str(exc).strip()})",
                         "the analytic numbers need no build: cnnstat summary SPEC") from None


def walk(node: Node) -> list[Layer | Parallel | Join]:
    """Leaf layers, joins and merging parallels (side outputs do not merge), in execution
    order."""
    if isinstance(node, (Layer, Join)):
        return [node]
    if isinstance(node, Seq):
        return [x for item in node.items for x in walk(item)]
    if isinstance(node, Parallel):
        inner = [x for br in node.branches for x in walk(br.body)]
        return inner if node.merge == "side" else [*inner, node]
    return []


class SpecNet(nn.Module):
    """A spec as a live network.  ``forward`` takes one tensor per input of the spec, in the
    order written, and returns the trunk's output or, when the spec names several ``outputs``,
    those in order; side outputs (auxiliary heads) follow: ``(trunk, side1, side2, ...)`` in
    execution order.  The side heads are part of the counted network, so they are computed and
    returned, never dropped; a training-only head (``side: {training: true}``) runs, and is
    returned, in training mode only, as torchvision's auxiliary classifiers do.
    """

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.spec_name = report.name
        self.input_shape = report.input_shape
        self.input_names = report.input_names
        self.input_shapes = tuple(s for _, s in report.inputs) or (report.input_shape,)
        self.output_names = tuple(n for n, _ in report.outputs)
        self.graph = report.graph
        inputs = {row.name: row.input_shape for row in report.rows}
        for item in walk(report.graph):
            if isinstance(item, Layer):
                self._attach(item.name, _built(item, inputs[item.name], report.name))
            elif isinstance(item, Join):
                self._attach(item.name, Merge(item.merge))
            else:
                self._attach(merge_name(item), Merge(item.merge))

    def _attach(self, name: str, module: nn.Module) -> None:
        *scopes, leaf = name.split(".")
        parent: nn.Module = self
        for part in scopes:
            child = parent._modules.get(part)
            if child is None:
                child = Group()
                self._add(parent, part, child, name)
            parent = child
        self._add(parent, leaf, module, name)

    @staticmethod
    def _add(parent: nn.Module, part: str, module: nn.Module, name: str) -> None:
        if part in parent._modules:
            raise UsageError(f"cannot build '{name}': '{part}' is both a layer and a scope",
                             "rename the layer so no name is a prefix of another")
        try:
            parent.add_module(part, module)
        except (KeyError, TypeError) as exc:
            raise UsageError(f"cannot build layer '{name}': {exc}",
                             "rename the layer (names become PyTorch module attributes)") from None

    def forward(self, *xs: Tensor) -> Any:
        if len(xs) != len(self.input_names):
            raise TypeError(f"{self.spec_name} takes {len(self.input_names)} input(s) "
                            f"({', '.join(self.input_names)}), got {len(xs)}")
        sides: list[Tensor] = []
        tensors = dict(zip(self.input_names, xs))
        y = self._run(self.graph, xs[0], sides, tensors)
        outs = tuple(tensors[n] for n in self.output_names) or (y,)
        return (*outs, *sides) if len(outs) > 1 or sides else outs[0]

    def _run(self, node: Node, x: Tensor, sides: list[Tensor],
             tensors: dict[str, Tensor]) -> Tensor:
        out: Tensor
        if isinstance(node, Layer):
            src = tensors[node.inputs[0][0]] if node.inputs else x
            like = (tensors[node.like[0]],) if node.like else ()  # its size only
            out = self.get_submodule(node.name)(src, *like)
        elif isinstance(node, Join):
            out = self.get_submodule(node.name)(*(tensors[ref[0]] for ref in node.inputs))
        elif isinstance(node, Seq):
            for item in node.items:
                x = self._run(item, x, sides, tensors)
            out = x
        elif isinstance(node, Parallel):
            out = self._parallel(node, x, sides, tensors)
        else:
            raise TypeError(f"unresolved node {node!r}")  # the report's graph has none
        if node.name:
            tensors[node.name] = out
        return out

    def _parallel(self, node: Parallel, x: Tensor, sides: list[Tensor],
                  tensors: dict[str, Tensor]) -> Tensor:
        if node.training and not self.training:  # a training-only head: skipped in eval mode
            return self._run(node.branches[0].body, x, sides, tensors)
        n = len(node.branches)
        inputs = torch.split(x, x.shape[1] // n, dim=1) if node.split else (x,) * n
        outs = [self._run(br.body, xi, sides, tensors) for br, xi in zip(node.branches, inputs)]
        if node.merge == "side":
            sides.extend(outs[1:])
            return outs[0]
        merged: Tensor = self.get_submodule(merge_name(node))(*outs)
        return merged

    def extra_repr(self) -> str:
        return f"spec={self.spec_name!r}, input={'x'.join(map(str, self.input_shape))}"


def analyze(spec: Any, overrides: dict[str, object] | None = None,
            input_shape: Shape | None = None, batch: int = 1) -> Report:
    """A Report from a built-in name, a path, a loaded spec, or a Report itself."""
    if isinstance(spec, Report):
        return spec
    if isinstance(spec, (str, Path, Loaded)):
        return analysis.analyze(spec, input=input_shape, batch=batch, set=overrides)
    raise TypeError(f"expected a spec name, path, Loaded or Report, got {type(spec).__name__}")


def build(spec: Any, *, overrides: dict[str, object] | None = None,
          input_shape: Shape | None = None, device: Any = None) -> SpecNet:
    """The spec as a ``torch.nn.Module`` (on ``device``; ``"meta"`` allocates nothing)."""
    report = analyze(spec, overrides, input_shape)
    with torch.device(device or "cpu"):
        return SpecNet(report)
