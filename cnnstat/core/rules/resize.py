"""Layers that change the spatial size without weights: upsampling, cropping, padding, and
moving pixels between channels and space (pixel shuffle / unshuffle).

None of them has parameters or MACs.  Element-wise work, by kind: a bilinear upsample computes
each output element as a weighted sum of 4 input elements, counted as 4 ops ('upsample': one
multiply-add per tap); bicubic reads 16 taps, 16 ops; nearest copies (0, data movement, as
concat).  Crop, pad and pixel (un)shuffle move data only: 0.

How the counters see them (reproduced by the presets): FlopCounterMode counts none of them
(only convolutions and matrix products).  fvcore counts ``aten::upsample_nearest2d`` as 1 per
output element and ``aten::upsample_bilinear2d`` as 4 per output element
(``elementwise_flop_counter(0, 1)`` and ``(0, 4)``); bicubic, padding, cropping (slicing) and
pixel (un)shuffle have no fvcore handle and count 0.
"""

from __future__ import annotations

from fractions import Fraction

from cnnstat.core.geometry import Window
from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape
from cnnstat.core.resample import AxisMap, Interpolated, Nearest, Shift
from cnnstat.core.rules.base import Cost, fmt_pair, positive, positive_pair, rule, spatial
from cnnstat.errors import DiagnosticSink, spec_error

#: Input elements each output element of an interpolating upsample reads (its ops per output).
TAPS = {"nearest": 0, "bilinear": 4, "bicubic": 16}
WIDTH = {"bilinear": 1, "bicubic": 2}  # the interpolation kernel's half-width, in input units
AXES = ("H", "W")


def _like(layer: Layer) -> str:
    return f" to match '{layer.like[0]}'" if layer.like else ""


def _one_of(layer: Layer, args: tuple[str, ...]) -> str:
    """The one of ``args`` given (``like`` counts as ``size``); E406 unless exactly one is."""
    given = [a for a in args if layer.args.get(a) is not None]
    if len(given) != 1:
        what = " or ".join(f"'{a}'" for a in (*args, "like"))
        raise spec_error("E406", f"{layer.kind} '{layer.name}': give exactly one of {what}",
                         layer.arg_path(given[1]) if len(given) > 1 else layer.path,
                         layer=layer.name)
    return given[0]


def target_size(layer: Layer, h: int, w: int) -> tuple[int, int]:
    """The output H x W of an upsample: the input times ``scale``, or ``size`` (or ``like``'s)."""
    if _one_of(layer, ("scale", "size")) == "scale":
        sh, sw = positive_pair(layer, "scale")
        return h * sh, w * sw
    return positive_pair(layer, "size")


