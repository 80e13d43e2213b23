"""Receptive fields, per axis and exact: size, jump and start through chains and merges.

Coordinates are input pixel indices: row k of the input (column k along W) sits at k.  Per layer
and axis, output unit i of a layer sees the input rows

    [start + i*j - (r - 1)/2,  start + i*j + (r - 1)/2]

before clipping to the input: r is the field's size, j its jump (the effective stride: input rows
between neighbouring units) and start the centre of unit 0's field.  The input itself has r = 1,
j = 1, start = 0.  Through a window of effective extent k_eff = d*(k - 1) + 1, stride s and left
padding p (the recurrences of google-research/receptive_field):

    j_out = j_in * s
    r_out = r_in + (k_eff - 1) * j_in
    start_out = start_in + ((k_eff - 1)/2 - p) * j_in

Both ends of a field are whole rows, so start is a whole or half-whole :class:`Fraction`, never a
float.  The *effective padding* is how far unit 0's field reaches before row 0:
max(0, (r - 1)/2 - start); over a chain it is the sum of p_l * j_(l-1) (padding is zeros, so it
can only ever reach outwards).  ceil_mode pooling needs nothing special: its extra last window
changes the number of units, not r, j or start.

A global reduction (global pooling, flatten, and so every linear layer after it) has one output
whose field is the union of all its input units' fields: a window of extent and stride n over the
n units.  From there on, and wherever such a unit is broadcast back over a map (squeeze-and-
excitation), every unit sees the same region: the field is *shared*.  Self-attention is global
without reducing: every output position reads every input position, so each unit's field is the
union of all input fields (shared), and the map keeps its grid and its jump.  A broadcast unit has no
grid, so a gated map keeps the jump of its spatial path: its spatial stride (32 at the end of
SE-ResNet-50), while every unit also sees the whole input through the gate.

Alongside the analytic fields the walk keeps, for every output unit, the exact bounding box of the
input rows it depends on (:data:`Boxes`): the union of the boxes of the real units its taps read,
so padding, dilation holes and rows that the floor drops never count.  It is what the gradient of
that unit shows (with positive weights) and what ``--unit`` maps back; the analytic field is its
unclipped envelope, equal to it along a chain wherever no padding is involved.

The walk is one mechanism with two trackers (:mod:`cnnstat.core.receptive_units`):
:func:`receptive_fields` carries the boxes; :func:`analytic_fields` (and so :func:`field_sizes`
and a sweep's field) carries only the number of units per axis, O(1) per layer instead of
O(units), through the same transfers and recurrences, and skips the alignment diagnostics.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Generic, Protocol, TypeVar

from cnnstat.core.geometry import Window, adaptive_bounds
from cnnstat.core.ir import Join, Layer, Node, Parallel, Seq
from cnnstat.core.receptive_units import BOXES, COUNTS, Tracking
from cnnstat.core.receptive_units import Boxes as Boxes
from cnnstat.core.receptive_units import Span as Span
from cnnstat.core.receptive_units import window_taps as window_taps
from cnnstat.core.report import Report, Row
from cnnstat.core.resample import Envelope
from cnnstat.errors import Diagnostic, DiagnosticSink, spec_error

AXES = ("H", "W")
E = TypeVar("E")


def fmt_start(value: Fraction) -> str:
    """'7.5' for 15/2, '7' for 7: starts are whole or half-whole, so the decimal is exact."""
    if value.denominator == 1:
        return str(value.numerator)
    if value.denominator == 2:
        return f"{value.numerator / 2:.1f}"  # exact: a half has one binary digit
    return str(value)


@dataclass(frozen=True)
class AxisField:
    """The receptive field along one axis: size r, jump j, start (see the module docstring).

    All three are exact fractions: after a transposed conv or an upsample the jump is a fraction
    of an input row (1/2 after a 2x upsample), and the field is the real interval
    [start - (r - 1)/2, start + (r - 1)/2] whose whole rows are the field's rows.
    ``shared``: every output unit sees the same region [lo, hi] (after a global reduction).
    """

    size: Fraction
    jump: Fraction
    start: Fraction
    shared: bool = False

    @property
    def low(self) -> Fraction:
        """Where unit 0's field begins: start - (r - 1)/2 (a whole row along a plain chain)."""
        return self.start - (self.size - 1) / 2

    @property
    def lo(self) -> int:
        """First input row of unit 0's field (negative: into padding)."""
        return math.ceil(self.low)

    @property
    def hi(self) -> int:
        """Last input row of unit 0's field: floor(start + (r - 1)/2)."""
        return math.floor(self.start + (self.size - 1) / 2)

    @property
    def padding(self) -> int:
        """Effective padding: max(0, (r - 1)/2 - start), rows of unit 0's field before row 0."""
        return max(0, -self.lo)

    def span(self, unit: int) -> Span:
        """Unit ``unit``'s field, unclipped: the whole rows of [low + i*j, high + i*j] (the same
        for all if shared)."""
        shift = 0 if self.shared else unit * self.jump
        return math.ceil(self.low + shift), math.floor(self.low + self.size - 1 + shift)

    def centre(self, unit: int) -> Fraction:
        return self.start + (0 if self.shared else unit * self.jump)

    def through(self, win: Window) -> AxisField:
        """j_out = j_in*s; r_out = r_in + (k_eff - 1)*j_in; start_out = start_in +
        ((k_eff - 1)/2 - p_left)*j_in.  A shared field keeps its region."""
        return self._moved(-win.pad_left, win.extent - 1 - win.pad_left, win.stride)

    def mapped(self, envelope: Envelope) -> AxisField:
        """Through a map whose output o reads input units within [lo + o*q, hi + o*q]:
        j_out = j_in*q; r_out = r_in + (hi - lo)*j_in; start_out = start_in + (lo + hi)/2*j_in."""
        return self._moved(*envelope)

    def _moved(self, lo: Fraction | int, hi: Fraction | int, q: Fraction | int) -> AxisField:
        """:meth:`mapped`, worked in integers over one denominator and made a fraction once per
        figure: Fraction's operators reduce after every step, which made them most of the cost
        of a walk."""
        j = self.jump
        jump = Fraction(j.numerator * q.numerator, j.denominator * q.denominator)
        if self.shared:
            return AxisField(self.size, jump, self.start, True)
        # (hi - lo) and (hi + lo) over the denominator d
        d = lo.denominator * hi.denominator
        width = hi.numerator * lo.denominator - lo.numerator * hi.denominator
        mid = hi.numerator * lo.denominator + lo.numerator * hi.denominator
        r, c, jd = self.size, self.start, j.denominator * d
        return AxisField(
            Fraction(r.numerator * jd + width * j.numerator * r.denominator, r.denominator * jd),
            jump,
            Fraction(2 * c.numerator * jd + mid * j.numerator * c.denominator,
                     2 * c.denominator * jd))

    def reduce(self, units: int) -> AxisField:
        """A global reduction over ``units`` units: their union, shared by the one output."""
        if self.shared:
            return self
        return replace(self.through(Window(units, units, 0, 0)), shared=True)


