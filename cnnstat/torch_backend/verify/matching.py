"""Matching a user's measured module with a spec, leaf by leaf and operation by operation: no
torch here.

What the user's module showed (:class:`Measured`: its leaf-module calls, output shape, parameters,
FlopCounterMode total and the census of every aten operation it ran on the data) is measured
where the user's code runs -- a child process, see :mod:`cnnstat.torch_backend.isolation.parent`
-- and judged here, in cnnstat's own process, where the user's code never ran and so cannot have
changed the judge.

Leaf by leaf: an implementation does some spec layers functionally (``F.relu``,
``torch.flatten``, ``x + y``): they have no module, so a parameter-free spec layer with no
counterpart is passed over in the walk, as is a parameter-free module the spec does not list.
A layer with parameters is never passed over: it must match one-to-one; the first divergence
ends the walk.  Identities (a spec ``identity``, an ``nn.Identity``) do no work and take no part
in the walk at all, so neither is paired with an unrelated other.

Operation by operation: what is passed over in the walk is not left unchecked.  The census
counts the module's operations per category (activations by kind, norms, pools, adds and
multiplies, convolutions, matmuls, ..., whether a module, a function or a tensor method ran
them), and the spec's rows must imply the same counts
(:data:`~cnnstat.torch_backend.common.operations.LOWERINGS`, the one table): a ReLU the spec
leaves out, or an ``F.relu`` in a ``forward()``, is a difference, located at the module path
where the operation ran.

The module is measured in eval mode, so the spec's training-only parts (``side: {training:
true}``: an auxiliary classifier) do not run and are left out of the walk; their parameters still
count in the totals, as the module holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collections import Counter

from cnnstat.core.ir import iter_layers
from cnnstat.core.presets import TORCH
from cnnstat.core.report import Report, Row, Shape
from cnnstat.torch_backend.common import operations
from cnnstat.torch_backend.common.operations import Ops
from cnnstat.torch_backend.verify.results import (
    Check,
    ConformanceResult,
    Operations,
    Pair,
    Side,
)


@dataclass(frozen=True)
class Call:
    """One leaf-module call: what it showed and the spec kinds its module type implements."""

    side: Side
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Measured:
    """One forward pass of the user's module: its leaf calls in execution order, the shape of its
    (trunk) output, its parameter count, FlopCounterMode's total and the census of its aten
    operations on the data ((operation, module path, count), in the order first seen)."""

    calls: tuple[Call, ...]
    output_shape: Shape | None
    params: int
    total_flops: int
    ops: Ops = ()

    def to_json(self) -> dict[str, Any]:
        return {"calls": [{**c.side.to_json(), "kinds": list(c.kinds)} for c in self.calls],
                "output_shape": _shape_json(self.output_shape), "params": self.params,
                "total_flops": self.total_flops, "ops": [list(op) for op in self.ops]}

    @classmethod
    def from_json(cls, doc: Any) -> Measured:
        """Read back :meth:`to_json` written by another process; ValueError if it is not that."""
        try:
            calls = tuple(Call(Side(_str(c["name"]), _str(c["kind"]), _shape(c["shape"]),
                                    _int(c["params"]), _int(c["flops"])),
                               tuple(_str(k) for k in c["kinds"])) for c in doc["calls"])
            ops = tuple((_str(op), _str(path), _int(n)) for op, path, n in doc["ops"])
            return cls(calls, _shape(doc["output_shape"]), _int(doc["params"]),
                       _int(doc["total_flops"]), ops)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a measurement: {exc}") from None


def _shape_json(shape: Shape | None) -> list[int] | None:
    return None if shape is None else list(shape)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError(f"not an integer: {value!r:.40}")
    return value


def _str(value: Any) -> str:
    if type(value) is not str:
        raise ValueError(f"not a string: {value!r:.40}")
    return value


def _shape(value: Any) -> Shape | None:
    return None if value is None else tuple(_int(d) for d in value)


def match(report: Report, measured: Measured, label: str) -> ConformanceResult:
    """Compare ``report`` with what the user's module showed: leaf by leaf, operation by
    operation and in total."""
    rows = {r.name: r for r in report.rows}
    spec = [rows[layer.name] for layer in iter_layers(report.graph)
            if not rows[layer.name].training  # they do not run in eval mode
            and rows[layer.name].kind != "identity"]  # they do no work: never paired
    calls = [c for c in measured.calls if c.kinds != ("identity",)]
    matcher = _Matcher(spec, calls, report.batch)
    matcher.run()
    t = report.totals
    totals = {"shape": Check(report.output_shape, measured.output_shape),
              "params": Check(t.params, measured.params),
              "torch": Check(TORCH.total(report), measured.total_flops)}
    return ConformanceResult(report.name, label, report.input_shape, tuple(matcher.pairs),
                             tuple(matcher.skipped_spec), tuple(matcher.skipped_impl), totals,
                             census(report, measured.ops, matcher.pairs,
                                    {c.side.name for c in calls}))


def census(report: Report, ops: Ops, pairs: list[Pair], leaves: set[str]) -> Operations:
    """The module's operations per category against what the spec's rows imply (an opaque row
    runs what the module paired with it runs), and where the first difference is: the module
    path of an operation no paired spec row accounts for (a leaf module the walk passed over
    first: ``leaves``), or the spec row whose operation the module does not run."""
    paired = {p.spec.name: p.impl.name for p in pairs if p.spec and p.impl}
    expected = operations.expected(report)
    for row, forms in expected.rows:
        if forms is None and row.name in paired:
            expected = expected.plus(operations.tally(
                op for op in ops if _under(op[1], paired[row.name])))
    measured = operations.tally(ops)
    spec = operations.closest(expected, measured)
    counts = tuple((cat, spec[cat], measured[cat]) for cat in _order(ops, spec, measured))
    first = next(((cat, a, b) for cat, a, b in counts if a != b), None)
    if first is None or spec == measured:
        return Operations(counts)
    cat = first[0]
    kinds = {p.impl.name: p.spec.kind for p in pairs if p.spec and p.impl}

    def explained(path: str) -> bool:
        may = operations.may_run(kinds[path]) if path in kinds else frozenset()
        return may is None or cat in may

    if first[2] > first[1]:  # the module runs more: where no paired row accounts for it
        where = operations.where_ran(ops, cat, lambda p: p in leaves and not explained(p),
                                     lambda p: not explained(p))
        return Operations(counts, cat, module_path=where)
    ran = {path for op, path, _ in ops if operations.category(op) == cat}
    candidates = [row.name for row, forms in expected.rows
                  if forms is not None and any(cat in f for f in forms)]
    missing = next((name for name in candidates if name not in paired
                    or paired[name] not in ran), candidates[0] if candidates else None)
    return Operations(counts, cat, spec_row=missing)


def _under(path: str, module: str) -> bool:
    return not module or path == module or path.startswith(module + ".")


def _order(ops: Ops, spec: Counter[str], measured: Counter[str]) -> list[str]:
    """The categories in the order the module first ran them, then the spec's others."""
    seen = [c for c in (operations.category(op) for op, _, _ in ops) if c is not None]
    return [c for c in dict.fromkeys([*seen, *sorted(spec)]) if spec[c] or measured[c]]


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