@rule("upsample")
def upsample(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """C x H x W -> C x H2 x W2 (H*scale, or the size given); no parameters, no MACs;
    element-wise 'upsample': 4 per output element for bilinear, 16 for bicubic, 0 for nearest."""
    c, h, w = spatial(layer, x)
    h2, w2 = target_size(layer, h, w)
    mode, align = layer.args["mode"], layer.args.get("align_corners")
    if mode == "nearest" and align is not None:
        raise spec_error("E406", f"upsample '{layer.name}': align_corners only applies to "
                         "bilinear and bicubic", layer.arg_path("align_corners"),
                         layer=layer.name, hint="leave align_corners out for nearest")
    maps: tuple[AxisMap, AxisMap]
    if mode == "nearest":
        maps = (Nearest(Fraction(h, h2)), Nearest(Fraction(w, w2)))
    else:
        maps = (Interpolated(WIDTH[mode], h, h2, bool(align)),
                Interpolated(WIDTH[mode], w, w2, bool(align)))
    ops = TAPS[mode] * c * h2 * w2
    desc = (f"{mode} upsample {fmt_pair((h, w))} -> {fmt_pair((h2, w2))}{_like(layer)}"
            + (", align corners" if align else ""))
    return Cost(output=(c, h2, w2), description=desc, ops={"upsample": ops} if ops else {},
                maps=maps)


def crop_offsets(size: int, target: int) -> tuple[int, int]:
    """A centre crop of ``target`` from ``size``: (size - target)//2 cut before, the rest after
    (U-Net's crop of the skip connection)."""
    before = (size - target) // 2
    return before, size - target - before


@rule("crop")
def crop(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """C x H x W -> C x h x w, the centre (offset (H - h)//2, (W - w)//2); data movement only."""
    c, h, w = spatial(layer, x)
    _one_of(layer, ("size",))
    target = positive_pair(layer, "size")
    for axis, n, t in zip(AXES, (h, w), target):
        if t > n:
            raise spec_error("E406", f"crop '{layer.name}': {t} exceeds the input's {n} along "
                             f"{axis}{_like(layer)}", layer.arg_path("like" if layer.like else
                                                                     "size"),
                             layer=layer.name, hint="a crop can only make a map smaller; pad "
                             "or upsample to grow it")
    offsets = [crop_offsets(n, t) for n, t in zip((h, w), target)]
    maps = tuple(Shift(-before, -after) for before, after in offsets)
    desc = (f"centre crop {fmt_pair((h, w))} -> {fmt_pair(target)}{_like(layer)}, offset "
            f"{offsets[0][0]}, {offsets[1][0]}")
    return Cost(output=(c, *target), description=desc, maps=(maps[0], maps[1]))


@rule("pad")
def pad(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """C x H x W -> C x (top + H + bottom) x (left + W + right); data movement only.
    'reflect' mirrors about the edge (each pad smaller than the input, as PyTorch requires),
    'replicate' repeats the edge, 'constant' fills ``value``."""
    c, h, w = spatial(layer, x)
    sides: tuple[tuple[int, int], tuple[int, int]] = layer.args["padding"]
    mode = layer.args["mode"]
    for axis, n, pair in zip(AXES, (h, w), sides):
        for p in pair:
            positive(layer, "padding", p, 0)
            if mode == "reflect" and p >= n:
                raise spec_error("E406", f"pad '{layer.name}': reflect padding {p} must be "
                                 f"smaller than the input's {n} along {axis}",
                                 layer.arg_path("padding"), layer=layer.name,
                                 hint="use 'replicate' or 'constant', or pad less")
    (t, b), (left, right) = sides
    maps = (Shift(t, b, mode), Shift(left, right, mode))
    desc = (f"{mode} pad top {t}, bottom {b}, left {left}, right {right}" if
            (t, left) != (b, right) else f"{mode} pad {fmt_pair((t, left)) if t != left else t}")
    return Cost(output=(c, h + t + b, w + left + right), description=desc, maps=maps)


def _factor(layer: Layer) -> int:
    r: int = layer.args["factor"]
    positive(layer, "factor", r)
    return r


@rule("pixel_shuffle")
def pixel_shuffle(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """C x H x W -> C/r^2 x rH x rW: output (h, w) takes input (h//r, w//r) from channel
    c*r^2 + (h % r)*r + w % r; data movement only."""
    c, h, w = spatial(layer, x)
    r = _factor(layer)
    if c % (r * r):
        raise spec_error("E402", f"pixel_shuffle '{layer.name}': {c} channels do not divide by "
                         f"factor^2 = {r * r}", layer.arg_path("factor"), layer=layer.name)
    near = Nearest(Fraction(1, r))
    return Cost(output=(c // (r * r), h * r, w * r),
                description=f"pixel shuffle by {r}: {r * r} channels to each {r}x{r} block",
                maps=(near, near))


@rule("pixel_unshuffle")
def pixel_unshuffle(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """C x H x W -> r^2*C x H/r x W/r: each r x r block becomes r^2 channels; data movement."""
    c, h, w = spatial(layer, x)
    r = _factor(layer)
    for axis, n in zip(AXES, (h, w)):
        if n % r:
            raise spec_error("E406", f"pixel_unshuffle '{layer.name}': {axis}={n} does not "
                             f"divide by the factor {r}", layer.arg_path("factor"),
                             layer=layer.name, hint="pad or crop the map to a multiple first")
    win = Window(r, r, 0, 0)
    return Cost(output=(c * r * r, h // r, w // r),
                description=f"pixel unshuffle by {r}: each {r}x{r} block to {r * r} channels",
                windows=(win, win))
