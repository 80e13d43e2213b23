"""Number formatting for people; the core only ever hands out exact integers."""

from __future__ import annotations

import math
from collections.abc import Sequence

from cnnstat.core.report import Shape, fmt_shape

_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def exact(n: int) -> str:
    """34944 -> '34,944'."""
    return f"{n:,}"


def human(n: int | float) -> str:
    """138357544 -> '138.36M' (SI, two decimals, trailing zeros dropped); a number beyond any
    float (a figure of 10**400) reads '>1e300'."""
    if abs(n) >= 10**300:
        return f"{'-' if n < 0 else ''}>1e300"
    for scale, unit in _UNITS:
        if abs(n) >= scale:
            text = f"{n / scale:.2f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return str(n)


def binary(n: int) -> str:
    """Bytes in binary units: 60950432 -> '58.13 MiB'."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def real(x: float) -> str:
    """A measured quantity, four significant digits: 12.3456 -> '12.35', 123456.7 -> '123,457'."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def decimals(x: float, digits: int) -> int:
    """The decimals that show ``x`` to ``digits`` significant digits, at most six: (39.86, 4)
    -> 2, (0.5, 2) -> 2, (1234.5, 4) -> 0."""
    if x == 0 or not math.isfinite(x):
        return 0
    return min(max(digits - 1 - math.floor(math.log10(abs(x))), 0), 6)


def reals(values: Sequence[float]) -> list[str]:
    """Measured quantities of one column with one number of decimals, so that they align on the
    point: the largest keeps four significant digits and the smallest (not zero) at least two.
    [41, 39.86] -> ['41.00', '39.86'] (not '41'); [1234.5, 12.3456, 0.5] -> ['1,234.50',
    '12.35', '0.50']; [2345.2, 120.4] -> ['2,345', '120']."""
    finite = [abs(x) for x in values if math.isfinite(x) and x != 0]
    places = max(decimals(max(finite), 4), decimals(min(finite), 2)) if finite else 0
    return [f"{x:,.{places}f}" if math.isfinite(x) else str(x) for x in values]


def shape(dims: Shape) -> str:
    """(96, 55, 55) -> '96x55x55' (C x H x W)."""
    return fmt_shape(dims)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "-"
