"""The exact rounding rules of spec expressions: no float ever decides a rounded value.

* ``round(x)``: half away from zero (what people mean in architecture tables).
* ``make_divisible(x, d)``: MobileNet's and EfficientNet's channel rounding (below).
* ``round_log(x, b)``: the integer nearest ``log_b(x)``, ties to even (``torch.round``'s rule),
  decided by exact powers: the n with ``b^n <= x < b^(n+1)`` (a float estimate, checked and
  corrected with exact powers), then ``n + 1`` if ``x^2 > b^(2n+1)`` (past the half-way point
  ``b^(n+1/2)``), ``n`` if ``x^2 < b^(2n+1)``, and the even one of the two on equality.
  ``|round_log| <= 64``, as ``**`` takes exponents up to 64, so every power stays small.
"""

from __future__ import annotations

import math
from fractions import Fraction

MAX_LOG = 64
Number = int | Fraction


def make_divisible(value: Number, divisor: Number = 8, min_value: Number | None = None) -> int:
    """Round ``value`` to a multiple of ``divisor`` the way MobileNet / EfficientNet do.

    new = max(min_value or divisor, floor(value + divisor/2) rounded down to a multiple of
    divisor); if that loses more than 10 % of ``value``, add one ``divisor``.
    """
    div = int(divisor)
    lower = div if min_value is None else int(min_value)
    new = max(lower, int(math.floor(Fraction(value) + Fraction(div, 2))) // div * div)
    if new < Fraction(9, 10) * Fraction(value):
        new += div
    return new


def round_half_away(x: Number) -> int:
    """Round half away from zero (what people mean in architecture tables)."""
    f = Fraction(x)
    return int(math.floor(abs(f) + Fraction(1, 2))) * (1 if f >= 0 else -1)


def round_log(x: int | Fraction, base: int | Fraction) -> int:
    """The integer nearest ``log_base(x)``, ties to even, computed with exact powers."""
    x, b = Fraction(x), Fraction(base)
    if x <= 0 or b <= 1:
        raise ValueError("round_log needs x > 0 and a base above 1")
    if x == 1:
        return 0
    estimate = math.log(x.numerator) - math.log(x.denominator)
    scale = math.log(b.numerator) - math.log(b.denominator)
    bound = MAX_LOG + 1
    # a float guess, clamped, then corrected by exact powers; beyond the bound it is an error
    guess = estimate / scale if scale > 0 else math.copysign(math.inf, estimate)
    n = max(-bound, min(bound, math.floor(guess))) if math.isfinite(guess) else (
        bound if guess > 0 else -bound)
    while b**n > x:
        n -= 1
        if n < -bound:
            raise ValueError(f"log of {x} to base {b} is beyond +-{MAX_LOG}")
    while b ** (n + 1) <= x:
        n += 1
        if n > bound:
            raise ValueError(f"log of {x} to base {b} is beyond +-{MAX_LOG}")
    square, half = x * x, b ** (2 * n + 1)
    result = n + 1 if square > half else n if square < half else n + n % 2
    if abs(result) > MAX_LOG:
        raise ValueError(f"log of {x} to base {b} is beyond +-{MAX_LOG}")
    return result


