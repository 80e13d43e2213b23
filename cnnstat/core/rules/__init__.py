"""One registry of per-kind rules; importing this package registers them all."""

from cnnstat.core.report import Shape
from cnnstat.core.rules import (  # noqa: F401
    attention,
    conv,
    linear,
    norm,
    pointwise,
    pool,
    reshape,
    resize,
    transposed,
)
from cnnstat.core.rules.base import RULES, Cost

__all__ = ["RULES", "Cost", "Shape"]
