"""The rule registry and what a rule returns.

A rule takes one :class:`~cnnstat.core.ir.Layer` and its per-image input shape and returns a
:class:`Cost`: the output shape and the exact counts.  One rule per layer kind, registered with
:func:`rule`; there is no fallback, so a kind without a rule cannot exist (nothing is ever
silently counted as zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from cnnstat.core.geometry import Window
from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape, fmt_shape
from cnnstat.core.resample import AxisMap
from cnnstat.errors import DiagnosticSink, spec_error

RuleFn = Callable[[Layer, Shape, DiagnosticSink], "Cost"]

RULES: dict[str, RuleFn] = {}


@dataclass(frozen=True)
class Cost:
    """Exact per-image figures of one layer.

    ``macs``: multiply-accumulates of conv/linear weights (bias excluded).  ``ops``: element-wise
    operations by category (bias adds, activations, normalisation, pooling, merges), never mixed
    into ``macs``.  ``windows``: the spatial window per axis (H, W) for receptive fields; ``None``
    for a point-wise layer.  ``maps``: per axis, which input units each output unit reads, for the
    layers that are not sliding windows (transposed convs, resampling, padding, cropping).
    ``global_field``: every output sees the whole input.  ``products``: multiply-accumulates of
    activation-by-activation matrix products (attention's Q.K^T and A.V), by name: not weight
    MACs, so never in ``macs``.  ``scratch``: elements of the intermediate tensors the operation
    holds while it runs (attention's Q, K, V and its heads x N x N scores), for memory.
    """

    output: Shape
    description: str
    weights: int = 0
    bias: int = 0
    buffers: int = 0
    macs: int = 0
    ops: dict[str, int] = field(default_factory=dict)
    windows: tuple[Window, Window] | None = None
    global_field: bool = False
    maps: tuple[AxisMap, AxisMap] | None = None
    products: dict[str, int] = field(default_factory=dict)
    scratch: int = 0


def rule(*kinds: str) -> Callable[[RuleFn], RuleFn]:
    """Register ``fn`` as the rule of ``kinds``."""

    def register(fn: RuleFn) -> RuleFn:
        for kind in kinds:
            if kind in RULES:
                raise RuntimeError(f"two rules for layer kind {kind!r}")
            RULES[kind] = fn
        return fn

    return register


def numel(shape: Shape) -> int:
    return math.prod(shape)


def spatial(layer: Layer, x: Shape) -> tuple[int, int, int]:
    """The (C, H, W) of ``x``; a located error if the input is flat."""
    if len(x) != 3:
        raise spec_error("E403", f"{layer.kind} '{layer.name}' needs a C x H x W input, got "
                         f"{fmt_shape(x)}", layer.path, layer=layer.name,
                         hint="spatial layers must come before 'flatten'")
    return x[0], x[1], x[2]


def fmt_pair(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def fmt_scalar_pair(pair: tuple[int, int]) -> str:
    """'2' for (2, 2), '2x1' otherwise."""
    return str(pair[0]) if pair[0] == pair[1] else fmt_pair(pair)


def positive(layer: Layer, arg: str, value: int, minimum: int = 1) -> None:
    """A located error unless ``value >= minimum``."""
    if value < minimum:
        raise spec_error("E406", f"{layer.kind} '{layer.name}': {arg} must be at least {minimum}, "
                         f"got {value}", layer.arg_path(arg), layer=layer.name)


def positive_pair(layer: Layer, arg: str, minimum: int = 1) -> tuple[int, int]:
    pair: tuple[int, int] = layer.args[arg]
    for v in pair:
        positive(layer, arg, v, minimum)
    return pair
