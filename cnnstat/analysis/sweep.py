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

import hashlib
import itertools
import json
import math
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

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


MAX_CONFIGS = 1_000_000
"""The most configurations one run analyses (the grid itself may be larger: ``--random N``
samples it, ``--shard I/N`` splits it): about an hour of analysis for a mid-sized network, and
rows in memory of the order of a GiB."""


class Grid(Sequence[Config]):
    """The cartesian product of every ``--vary`` list and the input sizes, in order: the last
    parameter varies fastest, the input slowest.  Lazy: its length is a product, a
    configuration is found by its index, and iterating enumerates with ``itertools.product``, so
    a grid of 10^9 configurations costs no memory until some of it is taken."""

    def __init__(self, vary: Sequence[tuple[str, Sequence[object]]],
                 inputs: Sequence[Shape | None] = (None,)) -> None:
        self.names = tuple(n for n, _ in vary)
        self.values = tuple(tuple(vs) for _, vs in vary)
        self.inputs = tuple(inputs)
        self.size = math.prod(len(vs) for vs in self.values) * len(self.inputs)

    def __len__(self) -> int:
        return self.size  # OverflowError past sys.maxsize: callers that may meet one read .size

    @overload
    def __getitem__(self, index: int) -> Config: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Config]: ...

    def __getitem__(self, index: int | slice) -> Config | Sequence[Config]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if not -self.size <= index < self.size:
            raise IndexError(index)
        flat = index % self.size
        digits = []
        for vs in reversed(self.values):
            flat, d = divmod(flat, len(vs))
            digits.append(vs[d])
        digits.reverse()
        return Config(index % self.size, tuple(zip(self.names, digits)), self.inputs[flat])

    def __iter__(self) -> Iterator[Config]:
        index = 0
        for shape in self.inputs:
            for values in itertools.product(*self.values):
                yield Config(index, tuple(zip(self.names, values)), shape)
                index += 1


def grid(vary: Sequence[tuple[str, Sequence[object]]],
         inputs: Sequence[Shape | None] = (None,)) -> Grid:
    """The sweep's grid (:class:`Grid`): nothing is enumerated until it is taken."""
    return Grid(vary, inputs)


def sample(vary: Sequence[tuple[str, Sequence[object]]], inputs: Sequence[Shape | None],
           n: int, seed: int) -> list[Config]:
    """``n`` distinct configurations of the grid drawn with ``random.Random(seed)`` (all of them
    when the grid is smaller), in the order drawn; the grid is never built whole.  ``n`` is
    at most :data:`MAX_CONFIGS` (the caller refuses more, with the count)."""
    sizes = [len(vs) for _, vs in vary] + [len(inputs)]
    total = math.prod(sizes)
    picks = _draw(random.Random(seed), total, min(n, total))
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


def _draw(rng: random.Random, total: int, n: int) -> list[int]:
    """``n`` distinct integers below ``total``: ``Random.sample`` (the same draw as ever for a
    given seed), or, past what a range can measure (10 ``--vary`` of 1,000 values), distinct
    ``randrange`` draws -- ``n`` is tiny beside such a ``total``."""
    if total <= sys.maxsize:
        return rng.sample(range(total), n)
    picks: dict[int, None] = {}  # in the order drawn
    while len(picks) < n:
        picks.setdefault(rng.randrange(total))
    return list(picks)


def size_of(configs: Sequence[Config]) -> int:
    """How many configurations: a :class:`Grid` may hold more than ``len`` can say."""
    return configs.size if isinstance(configs, Grid) else len(configs)


def shard_size(total: int, i: int, n: int) -> int:
    """How many of ``total`` configurations shard ``i`` of ``n`` holds."""
    return max(0, -(-(total - i) // n))


def shard(configs: Sequence[Config], i: int, n: int) -> list[Config]:
    """Shard ``i`` of ``n`` (0-based): every n-th configuration from the i-th, so each shard gets
    a fair share of large and small ones and the shards together are the sweep.  Taken by
    index: a shard of a lazy :class:`Grid` enumerates only its own configurations."""
    return [configs[k] for k in range(i, size_of(configs), n)]


def memory_bytes(row: Row, batch: int, dtype_bytes: int) -> int:
    """Inference memory: peak live activations for ``batch`` images, weights and buffers."""
    return (int(row["peak"]) * batch + int(row["params"]) + int(row["buffers"])) * dtype_bytes


@dataclass(frozen=True)
class Source:
    """A SPEC argument read once: the bytes every process of a sweep analyses (a worker never
    reads the file again, so an edit during the sweep cannot reach some rows and not others)."""

    name: str
    raw: bytes
    variant: str | None  # the variant the argument names (normalised), as read_source gives it

    @classmethod
    def read(cls, spec: str) -> Source:
        from cnnstat.spec.loader import read_source

        return cls(*read_source(spec))


def spec_digest(parsed: Any, variant: str | None) -> str:
    """``sha256:`` of the spec as cnnstat reads it -- every value of the validated spec, in
    canonical JSON, and the variant -- the input of every number of a sweep besides its
    configuration (the row's key), its options and cnnstat's version, all in the results
    header.  A comment or a change of layout does not change it; any value does."""
    text = json.dumps({"spec": parsed.model.model_dump(mode="json"), "variant": variant},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


class Evaluator:
    """Analyses configurations of one spec, read once."""

    def __init__(self, spec: str | Source, *, batch: int = 1, dtype_bytes: int = 4,
                 rf: bool = True) -> None:
        from cnnstat.spec.loader import parse, variant_key
        from cnnstat.spec.memo import Memo

        from cnnstat.core.analyze import Memo as Walks

        self.source = spec if isinstance(spec, Source) else Source.read(spec)
        self.parsed = parse(self.source.raw, self.source.name)
        self.variant = variant_key(self.parsed, self.source.name, self.source.variant)
        self.memo: Memo | None = Memo()
        self.walks: Walks | None = Walks()
        self.fields: dict[SpatialKey, int | list[int] | None] | None = {}
        self.batch, self.dtype_bytes, self.rf = batch, dtype_bytes, rf

    def digest(self) -> str:
        """:func:`spec_digest` of the spec this evaluator analyses."""
        return spec_digest(self.parsed, self.variant)

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
