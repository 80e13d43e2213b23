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


def decimals(x: float) -> int:
    """The decimals that show ``x`` to four significant digits (none from 1,000 up), at most
    six: 39.86 -> 2, 0.5 -> 4, 1234.5 -> 0."""
    if x == 0 or not math.isfinite(x) or abs(x) >= 1000:
        return 0
    return min(max(3 - math.floor(math.log10(abs(x))), 0), 6)


def reals(values: Sequence[float]) -> list[str]:
    """Measured quantities of one column with shared decimals, so that they align on the point:
    [41, 39.86] -> ['41.00', '39.86'] (each keeps at least four significant digits, as
    :func:`real`); a column of values from 1,000 up reads as :func:`real`."""
    places = max((decimals(x) for x in values), default=0)
    return [f"{x:,.{places}f}" if math.isfinite(x) else str(x) for x in values]


def shape(dims: Shape) -> str:
    """(96, 55, 55) -> '96x55x55' (C x H x W)."""
    return fmt_shape(dims)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "-"
