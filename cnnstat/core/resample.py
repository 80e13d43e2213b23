"""Per-axis maps of the layers that are not sliding windows: which input units an output unit
reads, exactly (for the per-unit receptive-field boxes) and as an affine envelope (for the
analytic field).

Every map says, for output unit ``o`` along one axis, that the input units it reads lie in the
real interval ``[lo + o*q, hi + o*q]`` (:attr:`AxisMap.envelope` = ``(lo, hi, q)``): ``q`` is the
jump ratio (input units per output unit: ``1/S`` for a transposed conv at stride S, ``in/out`` for
an upsample), a :class:`~fractions.Fraction` kept exact.  A sliding window of extent k, stride s
and left padding p is the map ``(-p, k - 1 - p, s)``.  :meth:`AxisMap.taps` lists the input units
``o`` really reads (with a nonzero weight), which is what the gradient of that unit shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

Envelope = tuple[Fraction, Fraction, Fraction]


class AxisMap(Protocol):
    """What every per-axis map offers."""

    @property
    def mode(self) -> str:
        """What the map does: 'transposed', 'nearest', 'bilinear', 'bicubic', or how a shift
        fills the rows outside its input ('constant', 'reflect', 'replicate')."""

    @property
    def envelope(self) -> Envelope:
        """(lo, hi, q): output o reads input units within [lo + o*q, hi + o*q]."""

    def taps(self, unit: int, size: int) -> tuple[int, ...]:
        """The input units (0..size-1) that output ``unit`` reads."""


@dataclass(frozen=True)
class Transposed:
    """A transposed conv: output o gets input i's contribution through tap t when
    o = i*S - P + t*D, so i = (o + P - t*D)/S for each t that makes it whole."""

    kernel: int = 1
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    mode: str = "transposed"

    @property
    def envelope(self) -> Envelope:
        s = Fraction(1, self.stride)
        return (self.padding - (self.kernel - 1) * self.dilation) * s, self.padding * s, s

    def taps(self, unit: int, size: int) -> tuple[int, ...]:
        out = []
        for t in range(self.kernel):
            num = unit + self.padding - t * self.dilation
            if num % self.stride == 0 and 0 <= num // self.stride < size:
                out.append(num // self.stride)
        return tuple(out)


@dataclass(frozen=True)
class Nearest:
    """Nearest-neighbour resampling with ratio q = in/out (PyTorch's legacy 'nearest', given the
    output size): output o reads floor(o*q).  floor(x) lies in [x - (1 - 1/den(q)), x]."""

    ratio: Fraction = Fraction(1)
    mode: str = "nearest"

    @property
    def envelope(self) -> Envelope:
        return Fraction(1, self.ratio.denominator) - 1, Fraction(0), self.ratio

    def taps(self, unit: int, size: int) -> tuple[int, ...]:
        return (min(math.floor(unit * self.ratio), size - 1),)


@dataclass(frozen=True)
class Interpolated:
    """Bilinear (``width`` 1) or bicubic (``width`` 2) resampling, as PyTorch computes it.

    The source coordinate of output o is o*(in - 1)/(out - 1) with ``align_corners``, else
    (o + 1/2)*in/out - 1/2 (clamped at 0 for bilinear).  Bilinear reads floor(src) and
    ceil(src) (one row when src is whole: the other weight is 0); bicubic reads floor(src) - 1 ..
    floor(src) + 2 (only floor(src) when src is whole: the cubic kernel is 0 at the other taps),
    each clamped into the input.  The envelope is src -/+ the kernel's half-width."""

    width: int = 1
    size_in: int = 1
    size_out: int = 1
    align_corners: bool = False

    @property
    def mode(self) -> str:
        return "bilinear" if self.width == 1 else "bicubic"

    @property
    def ratio(self) -> Fraction:
        if self.align_corners:
            return Fraction(self.size_in - 1, self.size_out - 1) if self.size_out > 1 else \
                Fraction(1)
        return Fraction(self.size_in, self.size_out)

    @property
    def envelope(self) -> Envelope:
        q = self.ratio
        shift = Fraction(0) if self.align_corners else (q - 1) / 2
        return shift - self.width, shift + self.width, q

    def source(self, unit: int) -> Fraction:
        if self.align_corners:
            return unit * self.ratio if self.size_out > 1 else Fraction(0)
        src = (unit + Fraction(1, 2)) * self.ratio - Fraction(1, 2)
        return max(src, Fraction(0)) if self.width == 1 else src

    def taps(self, unit: int, size: int) -> tuple[int, ...]:
        src = self.source(unit)
        lo = math.floor(src)
        if src.denominator == 1:
            reach = range(lo, lo + 1)
        else:
            reach = range(lo, lo + 2) if self.width == 1 else range(lo - 1, lo + 3)
        return tuple(sorted({min(max(i, 0), size - 1) for i in reach}))


@dataclass(frozen=True)
class Shift:
    """Output o reads input o - before (a crop has a negative ``before``: its offset); the
    ``mode`` says what the rows outside the input read: 'constant' (padding, nothing),
    'reflect' (the row mirrored about the edge, the edge itself once) or 'replicate' (the edge)."""

    before: int = 0
    after: int = 0
    mode: str = "constant"

    @property
    def envelope(self) -> Envelope:
        """Constant: exactly o - before.  Reflect: a padded row reads at most 2*before rows
        further right (or 2*after further left); replicate: at most before (after)."""
        b, a = max(self.before, 0), max(self.after, 0)
        centre = Fraction(-self.before)
        if self.mode == "reflect":
            return centre - 2 * a, centre + 2 * b, Fraction(1)
        if self.mode == "replicate":
            return centre - a, centre + b, Fraction(1)
        return centre, centre, Fraction(1)

    def taps(self, unit: int, size: int) -> tuple[int, ...]:
        i = unit - self.before
        if 0 <= i < size:
            return (i,)
        if self.mode == "reflect":
            return (-i,) if i < 0 else (2 * (size - 1) - i,)
        if self.mode == "replicate":
            return (0,) if i < 0 else (size - 1,)
        return ()