INPUT_FIELD = AxisField(Fraction(1), Fraction(1), Fraction(0))


def field_from_span(lo: Fraction, hi: Fraction, jump: Fraction, shared: bool) -> AxisField:
    """The field of the real interval [lo, hi] at ``jump``."""
    return AxisField(hi - lo + 1, jump, (lo + hi) / 2, shared)


def merge_fields(fields: Sequence[AxisField], units: int) -> AxisField:
    """The smallest field that holds every incoming path's field, for each of ``units`` units.

    Aligned paths (one jump, one start) give the largest of their fields.  Paths with one jump
    and different starts give their union.  With different jumps no (r, j, start) is exact: this
    is the field at the largest jump that encloses every path's field for units 0..n-1.  A shared
    path (a broadcast reduction) makes the result shared: its region and all units' fields, at
    the largest jump (a broadcast path arrives with the map's spatial jump).
    """
    if any(f.shared for f in fields):
        lo = min(f.low for f in fields)
        hi = max(f.low + f.size - 1 + (0 if f.shared else (units - 1) * f.jump) for f in fields)
        return field_from_span(lo, hi, max(f.jump for f in fields), True)
    jump, start = max(f.jump for f in fields), fields[0].start
    if all(f.jump == jump and f.start == start for f in fields):  # aligned: no arithmetic
        return AxisField(max(f.size for f in fields), jump, start)
    lo = min(f.low - (units - 1) * (jump - f.jump) for f in fields)
    return field_from_span(lo, max(f.low + f.size - 1 for f in fields), jump, False)


