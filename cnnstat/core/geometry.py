"""Sliding-window arithmetic, per axis, in exact integers.

The output size of a window of (effective) extent F sliding with stride S over an input of
size W padded by P on each side is ``floor((W - F + 2P) / S) + 1``: the lecture's
W2 = (W1 - F + 2P)/S + 1 when the division is exact.  With dilation d the effective extent is
``d * (F - 1) + 1``.  With ``ceil_mode`` (pooling) the division rounds up, but, as in PyTorch, a
last window that would start in the right padding is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Pair = tuple[int, int]


@dataclass(frozen=True)
class Window:
    """One axis of a sliding window: effective extent, stride and (left, right) padding.

    ``dilation`` is the spacing of the taps inside the extent (the extent already includes it);
    the receptive-field walk needs it to know which rows a window really reads.  ``counts_pad``:
    an average pool's ``count_include_pad`` (whether padded taps count in the window), which
    counters that clip windows to the input read (thop).
    """

    extent: int
    stride: int
    pad_left: int
    pad_right: int
    dilation: int = 1
    counts_pad: bool = True

    @property
    def padded_span(self) -> int:
        return self.pad_left + self.pad_right


def effective_extent(kernel: int, dilation: int) -> int:
    """F_eff = d * (F - 1) + 1."""
    return dilation * (kernel - 1) + 1


def output_size(size: int, win: Window, ceil_mode: bool = False) -> int:
    """Number of window positions: floor((W + P_l + P_r - F) / S) + 1.

    With ``ceil_mode`` the division rounds up (PyTorch's pooling rule), so a last window may
    overhang the padded input by less than a stride, unless it would start beyond the input and
    left padding.  Returns 0 when no window fits; callers turn that into a located error.
    """
    span = size + win.padded_span - win.extent
    if not ceil_mode:
        return max(0, span // win.stride + 1)
    out = (span + win.stride - 1) // win.stride + 1
    if out > 0 and (out - 1) * win.stride >= size + win.pad_left:
        out -= 1
    return max(0, out)


def dropped(size: int, win: Window) -> int:
    """Input rows (or columns) at the end that no window covers because of the floor.

    (W + 2P - F) mod S positions of the padded input are left over after the last window; those
    that are right padding cost nothing, the rest are real input rows.  A window narrower than its
    stride skips rows by design (subsampling), so it reports none.
    """
    span = size + win.padded_span - win.extent
    if span < 0 or win.extent < win.stride:
        return 0
    return max(0, span % win.stride - win.pad_right)


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's padding='SAME' at any stride: the output is ceil(W/S), and the padding it
    takes is total = max((ceil(W/S) - 1)*S + d*(F - 1) + 1 - W, 0), split total//2 before and the
    rest (the odd one) after.  At stride 1 this is d*(F - 1), PyTorch's padding='same'."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def adaptive_span(size: int, out: int) -> int:
    """Sum of the widths of PyTorch's adaptive pooling windows over one axis: W + O - gcd(W, O).

    Window i spans [floor(i*W/O), ceil((i+1)*W/O)).  Summed over i, the ceilings exceed the
    floors by W plus one for every i where O does not divide (i+1)*W, which is O - gcd(W, O)
    times; in closed form so that a huge output size costs nothing.
    """
    return size + out - math.gcd(size, out)


def adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling windows: [floor(i*W/O), ceil((i+1)*W/O)) for each output i."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]
