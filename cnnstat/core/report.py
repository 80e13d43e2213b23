"""The analytic report: one :class:`Row` per operation (layers and merges), exact integers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from cnnstat.core.geometry import Window
from cnnstat.core.ir import Seq
from cnnstat.core.resample import AxisMap
from cnnstat.errors import Diagnostic, SpecPath

Shape = tuple[int, ...]


def fmt_shape(shape: Shape) -> str:
    """'3x224x224': the one way a shape is written, in messages and tables."""
    return "x".join(str(d) for d in shape)


@dataclass(frozen=True)
class Row:
    """Per-image figures of one operation, in execution order."""

    name: str
    kind: str
    description: str
    input_shape: Shape
    output_shape: Shape
    weights: int = 0
    bias: int = 0
    buffers: int = 0
    macs: int = 0
    ops: dict[str, int] = field(default_factory=dict)
    path: SpecPath = ()
    windows: tuple[Window, Window] | None = None
    global_field: bool = False
    reads: tuple[str, ...] = ()  # the tensors it reads by name (``from``); () = its predecessor
    training: bool = False  # in a training-only part (runs in training mode only)
    maps: tuple[AxisMap, AxisMap] | None = None  # how it reads, per axis, when not a window
    # MACs of activation-by-activation matrix products (attention's qk, av), never in ``macs``
    products: dict[str, int] = field(default_factory=dict)
    scratch: int = 0  # elements of intermediate tensors held while it runs (memory)
    functional: bool = False  # written as a functional call (``functional: true``), not a module

    @property
    def params(self) -> int:
        return self.weights + self.bias

    @property
    def flops(self) -> int:
        """FLOPs = 2 x MACs (PyTorch FlopCounterMode's convention)."""
        return 2 * self.macs

    @property
    def activations(self) -> int:
        """Elements of this operation's output, per image."""
        return math.prod(self.output_shape)

    @property
    def elementwise(self) -> int:
        return sum(self.ops.values())

    @property
    def product_macs(self) -> int:
        """MACs of activation-by-activation matrix products (not weight MACs)."""
        return sum(self.products.values())


@dataclass(frozen=True)
class Totals:
    params: int
    weights: int
    bias: int
    buffers: int
    macs: int
    flops: int
    elementwise: int
    activations: int
    training_params: int = 0  # parameters of training-only parts (included in params)
    training_macs: int = 0  # MACs of training-only parts (not in macs: computed in training only)


@dataclass(frozen=True)
class Brief:
    """What a report says in one line: its identity, totals and diagnostics (``cnnstat list``
    and the diagnostics printed before any table need no more)."""

    name: str
    title: str
    input_shape: Shape
    batch: int
    totals: Totals
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Report:
    """Everything the analytic engine knows about one spec at one input and batch size."""

    name: str
    title: str
    source: str
    input_shape: Shape
    batch: int
    rows: tuple[Row, ...]
    graph: Seq
    diagnostics: tuple[Diagnostic, ...] = ()
    inputs: tuple[tuple[str, Shape], ...] = ()  # (name, shape) of each input, in order
    outputs: tuple[tuple[str, Shape], ...] = ()  # (name, shape) of each named output

    @property
    def output_shape(self) -> Shape:
        if self.outputs:
            return self.outputs[0][1]
        return self.rows[-1].output_shape if self.rows else self.input_shape

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.inputs) or ("input",)

    @property
    def layers(self) -> tuple[Row, ...]:
        """The rows, one per operation (layers and merges), in execution order."""
        return self.rows

    @cached_property
    def totals(self) -> Totals:
        """Sums over rows; MACs, FLOPs, element-wise ops and activations are for the batch and
        for inference: training-only rows count in the parameters and apart, in
        ``training_params`` and ``training_macs``."""
        b = self.batch
        # one pass (a sweep asks for the totals of every configuration); FLOPs = 2 x MACs
        weights = bias = buffers = macs = elementwise = activations = 0
        training_params = training_macs = 0
        for r in self.rows:
            weights += r.weights
            bias += r.bias
            buffers += r.buffers
            if r.training:
                training_params += r.weights + r.bias
                training_macs += r.macs
            else:
                macs += r.macs
                elementwise += sum(r.ops.values())
                activations += math.prod(r.output_shape)
        return Totals(
            params=weights + bias,
            weights=weights,
            bias=bias,
            buffers=buffers,
            macs=b * macs,
            flops=b * 2 * macs,
            elementwise=b * elementwise,
            activations=b * activations,
            training_params=training_params,
            training_macs=b * training_macs,
        )

    @property
    def brief(self) -> Brief:
        return Brief(self.name, self.title, self.input_shape, self.batch, self.totals,
                     self.diagnostics)

    def products_by_kind(self) -> dict[str, int]:
        """MACs of activation-by-activation products (attention's qk, av), for the batch."""
        return self._by_kind("products")

    def ops_by_kind(self) -> dict[str, int]:
        """Element-wise ops by kind (bias, relu, maxpool, ...), for the batch."""
        return self._by_kind("ops")

    def _by_kind(self, field: str) -> dict[str, int]:
        """The inference rows' ``field`` (a kind -> count mapping) summed, for the batch."""
        out: dict[str, int] = {}
        for row in (r for r in self.rows if not r.training):
            for kind, n in getattr(row, field).items():
                out[kind] = out.get(kind, 0) + n * self.batch
        return out
