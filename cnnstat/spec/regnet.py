"""RegNet's quantized linear width rule, exact, for spec expressions.

RegNet (Radosavovic et al. 2020, "Designing Network Design Spaces", eq. 2-4; torchvision's
``BlockParams.from_init_params``) derives its widths from four numbers: block ``j < depth`` has
the continuous width ``u_j = w0 + wa·j``, the exponent ``s_j = round(log(u_j / w0) / log(wm))``
and the width ``w_j = round(w0·wm^s_j / 8)·8``; a stage is a run of equal widths.  The
reference code computes this in float32; here every step is exact on fractions (the decimal
``27.89`` is ``2789/100``): ``s_j`` is :func:`~cnnstat.spec.rounding.round_log` (decided by
exact powers, ties to even as ``torch.round``), and the quantized width rounds ``w0·wm^s / 8``
half to even (``torch.round``), times 8.

The results must fit spec arithmetic, so ``|round_log| <= 64`` and ``depth <= 1,000``.
"""

from __future__ import annotations

from fractions import Fraction

from cnnstat.spec.rounding import make_divisible, round_log

MAX_DEPTH = 1_000  # blocks of one RegNet (the paper's design space has at most 64)
QUANT = 8


def _block_widths(depth: int, w0: Fraction, wa: Fraction, wm: Fraction) -> list[int]:
    if not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be a whole number in 1..{MAX_DEPTH:,}")
    if wa < 0 or w0 <= 0 or wm <= 1 or w0.denominator != 1 or w0 % QUANT:
        raise ValueError("RegNet needs wa >= 0, wm > 1 and w0 a positive multiple of 8 "
                         "(as torchvision's BlockParams.from_init_params)")
    widths, powers = [], {}
    for j in range(depth):
        s = round_log((w0 + wa * j) / w0, wm)
        if s not in powers:
            powers[s] = round(w0 * wm**s / QUANT) * QUANT  # Fraction rounds half to even
        widths.append(powers[s])
    return widths


def _stages(depth: int, w0: int | Fraction, wa: int | Fraction,
            wm: int | Fraction) -> list[tuple[int, int]]:
    """(width, blocks) of each run of equal block widths."""
    runs: list[tuple[int, int]] = []
    for w in _block_widths(depth, Fraction(w0), Fraction(wa), Fraction(wm)):
        if runs and runs[-1][0] == w:
            runs[-1] = (w, runs[-1][1] + 1)
        else:
            runs.append((w, 1))
    return runs


def regnet_depths(depth: int, w0: int | Fraction, wa: int | Fraction,
                  wm: int | Fraction) -> tuple[int, ...]:
    """The number of blocks of each stage."""
    return tuple(d for _, d in _stages(depth, w0, wa, wm))


def regnet_widths(depth: int, w0: int | Fraction, wa: int | Fraction, wm: int | Fraction,
                  group_width: int | Fraction, bottleneck: int | Fraction = 1
                  ) -> tuple[int, ...]:
    """Each stage's output width after torchvision's group compatibility adjustment: the
    bottleneck width ``int(w·b)``, its group width ``g' = min(g, int(w·b))``, the bottleneck
    made divisible by ``g'`` (``make_divisible``), and the stage width ``int(that / b)``."""
    out = []
    for w, _ in _stages(depth, w0, wa, wm):
        b = Fraction(bottleneck)
        if b <= 0:
            raise ValueError("the bottleneck ratio must be above 0")
        w_bot = int(w * b)
        group = min(int(group_width), w_bot)
        if group < 1:
            raise ValueError("the group width must be at least 1")
        out.append(int(make_divisible(w_bot, group) / b))
    return tuple(out)
