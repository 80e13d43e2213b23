"""What a live cross-check found, as plain data (no torch types), for views and JSON.

A :class:`Check` pairs one analytic figure with its live measurement; a layer agrees when all its
checks do.  ``live`` is ``None`` when the live side never produced the figure (a module that did
not run), which is a mismatch too.
"""

from __future__ import annotations

from cnnstat.core.counters import TOOLS

from dataclasses import dataclass, field
from typing import Any

# The figures verify compares, in table order.  "torch" and "fvcore" are FLOPs under the
# presets of the same names (cnnstat.core.presets), measured by FlopCounterMode and fvcore; the
# other counters' presets (cnnstat.core.counters) are measured by those tools (counters.py).
COUNTERS = ("torch", "fvcore")  # the presets verify checks by default
FIGURES = ("shape", "params", "buffers", "torch", "fvcore", *(p.name for p in TOOLS))


@dataclass(frozen=True)
class Check:
    analytic: Any
    live: Any

    @property
    def ok(self) -> bool:
        return self.live is not None and self.analytic == self.live

    def to_json(self) -> dict[str, Any]:
        return {"analytic": _plain(self.analytic), "live": _plain(self.live), "ok": self.ok}


def _plain(value: Any) -> Any:
    """Shapes as JSON lists."""
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class LayerCheck:
    name: str
    kind: str
    description: str
    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())

    def diverging(self) -> list[str]:
        return [k for k, c in self.checks.items() if not c.ok]


@dataclass(frozen=True)
class VerifyResult:
    """One spec's cross-check: per layer, in execution order, and in total."""

    spec: str
    title: str
    input_shape: tuple[int, ...]
    batch: int
    device: str
    counters: tuple[str, ...]
    layers: tuple[LayerCheck, ...]
    totals: dict[str, Check]
    environment: dict[str, str] = field(default_factory=dict)
    training_batch: int = 0  # the batch the training-only rows ran at (0: none; 2 where a
    #                          batch norm among them would see one value per channel)

    @property
    def ok(self) -> bool:
        return all(layer.ok for layer in self.layers) and all(c.ok for c in self.totals.values())

    @property
    def first_divergence(self) -> LayerCheck | None:
        return next((layer for layer in self.layers if not layer.ok), None)

    @property
    def figures(self) -> tuple[str, ...]:
        return tuple(f for f in FIGURES if f in self.totals)


@dataclass(frozen=True)
class Side:
    """One side of a conformance pair: a spec layer or an implementation's leaf module call."""

    name: str
    kind: str
    shape: tuple[int, ...] | None
    params: int
    flops: int = 0  # FLOPs under the torch preset (spec) or FlopCounterMode (module)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind,
                "shape": list(self.shape) if self.shape is not None else None,
                "params": self.params, "flops": self.flops}


@dataclass(frozen=True)
class Pair:
    """A spec layer matched with a module call (either side may be missing), and why it fails."""

    spec: Side | None
    impl: Side | None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ConformanceResult:
    """A spec against a user's module, leaf by leaf in execution order; stops at the first
    divergence.  ``skipped`` counts parameter-free spec layers the implementation does
    functionally (no module of their own: F.relu, torch.flatten, ``+``)."""

    spec: str
    module: str
    input_shape: tuple[int, ...]
    pairs: tuple[Pair, ...]
    skipped_spec: tuple[str, ...]
    skipped_impl: tuple[str, ...]
    totals: dict[str, Check]

    @property
    def divergence(self) -> Pair | None:
        return next((p for p in self.pairs if not p.ok), None)

    @property
    def ok(self) -> bool:
        return self.divergence is None and all(c.ok for c in self.totals.values())
