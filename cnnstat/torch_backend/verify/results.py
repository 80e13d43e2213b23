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
class Operations:
    """The spec's operations against the module's, per category (``counts``: category, the
    spec's count, the module's, every category either runs, in the order the module first ran
    them).  ``first``: the first category that differs (None: they agree); ``module_path``:
    where the module ran an operation of it that no paired spec layer accounts for, or
    ``spec_row``: the spec layer whose operation the module does not run."""

    counts: tuple[tuple[str, int, int], ...] = ()
    first: str | None = None
    module_path: str | None = None
    spec_row: str | None = None

    @property
    def ok(self) -> bool:
        return self.first is None

    def difference(self) -> str:
        """The first difference in words ('' when none)."""
        if self.first is None:
            return ""
        spec, module = next((a, b) for c, a, b in self.counts if c == self.first)
        if self.module_path:
            where = f"; first at module path '{self.module_path}'"
        elif self.module_path is not None:
            where = "; first in the top-level forward()"
        elif self.spec_row is not None:
            where = f"; spec layer '{self.spec_row}' has none in the module"
        else:
            where = ""
        return (f"{self.first} operations: the spec {spec:,}, the module {module:,}{where}")

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "first": self.first, "module_path": self.module_path,
                "spec_layer": self.spec_row,
                "counts": {c: {"spec": a, "module": b} for c, a, b in self.counts}}


@dataclass(frozen=True)
class ConformanceResult:
    """A spec against a user's module, leaf by leaf in execution order (stops at the first
    divergence) and operation by operation (``operations``).  ``skipped_spec``: parameter-free
    spec layers with no module of their own (done functionally: F.relu, torch.flatten, ``+``);
    ``skipped_impl``: parameter-free modules the walk passed over; the operations of both are
    in the census all the same."""

    spec: str
    module: str
    input_shape: tuple[int, ...]
    pairs: tuple[Pair, ...]
    skipped_spec: tuple[str, ...]
    skipped_impl: tuple[str, ...]
    totals: dict[str, Check]
    operations: Operations = field(default_factory=Operations)

    @property
    def divergence(self) -> Pair | None:
        return next((p for p in self.pairs if not p.ok), None)

    @property
    def ok(self) -> bool:
        return self.divergence is None and all(c.ok for c in self.totals.values()) and \
            self.operations.ok
