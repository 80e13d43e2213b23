"""Measuring a user's own module for ``verify --module``: its leaf modules as their forward hooks
fire (output shape, parameters, FlopCounterMode FLOPs), and the steps that reach the user's code
(import, factory).  The CLI runs these steps in a child process
(:mod:`cnnstat.torch_backend.isolation.child`); the judging is
:mod:`cnnstat.torch_backend.verify.matching`, in cnnstat's own process.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnstat.core.report import Report
from cnnstat.torch_backend.verify.matching import Call, Measured, match
from cnnstat.torch_backend.common import module_types
from cnnstat.torch_backend.common.census import Census, module_paths
from cnnstat.torch_backend.common.operations import Ops
from cnnstat.torch_backend.common.measure import (
    eval_mode,
    hooked,
    numel,
    out_shape,
    sample_input,
)
from cnnstat.torch_backend.build.attention import SelfAttention2d
from cnnstat.torch_backend.build.modules import (
    RBF,
    FrozenBatchNorm2d,
    L2Norm,
    LayerNorm2d,
    LayerScale,
    Maxout,
    Mean,
    PadChannels,
    Permute,
    SparseConv2d,
    StochasticDepth,
    Subsample,
)
from cnnstat.torch_backend.verify.own_use import OwnUse, placed
from cnnstat.torch_backend.verify.results import ConformanceResult, Side

# The spec kinds a module type implements (a subclass only where it computes as its base).
KINDS: dict[type, tuple[str, ...]] = {
    nn.Conv2d: ("conv",), SparseConv2d: ("conv",), nn.Linear: ("linear",),
    Maxout: ("maxout",), nn.MaxPool2d: ("maxpool",), nn.AvgPool2d: ("avgpool",),
    nn.AdaptiveAvgPool2d: ("adaptive_avgpool", "global_avgpool"),
    nn.AdaptiveMaxPool2d: ("adaptive_maxpool",), Subsample: ("subsample",),
    nn.Flatten: ("flatten",), nn.BatchNorm1d: ("bn",), nn.BatchNorm2d: ("bn",),
    FrozenBatchNorm2d: ("bn",),
    nn.LocalResponseNorm: ("lrn",), nn.Dropout: ("dropout",), nn.Dropout2d: ("dropout",),
    nn.Softmax: ("softmax",), nn.Identity: ("identity",), nn.ChannelShuffle: ("channel_shuffle",),
    PadChannels: ("pad_channels",), RBF: ("rbf",), nn.ReLU: ("relu",), nn.ReLU6: ("relu6",),
    nn.LeakyReLU: ("leaky_relu",), nn.PReLU: ("prelu",), nn.ELU: ("elu",),
    nn.Sigmoid: ("sigmoid",), nn.Tanh: ("tanh",), nn.SiLU: ("silu", "swish"),
    nn.Mish: ("mish",), nn.GELU: ("gelu",), nn.Hardswish: ("hardswish",),
    nn.Hardsigmoid: ("hardsigmoid",), nn.LayerNorm: ("layernorm",), LayerNorm2d: ("layernorm",),
    nn.GroupNorm: ("groupnorm",), nn.InstanceNorm2d: ("instancenorm",),
    LayerScale: ("layer_scale",), StochasticDepth: ("drop_path",), Permute: ("permute",),
    Mean: ("mean",), SelfAttention2d: ("attention",), L2Norm: ("l2norm",),
}
# Modules with children that are one spec layer all the same (cnnstat's own composites).
ATOMIC = (Maxout, SparseConv2d, SelfAttention2d)


def kinds_of(module: nn.Module) -> tuple[str, ...]:
    """The kinds of ``module``'s type, or of its nearest base in :data:`KINDS` where it computes
    as that base does (:func:`~cnnstat.torch_backend.common.module_types.entry`); () for a
    type cnnstat does not know, matched by its parameters."""
    return module_types.entry(KINDS, type(module)) or ()


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules without children, and cnnstat's composite layers, not descending into them; and
    every other module that holds parameters of its own besides its children (torchvision's
    ConvNeXt block holds its layer scale as a bare ``nn.Parameter``): measured as the work it
    does itself, after its children (see :func:`_own`)."""
    out: list[tuple[str, nn.Module]] = []

    def visit(prefix: str, mod: nn.Module) -> None:
        children = list(mod.named_children())
        if not children or isinstance(mod, ATOMIC):
            out.append((prefix, mod))
            return
        for name, child in children:
            visit(f"{prefix}.{name}" if prefix else name, child)
        if _holds_own(mod):
            out.append((prefix, mod))

    visit("", model)
    return out


