"""What several views show alike: a spec's identity and the cells of a receptive field."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from cnnstat.core.receptive import FieldSize
from cnnstat.core.report import Report


def spec_info(report: Report) -> dict[str, Any]:
    info = {"name": report.name, "title": report.title, "source": report.source,
            "input_shape": list(report.input_shape), "output_shape": list(report.output_shape),
            "batch": report.batch}
    if len(report.inputs) > 1:
        info["inputs"] = {name: list(shape) for name, shape in report.inputs}
    return info


def pair(h: Any, w: Any) -> str:
    """'7' when both axes agree, '7x5' (H x W) otherwise."""
    return str(h) if h == w else f"{h}x{w}"


def rf_text(size: FieldSize) -> str:
    """A receptive field size for a table cell; '*' marks a shared (global) field."""
    return pair(size.h, size.w) + ("*" if size.shared else "")


def exact(value: Fraction) -> int | str:
    """A whole receptive-field size or jump as a JSON integer; a fractional one (after a
    transposed conv or an upsample: '1/2') as the exact fraction string, as starts are."""
    return value.numerator if value.denominator == 1 else str(value)
