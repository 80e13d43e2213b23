"""Property tests: the closed-form window count against a brute-force count of positions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cnnstat.core.geometry import Window, effective_extent, output_size


def brute_force(size: int, kernel: int, stride: int, pad: int, dilation: int,
                ceil_mode: bool) -> int:
    """Count window starts one by one.  Floor mode: every tap inside the padded input.  Ceil mode
    (PyTorch): a window may overhang the padded end by less than one stride, but must start
    inside the input (or the left padding)."""
    extent = effective_extent(kernel, dilation)
    count = 0
    for start in range(-pad, size + pad, stride):
        overhang = start + extent - (size + pad)
        if overhang <= 0 or (ceil_mode and overhang < stride and start < size):
            count += 1
    return count


windows = st.tuples(st.integers(1, 64), st.integers(1, 7), st.integers(1, 4), st.integers(0, 3),
                    st.integers(1, 3))


@given(windows)
def test_floor_mode_matches_brute_force(params: tuple[int, int, int, int, int]) -> None:
    size, kernel, stride, pad, dilation = params
    extent = effective_extent(kernel, dilation)
    assert output_size(size, Window(extent, stride, pad, pad)) == \
        brute_force(size, kernel, stride, pad, dilation, False)


@given(windows)
def test_ceil_mode_matches_brute_force(params: tuple[int, int, int, int, int]) -> None:
    size, kernel, stride, pad, dilation = params
    extent = effective_extent(kernel, dilation)
    if 2 * pad > extent:  # PyTorch rejects pooling padding above half the window
        return
    assert output_size(size, Window(extent, stride, pad, pad), True) == \
        brute_force(size, kernel, stride, pad, dilation, True)


@given(st.integers(1, 64), st.integers(1, 7), st.integers(1, 3))
def test_same_padding_keeps_the_size(size: int, kernel: int, dilation: int) -> None:
    from cnnstat.core.geometry import same_padding

    left, right = same_padding(size, kernel, 1, dilation)
    assert output_size(size, Window(effective_extent(kernel, dilation), 1, left, right)) == size


@given(st.integers(1, 64), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3))
def test_same_padding_at_any_stride_gives_ceil(size: int, kernel: int, stride: int,
                                               dilation: int) -> None:
    """TensorFlow's SAME: the output is ceil(W/S), the odd pixel of padding goes after."""
    from cnnstat.core.geometry import same_padding

    left, right = same_padding(size, kernel, stride, dilation)
    win = Window(effective_extent(kernel, dilation), stride, left, right)
    assert output_size(size, win) == -(-size // stride)
    assert right - left in (0, 1)