def aligned(a: AxisField, b: AxisField) -> bool:
    """Same jump and start (shared fields align with anything: they have no grid)."""
    return a.shared or b.shared or (a.jump, a.start) == (b.jump, b.start)


# -- per-kind transfers ----------------------------------------------------------------------

@dataclass(frozen=True)
class Flow(Generic[E]):
    """What reaches one point of the graph, per axis: the field and what the walk's
    :class:`Tracking` carries (boxes, or the number of units); ``via`` names the last row on
    the path."""

    fields: tuple[AxisField, AxisField]
    track: tuple[E, E]
    via: str | None = None


def enclosing_window(bounds: Sequence[tuple[int, int]]) -> tuple[Window, bool]:
    """A regular window at stride max(1, W // O), as narrow as it can be, whose i-th position
    holds the i-th [a, b) of ``bounds``; exact (True) when the windows are in fact regular, as
    when O divides W."""
    n = len(bounds)
    stride = max(1, bounds[-1][1] // n)
    left = min(a - i * stride for i, (a, _) in enumerate(bounds))
    extent = max(b - left - i * stride for i, (_, b) in enumerate(bounds))
    exact = all(a - i * stride == left and b - i * stride == left + extent
                for i, (a, b) in enumerate(bounds))
    return Window(extent, stride, -left, 0), exact


def _adaptive(row: Row, flow: Flow[E], sink: DiagnosticSink, tracking: Tracking[E]) -> Flow[E]:
    """PyTorch adaptive pooling: unit i reads [floor(i*W/O), ceil((i+1)*W/O))."""
    fields, tracks = [], []
    for axis, f, t, n in zip(AXES, flow.fields, flow.track, row.output_shape[1:]):
        units = tracking.units(t)
        bounds = adaptive_bounds(units, n)
        win, exact = enclosing_window(bounds)
        if not exact:
            sink.warn("W504", f"{row.kind} '{row.name}': {units} -> {n} along {axis} uses "
                      "uneven windows; the field shown encloses every unit's (boxes are exact)",
                      row.path, layer=row.name)
        fields.append(f.through(win))
        tracks.append(tracking.pooled(t, bounds))
    return Flow((fields[0], fields[1]), (tracks[0], tracks[1]))


#: The definition of :attr:`FieldReport.last_spatial`, as tables state it.
LAST_SPATIAL = ("the last main-line layer whose output map is larger than 1x1, before the first "
                "global pooling or flatten")

class _Special(Protocol):
    def __call__(self, row: Row, flow: Flow[E], sink: DiagnosticSink,
                 tracking: Tracking[E]) -> Flow[E]: ...


#: Kinds whose field the report's ``Row.windows`` / ``Row.global_field`` cannot describe.
SPECIAL: dict[str, _Special] = {"adaptive_avgpool": _adaptive, "adaptive_maxpool": _adaptive}


def _hw(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[1:] if len(shape) == 3 else ()


def _keeps_map(row: Row) -> bool:
    """A global operation that keeps its H x W map (self-attention: every output position reads
    every input position), as opposed to a global reduction to one unit."""
    return _hw(row.output_shape) == _hw(row.input_shape) and _hw(row.output_shape) != (1, 1)


def _everywhere(flow: Flow[E], tracking: Tracking[E]) -> Flow[E]:
    """Every unit sees the union of all input units' fields (shared), on the same grid: the
    jump stays the map's spatial stride, as after a squeeze-and-excitation gate."""
    fields = tuple(replace(f.reduce(tracking.units(t)), jump=f.jump) if not f.shared else f
                   for f, t in zip(flow.fields, flow.track))
    return Flow((fields[0], fields[1]),
                (tracking.everywhere(flow.track[0]), tracking.everywhere(flow.track[1])))


def transfer(row: Row, flow: Flow[E], sink: DiagnosticSink, tracking: Tracking[E]) -> Flow[E]:
    """The flow after ``row``: reduced, windowed, special-cased, or unchanged (point-wise)."""
    (fh, fw), (th, tw) = flow.fields, flow.track
    if row.global_field and len(row.input_shape) == 3 and _keeps_map(row):
        return _everywhere(flow, tracking)
    if row.global_field and len(row.input_shape) == 3:
        return Flow((fh.reduce(tracking.units(th)), fw.reduce(tracking.units(tw))),
                    (tracking.reduced(th), tracking.reduced(tw)))
    if row.windows is not None:
        (wh, ww), (nh, nw) = row.windows, row.output_shape[1:]
        return Flow((fh.through(wh), fw.through(ww)),
                    (tracking.window(th, wh, nh), tracking.window(tw, ww, nw)))
    if row.maps is not None:
        (mh, mw), (nh, nw) = row.maps, row.output_shape[1:]
        return Flow((fh.mapped(mh.envelope), fw.mapped(mw.envelope)),
                    (tracking.mapped(th, mh, nh), tracking.mapped(tw, mw, nw)))
    if row.kind in SPECIAL:
        return SPECIAL[row.kind](row, flow, sink, tracking)
    if row.kind == "permute" or row.kind == "linear" and len(row.input_shape) > 1:
        # channels-last and back (ConvNeXt), and a linear over the channels in between: they
        # move or mix channels, never positions, so the spatial field passes unchanged
        return flow
    if _hw(row.input_shape) != _hw(row.output_shape):
        raise ValueError(f"no receptive-field rule for {row.kind} '{row.name}', which changes "
                         "the spatial size")
    return flow


# -- the report ------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnitRegion:
    """Where one output unit looks, per axis (H, W).

    ``field``: its analytic field, unclipped (may reach into padding).  ``seen``: the input rows
    and columns it really depends on (None, None: no input pixel, it reads only padding).
    """

    layer: str
    unit: tuple[int, int]
    centre: tuple[Fraction, Fraction]
    field: tuple[Span, Span]
    seen: tuple[Span | None, Span | None]
    input_size: tuple[int, int]

    def padding(self, axis: int) -> tuple[int, int]:
        """Rows (columns) of the unclipped field before row 0 and after the last row."""
        lo, hi = self.field[axis]
        return max(0, -lo), max(0, hi - (self.input_size[axis] - 1))


@dataclass(frozen=True)
class FieldSize:
    """What a table shows of one row's receptive field: its size per axis (H, W) and whether
    every unit sees the same region (``shared``, after a global reduction)."""

    h: Fraction
    w: Fraction
    shared: bool


def _size(fields: tuple[AxisField, AxisField]) -> FieldSize:
    h, w = fields
    return FieldSize(h.size, w.size, h.shared or w.shared)


@dataclass(frozen=True)
class AnalyticRow:
    """One report row's analytic field per axis and its number of units (H, W), without the
    per-unit boxes of :class:`FieldRow`; ``main``: not inside a branch."""

    row: Row
    fields: tuple[AxisField, AxisField]
    units: tuple[int, int]
    main: bool

    @property
    def size(self) -> FieldSize:
        return _size(self.fields)


@dataclass(frozen=True)
class FieldRow:
    """One report row's receptive field per axis; ``main``: not inside a branch."""

    row: Row
    fields: tuple[AxisField, AxisField]
    boxes: tuple[Boxes, Boxes]
    main: bool

    @property
    def units(self) -> tuple[int, int]:
        return len(self.boxes[0]), len(self.boxes[1])

    @property
    def size(self) -> FieldSize:
        return _size(self.fields)

    def covers(self, input_size: tuple[int, int]) -> tuple[bool, bool]:
        """Per axis: does every unit depend on every input row (column)?"""
        return (all(b == (0, input_size[0] - 1) for b in self.boxes[0]),
                all(b == (0, input_size[1] - 1) for b in self.boxes[1]))

    def region(self, unit: tuple[int, int], input_size: tuple[int, int]) -> UnitRegion:
        """Unit (i, j) of this row mapped back to the input; IndexError when out of range."""
        for axis, (i, n) in enumerate(zip(unit, self.units)):
            if not 0 <= i < n:
                raise IndexError(f"unit index {i} outside 0..{n - 1} along {AXES[axis]}")
        fh, fw = self.fields
        return UnitRegion(self.row.name, unit, (fh.centre(unit[0]), fw.centre(unit[1])),
                          (fh.span(unit[0]), fw.span(unit[1])), self.seen(unit), input_size)

    def seen(self, unit: tuple[int, int]) -> tuple[Span | None, Span | None]:
        """The input rows and columns unit (i, j) depends on; (None, None) if it reads only
        padding along either axis (then it depends on no input pixel at all)."""
        rows, cols = self.boxes[0][unit[0]], self.boxes[1][unit[1]]
        return (rows, cols) if rows is not None and cols is not None else (None, None)


@dataclass(frozen=True)
class FieldReport:
    """Receptive fields of every row of a :class:`Report`, in its (execution) order."""

    input_size: tuple[int, int]
    rows: tuple[FieldRow, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    def find(self, name: str) -> FieldRow | None:
        return next((fr for fr in self.rows if fr.row.name == name), None)

    @property
    def last_spatial(self) -> FieldRow | None:
        """The last spatial layer (:func:`last_spatial`)."""
        return last_spatial(self.rows)


class _Spatial(Protocol):
    """What :func:`last_spatial` reads of a row of either walk."""

    @property
    def row(self) -> Row: ...

    @property
    def main(self) -> bool: ...

    @property
    def units(self) -> tuple[int, int]: ...


S = TypeVar("S", bound=_Spatial)


def last_spatial(rows: Sequence[S]) -> S | None:
    """The last spatial layer (:data:`LAST_SPATIAL`): the last main-line row, before the first
    global reduction, whose output is a map of more than one unit (C x H x W, H x W > 1 x 1).

    A 1 x 1 output (GoogLeNet's 7x7 average pool on a 7x7 map, LeNet's C5) is a global
    reduction in all but name, so one definition holds for every network.
    """
    last = None
    for fr in rows:
        if fr.main and fr.row.global_field and not _keeps_map(fr.row):
            break
        if fr.main and len(fr.row.output_shape) == 3 and fr.units != (1, 1):
            last = fr
    return last


class _Walk(Generic[E]):
    """Follows the resolved graph as the analysis did, pairing each node with its row, and
    carries per axis what ``tracking`` tracks; ``diagnose``: say where paths arrive misaligned
    (W502)."""

    def __init__(self, report: Report, tracking: Tracking[E], diagnose: bool) -> None:
        self.pending: dict[str, deque[Row]] = {}
        for row in report.rows:
            self.pending.setdefault(row.name, deque()).append(row)
        self.tracking, self.diagnose = tracking, diagnose
        self.rows: list[tuple[Row, Flow[E], bool]] = []
        self.sink = DiagnosticSink()
        self.tensors: dict[str, Flow[E]] = {}  # every named output so far (``from`` references)

    def run(self, report: Report) -> list[tuple[Row, Flow[E], bool]]:
        """(row, what reaches its output, main line?) for every row, in the report's order."""
        origin = self.tracking.origin
        for name, shape in report.inputs:  # each input is the origin of the fields read from it
            if len(shape) == 3:
                self.tensors[name] = Flow((INPUT_FIELD, INPUT_FIELD),
                                          (origin(shape[1]), origin(shape[2])))
        h, w = report.input_shape[1:]
        self.node(report.graph, Flow((INPUT_FIELD, INPUT_FIELD), (origin(h), origin(w))), True)
        by_row = {id(step[0]): step for step in self.rows}
        return [by_row[id(row)] for row in report.rows]

    def node(self, node: Node, flow: Flow[E], main: bool) -> Flow[E]:
        if isinstance(node, Layer):
            if node.inputs:
                flow = self.tensors[node.inputs[0][0]]
            row = self.pending[node.name].popleft()
            out = self.record(row, transfer(row, flow, self.sink, self.tracking), main)
        elif isinstance(node, Seq):
            if node.source:
                flow = self.tensors[node.source[0]]
            if node.entry:
                self.tensors[node.entry] = flow
            for item in node.items:
                flow = self.node(item, flow, main)
            out = flow
        elif isinstance(node, Parallel):
            out = self.parallel(node, flow, main)
        elif isinstance(node, Join):
            outs = [self.tensors[ref[0]] for ref in node.inputs]
            row = self.pending[node.name].popleft()
            out = self.merge(row, outs, [f"'{ref[0]}'" for ref in node.inputs], main)
        else:
            raise TypeError(f"unresolved node {node!r}")
        if getattr(node, "name", ""):
            self.tensors[node.name] = out
        return out

    def record(self, row: Row, flow: Flow[E], main: bool) -> Flow[E]:
        self.rows.append((row, flow, main))
        return Flow(flow.fields, flow.track, row.name)

    def parallel(self, par: Parallel, flow: Flow[E], main: bool) -> Flow[E]:
        """``split`` branches see the same spatial field as their input; ``side`` outputs do not
        feed the trunk (branch 0 is the trunk)."""
        outs = [self.node(br.body, flow, False) for br in par.branches]
        if par.merge == "side":
            return outs[0]
        row = self.pending[f"{par.name}.{par.merge}" if par.name else par.merge].popleft()
        labels = [f"'{br.name or 'body'}' " + ("(identity)" if out is flow else
                                               f"(via '{out.via}')")
                  for br, out in zip(par.branches, outs)] if self.diagnose else []
        return self.merge(row, outs, labels, main)

    def merge(self, row: Row, outs: list[Flow[E]], labels: list[str], main: bool) -> Flow[E]:
        """The field of a merge: per axis, the union of the incoming fields."""
        units = _hw(row.output_shape) or (1, 1)
        fields, tracks = [], []
        for axis, n in enumerate(units):
            incoming = _incoming(outs, axis, n, self.tracking)
            fields.append(merge_fields(incoming, n))
            tracks.append(self.tracking.merged([o.track[axis] for o in outs], n))
        if self.diagnose:
            self.check_alignment(row, labels, outs, units)
        return self.record(row, Flow((fields[0], fields[1]), (tracks[0], tracks[1])), main)

    def check_alignment(self, row: Row, labels: list[str], outs: list[Flow[E]],
                        units: Sequence[int]) -> None:
        """W502 when paths arrive with different jumps or centres (both paths named)."""
        problems: dict[str, list[str]] = {}  # the same mismatch on both axes is said once
        for axis, n in enumerate(units):
            fields = _incoming(outs, axis, n, self.tracking)
            for k in range(1, len(fields)):
                if not aligned(fields[0], fields[k]):
                    text = (f"{labels[0]} {_describe(fields[0])} vs {labels[k]} "
                            f"{_describe(fields[k])}")
                    problems.setdefault(text, []).append(AXES[axis])
                    break
        if problems:
            listing = "; ".join(f"{' and '.join(axes)}: {text}" for text, axes in problems.items())
            self.sink.warn("W502", f"{row.kind} '{row.name}': paths arrive misaligned; {listing}",
                           row.path, layer=row.name,
                           hint="the field shown is the union of the paths' fields; give every "
                           "path the same total stride and padding to align them")


def _broadcast(f: AxisField, size: int, units: int, jump: Fraction) -> AxisField:
    """A one-unit path broadcast over ``units`` units is seen whole by every unit; it has no
    grid of its own, so it takes the map's spatial ``jump`` (not the product of the strides
    and the global window that made its one unit, which means nothing for a map)."""
    return replace(f, shared=True, jump=jump) if size == 1 and units > 1 else f


def _incoming(outs: Sequence[Flow[E]], axis: int, units: int,
              tracking: Tracking[E]) -> list[AxisField]:
    """The fields that reach a merge of ``units`` units along ``axis``, broadcasts included."""
    sizes = [tracking.units(o.track[axis]) for o in outs]
    spatial = [o.fields[axis].jump for o, n in zip(outs, sizes) if n > 1]
    jump = max(spatial, default=max(o.fields[axis].jump for o in outs))
    return [_broadcast(o.fields[axis], n, units, jump) for o, n in zip(outs, sizes)]


def _describe(f: AxisField) -> str:
    return f"(j {f.jump}, start {fmt_start(f.start)}, r {f.size})"


#: The per-unit boxes hold one entry per output row and column of every layer; beyond this many
#: along an axis the walk would cost memory in proportion to the map, so it is refused.
MAX_UNITS = 1 << 16


def largest_map(report: Report) -> int:
    """The largest H or W of the input and of any layer's output."""
    return max((d for shape in (report.input_shape, *(r.output_shape for r in report.rows))
                if len(shape) == 3 for d in shape[1:]), default=0)


def supported(report: Report) -> bool:
    """Whether :func:`receptive_fields` can walk ``report``: a C x H x W input and no map wider
    or taller than :data:`MAX_UNITS`."""
    return len(report.input_shape) == 3 and largest_map(report) <= MAX_UNITS


def field_sizes(report: Report) -> tuple[FieldSize | None, ...]:
    """Each row's receptive-field size (from :func:`analytic_fields`), or None throughout where
    :func:`supported` is false (a flat input, or maps too large for exact per-unit fields, so
    that every view shows the fields of one and the same set of networks).  Small enough to
    cache."""
    if not supported(report):
        return (None,) * len(report.rows)
    return tuple(ar.size for ar in analytic_fields(report))


def analytic_fields(report: Report) -> tuple[AnalyticRow, ...]:
    """Every row's analytic field and number of units, in the report's order: the walk of
    :func:`receptive_fields` with the same transfers and recurrences, counting units instead of
    keeping their boxes (O(1) per layer), without diagnostics.  A C x H x W input is
    required; the map may be of any size."""
    if len(report.input_shape) != 3:
        raise ValueError(f"receptive fields need a C x H x W input, got {report.input_shape}")
    return tuple(AnalyticRow(row, flow.fields, flow.track, main)
                 for row, flow, main in _Walk(report, COUNTS, False).run(report))


def receptive_fields(report: Report) -> FieldReport:
    """The receptive field of every row of ``report`` (a C x H x W input is required), with
    the exact per-unit boxes and the walk's diagnostics."""
    if len(report.input_shape) != 3:
        raise ValueError(f"receptive fields need a C x H x W input, got {report.input_shape}")
    if largest_map(report) > MAX_UNITS:
        raise spec_error("E408", f"receptive fields are exact per output unit, and a feature map "
                         f"of {largest_map(report):,} rows or columns exceeds the "
                         f"{MAX_UNITS:,} supported", ("input",),
                         hint="analyse a smaller input (--input)")
    walk = _Walk(report, BOXES, True)
    rows = tuple(FieldRow(row, flow.fields, flow.track, main)
                 for row, flow, main in walk.run(report))
    fields = FieldReport((report.input_shape[1], report.input_shape[2]), rows)
    _note_saturation(fields, walk.sink)
    return replace(fields, diagnostics=tuple(walk.sink.items))


def _note_saturation(fields: FieldReport, sink: DiagnosticSink) -> None:
    """W503: the first main-line layer whose every unit sees the whole input, when the field
    still grows after it (it can only grow into padding)."""
    last = fields.last_spatial
    if last is None:
        return
    for fr in fields.rows:
        if fr.main and all(fr.covers(fields.input_size)):
            grown = [f"{a} {f.size} -> {g.size}" for a, f, g in zip(AXES, fr.fields, last.fields)
                     if g.size > f.size]
            if grown:
                h, w = fields.input_size
                sink.note("W503", f"every unit of '{fr.row.name}' already sees the whole {h}x{w} "
                          f"input; the field grows on to '{last.row.name}' ({', '.join(grown)}) "
                          "only into padding", fr.row.path, layer=fr.row.name)
            return
        if fr is last:
            return
