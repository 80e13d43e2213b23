"""Conformance of a user's own module to a spec: leaf modules as their forward hooks fire, against
the spec's leaf layers in execution order, compared by kind, output shape, parameters and
FlopCounterMode FLOPs; the first divergence ends the walk.

An implementation does some spec layers functionally (``F.relu``, ``torch.flatten``, ``x + y``):
they have no module, so a parameter-free spec layer with no counterpart is skipped, as is a
parameter-free module the spec does not list (``nn.Identity``).  A layer with parameters is never
skipped: it must match one-to-one.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnstat.core.ir import Layer
from cnnstat.core.presets import TORCH
from cnnstat.core.report import Report, Row
from cnnstat.errors import UsageError
from cnnstat.torch_backend.measure import (
    eval_mode,
    hooked,
    numel,
    out_shape,
    sample_input,
)
from cnnstat.torch_backend.modules import (
    RBF,
    Maxout,
    PadChannels,
    SparseConv2d,
    Subsample,
)
from cnnstat.torch_backend.net import walk
from cnnstat.torch_backend.results import Check, ConformanceResult, Pair, Side

# The spec kinds a module type implements (looked up along the type's MRO).
KINDS: dict[type, tuple[str, ...]] = {
    nn.Conv2d: ("conv",), SparseConv2d: ("conv",), nn.Linear: ("linear",),
    Maxout: ("maxout",), nn.MaxPool2d: ("maxpool",), nn.AvgPool2d: ("avgpool",),
    nn.AdaptiveAvgPool2d: ("adaptive_avgpool", "global_avgpool"), Subsample: ("subsample",),
    nn.Flatten: ("flatten",), nn.BatchNorm1d: ("bn",), nn.BatchNorm2d: ("bn",),
    nn.LocalResponseNorm: ("lrn",), nn.Dropout: ("dropout",), nn.Dropout2d: ("dropout",),
    nn.Softmax: ("softmax",), nn.Identity: ("identity",), nn.ChannelShuffle: ("channel_shuffle",),
    PadChannels: ("pad_channels",), RBF: ("rbf",), nn.ReLU: ("relu",), nn.ReLU6: ("relu6",),
    nn.LeakyReLU: ("leaky_relu",), nn.PReLU: ("prelu",), nn.ELU: ("elu",),
    nn.Sigmoid: ("sigmoid",), nn.Tanh: ("tanh",), nn.SiLU: ("silu", "swish"),
    nn.Mish: ("mish",), nn.GELU: ("gelu",), nn.Hardswish: ("hardswish",),
    nn.Hardsigmoid: ("hardsigmoid",),
}
# Modules with children that are one spec layer all the same (cnnstat's own composites).
ATOMIC = (Maxout, SparseConv2d)


def kinds_of(module: nn.Module) -> tuple[str, ...]:
    for cls in type(module).__mro__:
        if cls in KINDS:
            return KINDS[cls]
    return ()


def load_factory(target: str) -> nn.Module:
    """``package.module:factory`` or ``path/to/file.py:factory`` -> the module it returns."""
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise UsageError(f"--module {target!r}: expected MODULE:FACTORY",
                         "e.g. --module mypkg.nets:make_vgg or --module nets.py:make_vgg")
    owner = _import(where)
    factory = getattr(owner, attr, None)
    if not callable(factory):
        raise UsageError(f"--module {target!r}: {where} has no callable '{attr}'")
    try:
        module = factory()
    except Exception as exc:  # noqa: BLE001 - the user's code: report it, do not crash
        raise UsageError(f"--module {target!r}: {attr}() raised {type(exc).__name__}: {exc}") \
            from None
    if not isinstance(module, nn.Module):
        raise UsageError(f"--module {target!r}: {attr}() returned {type(module).__name__}, "
                         "not a torch.nn.Module")
    return module


def _import(where: str) -> Any:
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise UsageError(f"--module: no such file: {where}")
        spec = importlib.util.spec_from_file_location(f"_cnnstat_impl_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise UsageError(f"--module: cannot import {where}")
        module = importlib.util.module_from_spec(spec)
        with _cwd_on_path():
            _run_user(lambda: spec.loader.exec_module(module), where)
        return module
    with _cwd_on_path():
        return _run_user(lambda: importlib.import_module(where), where)


def _run_user(fn: Any, where: str) -> Any:
    try:
        return fn()
    except ImportError as exc:
        raise UsageError(f"--module: cannot import {where}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the user's code: report it, do not crash
        raise UsageError(f"--module: importing {where} raised {type(exc).__name__}: {exc}") \
            from None


@contextmanager
def _cwd_on_path() -> Iterator[None]:
    """Import ``pkg.mod`` from the working directory, as ``python -m`` would."""
    cwd = str(Path.cwd())
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added:
            sys.path.remove(cwd)


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules without children, and cnnstat's composite layers, not descending into them."""
    out: list[tuple[str, nn.Module]] = []

    def visit(prefix: str, mod: nn.Module) -> None:
        children = list(mod.named_children())
        if not children or isinstance(mod, ATOMIC):
            out.append((prefix, mod))
            return
        for name, child in children:
            visit(f"{prefix}.{name}" if prefix else name, child)

    visit("", model)
    return out