def _own_parameters(mod: nn.Module) -> list[torch.Tensor]:
    """The parameters registered on ``mod`` itself (what ``parameters(recurse=False)`` gives,
    read from the registry itself)."""
    return [p for p in mod._parameters.values() if p is not None]


def _holds_own(mod: nn.Module) -> bool:
    """A container that also holds parameters directly (not through a child)."""
    return (not isinstance(mod, ATOMIC) and any(True for _ in mod.children())
            and bool(_own_parameters(mod)))


def _own(counts: dict[str, Any], key: str, mod: nn.Module) -> tuple[int, int]:
    """A holder's own parameters and FlopCounterMode FLOPs: its count minus its children's."""
    def total(k: str) -> int:
        return int(sum(counts.get(k, {}).values()))

    def called(k: str, m: nn.Module) -> int:
        """A child's count; a container never called itself (an nn.ModuleList whose blocks
        forward() calls one by one) has none: its children's."""
        if k in counts:
            return total(k)
        return sum(called(f"{k}.{name}", c) for name, c in m.named_children())

    children = sum(called(f"{key}.{name}", c) for name, c in mod.named_children())
    return numel(iter(_own_parameters(mod))), total(key) - children


def _calls(model: nn.Module, x: torch.Tensor) -> tuple[list[Call], Any, int, Ops]:
    """Run ``model`` once under hooks, FlopCounterMode and the census: its leaf-module calls,
    its output, FlopCounterMode's total and every aten operation of the data with the module
    path where it ran (:class:`~cnnstat.torch_backend.common.census.Census`)."""
    fired: list[tuple[str, nn.Module, Any]] = []
    counter = FlopCounterMode(display=False)
    leaves = leaf_modules(model)
    use = OwnUse({id(p): name for name, mod in leaves if _holds_own(mod)
                  for p in _own_parameters(mod)}, fired)
    with eval_mode(model), torch.no_grad(), counter, use, module_paths(model) as where, \
            Census([x], where) as census, \
            hooked(leaves, lambda n, m, out: fired.append((n, m, out_shape(out)))):
        out = model(x)
    fired = placed(fired, use)
    counts = counter.get_flop_counts()
    root = type(model).__name__
    seen: set[int] = set()
    calls = []
    for name, mod, shape in fired:
        first = id(mod) not in seen  # a module called twice holds its parameters once
        seen.add(id(mod))
        kinds = kinds_of(mod)
        key = f"{root}.{name}" if name else root
        if _holds_own(mod):
            params, flops = _own(counts, key, mod) if first else (0, 0)
            kinds = ()
        else:
            params = numel(mod.parameters()) if first else 0
            flops = int(sum(counts.get(key, {}).values())) if first else 0
        side = Side(name, f"{type(mod).__name__} ({'/'.join(kinds) or '?'})", shape, params,
                    flops)
        calls.append(Call(side, kinds))
    return calls, out, int(counter.get_total_flops()), census.ops()


def warm_up() -> None:
    """Measure a tiny module once, so that what torch imports and rewraps the first time it
    counts FLOPs (FlopCounterMode loads ``torch._dynamo``, which wraps ``torch.manual_seed`` among
    others) is done before the user's code runs and before the guard's snapshot."""
    tiny = nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1), nn.ReLU(), nn.MaxPool2d(1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1, 1))
    _calls(tiny, torch.zeros(1, 1, 1, 1))


def measure(report: Report, model: nn.Module) -> Measured:
    """One forward pass of ``model`` (left unmodified) at the report's input and batch."""
    x = sample_input(model, report.input_shape, report.batch)  # a one-input spec
    calls, out, total_flops, ops = _calls(model, x)
    trunk = out[0] if isinstance(out, (tuple, list)) else out
    return Measured(tuple(calls), out_shape(trunk), numel(model.parameters()), total_flops,
                    tuple(ops))


def conform(report: Report, model: nn.Module, label: str) -> ConformanceResult:
    """Compare ``report`` with ``model`` (left unmodified) leaf by leaf, in this process: for a
    module you trust; the CLI measures the user's module in a child process."""
    return match(report, measure(report, model), label)
