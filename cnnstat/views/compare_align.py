"""Two or more reports side by side: layers aligned by name, then by position.

Alignment: the first report is the spine.  Each other report's operations are matched to the
spine's by name first (the longest common subsequence of names and kinds, so the order is
kept); an operation left over is matched to the next unmatched spine operation
of the same kind between its matched neighbours (position among the remaining layers), or else
gets a slot of its own right after its predecessor.  Blocks (the branches of an Inception
module, the stages of VGG) are the runs of operations that share a name prefix
(``inception.3x3``) and are aligned the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnstat.core import rollup
from cnnstat.core.ir import Layer
from cnnstat.core.receptive import receptive_fields, supported
from cnnstat.core.report import Report, Row
from cnnstat.views.explain import worked


@dataclass
class Slot:
    """One aligned position: at most one row per report."""

    rows: list[Row | None]

    @property
    def label(self) -> str:
        names = dict.fromkeys(r.name for r in self.rows if r is not None)
        return " | ".join(names)


def align(tracks: Sequence[Sequence[Row]]) -> list[Slot]:
    """Align each track of rows with the first (see the module docstring)."""
    n = len(tracks)
    slots = [Slot([row] + [None] * (n - 1)) for row in tracks[0]]
    for j, track in enumerate(tracks[1:], start=1):
        _merge(slots, j, list(track))
    return slots


def _merge(slots: list[Slot], j: int, track: list[Row]) -> None:
    matched = _by_name(slots, track)  # track index -> slot index
    for k, row in enumerate(track):
        if k in matched:
            slots[matched[k]].rows[j] = row
            continue
        lo = max((matched[m] for m in matched if m < k), default=-1)
        hi = min((matched[m] for m in matched if m > k), default=len(slots))
        i = _free_slot(slots, j, row.kind, lo, hi)
        if i is None:
            i = lo + 1
            slots.insert(i, Slot([None] * len(slots[0].rows)))
            matched = {m: (s + 1 if s >= i else s) for m, s in matched.items()}
        slots[i].rows[j] = row
        matched[k] = i


def _by_name(slots: list[Slot], track: list[Row]) -> dict[int, int]:
    """The longest common subsequence of (name, kind) between the spine and ``track`` (a shared
    prefix and suffix are matched directly, the rest by dynamic programming)."""
    spine = [(s.rows[0].name, s.rows[0].kind) if s.rows[0] is not None else None for s in slots]
    keys = [(r.name, r.kind) for r in track]
    head = 0
    while head < min(len(spine), len(keys)) and spine[head] == keys[head]:
        head += 1
    tail = 0
    while tail < min(len(spine), len(keys)) - head and spine[-1 - tail] == keys[-1 - tail]:
        tail += 1
    out = {k: k for k in range(head)}
    out.update({len(keys) - 1 - t: len(spine) - 1 - t for t in range(tail)})
    middle = _lcs(spine[head:len(spine) - tail], keys[head:len(keys) - tail])
    out.update({b + head: a + head for b, a in middle.items()})
    return out


def _lcs(spine: Sequence[object], keys: Sequence[object]) -> dict[int, int]:
    n, m = len(spine), len(keys)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for a in range(n - 1, -1, -1):
        row, below = best[a], best[a + 1]
        for b in range(m - 1, -1, -1):
            row[b] = below[b + 1] + 1 if spine[a] == keys[b] else max(below[b], row[b + 1])
    out, a, b = {}, 0, 0
    while a < n and b < m:
        if spine[a] == keys[b]:
            out[b] = a
            a, b = a + 1, b + 1
        elif best[a + 1][b] >= best[a][b + 1]:
            a += 1
        else:
            b += 1
    return out


def _free_slot(slots: list[Slot], j: int, kind: str, lo: int, hi: int) -> int | None:
    for i in range(lo + 1, min(hi, len(slots))):
        spine = next((r for r in slots[i].rows if r is not None), None)
        if slots[i].rows[j] is None and spine is not None and spine.kind == kind:
            return i
    return None


def blocks(report: Report) -> list[Row]:
    """Runs of operations sharing a name prefix, summed into one row each (kind 'block')."""
    out: list[Row] = []
    runs: list[list[Row]] = []
    for row in report.rows:
        key = row.name.rpartition(".")[0] or row.name
        if runs and (runs[-1][0].name.rpartition(".")[0] or runs[-1][0].name) == key:
            runs[-1].append(row)
        else:
            runs.append([row])
    for run in runs:
        key = run[0].name.rpartition(".")[0] or run[0].name
        out.append(Row(key, "block", f"{len(run)} operation{'s' if len(run) > 1 else ''}",
                       run[0].input_shape, run[-1].output_shape,
                       weights=sum(r.weights for r in run), bias=sum(r.bias for r in run),
                       buffers=sum(r.buffers for r in run), macs=sum(r.macs for r in run)))
    return out


def rolled(report: Report, depth: int) -> list[Row]:
    """The rows summed into blocks at ``depth`` (:mod:`cnnstat.core.rollup`), each a row of kind
    'block' (a layer shallower than the depth stays itself), to align as layers are."""
    out = []
    for b in rollup.blocks(report.rows, depth):
        out.append(b.members[0] if b.single else Row(
            b.name, "block", b.description, b.input_shape, b.output_shape, weights=b.weights,
            bias=b.bias, buffers=b.buffers, macs=b.macs, training=b.training))
    return out


def nested(report: Report) -> bool:
    return any("." in r.name for r in report.rows)


def operation(row: Row, layer: Layer | None) -> str:
    """The lecture's way of writing a layer's MACs: ``[1x1 conv, 128] 28x28x128x1x1x256``
    (H2 x W2 x K x F x F x D1/groups); ``[fc, 4096] 4096x9216`` for a linear layer."""
    if row.kind == "conv" and layer is not None and layer.args.get("connections") is None:
        h2, w2 = row.output_shape[1:]
        groups = layer.args["groups"]
        fh, fw = layer.args["kernel"]
        k, d = row.output_shape[0], row.input_shape[0] // groups
        text = "x".join(str(v) for v in (h2, w2, k, fh, fw, d))
        extra = "" if groups == 1 else f", groups {groups}"
        return f"[{fh}x{fw} conv, {k}{extra}] " + _checked(text, row.macs)
    if row.kind == "linear":  # over the last axis: each position's vector (ConvNeXt's MLP)
        *lead, n_in = row.input_shape
        text = "x".join(str(v) for v in (*lead, row.output_shape[-1], n_in))
        return f"[fc, {row.output_shape[-1]}] " + _checked(text, row.macs)
    return row.description


def _checked(text: str, macs: int) -> str:
    worked(text.replace("x", "*"), macs)
    return text


def receptive_field(report: Report) -> str:
    """The receptive field of the network output, 'h x w', from the exact graph walk of
    :mod:`cnnstat.core.receptive` (branches included); 'global' once every unit sees the whole
    input; '-' for a flat input."""
    if not report.rows or not supported(report):
        return "-"
    h, w = receptive_fields(report).rows[-1].fields
    return "global" if h.shared or w.shared else f"{h.size}x{w.size}"