@dataclass(frozen=True)
class Call:
    """One leaf-module call: what it showed and the spec kinds its module type implements."""

    side: Side
    kinds: tuple[str, ...]


def _calls(model: nn.Module, x: torch.Tensor) -> tuple[list[Call], Any, int]:
    """Run ``model`` once under hooks and FlopCounterMode: its leaf-module calls, its output and
    FlopCounterMode's total."""
    from torch.utils.flop_counter import FlopCounterMode

    fired: list[tuple[str, nn.Module, Any]] = []
    counter = FlopCounterMode(display=False)
    with eval_mode(model), torch.no_grad(), counter, \
            hooked(leaf_modules(model), lambda n, m, out: fired.append((n, m, out_shape(out)))):
        out = model(x)
    counts = counter.get_flop_counts()
    root = type(model).__name__
    seen: set[int] = set()
    calls = []
    for name, mod, shape in fired:
        first = id(mod) not in seen  # a module called twice holds its parameters once
        seen.add(id(mod))
        kinds = kinds_of(mod)
        flops = int(sum(counts.get(f"{root}.{name}", {}).values())) if first else 0
        side = Side(name, f"{type(mod).__name__} ({'/'.join(kinds) or '?'})", shape,
                    numel(mod.parameters()) if first else 0, flops)
        calls.append(Call(side, kinds))
    return calls, out, int(counter.get_total_flops())


def conform(report: Report, model: nn.Module, label: str) -> ConformanceResult:
    """Compare ``report`` with ``model`` (left unmodified) leaf by leaf."""
    rows = {r.name: r for r in report.rows}
    spec = [rows[x.name] for x in walk(report.graph) if isinstance(x, Layer)]
    x = sample_input(model, report.input_shape, report.batch)  # a one-input spec
    calls, out, total_flops = _calls(model, x)
    matcher = _Matcher(spec, calls, report.batch)
    matcher.run()
    trunk = out[0] if isinstance(out, (tuple, list)) else out
    t = report.totals
    totals = {"shape": Check(report.output_shape, out_shape(trunk)),
              "params": Check(t.params, numel(model.parameters())),
              "torch": Check(TORCH.total(report), total_flops)}
    return ConformanceResult(report.name, label, report.input_shape, tuple(matcher.pairs),
                             tuple(matcher.skipped_spec), tuple(matcher.skipped_impl), totals)


class _Matcher:
    """Greedy alignment of spec leaves with module calls (see the module docstring)."""

    def __init__(self, spec: list[Row], calls: list[Call], batch: int) -> None:
        self.spec, self.calls, self.batch = spec, calls, batch
        self.pairs: list[Pair] = []
        self.skipped_spec: list[str] = []
        self.skipped_impl: list[str] = []

    def run(self) -> None:
        i = j = 0
        while i < len(self.spec) and j < len(self.calls):
            row, call = self.spec[i], self.calls[j]
            if self._same_kind(row, call):
                pair = self._compare(row, call)
                self.pairs.append(pair)
                if not pair.ok:
                    return
                i, j = i + 1, j + 1
            elif row.params == 0:
                self.skipped_spec.append(row.name)
                i += 1
            elif call.side.params == 0:
                self.skipped_impl.append(call.side.name)
                j += 1
            else:
                self.pairs.append(Pair(self._spec_side(row), call.side,
                                       (f"kind: spec {row.kind}, module {call.side.kind}",)))
                return
        self._leftovers(i, j)

    @staticmethod
    def _same_kind(row: Row, call: Call) -> bool:
        if not call.kinds:  # a module type cnnstat does not know: match it by its parameters
            return row.params > 0 and call.side.params > 0
        return row.kind in call.kinds

    def _compare(self, row: Row, call: Call) -> Pair:
        spec = self._spec_side(row)
        problems = [label for label, a, b in (("output shape", spec.shape, call.side.shape),
                                              ("params", spec.params, call.side.params),
                                              ("FLOPs (torch)", spec.flops, call.side.flops))
                    if a != b]
        return Pair(spec, call.side, tuple(problems))

    def _spec_side(self, row: Row) -> Side:
        return Side(row.name, row.kind, row.output_shape, row.params,
                    TORCH.count(row) * self.batch)

    def _leftovers(self, i: int, j: int) -> None:
        for row in self.spec[i:]:
            if row.params:
                self.pairs.append(Pair(self._spec_side(row), None, ("no module implements it",)))
                return
            self.skipped_spec.append(row.name)
        for call in self.calls[j:]:
            if call.side.params:
                self.pairs.append(Pair(None, call.side, ("not in the spec",)))
                return
            self.skipped_impl.append(call.side.name)

