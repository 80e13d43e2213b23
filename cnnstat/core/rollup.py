"""Roll-ups: a network's rows summed into blocks at a depth of their hierarchical names.

A row named ``layer1.bottleneck2.conv1`` belongs, at depth 1, to the block ``layer1``; at
depth 2 to ``layer1.bottleneck2``; a row with fewer name parts than the depth is a block of its
own.  A block keeps the order of its first row (rows of one block that are not adjacent are
summed together, as ``cnnstat graph --depth`` draws them in one box).

What a block sums, with the conventions of :attr:`cnnstat.core.report.Report.totals`, so that
the blocks of a network add up to its totals exactly: weights, biases, buffers and parameters
over every row; MACs, element-wise ops (per kind) and activations (the output elements of each
operation) over the rows that run in inference, the MACs of training-only rows apart.  Its
input is its first row's input, its output its last row's output; its receptive field (in the
views) is the field at that output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from cnnstat.core.report import Row, Shape


def block_key(name: str, depth: int) -> str:
    """The block a row's name belongs to at ``depth``: its first ``depth`` name parts."""
    return ".".join(name.split(".")[:depth])


@dataclass(frozen=True)
class Block:
    """Rows summed at a depth; ``last`` is the index (in the report's rows) of the row whose
    output is the block's output."""

    name: str
    members: tuple[Row, ...]
    last: int
    depth: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.members)

    @property
    def input_shape(self) -> Shape:
        return self.members[0].input_shape

    @property
    def output_shape(self) -> Shape:
        return self.members[-1].output_shape

    @property
    def single(self) -> bool:
        """A block that is one row under its own name (a layer shallower than the depth)."""
        return len(self.members) == 1 and self.members[0].name == self.name

    @property
    def training(self) -> bool:
        """Every row is training-only: the block's MACs are all in ``training_macs``."""
        return all(r.training for r in self.members)

    @cached_property
    def _inference(self) -> tuple[Row, ...]:
        """The rows its MACs, ops and activations sum: those that run in inference, or all of
        them in a training-only block (shown, as a training-only row is, apart from the
        totals)."""
        rows = tuple(r for r in self.members if not r.training)
        return rows or self.members

    @property
    def weights(self) -> int:
        return sum(r.weights for r in self.members)

    @property
    def bias(self) -> int:
        return sum(r.bias for r in self.members)

    @property
    def buffers(self) -> int:
        return sum(r.buffers for r in self.members)

    @property
    def params(self) -> int:
        return self.weights + self.bias

    @property
    def macs(self) -> int:
        """Per image, inference rows only (as ``Totals.macs``)."""
        return sum(r.macs for r in self._inference)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @cached_property
    def ops(self) -> dict[str, int]:
        """Element-wise ops per kind of operation, per image, inference rows only."""
        out: dict[str, int] = {}
        for r in self._inference:
            for kind, n in r.ops.items():
                out[kind] = out.get(kind, 0) + n
        return out

    @property
    def elementwise(self) -> int:
        return sum(self.ops.values())

    @property
    def activations(self) -> int:
        """Output elements of its inference operations, per image (as ``Totals.activations``)."""
        return sum(r.activations for r in self._inference)

    @property
    def description(self) -> str:
        """The row's own description for a single row; else what the block is made of:
        '3 x bottleneck, 30 operations' when its parts at the next depth are one kind of block
        repeated, else 'N operations'."""
        if self.single:
            return self.members[0].description
        n = len(self.members)
        ops = f"{n} operation{'s' if n > 1 else ''}"
        if any(r.name.count(".") < self.depth for r in self.members):
            return ops  # some rows sit in the block itself, beside its parts
        parts = list(dict.fromkeys(r.name.split(".")[self.depth] for r in self.members))
        bases = {p.rstrip("0123456789").rstrip("_-") for p in parts}
        if len(parts) > 1 and len(bases) == 1 and "" not in bases:
            return f"{len(parts)} x {bases.pop()}, {ops}"
        return ops


def blocks(rows: Sequence[Row], depth: int) -> list[Block]:
    """The rows summed into blocks at ``depth`` (>= 1), in the order of each block's first row."""
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(block_key(row.name, depth), []).append(i)
    return [Block(key, tuple(rows[i] for i in idx), idx[-1], depth)
            for key, idx in groups.items()]


def max_depth(rows: Sequence[Row]) -> int:
    """The most name parts of any row: the depth at which every block is one row."""
    return max((r.name.count(".") + 1 for r in rows), default=1)
