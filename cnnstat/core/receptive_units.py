"""What the receptive-field walk carries per axis beside the analytic field: exact per-unit boxes,
or only the number of units.

The walk of :mod:`cnnstat.core.receptive` is one mechanism with two trackers.  :data:`BOXES`
keeps, for every output unit, the bounding box of the input rows it depends on (one entry per
output row or column of every layer: O(units) per layer), which ``--unit``, coverage and the
live check read.  :data:`COUNTS` keeps only how many units there are (O(1) per layer), which is
all the analytic field (size, jump, start, shared) needs: merges broadcast a one-unit path and
global reductions span every unit.  Both answer :meth:`Tracking.units` alike for every layer, so
the fields of the two walks are the same by construction (``tests/test_receptive_sizes.py``
checks it over the zoo).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from cnnstat.core.geometry import Window
from cnnstat.core.resample import AxisMap

Span = tuple[int, int]
#: Per output unit along one axis: the (first, last) input row it depends on; None for a unit
#: that reads only padding.
Boxes = tuple["Span | None", ...]
E = TypeVar("E")


class Tracking(Protocol[E]):
    """Per axis, what reaches a point of the graph beside its field (``E``), through each way
    the walk moves along an axis."""

    def origin(self, size: int) -> E:
        """An input of ``size`` rows: row k depends on row k."""

    def units(self, track: E) -> int:
        """The number of units along the axis."""

    def window(self, track: E, win: Window, units: int) -> E:
        """Through a sliding window to ``units`` outputs."""

    def mapped(self, track: E, amap: AxisMap, units: int) -> E:
        """Through a per-axis map (transposed conv, upsample, shift) to ``units`` outputs."""

    def pooled(self, track: E, bounds: Sequence[tuple[int, int]]) -> E:
        """Through adaptive pooling: output i reads input units [a, b) of ``bounds[i]``."""

    def reduced(self, track: E) -> E:
        """A global reduction: one unit that reads them all."""

    def everywhere(self, track: E) -> E:
        """Every unit reads every unit (self-attention): same count, all alike."""

    def merged(self, paths: Sequence[E], units: int) -> E:
        """Paths merged into ``units`` units (a one-unit path is broadcast)."""


# -- exact per-unit boxes --------------------------------------------------------------------

def _union_of(boxes: Boxes, units: Sequence[int]) -> Span | None:
    """Box of the union of ``boxes[u]`` for u in ``units`` (None if all are None).

    Not just the first and last box: with dilation and padding the ends are not monotone (unit
    0 of a dilated window may skip row 0 that unit 1 reads).
    """
    lo = hi = None
    for u in units:
        box = boxes[u]
        if box is not None:
            lo = box[0] if lo is None else min(lo, box[0])
            hi = box[1] if hi is None else max(hi, box[1])
    return None if lo is None or hi is None else (lo, hi)


def _constant(boxes: Boxes) -> Span | None:
    """The span every unit sees when it is one and the same (as once every unit sees the whole
    input): the fast path of deep networks, where later windows only repeat it."""
    span = boxes[0]
    return span if span is not None and boxes.count(span) == len(boxes) else None


def _within(span: Span, paths: Sequence[Boxes]) -> bool:
    return all(s is None or (span[0] <= s[0] and s[1] <= span[1])
               for boxes in paths for s in set(boxes))


def window_taps(win: Window, unit: int, size: int) -> range:
    """The real input units (0..size-1) that output ``unit`` of ``win`` reads."""
    d, base = win.dilation, unit * win.stride - win.pad_left
    first = 0 if base >= 0 else -(base // d)
    last = min((win.extent - 1) // d, (size - 1 - base) // d) if size - 1 >= base else -1
    return range(base + first * d, base + last * d + 1, d) if first <= last else range(0)


def window_boxes(boxes: Boxes, win: Window, units: int) -> Boxes:
    n, same = len(boxes), _constant(boxes)
    if same is not None:
        return tuple(same if window_taps(win, i, n) else None for i in range(units))
    return tuple(_union_of(boxes, window_taps(win, i, n)) for i in range(units))


def map_boxes(boxes: Boxes, amap: AxisMap, units: int) -> Boxes:
    """Per output unit, the union of the boxes of the input units the map's taps read."""
    n = len(boxes)
    return tuple(_union_of(boxes, amap.taps(i, n)) for i in range(units))


def merge_boxes(paths: Sequence[Boxes], units: int) -> Boxes:
    """Per unit, the union over paths (a one-unit path is broadcast to every unit)."""
    for boxes in paths:
        same = _constant(boxes)
        if same is not None and _within(same, paths):
            return (same,) * units
    out: list[Span | None] = []
    for i in range(units):
        spans = [s for s in (b[i if len(b) > 1 else 0] for b in paths) if s is not None]
        out.append((min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None)
    return tuple(out)


class _Boxes:
    """Exact per-unit boxes: the union of the boxes of the real units each tap reads."""

    def origin(self, size: int) -> Boxes:
        return tuple((k, k) for k in range(size))

    def units(self, track: Boxes) -> int:
        return len(track)

    def window(self, track: Boxes, win: Window, units: int) -> Boxes:
        return window_boxes(track, win, units)

    def mapped(self, track: Boxes, amap: AxisMap, units: int) -> Boxes:
        return map_boxes(track, amap, units)

    def pooled(self, track: Boxes, bounds: Sequence[tuple[int, int]]) -> Boxes:
        return tuple(_union_of(track, range(a, b)) for a, b in bounds)

    def reduced(self, track: Boxes) -> Boxes:
        return (_union_of(track, range(len(track))),)

    def everywhere(self, track: Boxes) -> Boxes:
        return (_union_of(track, range(len(track))),) * len(track)

    def merged(self, paths: Sequence[Boxes], units: int) -> Boxes:
        return merge_boxes(paths, units)


class _Counts:
    """Only the number of units: what the analytic field needs, O(1) per layer."""

    def origin(self, size: int) -> int:
        return size

    def units(self, track: int) -> int:
        return track

    def window(self, track: int, win: Window, units: int) -> int:
        return units

    def mapped(self, track: int, amap: AxisMap, units: int) -> int:
        return units

    def pooled(self, track: int, bounds: Sequence[tuple[int, int]]) -> int:
        return len(bounds)

    def reduced(self, track: int) -> int:
        return 1

    def everywhere(self, track: int) -> int:
        return track

    def merged(self, paths: Sequence[int], units: int) -> int:
        return units


BOXES: Tracking[Boxes] = _Boxes()
COUNTS: Tracking[int] = _Counts()
