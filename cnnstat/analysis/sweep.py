"""Sweeps: many configurations of one spec (parameter values and input sizes), each analysed
exactly, one row per configuration.

A configuration's numbers are per image (batch 1) except ``memory``, the inference memory in
bytes at the sweep's batch and dtype: ``(peak * batch + params + buffers) * bytes``, where
``peak`` is the largest number of activation elements alive at once (:mod:`cnnstat.core.memory`).
``rf`` is the receptive field of the last spatial layer (one number when square, else
``[h, w]``; None for a flat input).  The spec file is read and validated once
(:func:`cnnstat.spec.loader.prepare`); each configuration is expanded and analysed from it, and
the expander reuses the expansion of a block call whose arguments it has seen
(:mod:`cnnstat.spec.expand`).  A configuration the spec rejects is a row with its ``error``
(code and message), not the end of the sweep.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnstat.errors import Severity, SpecError

Shape = tuple[int, ...]
Row = dict[str, Any]
METRICS = ("params", "buffers", "macs", "flops", "activations", "peak", "memory", "rf")


@dataclass(frozen=True)
class Config:
    """One configuration: its position in the whole sweep, the parameters it sets and the input
    shape (None: the spec's)."""

    index: int
    set: tuple[tuple[str, object], ...]
    input: Shape | None = None

    def key(self) -> str:
        """Its identity in a results file (resume, merge): the values, not the position."""
        return config_key(dict(self.set), self.input)


def config_key(values: dict[str, object], input: Sequence[int] | None) -> str:
    return json.dumps({"set": values, "input": list(input) if input else None}, sort_keys=True)


def grid(vary: Sequence[tuple[str, Sequence[object]]],
         inputs: Sequence[Shape | None] = (None,)) -> list[Config]:
    """The cartesian product of every ``--vary`` list and the input sizes, in order: the last
    parameter varies fastest, the input slowest."""
    names = [n for n, _ in vary]
    out: list[Config] = []
    for shape in inputs:
        for values in itertools.product(*(vs for _, vs in vary)):
            out.append(Config(len(out), tuple(zip(names, values)), shape))
    return out


def sample(vary: Sequence[tuple[str, Sequence[object]]], inputs: Sequence[Shape | None],
           n: int, seed: int) -> list[Config]:
    """``n`` distinct configurations of the grid drawn with ``random.Random(seed)`` (all of them
    when the grid is smaller), in the order drawn; the grid is never built whole."""
    sizes = [len(vs) for _, vs in vary] + [len(inputs)]
    total = 1
    for s in sizes:
        total *= s
    picks = random.Random(seed).sample(range(total), min(n, total))
    out = []
    for i, flat in enumerate(picks):
        digits = []
        for s in reversed(sizes):
            flat, d = divmod(flat, s)
            digits.append(d)
        digits.reverse()
        values = tuple((name, vs[d]) for (name, vs), d in zip(vary, digits))
        out.append(Config(i, values, inputs[digits[-1]]))
    return out


def shard(configs: Sequence[Config], i: int, n: int) -> list[Config]:
    """Shard ``i`` of ``n`` (0-based): every n-th configuration from the i-th, so each shard gets
    a fair share of large and small ones and the shards together are the sweep."""
    return [c for c in configs if c.index % n == i]


def memory_bytes(row: Row, batch: int, dtype_bytes: int) -> int:
    """Inference memory: peak live activations for ``batch`` images, weights and buffers."""
    return (int(row["peak"]) * batch + int(row["params"]) + int(row["buffers"])) * dtype_bytes


class Evaluator:
    """Analyses configurations of one spec, read once."""

    def __init__(self, spec: str, *, batch: int = 1, dtype_bytes: int = 4,
                 rf: bool = True) -> None:
        from cnnstat.spec.memo import Memo
        from cnnstat.spec.loader import prepare

        from cnnstat.core.analyze import Memo as Walks

        self.parsed, self.variant = prepare(spec)
        self.memo: Memo | None = Memo()
        self.walks: Walks | None = Walks()
        self.fields: dict[SpatialKey, int | list[int] | None] | None = {}
        self.batch, self.dtype_bytes, self.rf = batch, dtype_bytes, rf

    def __call__(self, config: Config) -> Row:
        row: Row = {"index": config.index, "key": config.key(), "set": dict(config.set),
                    "input": list(config.input) if config.input else None}
        try:
            row.update(self.numbers(config))
        except SpecError as exc:
            first = next((d for d in exc.diagnostics if d.severity is Severity.ERROR),
                         exc.diagnostics[0] if exc.diagnostics else None)
            row["error"] = f"{first.code}: {first.message}" if first else str(exc)
        return row

    def numbers(self, config: Config) -> Row:
        from cnnstat.analysis.pipeline import analyze_loaded
        from cnnstat.core.memory import peak_elements
        from cnnstat.spec.loader import build

        loaded = build(self.parsed, self.variant, dict(config.set), config.input,
                       memo=self.memo)
        report = analyze_loaded(loaded, memo=self.walks)
        t = report.totals
        row: Row = {"input": list(loaded.input_shape), "params": t.params,
                    "buffers": t.buffers, "macs": t.macs, "flops": t.flops,
                    "activations": t.activations, "peak": peak_elements(report)}
        row["memory"] = memory_bytes(row, self.batch, self.dtype_bytes)
        row["rf"] = self.field(report) if self.rf else None
        return row

    def field(self, report: Any) -> int | list[int] | None:
        """:func:`last_field`, reused for a network whose spatial layout was seen before:
        receptive fields read only H x W, windows and connections, never channels, so the
        configurations of a width sweep share one walk."""
        key = spatial_key(report) if self.fields is not None else None
        if key is None or self.fields is None:
            return last_field(report)
        found = self.fields.get(key, _UNSEEN)  # one look-up: a hit compares the keys once
        if isinstance(found, _Unseen):
            if len(self.fields) >= 10_000:
                self.fields.clear()
            found = self.fields[key] = last_field(report)
        return found


class _Unseen:
    """No field kept yet (None is a field: a flat input has none)."""


_UNSEEN = _Unseen()


class SpatialKey:
    """A key hashed once: a report's key is a tuple of hundreds of rows, and a tuple's hash
    is computed again on every dictionary look-up."""

    __slots__ = ("parts", "hashed")

    def __init__(self, parts: tuple[Any, ...]) -> None:
        self.parts, self.hashed = parts, hash(parts)

    def __hash__(self) -> int:
        return self.hashed

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SpatialKey) and self.hashed == other.hashed
                and self.parts == other.parts)


def spatial_key(report: Any) -> SpatialKey | None:
    """Everything of a report that a receptive field depends on: the input's H x W and, per
    operation in order, its name (which places it in the graph), kind, H x W in and out,
    window, mapping, whether it reduces globally, what it reads and whether it runs in training
    only; None when a part is not hashable."""
    try:
        return SpatialKey((tuple(report.input_shape[1:]), tuple(
            (r.name, r.kind, r.input_shape[1:], r.output_shape[1:], r.windows, r.maps,
             r.global_field, r.reads, r.training) for r in report.rows)))
    except TypeError:
        return None


def last_field(report: Any) -> int | list[int] | None:
    """The receptive field (size, pixels) of the last spatial layer: one number when square.
    Only the sizes are needed, so it walks the analytic fields without per-unit boxes
    (:func:`cnnstat.core.receptive.analytic_fields`)."""
    from cnnstat.core.receptive import analytic_fields, last_spatial, supported

    if not supported(report):
        return None
    last = last_spatial(analytic_fields(report))
    if last is None:
        return None
    h, w = (int(f.size) for f in last.fields)
    return h if h == w else [h, w]
